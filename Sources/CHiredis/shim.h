#ifndef CITYGATE_CHIREDIS_SHIM_H
#define CITYGATE_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

/// The reply types as constants Swift can compare with (the header's are macros of int).
static const int citygate_redis_reply_string = REDIS_REPLY_STRING;
static const int citygate_redis_reply_array = REDIS_REPLY_ARRAY;
static const int citygate_redis_reply_integer = REDIS_REPLY_INTEGER;
static const int citygate_redis_reply_nil = REDIS_REPLY_NIL;
static const int citygate_redis_reply_status = REDIS_REPLY_STATUS;
static const int citygate_redis_reply_error = REDIS_REPLY_ERROR;

#endif
