#ifndef CITYGATE_COPENSSL_SHIM_H
#define CITYGATE_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#endif
