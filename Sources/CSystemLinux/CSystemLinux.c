#include "CSystemLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <stddef.h>

int citygate_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int citygate_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int citygate_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event);
}

int citygate_epoll_remove(int epfd, int fd) {
    // A non-NULL event keeps kernels older than 2.6.9 happy; it is ignored otherwise.
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

int citygate_epoll_wait(int epfd, citygate_epoll_event *events, int max_events, int timeout_ms) {
    struct epoll_event raw[1024];
    if (max_events > 1024) {
        max_events = 1024;
    }
    if (max_events <= 0) {
        errno = EINVAL;
        return -1;
    }
    int count = epoll_wait(epfd, raw, max_events, timeout_ms);
    for (int index = 0; index < count; index++) {
        events[index].events = raw[index].events;
        events[index].data = raw[index].data.u64;
    }
    return count;
}

int citygate_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int citygate_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int citygate_stream_socket(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

long citygate_random_bytes(void *buffer, size_t length) {
    return (long)getrandom(buffer, length, 0);
}

static __thread void *citygate_thread_loop = NULL;

void *citygate_current_loop(void) {
    return citygate_thread_loop;
}

void citygate_set_current_loop(void *loop) {
    citygate_thread_loop = loop;
}

static __thread void *citygate_thread_log_buffer = NULL;

void *citygate_current_log_buffer(void) {
    return citygate_thread_log_buffer;
}

void citygate_set_current_log_buffer(void *buffer) {
    citygate_thread_log_buffer = buffer;
}

/* Write ends of the signal pipes, by signal number; -1 until installed. */
static int citygate_signal_write_ends[NSIG];
static int citygate_signal_read_ends[NSIG];
static int citygate_signal_tables_ready = 0;

static void citygate_signal_handler(int signal_number) {
    int saved = errno; /* write(2) is async-signal-safe; errno must survive the handler */
    unsigned char byte = (unsigned char)signal_number;
    if (signal_number > 0 && signal_number < NSIG && citygate_signal_write_ends[signal_number] >= 0) {
        (void)write(citygate_signal_write_ends[signal_number], &byte, 1);
    }
    errno = saved;
}

int citygate_signal_pipe(int signal_number) {
    if (signal_number <= 0 || signal_number >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    if (!citygate_signal_tables_ready) {
        for (int index = 0; index < NSIG; index++) {
            citygate_signal_write_ends[index] = -1;
            citygate_signal_read_ends[index] = -1;
        }
        citygate_signal_tables_ready = 1;
    }
    if (citygate_signal_read_ends[signal_number] >= 0) return citygate_signal_read_ends[signal_number];
    int ends[2];
    /* Non-blocking write end: a burst of signals with nobody reading must not block the handler. */
    if (pipe2(ends, O_CLOEXEC) != 0) return -1;
    if (fcntl(ends[1], F_SETFL, O_NONBLOCK) != 0) {
        int saved = errno;
        close(ends[0]);
        close(ends[1]);
        errno = saved;
        return -1;
    }
    citygate_signal_write_ends[signal_number] = ends[1];
    citygate_signal_read_ends[signal_number] = ends[0];
    struct sigaction action;
    action.sa_handler = citygate_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signal_number, &action, NULL) != 0) return -1;
    return ends[0];
}
