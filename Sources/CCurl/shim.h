#ifndef CITYGATE_CCURL_SHIM_H
#define CITYGATE_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot
// call; each wrapper below fixes one argument type.

/// curl_easy_setopt for `long` options.
static inline CURLcode citygate_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for `curl_off_t` options (the *_LARGE ones).
static inline CURLcode citygate_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for string options (libcurl copies strings, except POSTFIELDS).
static inline CURLcode citygate_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for pointer options (PRIVATE, WRITEDATA, HEADERDATA, ERRORBUFFER, HTTPHEADER).
static inline CURLcode citygate_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// The signature of WRITEFUNCTION and HEADERFUNCTION.
typedef size_t (*citygate_data_callback)(char *data, size_t size, size_t count, void *user);

/// curl_easy_setopt for WRITEFUNCTION / HEADERFUNCTION.
static inline CURLcode citygate_easy_setopt_callback(CURL *handle, CURLoption option, citygate_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_getinfo for `long` results.
static inline CURLcode citygate_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for `curl_off_t` results (times in microseconds, sizes).
static inline CURLcode citygate_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for CURLINFO_PRIVATE.
static inline CURLcode citygate_easy_getinfo_private(CURL *handle, void **value) {
    return curl_easy_getinfo(handle, CURLINFO_PRIVATE, (char **)value);
}

/// curl_multi_setopt for `long` options.
static inline CURLMcode citygate_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/// The signature of CURLMOPT_SOCKETFUNCTION.
typedef int (*citygate_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *user, void *socket_user);

/// The signature of CURLMOPT_TIMERFUNCTION.
typedef int (*citygate_timer_callback)(CURLM *multi, long timeout_ms, void *user);

/// curl_multi_setopt for CURLMOPT_SOCKETFUNCTION.
static inline CURLMcode citygate_multi_setopt_socket_callback(CURLM *handle, citygate_socket_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_SOCKETFUNCTION, value);
}

/// curl_multi_setopt for CURLMOPT_TIMERFUNCTION.
static inline CURLMcode citygate_multi_setopt_timer_callback(CURLM *handle, citygate_timer_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_TIMERFUNCTION, value);
}

/// curl_multi_setopt for pointer options (SOCKETDATA, TIMERDATA).
static inline CURLMcode citygate_multi_setopt_pointer(CURLM *handle, CURLMoption option, void *value) {
    return curl_multi_setopt(handle, option, value);
}

/// The signature of CURLOPT_OPENSOCKETFUNCTION.
typedef curl_socket_t (*citygate_open_socket_callback)(void *user, curlsocktype purpose, struct curl_sockaddr *address);

/// The signature of CURLOPT_CLOSESOCKETFUNCTION.
typedef int (*citygate_close_socket_callback)(void *user, curl_socket_t socket);

/// curl_easy_setopt for CURLOPT_OPENSOCKETFUNCTION.
static inline CURLcode citygate_easy_setopt_open_socket(CURL *handle, citygate_open_socket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, value);
}

/// curl_easy_setopt for CURLOPT_CLOSESOCKETFUNCTION.
static inline CURLcode citygate_easy_setopt_close_socket(CURL *handle, citygate_close_socket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, value);
}

/// What libcurl's own open-socket code does: socket(2) for the address it chose, close-on-exec.
static inline curl_socket_t citygate_open_socket(const struct curl_sockaddr *address) {
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/// CURL_SOCKET_TIMEOUT, the "socket" that tells curl_multi_socket_action its timer expired.
static const curl_socket_t citygate_socket_timeout = CURL_SOCKET_TIMEOUT;
/// The socket callback's `what` values and socket_action's event bits.
static const int citygate_poll_in = CURL_POLL_IN;
static const int citygate_poll_out = CURL_POLL_OUT;
static const int citygate_poll_inout = CURL_POLL_INOUT;
static const int citygate_poll_remove = CURL_POLL_REMOVE;
static const int citygate_cselect_in = CURL_CSELECT_IN;
static const int citygate_cselect_out = CURL_CSELECT_OUT;
static const int citygate_cselect_err = CURL_CSELECT_ERR;

/// The CURLcode of a finished transfer's message (a union member Swift reads awkwardly).
static inline CURLcode citygate_message_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
