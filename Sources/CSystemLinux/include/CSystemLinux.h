#ifndef CITYGATE_CSYSTEMLINUX_H
#define CITYGATE_CSYSTEMLINUX_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stddef.h>

/// An epoll event without the packing glibc puts on `struct epoll_event` for x86_64,
/// which Swift cannot read field by field safely.
typedef struct {
    uint32_t events;
    uint64_t data;
} citygate_epoll_event;

/// Event bits, re-exported as typed constants (the glibc ones are enum-and-macro hybrids).
static const uint32_t citygate_epollin = EPOLLIN;
static const uint32_t citygate_epollout = EPOLLOUT;
static const uint32_t citygate_epollerr = EPOLLERR;
static const uint32_t citygate_epollhup = EPOLLHUP;
static const uint32_t citygate_epollrdhup = EPOLLRDHUP;
static const uint32_t citygate_epollet = EPOLLET;
static const uint32_t citygate_epollexclusive = EPOLLEXCLUSIVE;

/// epoll_create1(EPOLL_CLOEXEC).
int citygate_epoll_create(void);
/// epoll_ctl(EPOLL_CTL_ADD) with a 64-bit user value.
int citygate_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
/// epoll_ctl(EPOLL_CTL_MOD) with a 64-bit user value.
int citygate_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data);
/// epoll_ctl(EPOLL_CTL_DEL).
int citygate_epoll_remove(int epfd, int fd);
/// epoll_wait into unpacked events; at most 1024 events per call.
int citygate_epoll_wait(int epfd, citygate_epoll_event *events, int max_events, int timeout_ms);
/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int citygate_eventfd(void);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, so no accepted descriptor leaks into children.
int citygate_accept(int fd);
/// socket(AF_INET or AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
int citygate_stream_socket(int family);

/// The event loop running on the calling thread (a thread-local; NULL on other threads).
void *citygate_current_loop(void);
/// Sets the calling thread's event loop (NULL to clear).
void citygate_set_current_loop(void *loop);
/// The log buffer of the calling thread's turn-based owner (a thread-local; NULL when lines are
/// written at once).
void *citygate_current_log_buffer(void);
/// Sets the calling thread's log buffer (NULL to clear).
void citygate_set_current_log_buffer(void *buffer);
/// Catches `signal_number` with a handler that writes one byte to a pipe of its own, and returns
/// the pipe's read end (the same one on later calls), or -1 with errno set. The handler is
/// installed before this returns, so no signal after it can be lost: a Dispatch signal source
/// registers asynchronously and, until it has, an ignored signal is simply dropped.
int citygate_signal_pipe(int signal_number);
/// getrandom(2) without flags: fills `length` bytes from the kernel CSPRNG; returns bytes written.
long citygate_random_bytes(void *buffer, size_t length);

#endif
