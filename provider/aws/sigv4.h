/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signature Version 4, header form, on OpenSSL's SHA-256 and HMAC
 * (EVP_MD and EVP_MAC, fetched from the library context the caller gives:
 * the application's, through the provider's child context). Pure: no
 * clock and no I/O; the caller passes the time.
 *
 * kmsre_sigv4_sign_request is the one signer every AWS call uses: a
 * request in, the headers to add out. The stages below it (canonical
 * request, string to sign, signature, Authorization) are exposed so that
 * the tests can check each one against the official suite.
 */
#ifndef KMSRE_SIGV4_H
#define KMSRE_SIGV4_H

#include <stddef.h>
#include <time.h>
#include <openssl/types.h>
#include "base/err.h"
#include "http/http.h"

#define KMSRE_SIGV4_KEY_LEN 32
#define KMSRE_SIGV4_HEX_LEN 64
#define KMSRE_AMZ_DATE_LEN 16 /* YYYYMMDDTHHMMSSZ */

/* SHA-256 and HMAC, fetched once by the owner and shared read-only by
 * every thread that signs. */
struct kmsre_sigv4_algs {
    EVP_MD *sha256;
    EVP_MAC *hmac;
};

enum kmsre_status kmsre_sigv4_algs_fetch(struct kmsre_sigv4_algs *algs,
                                         OSSL_LIB_CTX *libctx,
                                         const char *propq);
void kmsre_sigv4_algs_free(struct kmsre_sigv4_algs *algs);

/* kSigning = HMAC chain over "AWS4"+secret, date, region, service,
 * "aws4_request", held as an HMAC context keyed with it: each signature
 * duplicates the context, so the key is derived once a day per scope.
 * Immutable once made; any number of threads may sign with it. */
struct kmsre_sigv4_key {
    EVP_MAC_CTX *mac;
    char date8[9];
    char region[64];
    char service[32];
};

enum kmsre_status kmsre_sigv4_key_derive(const struct kmsre_sigv4_algs *algs,
                                         const char *secret, const char *date8,
                                         const char *region,
                                         const char *service,
                                         struct kmsre_sigv4_key *out);
void kmsre_sigv4_key_clear(struct kmsre_sigv4_key *key);

/* A key from raw kSigning bytes (tests sign with arbitrary keys). */
enum kmsre_status kmsre_sigv4_key_init(const struct kmsre_sigv4_algs *algs,
                                       const unsigned char raw[32],
                                       const char *date8, const char *region,
                                       const char *service,
                                       struct kmsre_sigv4_key *out);

/* The raw kSigning bytes (tests compare them with a reference). */
enum kmsre_status
kmsre_sigv4_derive_key_bytes(const struct kmsre_sigv4_algs *algs,
                             const char *secret, const char *date8,
                             const char *region, const char *service,
                             unsigned char out[KMSRE_SIGV4_KEY_LEN]);

/* What gets signed. Every header listed is signed; headers that stay
 * unsigned (User-Agent, Content-Length, Expect) are simply not passed.
 * Host must be among them. */
struct kmsre_sigv4_request {
    const char *method;
    const char *path;  /* raw path, before '?' */
    const char *query; /* raw query after '?', or "" */
    const struct kmsre_http_header *headers;
    size_t n_headers;
    const unsigned char *payload;
    size_t payload_len;
    int normalize_path; /* 1: drop "." and "..", collapse "//" */
};

struct kmsre_sigv4_scope {
    const char *amz_date; /* its first 8 characters are the date */
    const char *region;
    const char *service;
};

/* Each stage's result; strings owned by the state, wiped when cleared. */
struct kmsre_sigv4_state {
    char *canonical_request;
    char *signed_headers; /* "a;b;c" */
    char *string_to_sign;
    char signature[KMSRE_SIGV4_HEX_LEN + 1];
    char *authorization; /* the whole Authorization header value */
};

enum kmsre_status
kmsre_sigv4_build_canonical_request(const struct kmsre_sigv4_algs *algs,
                                    struct kmsre_sigv4_state *st,
                                    const struct kmsre_sigv4_request *r);
enum kmsre_status
kmsre_sigv4_build_string_to_sign(const struct kmsre_sigv4_algs *algs,
                                 struct kmsre_sigv4_state *st,
                                 const struct kmsre_sigv4_scope *scope);
enum kmsre_status
kmsre_sigv4_build_signature(struct kmsre_sigv4_state *st,
                            const struct kmsre_sigv4_key *key);
enum kmsre_status
kmsre_sigv4_build_authorization(struct kmsre_sigv4_state *st,
                                const char *access_key_id,
                                const struct kmsre_sigv4_scope *scope);
void kmsre_sigv4_state_clear(struct kmsre_sigv4_state *st);

/* Lower-case hex SHA-256 of data. */
enum kmsre_status kmsre_sigv4_hex_sha256(const struct kmsre_sigv4_algs *algs,
                                         const void *data, size_t len,
                                         char out[KMSRE_SIGV4_HEX_LEN + 1]);

/* ---- the signer --------------------------------------------------------- */

struct kmsre_creds;

struct kmsre_signing_input {
    const char *method;
    const char *path;
    const char *query;                       /* "" when there is none */
    const struct kmsre_http_header *headers; /* signed; Host among them */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const struct kmsre_creds *creds;
    const char *region;
    const char *service;
    time_t now;
    /* A key derived for these credentials; used when its date, region and
     * service match, else one is derived for this request. May be NULL. */
    const struct kmsre_sigv4_key *key;
};

/* The headers to add to the request: X-Amz-Date, X-Amz-Security-Token
 * (with a session token) and Authorization. */
struct kmsre_signed_headers {
    char amz_date[KMSRE_AMZ_DATE_LEN + 1];
    struct kmsre_http_header headers[3];
    size_t n_headers;
    struct kmsre_sigv4_state state; /* owns the Authorization value */
};

enum kmsre_status kmsre_sigv4_sign_request(const struct kmsre_sigv4_algs *algs,
                                           const struct kmsre_signing_input *in,
                                           struct kmsre_signed_headers *out,
                                           struct kmsre_err *err);
void kmsre_signed_headers_clear(struct kmsre_signed_headers *out);

/* YYYYMMDDTHHMMSSZ of a time. */
void kmsre_amz_date(time_t now, char out[KMSRE_AMZ_DATE_LEN + 1]);

#endif
