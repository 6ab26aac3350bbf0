// citygate-curl-reference URL CONCURRENCY SECONDS
//
// The floor for any client built on libcurl: plain C driving libcurl's multi interface the way
// HTTPClient does (one multi handle, curl_multi_socket_action on epoll, easy handles kept and
// re-added when their transfer ends, the same per-request options), with nothing else around
// it: no async tasks, no response kept. `bench/client.sh` runs it beside HTTPClient and wrk, so
// the report can say how much of the gap to wrk is libcurl's own and how much is ours.
//
// Prints one JSON line: requests/s, CPU µs per request, and the user-space part of that.
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static int epoll_fd = -1;
/// libcurl's single timer as an absolute monotonic time in seconds; < 0: none.
static double timer_due = -1;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(int user_only) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    double user = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6;
    double system = (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    return user_only ? user : user + system;
}

/// CURLMOPT_SOCKETFUNCTION. A socket libcurl stops asking about stays registered with no
/// interest (as HTTPClient parks it): the next request on the connection asks again, and a
/// closed socket leaves the epoll set by itself.
static int socket_changed(CURL *easy, curl_socket_t fd, int what, void *user, void *socket_user) {
    (void)easy, (void)user, (void)socket_user;
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.data.fd = fd;
    if (what != CURL_POLL_REMOVE) {
        event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    }
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    if (errno == ENOENT && what != CURL_POLL_REMOVE && epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    return what == CURL_POLL_REMOVE ? 0 : -1;
}

/// CURLMOPT_TIMERFUNCTION.
static int timer_changed(CURLM *multi, long milliseconds, void *user) {
    (void)multi, (void)user;
    timer_due = milliseconds < 0 ? -1 : now_seconds() + (double)milliseconds / 1000;
    return 0;
}

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data, (void)user;
    return size * count;
}

/// The per-request options HTTPClient sets on a kept handle.
static int prepare(CURL *easy, const char *url) {
    return curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L) != CURLE_OK;
}

int main(int argc, char **argv) {
    if (argc != 4 || atoi(argv[2]) <= 0 || atof(argv[3]) <= 0) {
        fprintf(stderr, "usage: citygate-curl-reference URL CONCURRENCY SECONDS\n");
        return 2;
    }
    const char *url = argv[1];
    int concurrency = atoi(argv[2]);
    double seconds = atof(argv[3]);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) return 1;
    CURLM *multi = curl_multi_init();
    epoll_fd = epoll_create1(0);
    if (!multi || epoll_fd < 0) return 1;
    if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_changed) != CURLM_OK
        || curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_changed) != CURLM_OK
        || curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency) != CURLM_OK) {
        return 1;
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    if (!headers) return 1;
    for (int i = 0; i < concurrency; i++) {
        CURL *easy = curl_easy_init();
        if (!easy || prepare(easy, url)
            || curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_PROXY, "") != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, discard) != CURLE_OK
            || curl_multi_add_handle(multi, easy) != CURLM_OK) {
            return 1;
        }
    }
    // Half a second to open the connections, then the measured part.
    double warm_until = now_seconds() + 0.5, end = warm_until + seconds, start = 0;
    double cpu_before = 0, user_before = 0;
    long completed = 0, failed = 0, completed_before = 0;
    int running = 0, measuring = 0;
    for (;;) {
        struct epoll_event events[256];
        int wait_ms = 1000;
        if (timer_due >= 0) {
            double left = (timer_due - now_seconds()) * 1000;
            wait_ms = left <= 0 ? 0 : (int)left + 1;
        }
        int ready = epoll_wait(epoll_fd, events, 256, wait_ms);
        if (ready < 0 && errno != EINTR) return 1;
        for (int i = 0; i < ready; i++) {
            int bits = ((events[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0)
                | ((events[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                | ((events[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            if (curl_multi_socket_action(multi, events[i].data.fd, bits, &running) != CURLM_OK) return 1;
        }
        if (timer_due >= 0 && now_seconds() >= timer_due) {
            timer_due = -1;
            if (curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK) return 1;
        }
        CURLMsg *message;
        int queued;
        while ((message = curl_multi_info_read(multi, &queued))) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL *easy = message->easy_handle;
            long status = 0;
            if (message->data.result == CURLE_OK
                && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200) {
                completed++;
            } else {
                failed++;
            }
            if (curl_multi_remove_handle(multi, easy) != CURLM_OK || prepare(easy, url)
                || curl_multi_add_handle(multi, easy) != CURLM_OK) {
                return 1;
            }
        }
        double now = now_seconds();
        if (!measuring && now >= warm_until) {
            measuring = 1;
            start = now;
            completed_before = completed;
            cpu_before = cpu_seconds(0);
            user_before = cpu_seconds(1);
        }
        if (measuring && now >= end) break;
    }
    double wall = now_seconds() - start;
    long requests = completed - completed_before;
    if (requests <= 0) return 1;
    printf("{\"requestsPerSecond\":%.0f,\"requests\":%ld,\"failures\":%ld,\"cpuMicrosecondsPerRequest\":%.1f,"
           "\"userMicrosecondsPerRequest\":%.1f}\n",
        (double)requests / wall, requests, failed, (cpu_seconds(0) - cpu_before) / (double)requests * 1e6,
        (cpu_seconds(1) - user_before) / (double)requests * 1e6);
    return 0;
}
