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

/// The CURLcode of a finished transfer's message (a union member Swift reads awkwardly).
static inline CURLcode citygate_message_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
