#ifndef CITYGATE_CCURL_SHIM_H
#define CITYGATE_CCURL_SHIM_H
#include <curl/curl.h>
#endif
