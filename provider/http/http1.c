/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 framing (RFC 9112) with no I/O: one request buffer out, an
 * incremental response parser in. The parser is a byte-stream state
 * machine: however the bytes are split between calls, it reaches the same
 * result, so a short read never changes what a response means. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "http/http1.h"

enum parser_state {
    ST_STATUS,      /* the status line */
    ST_HEADERS,     /* header lines up to the empty one */
    ST_BODY_LENGTH, /* p->remaining bytes of a Content-Length body */
    ST_BODY_CLOSE,  /* everything until the server closes */
    ST_CHUNK_SIZE,  /* a chunk-size line */
    ST_CHUNK_DATA,  /* p->remaining bytes of a chunk */
    ST_CHUNK_CR,    /* the CRLF (or LF) after a chunk's data */
    ST_CHUNK_LF,
    ST_TRAILERS, /* trailer lines after the last chunk */
    ST_FINISHED  /* p->result holds the outcome */
};

/* p->te: the Transfer-Encoding codings seen so far. */
enum te_state {
    TE_NONE,    /* no Transfer-Encoding header */
    TE_CHUNKED, /* exactly one coding so far: chunked */
    TE_OTHER,   /* present, no coding yet */
    TE_BROKEN   /* any other coding, or chunked twice: refused */
};

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Control characters other than HTAB, DEL included. */
static int is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int names_equal(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* ---- the request -------------------------------------------------------- */

static int add_size(size_t *total, size_t n)
{
    if (n > SIZE_MAX - *total)
        return 0;
    *total += n;
    return 1;
}

static int valid_value(const char *v)
{
    for (; *v != '\0'; v++)
        if (is_ctl((unsigned char)*v))
            return 0;
    return 1;
}

static int valid_target(const char *t)
{
    if (t[0] != '/')
        return 0;
    for (; *t != '\0'; t++)
        if ((unsigned char)*t <= 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

/* The caller's headers must not frame the body: Content-Length is ours,
 * and a second one (or a Transfer-Encoding) would let the two ends
 * disagree on where this request stops. */
static int valid_header(const struct kmsre_http_header *h)
{
    size_t n;

    if (h->name == NULL || h->value == NULL)
        return 0;
    n = strlen(h->name);
    return is_token(h->name, n) && valid_value(h->value) &&
           !names_equal(h->name, n, "Content-Length") &&
           !names_equal(h->name, n, "Transfer-Encoding");
}

static int valid_request(const char *method, const char *target,
                         const struct kmsre_http_header *headers,
                         size_t n_headers, const char *user_agent,
                         const char *body, size_t body_len)
{
    size_t i;

    if (method == NULL || target == NULL || !is_token(method, strlen(method)))
        return 0;
    if (!valid_target(target) || (n_headers > 0 && headers == NULL))
        return 0;
    if ((user_agent != NULL && !valid_value(user_agent)) ||
        (body == NULL && body_len > 0))
        return 0;
    for (i = 0; i < n_headers; i++)
        if (!valid_header(&headers[i]))
            return 0;
    return 1;
}

static char *put(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

static char *put_str(char *w, const char *s)
{
    return put(w, s, strlen(s));
}

enum kmsre_status http1_format_request(const char *method, const char *target,
                                       const struct kmsre_http_header *headers,
                                       size_t n_headers, const char *user_agent,
                                       const char *body, size_t body_len,
                                       char **out, size_t *out_len)
{
    char length[24];
    size_t total = 0, i;
    int ok = 1;
    char *buf, *w;

    *out = NULL;
    *out_len = 0;
    if (!valid_request(method, target, headers, n_headers, user_agent, body,
                       body_len))
        return KMSRE_ERR_INVALID;
    snprintf(length, sizeof(length), "%zu", body_len);

    ok &= add_size(&total, strlen(method) + 1 + strlen(target));
    ok &= add_size(&total, sizeof(" HTTP/1.1\r\n") - 1);
    for (i = 0; ok && i < n_headers; i++) {
        ok &= add_size(&total, strlen(headers[i].name) + 2);
        ok &= add_size(&total, strlen(headers[i].value) + 2);
    }
    if (user_agent != NULL)
        ok &= add_size(&total, sizeof("User-Agent: \r\n") - 1) &&
              add_size(&total, strlen(user_agent));
    ok &= add_size(&total, sizeof("Content-Length: \r\n\r\n") - 1);
    ok &= add_size(&total, strlen(length));
    ok &= add_size(&total, body_len) && total < SIZE_MAX; /* and the NUL */
    if (!ok)
        return KMSRE_ERR_LIMIT;

    buf = OPENSSL_malloc(total + 1);
    if (buf == NULL)
        return KMSRE_ERR_NOMEM;
    w = put_str(buf, method);
    w = put(w, " ", 1);
    w = put_str(w, target);
    w = put_str(w, " HTTP/1.1\r\n");
    for (i = 0; i < n_headers; i++) {
        w = put_str(w, headers[i].name);
        w = put(w, ": ", 2);
        w = put_str(w, headers[i].value);
        w = put(w, "\r\n", 2);
    }
    if (user_agent != NULL) {
        w = put_str(w, "User-Agent: ");
        w = put_str(w, user_agent);
        w = put(w, "\r\n", 2);
    }
    w = put_str(w, "Content-Length: ");
    w = put_str(w, length);
    w = put_str(w, "\r\n\r\n");
    if (body_len > 0)
        w = put(w, body, body_len);
    *w = '\0';
    *out = buf;
    *out_len = total;
    return KMSRE_OK;
}

/* ---- outcomes ----------------------------------------------------------- */

static void finish(struct http1_parser *p, enum http1_result r, const char *why)
{
    p->result = r;
    p->state = ST_FINISHED;
    if (r != HTTP1_DONE) {
        p->keep_alive = 0;
        snprintf(p->resp->error, sizeof(p->resp->error), "%s", why);
    }
}

static void fail(struct http1_parser *p, const char *why)
{
    finish(p, HTTP1_BAD, why);
}

static void nomem(struct http1_parser *p)
{
    finish(p, HTTP1_NOMEM, "out of memory reading the answer");
}

static void too_large(struct http1_parser *p)
{
    char why[sizeof(p->resp->error)];

    snprintf(why, sizeof(why), "response larger than %zu bytes refused",
             p->max_body);
    finish(p, HTTP1_TOO_LARGE, why);
}

/* ---- the body ----------------------------------------------------------- */

/* Room for need body bytes and the NUL. A known length is allocated at
 * once; otherwise the buffer doubles, never beyond max_body + 1. */
static int body_reserve(struct http1_parser *p, size_t need, int exact)
{
    size_t cap = p->body_cap;
    char *grown;

    if (need < cap)
        return 1;
    if (exact) {
        cap = need + 1;
    } else {
        cap = cap < 256 ? 256 : cap * 2;
        if (cap < need + 1)
            cap = need + 1;
        if (cap > p->max_body + 1)
            cap = p->max_body + 1;
    }
    grown = OPENSSL_realloc(p->resp->body, cap);
    if (grown == NULL)
        return 0;
    /* Terminated now: the answer may end before another byte arrives. */
    grown[p->resp->body_len] = '\0';
    p->resp->body = grown;
    p->body_cap = cap;
    return 1;
}

/* The callers keep body_len + n within max_body. */
static int body_append(struct http1_parser *p, const char *d, size_t n)
{
    struct kmsre_http_response *r = p->resp;

    if (n == 0)
        return 1;
    if (!body_reserve(p, r->body_len + n, 0))
        return 0;
    memcpy(r->body + r->body_len, d, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 1;
}

static size_t feed_counted(struct http1_parser *p, const char *d, size_t len)
{
    size_t n = len < p->remaining ? len : (size_t)p->remaining;

    if (!body_append(p, d, n)) {
        nomem(p);
        return 0;
    }
    p->remaining -= n;
    if (p->remaining == 0) {
        if (p->state == ST_BODY_LENGTH)
            finish(p, HTTP1_DONE, NULL);
        else
            p->state = ST_CHUNK_CR;
    }
    return n;
}

/* Whatever fits is kept, so the body at TOO_LARGE does not depend on how
 * the bytes were split. */
static size_t feed_until_close(struct http1_parser *p, const char *d,
                               size_t len)
{
    size_t room = p->max_body - p->resp->body_len;
    size_t n = len < room ? len : room;

    if (!body_append(p, d, n)) {
        nomem(p);
        return 0;
    }
    if (len > room)
        too_large(p);
    return n;
}

/* After a chunk's data: CRLF or a bare LF, nothing else. */
static size_t feed_chunk_end(struct http1_parser *p, char c)
{
    if (p->state == ST_CHUNK_CR && c == '\r')
        p->state = ST_CHUNK_LF;
    else if (c == '\n')
        p->state = ST_CHUNK_SIZE;
    else
        fail(p, "malformed chunked body: no line end after chunk data");
    return 1;
}

/* ---- header fields ------------------------------------------------------ */

/* The next element of a comma-separated list, trimmed of OWS. *pos starts
 * at 0; returns 0 once the list is exhausted. "" is one empty element. */
static int list_next(const char *v, size_t n, size_t *pos, const char **e,
                     size_t *elen)
{
    const char *comma;
    size_t start = *pos, end;

    if (start > n)
        return 0;
    comma = memchr(v + start, ',', n - start);
    end = comma != NULL ? (size_t)(comma - v) : n;
    *pos = end + 1;
    while (start < end && is_ows((unsigned char)v[start]))
        start++;
    while (end > start && is_ows((unsigned char)v[end - 1]))
        end--;
    *e = v + start;
    *elen = end - start;
    return 1;
}

static int parse_decimal(const char *s, size_t n, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]) ||
            v > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Repeated headers and "n, n" lists are fine as long as they agree. */
static void on_content_length(struct http1_parser *p, const char *v, size_t n)
{
    unsigned long long len;
    size_t pos = 0, elen;
    const char *e;

    while (list_next(v, n, &pos, &e, &elen)) {
        if (!parse_decimal(e, elen, &len)) {
            fail(p, "invalid Content-Length");
            return;
        }
        if (p->have_length && len != p->length) {
            fail(p, "conflicting Content-Length values");
            return;
        }
        p->have_length = 1;
        p->length = len;
    }
}

/* Codings accumulate over repeated headers. We never ask for compression,
 * so the only framing we read is a single "chunked" and nothing else. */
static void on_transfer_encoding(struct http1_parser *p, const char *v,
                                 size_t n)
{
    size_t pos = 0, elen;
    const char *e;

    if (p->te == TE_NONE)
        p->te = TE_OTHER; /* present: it must name chunked to be usable */
    while (list_next(v, n, &pos, &e, &elen)) {
        if (elen == 0 || p->te == TE_BROKEN)
            continue; /* empty list elements are ignored (RFC 9110 5.6.1) */
        if (p->te == TE_OTHER && names_equal(e, elen, "chunked"))
            p->te = TE_CHUNKED;
        else
            p->te = TE_BROKEN; /* another coding, or chunked twice */
    }
}

static void on_connection(struct http1_parser *p, const char *v, size_t n)
{
    size_t pos = 0, elen;
    const char *e;

    while (list_next(v, n, &pos, &e, &elen)) {
        if (names_equal(e, elen, "close"))
            p->conn_close = 1;
        else if (names_equal(e, elen, "keep-alive"))
            p->conn_keep_alive = 1;
    }
}

/* Truncated to fit, NUL-terminated, control characters as spaces (the
 * value ends up in log lines and error messages). */
static void capture(char *dst, size_t size, const char *v, size_t n)
{
    size_t i;

    if (n >= size)
        n = size - 1;
    for (i = 0; i < n; i++)
        dst[i] = is_ctl((unsigned char)v[i]) || v[i] == '\t' ? ' ' : v[i];
    dst[n] = '\0';
}

static void on_field(struct http1_parser *p, const char *name, size_t nlen,
                     const char *v, size_t vlen)
{
    struct kmsre_http_response *r = p->resp;

    if (names_equal(name, nlen, "Content-Length"))
        on_content_length(p, v, vlen);
    else if (names_equal(name, nlen, "Transfer-Encoding"))
        on_transfer_encoding(p, v, vlen);
    else if (names_equal(name, nlen, "Connection"))
        on_connection(p, v, vlen);
    else if (names_equal(name, nlen, "x-amzn-RequestId"))
        capture(r->request_id, sizeof(r->request_id), v, vlen);
    else if (names_equal(name, nlen, "X-Amzn-ErrorType"))
        capture(r->error_type, sizeof(r->error_type), v, vlen);
}

/* "name: value", name a token with nothing between it and the colon. The
 * fields are interpreted only when apply is set (not in 1xx responses,
 * not in trailers). */
static void on_field_line(struct http1_parser *p, const char *s, size_t len,
                          int apply)
{
    const char *colon, *v;
    size_t vlen;

    if (is_ows((unsigned char)s[0])) {
        fail(p, "obsolete line folding in the header section");
        return;
    }
    colon = memchr(s, ':', len);
    if (colon == NULL || !is_token(s, (size_t)(colon - s))) {
        fail(p, "malformed header line");
        return;
    }
    v = colon + 1;
    vlen = len - (size_t)(v - s);
    while (vlen > 0 && is_ows((unsigned char)*v))
        v++, vlen--;
    while (vlen > 0 && is_ows((unsigned char)v[vlen - 1]))
        vlen--;
    if (apply)
        on_field(p, s, (size_t)(colon - s), v, vlen);
}

/* ---- lines -------------------------------------------------------------- */

/* "HTTP/1.x" SP 3DIGIT [SP reason]. */
static void on_status_line(struct http1_parser *p, const char *s, size_t len)
{
    long status;
    size_t i;

    if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
        (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
        !is_digit((unsigned char)s[9]) || !is_digit((unsigned char)s[10]) ||
        !is_digit((unsigned char)s[11]) || (len > 12 && s[12] != ' ')) {
        fail(p, "malformed status line");
        return;
    }
    for (i = 13; i < len; i++)
        if (is_ctl((unsigned char)s[i])) {
            fail(p, "malformed status line");
            return;
        }
    status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (status < 100 || status > 599) {
        fail(p, "malformed status line");
        return;
    }
    p->resp->status = status;
    if (status == 101) {
        fail(p, "unexpected 101 Switching Protocols");
        return;
    }
    p->http10 = s[7] == '0';
    p->interim = status < 200;
    p->have_length = 0;
    p->length = 0;
    p->te = TE_NONE;
    p->conn_close = 0;
    p->conn_keep_alive = 0;
    p->state = ST_HEADERS;
}

/* RFC 9112 6.3: a message with both Transfer-Encoding and Content-Length
 * may be an attempt at smuggling; it is read, the connection not reused. */
static int reusable(const struct http1_parser *p)
{
    if (p->conn_close || p->framing == HTTP1_FRAMING_CLOSE)
        return 0;
    if (p->framing == HTTP1_FRAMING_CHUNKED && p->have_length)
        return 0;
    if (p->http10)
        return p->conn_keep_alive && (p->framing == HTTP1_FRAMING_LENGTH ||
                                      p->framing == HTTP1_FRAMING_NONE);
    return 1;
}

static void choose_framing(struct http1_parser *p)
{
    long status = p->resp->status;

    if (status == 204 || status == 304)
        p->framing = HTTP1_FRAMING_NONE;
    else if (p->te != TE_NONE)
        p->framing = HTTP1_FRAMING_CHUNKED;
    else if (p->have_length)
        p->framing = HTTP1_FRAMING_LENGTH;
    else
        p->framing = HTTP1_FRAMING_CLOSE;
}

static void end_of_headers(struct http1_parser *p)
{
    if (p->interim) {
        p->state = ST_STATUS; /* the real answer follows */
        return;
    }
    choose_framing(p);
    if (p->framing == HTTP1_FRAMING_CHUNKED && p->te != TE_CHUNKED) {
        fail(p, "unsupported Transfer-Encoding");
        return;
    }
    p->keep_alive = reusable(p);
    switch (p->framing) {
    case HTTP1_FRAMING_NONE:
        finish(p, HTTP1_DONE, NULL);
        break;
    case HTTP1_FRAMING_LENGTH:
        if (p->length > p->max_body) {
            too_large(p);
        } else if (p->length == 0) {
            finish(p, HTTP1_DONE, NULL);
        } else if (!body_reserve(p, (size_t)p->length, 1)) {
            nomem(p);
        } else {
            p->remaining = p->length;
            p->state = ST_BODY_LENGTH;
        }
        break;
    case HTTP1_FRAMING_CHUNKED:
        p->state = ST_CHUNK_SIZE;
        break;
    case HTTP1_FRAMING_CLOSE:
        p->state = ST_BODY_CLOSE;
        break;
    }
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* chunk-size [BWS ";" extensions]; the extensions are ignored. */
static void on_chunk_size_line(struct http1_parser *p, const char *s,
                               size_t len)
{
    unsigned long long size = 0;
    size_t i;
    int d;

    for (i = 0; i < len && (d = hex_value((unsigned char)s[i])) >= 0; i++) {
        if (size > ULLONG_MAX >> 4) {
            fail(p, "malformed chunked body: chunk size overflows");
            return;
        }
        size = size << 4 | (unsigned)d;
    }
    if (i == 0) {
        fail(p, "malformed chunked body: bad chunk size");
        return;
    }
    while (i < len && is_ows((unsigned char)s[i]))
        i++;
    if (i < len && s[i] != ';') {
        fail(p, "malformed chunked body: bad chunk size");
        return;
    }
    if (size == 0) {
        p->header_bytes = 0; /* trailers get a budget of their own */
        p->state = ST_TRAILERS;
    } else if (size > p->max_body - p->resp->body_len) {
        too_large(p);
    } else if (!body_reserve(p, p->resp->body_len + (size_t)size, 0)) {
        nomem(p);
    } else {
        p->remaining = size;
        p->state = ST_CHUNK_DATA;
    }
}

static int in_header_section(const struct http1_parser *p)
{
    return p->state == ST_STATUS || p->state == ST_HEADERS ||
           p->state == ST_TRAILERS;
}

/* One whole line without its LF. raw is its size on the wire. */
static void on_line(struct http1_parser *p, const char *s, size_t len)
{
    size_t raw = len + 1;

    if (len > 0 && s[len - 1] == '\r')
        len--;
    /* A bare CR or a NUL means different things to different parsers. */
    if (memchr(s, '\r', len) != NULL || memchr(s, '\0', len) != NULL) {
        fail(p, p->state == ST_STATUS ? "malformed status line"
                                      : "malformed line in the answer");
        return;
    }
    if (in_header_section(p)) {
        if (raw > HTTP1_MAX_HEADERS - p->header_bytes) {
            fail(p, p->state == ST_TRAILERS ? "trailer section too large"
                                            : "header section too large");
            return;
        }
        p->header_bytes += raw;
    }
    switch (p->state) {
    case ST_STATUS:
        on_status_line(p, s, len);
        break;
    case ST_HEADERS:
        if (len == 0)
            end_of_headers(p);
        else
            on_field_line(p, s, len, !p->interim);
        break;
    case ST_CHUNK_SIZE:
        on_chunk_size_line(p, s, len);
        break;
    case ST_TRAILERS:
        if (len == 0)
            finish(p, HTTP1_DONE, NULL);
        else
            on_field_line(p, s, len, 0);
        break;
    default:
        break;
    }
}

static const char *line_too_long(const struct http1_parser *p)
{
    switch (p->state) {
    case ST_STATUS:
        return "status line too long";
    case ST_CHUNK_SIZE:
        return "chunk size line too long";
    default:
        return "header line too long";
    }
}

static int line_append(struct http1_parser *p, const char *d, size_t n)
{
    size_t cap = p->line_cap != 0 ? p->line_cap : 128;
    char *grown;

    if (n == 0)
        return 1;
    if (p->line_len + n > p->line_cap) {
        while (cap < p->line_len + n)
            cap *= 2;
        if (cap > HTTP1_MAX_LINE)
            cap = HTTP1_MAX_LINE;
        grown = OPENSSL_realloc(p->line, cap);
        if (grown == NULL)
            return 0;
        p->line = grown;
        p->line_cap = cap;
    }
    memcpy(p->line + p->line_len, d, n);
    p->line_len += n;
    return 1;
}

/* Takes bytes up to and including the next LF. A line is at most
 * HTTP1_MAX_LINE bytes with its line end; a line that arrives whole in
 * one call is parsed where it lies, without a copy. */
static size_t feed_line(struct http1_parser *p, const char *d, size_t len)
{
    const char *lf = memchr(d, '\n', len);
    size_t n = lf != NULL ? (size_t)(lf - d) + 1 : len;
    size_t room = HTTP1_MAX_LINE - p->line_len;

    if (lf != NULL ? n > room : n >= room) {
        fail(p, line_too_long(p));
        return n;
    }
    if (lf == NULL) {
        if (!line_append(p, d, n))
            nomem(p);
        return n;
    }
    if (p->line_len == 0) {
        on_line(p, d, n - 1);
        return n;
    }
    if (!line_append(p, d, n - 1)) {
        nomem(p);
        return n;
    }
    on_line(p, p->line, p->line_len);
    p->line_len = 0;
    return n;
}

/* ---- the parser --------------------------------------------------------- */

void http1_parser_init(struct http1_parser *p, struct kmsre_http_response *resp,
                       size_t max_body)
{
    memset(resp, 0, sizeof(*resp));
    resp->body = NULL;
    memset(p, 0, sizeof(*p));
    p->line = NULL;
    p->resp = resp;
    /* Keeps max_body + 1 and the buffer's doubling clear of overflow. */
    p->max_body = max_body < SIZE_MAX / 4 ? max_body : SIZE_MAX / 4;
    p->state = ST_STATUS;
    p->te = TE_NONE;
    p->result = HTTP1_MORE;
}

/* Consumes bytes for the current state; at least one unless the parse
 * ends. */
static size_t step(struct http1_parser *p, const char *d, size_t len)
{
    switch (p->state) {
    case ST_BODY_LENGTH:
    case ST_CHUNK_DATA:
        return feed_counted(p, d, len);
    case ST_BODY_CLOSE:
        return feed_until_close(p, d, len);
    case ST_CHUNK_CR:
    case ST_CHUNK_LF:
        return feed_chunk_end(p, d[0]);
    default:
        return feed_line(p, d, len);
    }
}

enum http1_result http1_parser_feed(struct http1_parser *p, const char *data,
                                    size_t len, size_t *used)
{
    size_t off = 0;

    *used = 0;
    if (p->result != HTTP1_MORE)
        return p->result;
    if (len > 0)
        p->started = 1;
    while (off < len && p->result == HTTP1_MORE)
        off += step(p, data + off, len - off);
    *used = off;
    return p->result;
}

enum http1_result http1_parser_eof(struct http1_parser *p)
{
    if (p->result != HTTP1_MORE)
        return p->result;
    if (p->state == ST_BODY_CLOSE)
        finish(p, HTTP1_DONE, NULL);
    else if (!p->started)
        fail(p, "connection closed before any answer");
    else
        fail(p, "connection closed before the answer was complete");
    return p->result;
}

void http1_parser_cleanup(struct http1_parser *p)
{
    OPENSSL_free(p->line);
    p->line = NULL;
    p->line_len = 0;
    p->line_cap = 0;
}
