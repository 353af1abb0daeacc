/* SPDX-License-Identifier: Apache-2.0 */
/* AWS Signature Version 4, header form, built on OpenSSL's SHA-256 and
 * HMAC. Pure: no clock, no I/O, no OpenSSL error queue. The three stages
 * (canonical request, string to sign, signature) are exposed so that tests
 * can check them one by one against the official suite. */
#ifndef KMSRE_SIGV4_H
#define KMSRE_SIGV4_H

#include <stddef.h>
#include <openssl/types.h>
#include "util/status.h"

#define SIGV4_KEY_LEN 32
#define SIGV4_HEX_LEN 64

/* SHA-256 and HMAC, fetched once by the owner (the provider context) and
 * shared read-only by every thread that signs. */
struct sigv4_algs {
    EVP_MD *sha256; /* fetched once; HMAC is built on it (RFC 2104) */
};

enum kmsre_status sigv4_algs_fetch(struct sigv4_algs *algs,
                                   OSSL_LIB_CTX *libctx, const char *propq);
void sigv4_algs_free(struct sigv4_algs *algs);

/* Lower-case hex SHA-256 of data (the payload hash of the canonical
 * request); out gets SIGV4_HEX_LEN chars plus a NUL. */
enum kmsre_status sigv4_hex_sha256(const struct sigv4_algs *algs,
                                   const void *data, size_t len,
                                   char out[SIGV4_HEX_LEN + 1]);

struct sigv4_header {
    const char *name;  /* any case; compared and sorted lower-cased */
    const char *value; /* raw, as sent; trimmed and squeezed for signing */
};

/* What gets signed. Every header listed here is signed; headers that must
 * stay unsigned (User-Agent, Content-Length, Expect) are simply not passed.
 * The caller includes Host and X-Amz-Date (and X-Amz-Security-Token when
 * the credentials have one). */
struct sigv4_request {
    const char *method;
    const char *path;  /* raw path, before '?' */
    const char *query; /* raw query after '?', or "" */
    const struct sigv4_header *headers;
    size_t n_headers;
    const unsigned char *payload;
    size_t payload_len;
    int normalize_path; /* 1: drop "." and "..", collapse "//" */
};

struct sigv4_scope {
    const char *amz_date; /* YYYYMMDDTHHMMSSZ; its first 8 chars are the date */
    const char *region;
    const char *service;
};

/* Results; all strings are NUL-terminated and owned by the state. */
struct sigv4_state {
    char *canonical_request;
    char *signed_headers; /* "a;b;c" */
    char *string_to_sign;
    char signature[SIGV4_HEX_LEN + 1];
    char *authorization; /* full Authorization header value */
};

/* kSigning = HMAC chain over "AWS4"+secret, date(8), region, service,
 * "aws4_request". Depends only on those inputs, so callers may cache it per
 * day. Intermediate keys are cleansed. */
enum kmsre_status sigv4_derive_key(const struct sigv4_algs *algs,
                                   const char *secret, const char *date8,
                                   const char *region, const char *service,
                                   unsigned char key[SIGV4_KEY_LEN]);

enum kmsre_status sigv4_build_canonical_request(const struct sigv4_algs *algs,
                                                struct sigv4_state *st,
                                                const struct sigv4_request *r);
enum kmsre_status sigv4_build_string_to_sign(const struct sigv4_algs *algs,
                                             struct sigv4_state *st,
                                             const struct sigv4_scope *scope);
enum kmsre_status sigv4_build_signature(const struct sigv4_algs *algs,
                                        struct sigv4_state *st,
                                        const unsigned char key[SIGV4_KEY_LEN]);
enum kmsre_status sigv4_build_authorization(struct sigv4_state *st,
                                            const char *access_key_id,
                                            const struct sigv4_scope *scope);

/* All four stages with a precomputed signing key. */
enum kmsre_status
sigv4_sign(const struct sigv4_algs *algs, struct sigv4_state *st,
           const struct sigv4_request *r, const struct sigv4_scope *scope,
           const char *access_key_id, const unsigned char key[SIGV4_KEY_LEN]);

void sigv4_state_clear(struct sigv4_state *st);

#endif
