#ifndef CITYGATE_COPENSSL_SHIM_H
#define CITYGATE_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
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

/// An HMAC context with its digest chosen and no key: a template to copy per message, so the
/// MAC and digest are looked up in the provider once, not on every call (EVP_Q_mac fetches both
/// each time; measured at 2 % of a partner call). NULL on failure.
static inline EVP_MAC_CTX *citygate_hmac_template(const char *digest) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *context = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (context == NULL) return NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(context, params) != 1) {
        EVP_MAC_CTX_free(context);
        return NULL;
    }
    return context;
}

/// HMAC of `data` under `key` with a copy of `template`. Returns 1 on success.
static inline int citygate_hmac(const EVP_MAC_CTX *template, const unsigned char *key, size_t key_length,
                                const unsigned char *data, size_t data_length, unsigned char *output,
                                size_t output_size, size_t *output_length) {
    EVP_MAC_CTX *context = EVP_MAC_CTX_dup(template);
    if (context == NULL) return 0;
    int ok = EVP_MAC_init(context, key, key_length, NULL) == 1 && EVP_MAC_update(context, data, data_length) == 1 &&
             EVP_MAC_final(context, output, output_length, output_size) == 1;
    EVP_MAC_CTX_free(context);
    return ok;
}

/// EVP_PKEY_Q_keygen is variadic; an SM2 key on its curve takes no extra argument.
static inline EVP_PKEY *citygate_sm2_generate(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
}

/// Starts an SM2-with-SM3 signature or verification with the signer's distinguishing id (GM/T
/// 0009: ENTL || ID goes into Z). The id is set on the context after init: OpenSSL 3.0 refuses it
/// as an init parameter, and Z is computed at the first update, after this. Returns 1 on success.
static inline int citygate_sm2_digest_init(EVP_MD_CTX *context, EVP_PKEY *key, const unsigned char *id,
                                           size_t id_length, int sign) {
    EVP_PKEY_CTX *key_context = NULL;
    int ok = sign ? EVP_DigestSignInit_ex(context, &key_context, "SM3", NULL, NULL, key, NULL)
                  : EVP_DigestVerifyInit_ex(context, &key_context, "SM3", NULL, NULL, key, NULL);
    if (ok != 1 || key_context == NULL) return 0;
    return EVP_PKEY_CTX_set1_id(key_context, id, (int)id_length) == 1 ? 1 : 0;
}

/* ---- TLS on the public listener (HTTPServer) ---- */

/// Server context options, set once: TLS 1.2 as the floor, no renegotiation (a client could
/// otherwise make the loop do handshakes mid-connection), the server's cipher order, partial
/// writes from a buffer that may move between retries (the connection's output array grows),
/// and read/write buffers released while a connection is idle (10,000 idle connections must not
/// hold 34 KiB of buffers each). Returns 1 on success.
static inline int citygate_tls_server_defaults(SSL_CTX *context) {
    if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_SERVER);
    return 1;
}

/// SSL_CTX_add0_chain_cert is a macro over SSL_CTX_ctrl; the context takes the certificate.
static inline int citygate_tls_add_chain_certificate(SSL_CTX *context, X509 *certificate) {
    return (int)SSL_CTX_add0_chain_cert(context, certificate);
}

/// ALPN: the only protocol spoken is http/1.1. A client that offers ALPN without it is refused
/// with no_application_protocol (RFC 7301 §3.2); one that offers none gets no ALPN answer.
static inline int citygate_tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *out_length,
                                           const unsigned char *in, unsigned int in_length, void *argument) {
    (void)ssl;
    (void)argument;
    static const unsigned char supported[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, out_length, supported, sizeof(supported), in, in_length) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

/// Client certificates are asked for, never demanded by the handshake: which partner a
/// certificate must belong to is known only once the request names its partner, so the chain's
/// verdict is kept (SSL_get_verify_result) and judged then, with a problem the client can read.
///
/// A chain that fails leaves its reasons (a bad signature's, say) on the thread's error queue,
/// and SSL_get_error reads a non-empty queue as a fatal error: the read that completes the
/// handshake would then close the connection instead of waiting for the request. The verdict
/// itself is kept by the store, so the queue is emptied here.
static inline int citygate_tls_keep_verdict(int preverified, X509_STORE_CTX *store) {
    (void)store;
    if (!preverified) ERR_clear_error();
    return 1;
}

/// Installs ALPN and, when `request_client_certificates`, the certificate request.
static inline void citygate_tls_server_callbacks(SSL_CTX *context, int request_client_certificates) {
    SSL_CTX_set_alpn_select_cb(context, citygate_tls_alpn_select, NULL);
    if (request_client_certificates) SSL_CTX_set_verify(context, SSL_VERIFY_PEER, citygate_tls_keep_verdict);
}

/// Whether `certificate` is inside its validity period now.
static inline int citygate_x509_valid_now(const X509 *certificate) {
    return X509_cmp_current_time(X509_get0_notBefore(certificate)) < 0 &&
           X509_cmp_current_time(X509_get0_notAfter(certificate)) > 0;
}

/// A name in RFC 2253 form (`CN=wechat-city,O=Partner`) into `output` (NUL-terminated).
/// Returns the length, or -1.
static inline int citygate_x509_name_rfc2253(const X509_NAME *name, char *output, int size) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return -1;
    int length = -1;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        length = BIO_read(bio, output, size - 1);
        if (length < 0) length = 0;
        output[length] = 0;
    }
    BIO_free(bio);
    return length;
}

/* ---- TLS client settings the test clients use (macros over SSL_ctrl) ---- */

/// Limits a client session's protocol versions (0: no limit) and names the server (SNI), and
/// reads a close without close_notify as an end of stream. Returns 1 on success.
static inline int citygate_tls_client_setup(SSL *ssl, int min_version, int max_version, const char *host) {
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (min_version != 0 && SSL_set_min_proto_version(ssl, min_version) != 1) return 0;
    if (max_version != 0 && SSL_set_max_proto_version(ssl, max_version) != 1) return 0;
    return SSL_set_tlsext_host_name(ssl, host) == 1 ? 1 : 0;
}

#endif
