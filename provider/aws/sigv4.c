/* SPDX-License-Identifier: Apache-2.0 */
/* AWS Signature Version 4: hashing and HMAC through EVP, signing keys, the
 * string to sign, the signature, the Authorization header, and the signer
 * that puts them together for a request. */
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "aws/creds.h"
#include "aws/sigv4_internal.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_DATE_LEN 8
#define SHA256_LEN 32
/* First allocation of the canonical request and the string to sign: a KMS
 * request's fit; larger ones grow. */
#define CANONICAL_REQUEST_GUESS 512
#define STRING_TO_SIGN_GUESS 160

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int is_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_amz_date(const char *s)
{
    return s != NULL && strlen(s) == KMSRE_AMZ_DATE_LEN &&
           is_digits(s, SIGV4_DATE_LEN) && s[8] == 'T' && is_digits(s + 9, 6) &&
           s[15] == 'Z';
}

static int is_date8(const char *s)
{
    return s != NULL && strlen(s) == SIGV4_DATE_LEN &&
           is_digits(s, SIGV4_DATE_LEN);
}

/* A value that goes into the scope or the Authorization header: non-empty,
 * printable, and unable to break the "/"-separated credential scope. */
static int is_scope_part(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '/' || *s == ',')
            return 0;
    return 1;
}

static int is_valid_scope(const struct kmsre_sigv4_scope *scope)
{
    return scope != NULL && is_amz_date(scope->amz_date) &&
           is_scope_part(scope->region) && is_scope_part(scope->service);
}

/* The inner modules leave the error queue as they found it: the caller
 * raises one reason of its own. */
static enum kmsre_status end_crypto(int ok)
{
    if (ok) {
        ERR_clear_last_mark();
        return KMSRE_OK;
    }
    ERR_pop_to_mark();
    return KMSRE_ERR_CRYPTO;
}

/* ---- algorithms --------------------------------------------------------- */

enum kmsre_status kmsre_sigv4_algs_fetch(struct kmsre_sigv4_algs *algs,
                                         OSSL_LIB_CTX *libctx,
                                         const char *propq)
{
    ERR_set_mark();
    algs->sha256 = EVP_MD_fetch(libctx, "SHA2-256", propq);
    algs->hmac = EVP_MAC_fetch(libctx, "HMAC", propq);
    if (algs->sha256 != NULL && algs->hmac != NULL)
        return end_crypto(1);
    kmsre_sigv4_algs_free(algs);
    return end_crypto(0);
}

void kmsre_sigv4_algs_free(struct kmsre_sigv4_algs *algs)
{
    EVP_MD_free(algs->sha256);
    EVP_MAC_free(algs->hmac);
    algs->sha256 = NULL;
    algs->hmac = NULL;
}

/* ---- SHA-256 ------------------------------------------------------------ */

/* One digest context for every hash of a signature: reset, not
 * reallocated, between hashes. */
struct hasher {
    EVP_MD_CTX *md;
    const EVP_MD *sha;
};

static enum kmsre_status hasher_init(struct hasher *h,
                                     const struct kmsre_sigv4_algs *algs)
{
    h->sha = algs->sha256;
    ERR_set_mark();
    h->md = EVP_MD_CTX_new();
    ERR_pop_to_mark();
    return h->md != NULL ? KMSRE_OK : KMSRE_ERR_NOMEM;
}

static void hasher_free(struct hasher *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

static enum kmsre_status hex_sha256(const struct hasher *h, const void *data,
                                    size_t len,
                                    char out[KMSRE_SIGV4_HEX_LEN + 1])
{
    unsigned char digest[SHA256_LEN];
    unsigned int outlen = 0;
    int ok;

    ERR_set_mark();
    ok = EVP_DigestInit_ex2(h->md, h->sha, NULL) &&
         EVP_DigestUpdate(h->md, data != NULL ? data : "", len) &&
         EVP_DigestFinal_ex(h->md, digest, &outlen) && outlen == SHA256_LEN;
    if (ok)
        hex_encode(digest, SHA256_LEN, out);
    return end_crypto(ok);
}

enum kmsre_status kmsre_sigv4_hex_sha256(const struct kmsre_sigv4_algs *algs,
                                         const void *data, size_t len,
                                         char out[KMSRE_SIGV4_HEX_LEN + 1])
{
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL || algs->sha256 == NULL || out == NULL ||
        (data == NULL && len != 0))
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = hex_sha256(&h, data, len, out);
    hasher_free(&h);
    return rc;
}

/* ---- HMAC and signing keys ---------------------------------------------- */

/* A new HMAC-SHA256 context keyed with key. */
static EVP_MAC_CTX *hmac_new(const struct kmsre_sigv4_algs *algs,
                             const unsigned char *key, size_t keylen)
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(algs->hmac);

    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(algs->sha256), 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && !EVP_MAC_init(ctx, key, keylen, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static int hmac_final(EVP_MAC_CTX *ctx, const void *msg, size_t len,
                      unsigned char out[SHA256_LEN])
{
    size_t outlen = 0;

    return EVP_MAC_update(ctx, msg, len) &&
           EVP_MAC_final(ctx, out, &outlen, SHA256_LEN) && outlen == SHA256_LEN;
}

/* One link of the chain: out = HMAC(key, msg). */
static int hmac_step(const struct kmsre_sigv4_algs *algs,
                     const unsigned char *key, size_t keylen, const char *msg,
                     unsigned char out[SHA256_LEN])
{
    EVP_MAC_CTX *ctx = hmac_new(algs, key, keylen);
    int ok = ctx != NULL && hmac_final(ctx, msg, strlen(msg), out);

    EVP_MAC_CTX_free(ctx);
    return ok;
}

/* kSecret = "AWS4" + secret, then date, region, service, "aws4_request". */
static int hmac_chain(const struct kmsre_sigv4_algs *algs,
                      const unsigned char *k0, size_t k0len,
                      const char *const *msgs, unsigned char key[SHA256_LEN])
{
    unsigned char k[SHA256_LEN];
    int ok = hmac_step(algs, k0, k0len, msgs[0], k);

    for (msgs++; ok && *msgs != NULL; msgs++)
        ok = hmac_step(algs, k, sizeof(k), *msgs, k);
    if (ok)
        memcpy(key, k, SHA256_LEN);
    OPENSSL_cleanse(k, sizeof(k));
    return ok;
}

enum kmsre_status
kmsre_sigv4_derive_key_bytes(const struct kmsre_sigv4_algs *algs,
                             const char *secret, const char *date8,
                             const char *region, const char *service,
                             unsigned char out[KMSRE_SIGV4_KEY_LEN])
{
    const char *msgs[] = {date8, region, service, SIGV4_TERMINATOR, NULL};
    size_t n, k0len;
    unsigned char *k0;
    int ok;

    if (algs == NULL || secret == NULL || !is_date8(date8) ||
        !is_scope_part(region) || !is_scope_part(service) || out == NULL)
        return KMSRE_ERR_INVALID;
    n = strlen(secret);
    k0len = n + 4;
    k0 = OPENSSL_malloc(k0len);
    if (k0 == NULL)
        return KMSRE_ERR_NOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, n);
    ERR_set_mark();
    ok = hmac_chain(algs, k0, k0len, msgs, out);
    OPENSSL_clear_free(k0, k0len);
    return end_crypto(ok);
}

enum kmsre_status kmsre_sigv4_key_init(const struct kmsre_sigv4_algs *algs,
                                       const unsigned char raw[32],
                                       const char *date8, const char *region,
                                       const char *service,
                                       struct kmsre_sigv4_key *out)
{
    memset(out, 0, sizeof(*out));
    if (!is_date8(date8) || !is_scope_part(region) ||
        strlen(region) >= sizeof(out->region) || !is_scope_part(service) ||
        strlen(service) >= sizeof(out->service))
        return KMSRE_ERR_INVALID;
    ERR_set_mark();
    out->mac = hmac_new(algs, raw, KMSRE_SIGV4_KEY_LEN);
    if (out->mac == NULL)
        return end_crypto(0);
    memcpy(out->date8, date8, SIGV4_DATE_LEN + 1);
    strcpy(out->region, region);
    strcpy(out->service, service);
    return end_crypto(1);
}

enum kmsre_status kmsre_sigv4_key_derive(const struct kmsre_sigv4_algs *algs,
                                         const char *secret, const char *date8,
                                         const char *region,
                                         const char *service,
                                         struct kmsre_sigv4_key *out)
{
    unsigned char raw[KMSRE_SIGV4_KEY_LEN];
    enum kmsre_status rc;

    memset(out, 0, sizeof(*out));
    rc =
        kmsre_sigv4_derive_key_bytes(algs, secret, date8, region, service, raw);
    if (rc == KMSRE_OK)
        rc = kmsre_sigv4_key_init(algs, raw, date8, region, service, out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

void kmsre_sigv4_key_clear(struct kmsre_sigv4_key *key)
{
    EVP_MAC_CTX_free(key->mac); /* the HMAC implementation wipes its key */
    memset(key, 0, sizeof(*key));
}

static int key_fits(const struct kmsre_sigv4_key *key,
                    const struct kmsre_sigv4_scope *scope)
{
    return key != NULL && key->mac != NULL &&
           strncmp(key->date8, scope->amz_date, SIGV4_DATE_LEN) == 0 &&
           strcmp(key->region, scope->region) == 0 &&
           strcmp(key->service, scope->service) == 0;
}

/* ---- the stages --------------------------------------------------------- */

static void clear_from_signature(struct kmsre_sigv4_state *st)
{
    OPENSSL_cleanse(st->signature, sizeof(st->signature));
    kmsre_free_secret(&st->authorization);
}

static void clear_from_string_to_sign(struct kmsre_sigv4_state *st)
{
    kmsre_free_secret(&st->string_to_sign);
    clear_from_signature(st);
}

static void clear_from_canonical_request(struct kmsre_sigv4_state *st)
{
    kmsre_free_secret(&st->canonical_request);
    kmsre_free_secret(&st->signed_headers);
    clear_from_string_to_sign(st);
}

void kmsre_sigv4_state_clear(struct kmsre_sigv4_state *st)
{
    if (st != NULL)
        clear_from_canonical_request(st);
}

static enum kmsre_status canonical_request(const struct hasher *h,
                                           struct kmsre_sigv4_state *st,
                                           const struct kmsre_sigv4_request *r)
{
    char payload_hash[KMSRE_SIGV4_HEX_LEN + 1];
    struct kmsre_strbuf cr = {0}, names = {0};
    enum kmsre_status rc;

    if (st == NULL || r == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_canonical_request(st);
    if (r->payload == NULL && r->payload_len != 0)
        return KMSRE_ERR_INVALID;
    rc = hex_sha256(h, r->payload, r->payload_len, payload_hash);
    /* One allocation for a typical KMS request, not a doubling series. */
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_reserve(&cr, CANONICAL_REQUEST_GUESS);
    if (rc == KMSRE_OK)
        rc = kmsre_sigv4_canonical_request(r, payload_hash, &cr, &names);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_finish(&cr, &st->canonical_request);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_finish(&names, &st->signed_headers);
    kmsre_strbuf_free(&cr);
    kmsre_strbuf_free(&names);
    if (rc != KMSRE_OK)
        clear_from_canonical_request(st);
    return rc;
}

/* "DATE/REGION/SERVICE/aws4_request" */
static enum kmsre_status
append_credential_scope(struct kmsre_strbuf *sb,
                        const struct kmsre_sigv4_scope *scope)
{
    const char *parts[] = {
        "/", scope->region, "/", scope->service, "/" SIGV4_TERMINATOR, NULL};
    enum kmsre_status rc;

    rc = kmsre_strbuf_append_mem(sb, scope->amz_date, SIGV4_DATE_LEN);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_all(sb, parts);
    return rc;
}

static enum kmsre_status string_to_sign(const struct hasher *h,
                                        struct kmsre_sigv4_state *st,
                                        const struct kmsre_sigv4_scope *scope)
{
    char cr_hash[KMSRE_SIGV4_HEX_LEN + 1];
    struct kmsre_strbuf sb = {0};
    const char *head[] = {SIGV4_ALGORITHM "\n", NULL, "\n", NULL};
    enum kmsre_status rc;

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_string_to_sign(st);
    if (st->canonical_request == NULL || !is_valid_scope(scope))
        return KMSRE_ERR_INVALID;
    head[1] = scope->amz_date;
    rc = hex_sha256(h, st->canonical_request, strlen(st->canonical_request),
                    cr_hash);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_reserve(&sb, STRING_TO_SIGN_GUESS);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_all(&sb, head);
    if (rc == KMSRE_OK)
        rc = append_credential_scope(&sb, scope);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(&sb, '\n');
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append(&sb, cr_hash);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_finish(&sb, &st->string_to_sign);
    kmsre_strbuf_free(&sb);
    return rc;
}

enum kmsre_status kmsre_sigv4_build_signature(struct kmsre_sigv4_state *st,
                                              const struct kmsre_sigv4_key *key)
{
    unsigned char mac[SHA256_LEN];
    EVP_MAC_CTX *ctx;
    int ok;

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_signature(st);
    if (st->string_to_sign == NULL || key == NULL || key->mac == NULL)
        return KMSRE_ERR_INVALID;
    ERR_set_mark();
    ctx = EVP_MAC_CTX_dup(key->mac);
    ok = ctx != NULL &&
         hmac_final(ctx, st->string_to_sign, strlen(st->string_to_sign), mac);
    EVP_MAC_CTX_free(ctx);
    if (ok)
        hex_encode(mac, SHA256_LEN, st->signature);
    OPENSSL_cleanse(mac, sizeof(mac));
    return end_crypto(ok);
}

static enum kmsre_status append_authorization(
    struct kmsre_strbuf *sb, const struct kmsre_sigv4_state *st,
    const char *access_key_id, const struct kmsre_sigv4_scope *scope)
{
    const char *head[] = {SIGV4_ALGORITHM " Credential=", access_key_id, "/",
                          NULL};
    const char *tail[] = {", SignedHeaders=", st->signed_headers,
                          ", Signature=", st->signature, NULL};
    enum kmsre_status rc;

    rc = kmsre_strbuf_append_all(sb, head);
    if (rc == KMSRE_OK)
        rc = append_credential_scope(sb, scope);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_all(sb, tail);
    return rc;
}

enum kmsre_status
kmsre_sigv4_build_authorization(struct kmsre_sigv4_state *st,
                                const char *access_key_id,
                                const struct kmsre_sigv4_scope *scope)
{
    struct kmsre_strbuf sb = {0};
    enum kmsre_status rc;

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    kmsre_free_secret(&st->authorization);
    if (st->signed_headers == NULL ||
        strlen(st->signature) != KMSRE_SIGV4_HEX_LEN ||
        !is_scope_part(access_key_id) || !is_valid_scope(scope))
        return KMSRE_ERR_INVALID;
    rc = append_authorization(&sb, st, access_key_id, scope);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_finish(&sb, &st->authorization);
    kmsre_strbuf_free(&sb);
    return rc;
}

/* The first two stages one at a time, each on its own digest context (the
 * tests check them separately); the signer runs them on one. */
enum kmsre_status
kmsre_sigv4_build_canonical_request(const struct kmsre_sigv4_algs *algs,
                                    struct kmsre_sigv4_state *st,
                                    const struct kmsre_sigv4_request *r)
{
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL)
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = canonical_request(&h, st, r);
    hasher_free(&h);
    return rc;
}

enum kmsre_status
kmsre_sigv4_build_string_to_sign(const struct kmsre_sigv4_algs *algs,
                                 struct kmsre_sigv4_state *st,
                                 const struct kmsre_sigv4_scope *scope)
{
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL)
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = string_to_sign(&h, st, scope);
    hasher_free(&h);
    return rc;
}

/* ---- the signer --------------------------------------------------------- */

void kmsre_amz_date(time_t now, char out[KMSRE_AMZ_DATE_LEN + 1])
{
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, KMSRE_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

static void add_header(struct kmsre_signed_headers *out, const char *name,
                       const char *value)
{
    out->headers[out->n_headers].name = name;
    out->headers[out->n_headers].value = value;
    out->n_headers++;
}

/* The caller's headers plus X-Amz-Date (and the session token), in one
 * list for the canonical request. */
static enum kmsre_status headers_to_sign(const struct kmsre_signing_input *in,
                                         const struct kmsre_signed_headers *out,
                                         struct kmsre_http_header **list,
                                         size_t *n)
{
    *n = in->n_headers + out->n_headers;
    *list = OPENSSL_malloc(*n * sizeof(**list));
    if (*list == NULL)
        return KMSRE_ERR_NOMEM;
    if (in->n_headers > 0)
        memcpy(*list, in->headers, in->n_headers * sizeof(**list));
    memcpy(*list + in->n_headers, out->headers,
           out->n_headers * sizeof(**list));
    return KMSRE_OK;
}

/* Every stage on one digest context, with the cached key when it fits. */
static enum kmsre_status sign_stages(const struct kmsre_sigv4_algs *algs,
                                     const struct kmsre_signing_input *in,
                                     const struct kmsre_sigv4_request *r,
                                     const struct kmsre_sigv4_scope *scope,
                                     struct kmsre_sigv4_state *st)
{
    struct kmsre_sigv4_key fresh = {0};
    const struct kmsre_sigv4_key *key = in->key;
    struct hasher h;
    enum kmsre_status rc = hasher_init(&h, algs);

    if (rc == KMSRE_OK)
        rc = canonical_request(&h, st, r);
    if (rc == KMSRE_OK)
        rc = string_to_sign(&h, st, scope);
    hasher_free(&h);
    if (rc == KMSRE_OK && !key_fits(key, scope)) {
        char date8[SIGV4_DATE_LEN + 1];

        memcpy(date8, scope->amz_date, SIGV4_DATE_LEN);
        date8[SIGV4_DATE_LEN] = '\0';
        rc = kmsre_sigv4_key_derive(algs, in->creds->secret_access_key, date8,
                                    scope->region, scope->service, &fresh);
        key = &fresh;
    }
    if (rc == KMSRE_OK)
        rc = kmsre_sigv4_build_signature(st, key);
    if (rc == KMSRE_OK)
        rc = kmsre_sigv4_build_authorization(st, in->creds->access_key_id,
                                             scope);
    kmsre_sigv4_key_clear(&fresh);
    return rc;
}

enum kmsre_status kmsre_sigv4_sign_request(const struct kmsre_sigv4_algs *algs,
                                           const struct kmsre_signing_input *in,
                                           struct kmsre_signed_headers *out,
                                           struct kmsre_err *err)
{
    struct kmsre_sigv4_request r = {in->method, in->path, in->query,    NULL,
                                    0,          in->body, in->body_len, 1};
    struct kmsre_sigv4_scope scope = {out->amz_date, in->region, in->service};
    struct kmsre_http_header *list = NULL;
    enum kmsre_status rc;

    memset(out, 0, sizeof(*out));
    kmsre_amz_date(in->now, out->amz_date);
    add_header(out, "X-Amz-Date", out->amz_date);
    if (in->creds->session_token != NULL)
        add_header(out, "X-Amz-Security-Token", in->creds->session_token);
    rc = headers_to_sign(in, out, &list, &r.n_headers);
    r.headers = list;
    if (rc == KMSRE_OK)
        rc = sign_stages(algs, in, &r, &scope, &out->state);
    OPENSSL_free(list);
    if (rc != KMSRE_OK) {
        kmsre_signed_headers_clear(out);
        return kmsre_fail(err, rc, "cannot sign the %s request (%s)",
                          in->service,
                          rc == KMSRE_ERR_INVALID
                              ? "a header, the path or the scope is not valid"
                              : "crypto or memory");
    }
    add_header(out, "Authorization", out->state.authorization);
    return KMSRE_OK;
}

void kmsre_signed_headers_clear(struct kmsre_signed_headers *out)
{
    kmsre_sigv4_state_clear(&out->state);
    memset(out, 0, sizeof(*out));
}
