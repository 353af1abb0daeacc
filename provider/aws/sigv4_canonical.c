/* SPDX-License-Identifier: Apache-2.0 */
/* The SigV4 canonical request: method, canonical URI (encoded twice, or
 * normalised), canonical query (sorted, re-encoded), canonical headers
 * (lower-cased, trimmed, merged) and the signed-header list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/sigv4_internal.h"

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

/* --- Canonical URI ------------------------------------------------------ */

static enum kmsre_status append_uri_encoded(struct kmsre_strbuf *sb,
                                            const char *s, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    enum kmsre_status rc = KMSRE_OK;
    size_t i;

    for (i = 0; rc == KMSRE_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};

        if (is_unreserved(c))
            rc = kmsre_strbuf_append_char(sb, (char)c);
        else
            rc = kmsre_strbuf_append_mem(sb, esc, sizeof(esc));
    }
    return rc;
}

/* The path as written, each byte except "/" encoded. For services other
 * than S3 the wire path is already encoded once, so "%" becomes "%25":
 * that is SigV4's "encode twice". */
static enum kmsre_status append_path_verbatim(struct kmsre_strbuf *sb,
                                              const char *path)
{
    enum kmsre_status rc = KMSRE_OK;
    const char *seg = path, *slash;

    while (rc == KMSRE_OK && (slash = strchr(seg, '/')) != NULL) {
        rc = append_uri_encoded(sb, seg, (size_t)(slash - seg));
        if (rc == KMSRE_OK)
            rc = kmsre_strbuf_append_char(sb, '/');
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

static enum kmsre_status append_path_normalized(struct kmsre_strbuf *sb,
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
        rc = kmsre_strbuf_append_char(sb, '/');
        if (rc == KMSRE_OK)
            rc = append_uri_encoded(sb, segs[i].p, segs[i].n);
    }
    /* The root, or a trailing "/" that the request had. */
    if (rc == KMSRE_OK && (count == 0 || path[len - 1] == '/'))
        rc = kmsre_strbuf_append_char(sb, '/');
    OPENSSL_free(segs);
    return rc;
}

static enum kmsre_status append_canonical_path(struct kmsre_strbuf *sb,
                                               const char *path, int normalize)
{
    if (path == NULL)
        return KMSRE_ERR_INVALID;
    if (*path == '\0')
        return kmsre_strbuf_append_char(sb, '/');
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
    struct kmsre_strbuf sb = {0};
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
        rc = kmsre_strbuf_finish(&sb, out);
    kmsre_strbuf_free(&sb);
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
        kmsre_free_secret(&qps[i].key);
        kmsre_free_secret(&qps[i].value);
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

static enum kmsre_status append_query_params(struct kmsre_strbuf *sb,
                                             const struct query_param *qps,
                                             size_t count)
{
    enum kmsre_status rc = KMSRE_OK;
    size_t i;

    for (i = 0; rc == KMSRE_OK && i < count; i++) {
        const char *parts[] = {i == 0 ? "" : "&", qps[i].key, "=", qps[i].value,
                               NULL};

        rc = kmsre_strbuf_append_all(sb, parts);
    }
    return rc;
}

static enum kmsre_status append_canonical_query(struct kmsre_strbuf *sb,
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
static size_t names_size(const struct kmsre_sigv4_request *r)
{
    size_t i, total = 0, n;

    for (i = 0; i < r->n_headers; i++) {
        const struct kmsre_http_header *h = &r->headers[i];

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
static enum kmsre_status sort_headers(const struct kmsre_sigv4_request *r,
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
static enum kmsre_status append_trimmed_value(struct kmsre_strbuf *sb,
                                              const char *v)
{
    enum kmsre_status rc = KMSRE_OK;
    size_t word;

    while (is_ows((unsigned char)*v))
        v++;
    while (rc == KMSRE_OK && *v != '\0') {
        for (word = 0; v[word] != '\0' && !is_ows((unsigned char)v[word]);)
            word++;
        rc = kmsre_strbuf_append_mem(sb, v, word);
        for (v += word; is_ows((unsigned char)*v);)
            v++;
        if (rc == KMSRE_OK && *v != '\0')
            rc = kmsre_strbuf_append_char(sb, ' ');
    }
    return rc;
}

/* One "name:v1,v2\n" line per distinct name, and the name added to the
 * signed-header list. */
static enum kmsre_status append_header_group(struct kmsre_strbuf *headers,
                                             struct kmsre_strbuf *names,
                                             const struct sorted_header *sh,
                                             size_t n)
{
    enum kmsre_status rc;
    size_t i;

    rc = kmsre_strbuf_append(headers, sh[0].lname);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(headers, ':');
    for (i = 0; rc == KMSRE_OK && i < n; i++) {
        if (i > 0)
            rc = kmsre_strbuf_append_char(headers, ',');
        if (rc == KMSRE_OK)
            rc = append_trimmed_value(headers, sh[i].value);
    }
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(headers, '\n');
    if (rc == KMSRE_OK && names->len != 0)
        rc = kmsre_strbuf_append_char(names, ';');
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append(names, sh[0].lname);
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

static enum kmsre_status build_headers(const struct kmsre_sigv4_request *r,
                                       struct kmsre_strbuf *headers,
                                       struct kmsre_strbuf *names)
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

static enum kmsre_status
append_request_line(struct kmsre_strbuf *cr,
                    const struct kmsre_sigv4_request *r)
{
    enum kmsre_status rc;

    if (!is_token(r->method))
        return KMSRE_ERR_INVALID;
    rc = kmsre_strbuf_append(cr, r->method);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(cr, '\n');
    if (rc == KMSRE_OK)
        rc = append_canonical_path(cr, r->path, r->normalize_path);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(cr, '\n');
    if (rc == KMSRE_OK)
        rc = append_canonical_query(cr, r->query);
    if (rc == KMSRE_OK)
        rc = kmsre_strbuf_append_char(cr, '\n');
    return rc;
}

enum kmsre_status
kmsre_sigv4_canonical_request(const struct kmsre_sigv4_request *r,
                              const char payload_hash[KMSRE_SIGV4_HEX_LEN + 1],
                              struct kmsre_strbuf *cr,
                              struct kmsre_strbuf *names)
{
    enum kmsre_status rc;

    rc = append_request_line(cr, r);
    if (rc == KMSRE_OK)
        rc = build_headers(r, cr, names);
    if (rc == KMSRE_OK) {
        const char *parts[] = {"\n", names->data, "\n", payload_hash, NULL};

        rc = kmsre_strbuf_append_all(cr, parts);
    }
    return rc;
}
