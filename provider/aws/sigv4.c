/* SPDX-License-Identifier: Apache-2.0 */
/* AWS Signature Version 4 (header form) on OpenSSL's SHA-256. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "aws/sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_DATE_LEN 8
#define SIGV4_AMZ_DATE_LEN 16
#define SHA256_LEN 32
#define SHA256_BLOCK 64
/* First allocation of the canonical request and the string to sign: a
 * KMS request's fit, larger ones grow. */
#define CANONICAL_REQUEST_GUESS 512
#define STRING_TO_SIGN_GUESS 160

/* Growable NUL-terminated string. Grown with OPENSSL_clear_realloc because
 * the canonical request can hold a session token. */
struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};

static void strbuf_free(struct strbuf *sb)
{
    OPENSSL_clear_free(sb->data, sb->cap);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

static enum kmsre_status strbuf_reserve(struct strbuf *sb, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - sb->len - 1)
        return KMSRE_ERR_LIMIT;
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return KMSRE_OK;
    cap = sb->cap != 0 ? sb->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = OPENSSL_clear_realloc(sb->data, sb->cap, cap);
    if (p == NULL)
        return KMSRE_ERR_NOMEM;
    sb->data = p;
    sb->cap = cap;
    return KMSRE_OK;
}

static enum kmsre_status strbuf_append_mem(struct strbuf *sb, const void *p,
                                           size_t n)
{
    enum kmsre_status rc = strbuf_reserve(sb, n);

    if (rc != KMSRE_OK)
        return rc;
    if (n != 0)
        memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return KMSRE_OK;
}

static enum kmsre_status strbuf_append(struct strbuf *sb, const char *s)
{
    return strbuf_append_mem(sb, s, strlen(s));
}

static enum kmsre_status strbuf_append_char(struct strbuf *sb, char c)
{
    return strbuf_append_mem(sb, &c, 1);
}

/* Appends every string of a NULL-terminated list; stops at the first
 * failure. */
static enum kmsre_status strbuf_append_all(struct strbuf *sb,
                                           const char *const *parts)
{
    enum kmsre_status rc = KMSRE_OK;

    for (; rc == KMSRE_OK && *parts != NULL; parts++)
        rc = strbuf_append(sb, *parts);
    return rc;
}

/* Hands the buffer's string over to *out (never NULL on success). */
static enum kmsre_status strbuf_finish(struct strbuf *sb, char **out)
{
    enum kmsre_status rc = strbuf_reserve(sb, 0);

    if (rc != KMSRE_OK)
        return rc;
    sb->data[sb->len] = '\0';
    *out = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return KMSRE_OK;
}

static void free_string(char **s)
{
    if (*s != NULL)
        OPENSSL_clear_free(*s, strlen(*s));
    *s = NULL;
}

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

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* RFC 9110 token characters, for methods and header names. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* A value that goes into the scope or the Authorization header: non-empty,
 * printable, and unable to break the "/"-separated credential scope. */
static int is_scope_part(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (is_ctl((unsigned char)*s) || *s == ' ' || *s == '/' || *s == ',')
            return 0;
    return 1;
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
    return s != NULL && strlen(s) == SIGV4_AMZ_DATE_LEN &&
           is_digits(s, SIGV4_DATE_LEN) && s[8] == 'T' && is_digits(s + 9, 6) &&
           s[15] == 'Z';
}

static int is_date8(const char *s)
{
    return s != NULL && strlen(s) == SIGV4_DATE_LEN &&
           is_digits(s, SIGV4_DATE_LEN);
}

/* --- OpenSSL primitives ------------------------------------------------- */

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

/* SHA-256 and one digest context for every hash of a signing step: the
 * context is reset, not reallocated, between hashes. */
struct hasher {
    EVP_MD_CTX *md;
    const EVP_MD *sha;
};

static enum kmsre_status hasher_init(struct hasher *h,
                                     const struct sigv4_algs *algs)
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

static enum kmsre_status sha256(const struct hasher *h, const void *data,
                                size_t len, unsigned char out[SHA256_LEN])
{
    unsigned int outlen = 0;
    int ok;

    ERR_set_mark();
    ok = EVP_DigestInit_ex2(h->md, h->sha, NULL) &&
         EVP_DigestUpdate(h->md, data, len) &&
         EVP_DigestFinal_ex(h->md, out, &outlen) && outlen == SHA256_LEN;
    return end_crypto(ok);
}

/* One hash of the padded key, then of the message or inner digest. */
static int hmac_pass(const struct hasher *h,
                     const unsigned char pad[SHA256_BLOCK], const void *msg,
                     size_t msglen, unsigned char out[SHA256_LEN])
{
    unsigned int outlen = 0;

    return EVP_DigestInit_ex2(h->md, h->sha, NULL) &&
           EVP_DigestUpdate(h->md, pad, SHA256_BLOCK) &&
           EVP_DigestUpdate(h->md, msg, msglen) &&
           EVP_DigestFinal_ex(h->md, out, &outlen) && outlen == SHA256_LEN;
}

/*
 * HMAC-SHA256 (RFC 2104) on the same digest context. EVP_MAC would copy
 * three digest contexts into fresh allocations for every signature; this
 * needs none. unit.sigv4 checks it against OpenSSL's HMAC and the SigV4
 * suite.
 */
static enum kmsre_status hmac_sha256(const struct hasher *h,
                                     const unsigned char *key, size_t keylen,
                                     const void *msg, size_t msglen,
                                     unsigned char out[SHA256_LEN])
{
    unsigned char k[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK], inner[SHA256_LEN];
    enum kmsre_status rc = KMSRE_OK;
    size_t i;
    int ok;

    if (keylen > SHA256_BLOCK)
        rc = sha256(h, key, keylen, k); /* long keys are hashed first */
    else if (keylen != 0)
        memcpy(k, key, keylen);
    if (rc != KMSRE_OK)
        return rc;
    ERR_set_mark();
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = hmac_pass(h, pad, msg, msglen, inner);
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && hmac_pass(h, pad, inner, sizeof(inner), out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return end_crypto(ok);
}

enum kmsre_status sigv4_algs_fetch(struct sigv4_algs *algs,
                                   OSSL_LIB_CTX *libctx, const char *propq)
{
    if (algs == NULL)
        return KMSRE_ERR_INVALID;
    ERR_set_mark();
    algs->sha256 = EVP_MD_fetch(libctx, "SHA256", propq);
    ERR_pop_to_mark();
    return algs->sha256 != NULL ? KMSRE_OK : KMSRE_ERR_CRYPTO;
}

void sigv4_algs_free(struct sigv4_algs *algs)
{
    if (algs == NULL)
        return;
    EVP_MD_free(algs->sha256);
    algs->sha256 = NULL;
}

static enum kmsre_status hex_sha256(const struct hasher *h, const void *data,
                                    size_t len, char out[SIGV4_HEX_LEN + 1])
{
    unsigned char digest[SHA256_LEN];
    enum kmsre_status rc;

    rc = sha256(h, data != NULL ? data : "", len, digest);
    if (rc == KMSRE_OK)
        hex_encode(digest, SHA256_LEN, out);
    return rc;
}

enum kmsre_status sigv4_hex_sha256(const struct sigv4_algs *algs,
                                   const void *data, size_t len,
                                   char out[SIGV4_HEX_LEN + 1])
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

/* --- Signing key -------------------------------------------------------- */

/* kSecret = "AWS4" + secret, in a buffer that is cleansed by the caller. */
static enum kmsre_status make_secret_key(const char *secret,
                                         unsigned char **key, size_t *keylen)
{
    size_t n = strlen(secret);

    if (n > SIZE_MAX - 4)
        return KMSRE_ERR_LIMIT;
    *keylen = n + 4;
    *key = OPENSSL_malloc(*keylen);
    if (*key == NULL)
        return KMSRE_ERR_NOMEM;
    memcpy(*key, "AWS4", 4);
    memcpy(*key + 4, secret, n);
    return KMSRE_OK;
}

static enum kmsre_status hmac_chain(const struct hasher *h,
                                    const unsigned char *k0, size_t k0len,
                                    const char *const *msgs,
                                    unsigned char key[SIGV4_KEY_LEN])
{
    unsigned char k[SHA256_LEN];
    enum kmsre_status rc;

    rc = hmac_sha256(h, k0, k0len, msgs[0], strlen(msgs[0]), k);
    for (msgs++; rc == KMSRE_OK && *msgs != NULL; msgs++)
        rc = hmac_sha256(h, k, sizeof(k), *msgs, strlen(*msgs), k);
    if (rc == KMSRE_OK)
        memcpy(key, k, SIGV4_KEY_LEN);
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

enum kmsre_status sigv4_derive_key(const struct sigv4_algs *algs,
                                   const char *secret, const char *date8,
                                   const char *region, const char *service,
                                   unsigned char key[SIGV4_KEY_LEN])
{
    const char *msgs[] = {date8, region, service, SIGV4_TERMINATOR, NULL};
    unsigned char *ksecret = NULL;
    size_t ksecret_len = 0;
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL || secret == NULL || !is_date8(date8) ||
        !is_scope_part(region) || !is_scope_part(service) || key == NULL)
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = make_secret_key(secret, &ksecret, &ksecret_len);
    if (rc == KMSRE_OK)
        rc = hmac_chain(&h, ksecret, ksecret_len, msgs, key);
    OPENSSL_clear_free(ksecret, ksecret_len);
    hasher_free(&h);
    return rc;
}

/* --- Canonical URI ------------------------------------------------------ */

static enum kmsre_status append_uri_encoded(struct strbuf *sb, const char *s,
                                            size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    enum kmsre_status rc = KMSRE_OK;
    size_t i;

    for (i = 0; rc == KMSRE_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};

        if (is_unreserved(c))
            rc = strbuf_append_char(sb, (char)c);
        else
            rc = strbuf_append_mem(sb, esc, sizeof(esc));
    }
    return rc;
}

/* The path as written, each byte except "/" encoded. For services other
 * than S3 the wire path is already encoded once, so "%" becomes "%25":
 * that is SigV4's "encode twice". */
static enum kmsre_status append_path_verbatim(struct strbuf *sb,
                                              const char *path)
{
    enum kmsre_status rc = KMSRE_OK;
    const char *seg = path, *slash;

    while (rc == KMSRE_OK && (slash = strchr(seg, '/')) != NULL) {
        rc = append_uri_encoded(sb, seg, (size_t)(slash - seg));
        if (rc == KMSRE_OK)
            rc = strbuf_append_char(sb, '/');
        seg = slash + 1;
    }
    if (rc == KMSRE_OK)
        rc = append_uri_encoded(sb, seg, strlen(seg));
    return rc;
}

struct segment {
    const char *p;
    size_t n;
};

/* Splits path into segments, dropping empty and "." ones and letting ".."
 * remove its parent (never above the root). Returns the segment count. */
static size_t resolve_segments(const char *path, struct segment *segs)
{
    size_t count = 0;
    const char *p = path;

    while (*p != '\0') {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (count > 0)
                count--;
        } else if (n != 0 && !(n == 1 && p[0] == '.')) {
            segs[count].p = p;
            segs[count++].n = n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return count;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == c;
    return n;
}

static enum kmsre_status append_path_normalized(struct strbuf *sb,
                                                const char *path)
{
    size_t len = strlen(path), count, i;
    struct segment *segs;
    enum kmsre_status rc = KMSRE_OK;

    segs = OPENSSL_malloc((count_char(path, '/') + 1) * sizeof(*segs));
    if (segs == NULL)
        return KMSRE_ERR_NOMEM;
    count = resolve_segments(path, segs);
    for (i = 0; rc == KMSRE_OK && i < count; i++) {
        rc = strbuf_append_char(sb, '/');
        if (rc == KMSRE_OK)
            rc = append_uri_encoded(sb, segs[i].p, segs[i].n);
    }
    /* The root, or a trailing "/" that the request had. */
    if (rc == KMSRE_OK && (count == 0 || path[len - 1] == '/'))
        rc = strbuf_append_char(sb, '/');
    OPENSSL_free(segs);
    return rc;
}

static enum kmsre_status append_canonical_path(struct strbuf *sb,
                                               const char *path, int normalize)
{
    if (path == NULL)
        return KMSRE_ERR_INVALID;
    if (*path == '\0')
        return strbuf_append_char(sb, '/');
    if (*path != '/')
        return KMSRE_ERR_INVALID;
    return normalize ? append_path_normalized(sb, path)
                     : append_path_verbatim(sb, path);
}

/* --- Canonical query ---------------------------------------------------- */

struct query_param {
    char *key; /* encoded */
    char *value;
};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (at most n bytes). "+" stays a
 * plus sign: SigV4 queries are not form-encoded. */
static enum kmsre_status percent_decode(const char *s, size_t n, char *out,
                                        size_t *outlen)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (n - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0)
            return KMSRE_ERR_INVALID;
        out[o++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
        i += 2;
    }
    *outlen = o;
    return KMSRE_OK;
}

/* Decodes then re-encodes one query component, so that "%e1%88%b4", "ሴ"
 * and "%E1%88%B4" all sign the same. */
static enum kmsre_status canonical_query_part(const char *s, size_t n,
                                              char **out)
{
    struct strbuf sb = {0};
    char *raw;
    size_t rawlen = 0;
    enum kmsre_status rc;

    raw = OPENSSL_malloc(n + 1);
    if (raw == NULL)
        return KMSRE_ERR_NOMEM;
    rc = percent_decode(s, n, raw, &rawlen);
    if (rc == KMSRE_OK)
        rc = append_uri_encoded(&sb, raw, rawlen);
    if (rc == KMSRE_OK)
        rc = strbuf_finish(&sb, out);
    strbuf_free(&sb);
    OPENSSL_clear_free(raw, n + 1);
    return rc;
}

static enum kmsre_status parse_query_param(const char *s, size_t n,
                                           struct query_param *qp)
{
    const char *eq = memchr(s, '=', n);
    size_t klen = eq != NULL ? (size_t)(eq - s) : n;
    enum kmsre_status rc;

    rc = canonical_query_part(s, klen, &qp->key);
    if (rc == KMSRE_OK && eq != NULL)
        rc = canonical_query_part(eq + 1, n - klen - 1, &qp->value);
    else if (rc == KMSRE_OK)
        rc = canonical_query_part("", 0, &qp->value);
    return rc;
}

static int compare_query_params(const void *a, const void *b)
{
    const struct query_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : strcmp(x->value, y->value);
}

static void free_query_params(struct query_param *qps, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free_string(&qps[i].key);
        free_string(&qps[i].value);
    }
    OPENSSL_free(qps);
}

/* Empty pieces ("a=1&&b=2") carry no parameter and are skipped. */
static enum kmsre_status split_query(const char *query, struct query_param *qps,
                                     size_t *count)
{
    enum kmsre_status rc = KMSRE_OK;
    const char *p = query;

    *count = 0;
    while (rc == KMSRE_OK && *p != '\0') {
        size_t n = strcspn(p, "&");

        if (n != 0)
            rc = parse_query_param(p, n, &qps[(*count)++]);
        p += n;
        if (*p == '&')
            p++;
    }
    return rc;
}

static enum kmsre_status append_query_params(struct strbuf *sb,
                                             const struct query_param *qps,
                                             size_t count)
{
    enum kmsre_status rc = KMSRE_OK;
    size_t i;

    for (i = 0; rc == KMSRE_OK && i < count; i++) {
        const char *parts[] = {i == 0 ? "" : "&", qps[i].key, "=", qps[i].value,
                               NULL};

        rc = strbuf_append_all(sb, parts);
    }
    return rc;
}

static enum kmsre_status append_canonical_query(struct strbuf *sb,
                                                const char *query)
{
    struct query_param *qps;
    size_t count = 0;
    enum kmsre_status rc;

    if (query == NULL || *query == '\0')
        return KMSRE_OK;
    qps = OPENSSL_zalloc((count_char(query, '&') + 1) * sizeof(*qps));
    if (qps == NULL)
        return KMSRE_ERR_NOMEM;
    rc = split_query(query, qps, &count);
    if (rc == KMSRE_OK) {
        qsort(qps, count, sizeof(*qps), compare_query_params);
        rc = append_query_params(sb, qps, count);
    }
    free_query_params(qps, count);
    return rc;
}

/* --- Canonical headers -------------------------------------------------- */

struct sorted_header {
    char *lname;
    const char *value;
    size_t order; /* position in the caller's list; keeps sorting stable */
};

/* Header values must fit on one wire line: a CR or LF would let the value
 * smuggle another header. Obsolete line folding is undone by the caller. */
static int is_header_value(const char *v)
{
    for (; *v != '\0'; v++)
        if (is_ctl((unsigned char)*v) && *v != '\t')
            return 0;
    return 1;
}

static void lowercase_copy(char *d, const char *s)
{
    for (; *s != '\0'; s++, d++)
        *d = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
    *d = '\0';
}

static int compare_headers(const void *a, const void *b)
{
    const struct sorted_header *x = a, *y = b;
    int c = strcmp(x->lname, y->lname);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Bytes for the lower-cased names, or 0 when a header is unusable. */
static size_t names_size(const struct sigv4_request *r)
{
    size_t i, total = 0, n;

    for (i = 0; i < r->n_headers; i++) {
        const struct sigv4_header *h = &r->headers[i];

        if (!is_token(h->name) || h->value == NULL ||
            !is_header_value(h->value))
            return 0;
        n = strlen(h->name) + 1;
        if (n > SIZE_MAX - total)
            return 0;
        total += n;
    }
    return total + 1;
}

/* The entries and their lower-cased names share one allocation. */
static enum kmsre_status sort_headers(const struct sigv4_request *r,
                                      struct sorted_header **out)
{
    struct sorted_header *sh;
    size_t i, names, head;
    char *p;

    if (r->n_headers > SIZE_MAX / sizeof(*sh) - 1)
        return KMSRE_ERR_LIMIT;
    names = names_size(r);
    head = (r->n_headers + 1) * sizeof(*sh);
    if (names == 0)
        return KMSRE_ERR_INVALID;
    if (names > SIZE_MAX - head)
        return KMSRE_ERR_LIMIT;
    sh = OPENSSL_zalloc(head + names);
    if (sh == NULL)
        return KMSRE_ERR_NOMEM;
    p = (char *)sh + head;
    for (i = 0; i < r->n_headers; i++) {
        lowercase_copy(p, r->headers[i].name);
        sh[i].lname = p;
        sh[i].value = r->headers[i].value;
        sh[i].order = i;
        p += strlen(p) + 1;
    }
    qsort(sh, r->n_headers, sizeof(*sh), compare_headers);
    *out = sh;
    return KMSRE_OK;
}

/* Trimall: no leading or trailing white space, inner runs become one SP.
 * Whole words are appended at once. */
static enum kmsre_status append_trimmed_value(struct strbuf *sb, const char *v)
{
    enum kmsre_status rc = KMSRE_OK;
    size_t word;

    while (is_ows((unsigned char)*v))
        v++;
    while (rc == KMSRE_OK && *v != '\0') {
        for (word = 0; v[word] != '\0' && !is_ows((unsigned char)v[word]);)
            word++;
        rc = strbuf_append_mem(sb, v, word);
        for (v += word; is_ows((unsigned char)*v);)
            v++;
        if (rc == KMSRE_OK && *v != '\0')
            rc = strbuf_append_char(sb, ' ');
    }
    return rc;
}

/* One "name:v1,v2\n" line per distinct name, and the name added to the
 * signed-header list. */
static enum kmsre_status append_header_group(struct strbuf *headers,
                                             struct strbuf *names,
                                             const struct sorted_header *sh,
                                             size_t n)
{
    enum kmsre_status rc;
    size_t i;

    rc = strbuf_append(headers, sh[0].lname);
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(headers, ':');
    for (i = 0; rc == KMSRE_OK && i < n; i++) {
        if (i > 0)
            rc = strbuf_append_char(headers, ',');
        if (rc == KMSRE_OK)
            rc = append_trimmed_value(headers, sh[i].value);
    }
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(headers, '\n');
    if (rc == KMSRE_OK && names->len != 0)
        rc = strbuf_append_char(names, ';');
    if (rc == KMSRE_OK)
        rc = strbuf_append(names, sh[0].lname);
    return rc;
}

static size_t same_name_run(const struct sorted_header *sh, size_t n)
{
    size_t i = 1;

    while (i < n && strcmp(sh[i].lname, sh[0].lname) == 0)
        i++;
    return i;
}

static int has_host(const struct sorted_header *sh, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(sh[i].lname, "host") == 0)
            return 1;
    return 0;
}

static enum kmsre_status build_headers(const struct sigv4_request *r,
                                       struct strbuf *headers,
                                       struct strbuf *names)
{
    struct sorted_header *sh = NULL;
    enum kmsre_status rc;
    size_t i, run;

    if (r->n_headers != 0 && r->headers == NULL)
        return KMSRE_ERR_INVALID;
    rc = sort_headers(r, &sh);
    if (rc != KMSRE_OK)
        return rc;
    /* SigV4 requires a signed Host header. */
    if (!has_host(sh, r->n_headers))
        rc = KMSRE_ERR_INVALID;
    for (i = 0; rc == KMSRE_OK && i < r->n_headers; i += run) {
        run = same_name_run(sh + i, r->n_headers - i);
        rc = append_header_group(headers, names, sh + i, run);
    }
    OPENSSL_free(sh);
    return rc;
}

/* --- Stages ------------------------------------------------------------- */

static void clear_from_signature(struct sigv4_state *st)
{
    OPENSSL_cleanse(st->signature, sizeof(st->signature));
    free_string(&st->authorization);
}

static void clear_from_string_to_sign(struct sigv4_state *st)
{
    free_string(&st->string_to_sign);
    clear_from_signature(st);
}

static void clear_from_canonical_request(struct sigv4_state *st)
{
    free_string(&st->canonical_request);
    free_string(&st->signed_headers);
    clear_from_string_to_sign(st);
}

static enum kmsre_status append_request_line(struct strbuf *cr,
                                             const struct sigv4_request *r)
{
    enum kmsre_status rc;

    if (!is_token(r->method))
        return KMSRE_ERR_INVALID;
    rc = strbuf_append(cr, r->method);
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(cr, '\n');
    if (rc == KMSRE_OK)
        rc = append_canonical_path(cr, r->path, r->normalize_path);
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(cr, '\n');
    if (rc == KMSRE_OK)
        rc = append_canonical_query(cr, r->query);
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(cr, '\n');
    return rc;
}

static enum kmsre_status
assemble_canonical_request(const struct hasher *h,
                           const struct sigv4_request *r, struct strbuf *cr,
                           struct strbuf *names)
{
    char payload_hash[SIGV4_HEX_LEN + 1];
    enum kmsre_status rc;

    if (r->payload == NULL && r->payload_len != 0)
        return KMSRE_ERR_INVALID;
    rc = hex_sha256(h, r->payload, r->payload_len, payload_hash);
    if (rc == KMSRE_OK)
        rc = append_request_line(cr, r);
    if (rc == KMSRE_OK)
        rc = build_headers(r, cr, names);
    if (rc == KMSRE_OK) {
        const char *parts[] = {"\n", names->data, "\n", payload_hash, NULL};

        rc = strbuf_append_all(cr, parts);
    }
    return rc;
}

static enum kmsre_status canonical_request(const struct hasher *h,
                                           struct sigv4_state *st,
                                           const struct sigv4_request *r)
{
    struct strbuf cr = {0}, names = {0};
    enum kmsre_status rc;

    if (st == NULL || r == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_canonical_request(st);
    /* One allocation for a typical KMS request, not a doubling series. */
    rc = strbuf_reserve(&cr, CANONICAL_REQUEST_GUESS);
    if (rc == KMSRE_OK)
        rc = assemble_canonical_request(h, r, &cr, &names);
    if (rc == KMSRE_OK)
        rc = strbuf_finish(&cr, &st->canonical_request);
    if (rc == KMSRE_OK)
        rc = strbuf_finish(&names, &st->signed_headers);
    strbuf_free(&cr);
    strbuf_free(&names);
    if (rc != KMSRE_OK)
        clear_from_canonical_request(st);
    return rc;
}

static int is_valid_scope(const struct sigv4_scope *scope)
{
    return scope != NULL && is_amz_date(scope->amz_date) &&
           is_scope_part(scope->region) && is_scope_part(scope->service);
}

/* "DATE/REGION/SERVICE/aws4_request" */
static enum kmsre_status
append_credential_scope(struct strbuf *sb, const struct sigv4_scope *scope)
{
    enum kmsre_status rc;
    const char *parts[] = {
        "/", scope->region, "/", scope->service, "/" SIGV4_TERMINATOR, NULL};

    rc = strbuf_append_mem(sb, scope->amz_date, SIGV4_DATE_LEN);
    if (rc == KMSRE_OK)
        rc = strbuf_append_all(sb, parts);
    return rc;
}

static enum kmsre_status string_to_sign(const struct hasher *h,
                                        struct sigv4_state *st,
                                        const struct sigv4_scope *scope)
{
    char cr_hash[SIGV4_HEX_LEN + 1];
    struct strbuf sb = {0};
    enum kmsre_status rc;
    const char *head[] = {SIGV4_ALGORITHM "\n", NULL, "\n", NULL};

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_string_to_sign(st);
    if (st->canonical_request == NULL || !is_valid_scope(scope))
        return KMSRE_ERR_INVALID;
    head[1] = scope->amz_date;
    rc = hex_sha256(h, st->canonical_request, strlen(st->canonical_request),
                    cr_hash);
    if (rc == KMSRE_OK)
        rc = strbuf_reserve(&sb, STRING_TO_SIGN_GUESS);
    if (rc == KMSRE_OK)
        rc = strbuf_append_all(&sb, head);
    if (rc == KMSRE_OK)
        rc = append_credential_scope(&sb, scope);
    if (rc == KMSRE_OK)
        rc = strbuf_append_char(&sb, '\n');
    if (rc == KMSRE_OK)
        rc = strbuf_append(&sb, cr_hash);
    if (rc == KMSRE_OK)
        rc = strbuf_finish(&sb, &st->string_to_sign);
    strbuf_free(&sb);
    return rc;
}

static enum kmsre_status signature(const struct hasher *h,
                                   struct sigv4_state *st,
                                   const unsigned char key[SIGV4_KEY_LEN])
{
    unsigned char mac[SHA256_LEN];
    enum kmsre_status rc;

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    clear_from_signature(st);
    if (st->string_to_sign == NULL || key == NULL)
        return KMSRE_ERR_INVALID;
    rc = hmac_sha256(h, key, SIGV4_KEY_LEN, st->string_to_sign,
                     strlen(st->string_to_sign), mac);
    if (rc == KMSRE_OK)
        hex_encode(mac, SHA256_LEN, st->signature);
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

static enum kmsre_status append_authorization(struct strbuf *sb,
                                              const struct sigv4_state *st,
                                              const char *access_key_id,
                                              const struct sigv4_scope *scope)
{
    const char *head[] = {SIGV4_ALGORITHM " Credential=", access_key_id, "/",
                          NULL};
    const char *tail[] = {", SignedHeaders=", st->signed_headers,
                          ", Signature=", st->signature, NULL};
    enum kmsre_status rc;

    rc = strbuf_append_all(sb, head);
    if (rc == KMSRE_OK)
        rc = append_credential_scope(sb, scope);
    if (rc == KMSRE_OK)
        rc = strbuf_append_all(sb, tail);
    return rc;
}

enum kmsre_status sigv4_build_authorization(struct sigv4_state *st,
                                            const char *access_key_id,
                                            const struct sigv4_scope *scope)
{
    struct strbuf sb = {0};
    enum kmsre_status rc;

    if (st == NULL)
        return KMSRE_ERR_INVALID;
    free_string(&st->authorization);
    if (st->signed_headers == NULL || strlen(st->signature) != SIGV4_HEX_LEN ||
        !is_scope_part(access_key_id) || !is_valid_scope(scope))
        return KMSRE_ERR_INVALID;
    rc = append_authorization(&sb, st, access_key_id, scope);
    if (rc == KMSRE_OK)
        rc = strbuf_finish(&sb, &st->authorization);
    strbuf_free(&sb);
    return rc;
}

/* The stages one at a time, each on its own digest context (the tests
 * check them separately); sigv4_sign runs all of them on one. */
enum kmsre_status sigv4_build_canonical_request(const struct sigv4_algs *algs,
                                                struct sigv4_state *st,
                                                const struct sigv4_request *r)
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

enum kmsre_status sigv4_build_string_to_sign(const struct sigv4_algs *algs,
                                             struct sigv4_state *st,
                                             const struct sigv4_scope *scope)
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

enum kmsre_status sigv4_build_signature(const struct sigv4_algs *algs,
                                        struct sigv4_state *st,
                                        const unsigned char key[SIGV4_KEY_LEN])
{
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL)
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = signature(&h, st, key);
    hasher_free(&h);
    return rc;
}

enum kmsre_status
sigv4_sign(const struct sigv4_algs *algs, struct sigv4_state *st,
           const struct sigv4_request *r, const struct sigv4_scope *scope,
           const char *access_key_id, const unsigned char key[SIGV4_KEY_LEN])
{
    struct hasher h;
    enum kmsre_status rc;

    if (algs == NULL)
        return KMSRE_ERR_INVALID;
    rc = hasher_init(&h, algs);
    if (rc == KMSRE_OK)
        rc = canonical_request(&h, st, r);
    if (rc == KMSRE_OK)
        rc = string_to_sign(&h, st, scope);
    if (rc == KMSRE_OK)
        rc = signature(&h, st, key);
    if (rc == KMSRE_OK)
        rc = sigv4_build_authorization(st, access_key_id, scope);
    hasher_free(&h);
    if (rc != KMSRE_OK)
        sigv4_state_clear(st);
    return rc;
}

void sigv4_state_clear(struct sigv4_state *st)
{
    if (st != NULL)
        clear_from_canonical_request(st);
}
