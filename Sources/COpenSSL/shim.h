#ifndef CITYGATE_COPENSSL_SHIM_H
#define CITYGATE_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/// Key selections for the decoder (composite macros Swift cannot import).
static const int citygate_selection_keypair = EVP_PKEY_KEYPAIR;
static const int citygate_selection_public_key = EVP_PKEY_PUBLIC_KEY;

/// OPENSSL_free is a macro (it passes __FILE__ and __LINE__).
static inline void citygate_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/// EVP_RSA_gen is a macro over the variadic EVP_PKEY_Q_keygen.
static inline EVP_PKEY *citygate_rsa_generate(unsigned int bits) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/// EVP_PKEY_Q_keygen is variadic; Ed25519 takes no extra argument.
static inline EVP_PKEY *citygate_ed25519_generate(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long citygate_bio_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

#endif
