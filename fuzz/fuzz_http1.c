/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/http/http1.c:
 *
 *  1. The response parser. Input byte 0 picks how the rest is cut into
 *     http1_parser_feed calls (see split_next), byte 1 picks max_body
 *     (pick_max_body); the rest is the bytes a server sent, followed by
 *     http1_parser_eof if the parser still wants more. The rest is parsed
 *     once in a single call and once cut up: result, status, body, request
 *     id, error type, error text, keep_alive and (when DONE) the bytes used
 *     must agree. The cut-up parse runs again with one OpenSSL allocation
 *     failing (alloc_fail.h): the same outcome or HTTP1_NOMEM.
 *  2. Request formatting. The rest, cut at NUL bytes, gives the method,
 *     the target, the User-Agent (empty: none) and header name/value
 *     pairs; the whole rest is the body. A request is refused exactly when
 *     a field breaks the rules, and an accepted one has one CRLF per line
 *     and no other CR or LF before the body, whatever the fields held. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "http/http1.h"
#include "alloc_fail.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_alloc_install();
    return 0;
}

static int has_nul(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* ---- 1. the response parser --------------------------------------------- */

/* max_body from byte 1: tiny (0..63), small, 4 KiB or the transport's. */
static size_t pick_max_body(uint8_t b)
{
    switch (b & 3) {
    case 0:
        return b >> 2;
    case 1:
        return 64 + (size_t)(b >> 2) * 16;
    case 2:
        return 4096;
    default:
        return KMSRE_HTTP_MAX_RESPONSE;
    }
}

struct splitter {
    uint8_t mode; /* byte 0 */
    uint32_t rng;
};

static uint32_t next_rand(struct splitter *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    return s->rng;
}

/* How many of the len bytes at d (offset off of the whole) the next feed
 * call gets. Bits 0-1 of byte 0 choose the pattern, bits 2-7 tune it:
 * a fixed size (1..64), random sizes (up to 2..256), a cut after every CR
 * (CR and LF in different calls), or two calls cut anywhere. */
static size_t split_next(struct splitter *s, const char *d, size_t len,
                         size_t off, size_t total)
{
    size_t n, at;
    const char *cr;

    switch (s->mode & 3) {
    case 0:
        n = 1 + (s->mode >> 2);
        break;
    case 1:
        n = 1 + next_rand(s) % (2u << ((s->mode >> 2) & 7));
        break;
    case 2:
        cr = memchr(d, '\r', len);
        n = cr != NULL ? (size_t)(cr - d) + 1 : len;
        break;
    default:
        at = total * (s->mode >> 2) / 64;
        n = off < at ? at - off : len;
        break;
    }
    return n < len ? n : len;
}

/* step == NULL: one call. Returns the result; *used_total sums *used. */
static enum http1_result parse(struct http1_parser *p,
                               struct kmsre_http_response *resp, const char *d,
                               size_t len, size_t max_body,
                               struct splitter *step, size_t *used_total)
{
    enum http1_result r = HTTP1_MORE;
    size_t off = 0, n, used;

    *used_total = 0;
    http1_parser_init(p, resp, max_body);
    while (r == HTTP1_MORE && off < len) {
        n = step == NULL ? len : split_next(step, d + off, len - off, off, len);
        r = http1_parser_feed(p, d + off, n, &used);
        CHECK(used <= n);
        CHECK(r != HTTP1_MORE || used == n);
        *used_total += used;
        off += n;
    }
    if (r == HTTP1_MORE)
        r = http1_parser_eof(p);
    CHECK(r != HTTP1_MORE);
    /* Finished: the same answer again, nothing more taken. */
    CHECK(http1_parser_feed(p, "H", 1, &used) == r && used == 0);
    CHECK(http1_parser_eof(p) == r);
    return r;
}

static void check_one(const struct http1_parser *p,
                      const struct kmsre_http_response *resp,
                      enum http1_result r, size_t len, size_t used)
{
    CHECK(resp->body_len <= p->max_body);
    if (resp->body == NULL)
        CHECK(resp->body_len == 0);
    else
        CHECK(resp->body[resp->body_len] == '\0');
    CHECK(has_nul(resp->request_id, sizeof(resp->request_id)) &&
          printable(resp->request_id));
    CHECK(has_nul(resp->error_type, sizeof(resp->error_type)) &&
          printable(resp->error_type));
    CHECK(has_nul(resp->error, sizeof(resp->error)));
    CHECK(p->started == (len > 0));
    CHECK(!p->keep_alive || r == HTTP1_DONE);
    if (r == HTTP1_BAD || r == HTTP1_TOO_LARGE)
        CHECK(resp->error[0] != '\0');
    if (r == HTTP1_DONE) {
        CHECK(resp->status >= 200 && resp->status <= 599);
        CHECK(used <= len);
        CHECK(p->framing != HTTP1_FRAMING_CLOSE || used == len);
        CHECK(p->framing != HTTP1_FRAMING_CLOSE || !p->keep_alive);
        CHECK(p->framing != HTTP1_FRAMING_NONE || resp->body_len == 0);
    }
}

static int same_outcome(const struct kmsre_http_response *a,
                        const struct kmsre_http_response *b)
{
    return a->status == b->status && a->body_len == b->body_len &&
           (a->body_len == 0 || memcmp(a->body, b->body, a->body_len) == 0) &&
           strcmp(a->request_id, b->request_id) == 0 &&
           strcmp(a->error_type, b->error_type) == 0;
}

static void fuzz_parser(const uint8_t *data, size_t size, uint32_t seed)
{
    struct kmsre_http_response whole, cut, again;
    struct http1_parser pw, pc, pa;
    struct splitter s;
    enum http1_result rw, rc, ra;
    size_t max_body, len = size - 2, used_w, used_c, used_a, allocs;
    const char *d = (const char *)data + 2;
    char *copy;
    int hit;

    max_body = pick_max_body(data[1]);
    /* An exact-size copy: ASan catches a read past the end. */
    copy = malloc(len ? len : 1);
    if (copy == NULL)
        return;
    if (len > 0)
        memcpy(copy, d, len);

    fuzz_alloc_reset(0);
    rw = parse(&pw, &whole, copy, len, max_body, NULL, &used_w);
    CHECK(rw != HTTP1_NOMEM);
    check_one(&pw, &whole, rw, len, used_w);

    s.mode = data[0];
    s.rng = seed | 1;
    fuzz_alloc_reset(0);
    rc = parse(&pc, &cut, copy, len, max_body, &s, &used_c);
    allocs = fuzz_alloc_count;
    CHECK(rc != HTTP1_NOMEM);
    check_one(&pc, &cut, rc, len, used_c);

    CHECK(rc == rw);
    CHECK(same_outcome(&cut, &whole));
    CHECK(strcmp(cut.error, whole.error) == 0);
    CHECK(pc.keep_alive == pw.keep_alive);
    if (rw == HTTP1_DONE) {
        CHECK(used_c == used_w);
        CHECK(pc.framing == pw.framing);
    }

    /* The cut-up parse again, one allocation failing. */
    if (allocs > 0) {
        s.mode = data[0];
        s.rng = seed | 1;
        fuzz_alloc_reset(1 + seed % allocs);
        ra = parse(&pa, &again, copy, len, max_body, &s, &used_a);
        hit = fuzz_alloc_failed();
        fuzz_alloc_reset(0);
        check_one(&pa, &again, ra, len, used_a);
        if (ra == HTTP1_NOMEM) {
            CHECK(hit);
        } else {
            CHECK(ra == rw);
            CHECK(same_outcome(&again, &whole));
        }
        http1_parser_cleanup(&pa);
        OPENSSL_free(again.body);
    }

    http1_parser_cleanup(&pw);
    http1_parser_cleanup(&pc);
    OPENSSL_free(whole.body);
    OPENSSL_free(cut.body);
    free(copy);
}

/* ---- 2. request formatting ---------------------------------------------- */

#define MAX_HEADERS 8

static int is_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    return 1;
}

static int value_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

static int target_ok(const char *s)
{
    if (*s != '/')
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int expected_valid(const char *method, const char *target,
                          const struct kmsre_http_header *h, size_t n,
                          const char *ua)
{
    size_t i;

    if (!is_token(method) || !target_ok(target) ||
        (ua != NULL && !value_ok(ua)))
        return 0;
    for (i = 0; i < n; i++)
        if (!is_token(h[i].name) || !value_ok(h[i].value) ||
            strcasecmp(h[i].name, "content-length") == 0 ||
            strcasecmp(h[i].name, "transfer-encoding") == 0)
            return 0;
    return 1;
}

/* Lines of the head: each ends with CRLF, no other CR or LF. */
static size_t count_head_lines(const char *out, size_t head_len)
{
    size_t i, lines = 0;

    for (i = 0; i < head_len; i++) {
        if (out[i] == '\r') {
            CHECK(i + 1 < head_len && out[i + 1] == '\n');
            lines++;
            i++;
        } else {
            CHECK(out[i] != '\n');
        }
    }
    return lines;
}

static void check_request(const char *out, size_t out_len, const char *method,
                          const char *target, size_t n, const char *ua,
                          const char *body, size_t body_len)
{
    const char *end = NULL;
    char tail[64];
    size_t head_len, i;

    CHECK(out[out_len] == '\0');
    CHECK(out_len >= body_len + 4);
    head_len = out_len - body_len;
    CHECK(memcmp(out + head_len - 4, "\r\n\r\n", 4) == 0);
    CHECK(memcmp(out + head_len, body, body_len) == 0);
    /* Request line, headers, User-Agent, Content-Length, empty line. */
    CHECK(count_head_lines(out, head_len) == 1 + n + (ua != NULL) + 1 + 1);
    for (i = 0; i + 3 < head_len; i++)
        if (memcmp(out + i, "\r\n\r\n", 4) == 0) {
            end = out + i;
            break;
        }
    CHECK(end == out + head_len - 4);
    CHECK(strncmp(out, method, strlen(method)) == 0 &&
          out[strlen(method)] == ' ');
    CHECK(strncmp(out + strlen(method) + 1, target, strlen(target)) == 0);
    snprintf(tail, sizeof(tail), "\r\nContent-Length: %zu\r\n\r\n", body_len);
    CHECK(head_len >= strlen(tail) &&
          memcmp(out + head_len - strlen(tail), tail, strlen(tail)) == 0);
}

static void fuzz_format(const uint8_t *data, size_t size, uint32_t seed)
{
    struct kmsre_http_header h[MAX_HEADERS];
    const char *field[3 + 2 * MAX_HEADERS];
    size_t nfields = 0, n, out_len, i;
    const char *p, *end, *ua;
    char *text, *out;
    enum kmsre_status st;
    int valid, hit;

    /* NUL-terminated copy: the fields are the C strings in it. */
    text = malloc(size + 1);
    if (text == NULL)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    for (p = text, end = text + size;
         p <= end && nfields < sizeof(field) / sizeof(field[0]);
         p += strlen(p) + 1)
        field[nfields++] = p;
    if (nfields < 3) {
        free(text);
        return;
    }
    ua = field[2][0] != '\0' ? field[2] : NULL;
    n = (nfields - 3) / 2;
    for (i = 0; i < n; i++) {
        h[i].name = field[3 + 2 * i];
        h[i].value = field[4 + 2 * i];
    }
    valid = expected_valid(field[0], field[1], h, n, ua);

    fuzz_alloc_reset(seed % 4 == 0 ? 1 : 0); /* sometimes out of memory */
    st = http1_format_request(field[0], field[1], h, n, ua, text, size, &out,
                              &out_len);
    hit = fuzz_alloc_failed();
    fuzz_alloc_reset(0);
    CHECK((st == KMSRE_OK) == (out != NULL));
    if (!valid) {
        CHECK(st == KMSRE_ERR_INVALID && out_len == 0);
    } else if (st == KMSRE_ERR_NOMEM) {
        CHECK(hit);
    } else {
        CHECK(st == KMSRE_OK);
        check_request(out, out_len, field[0], field[1], n, ua, text, size);
        OPENSSL_clear_free(out, out_len);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seed;

    if (size < 2 || size > 256 * 1024)
        return 0;
    seed = fuzz_input_hash(data, size);
    fuzz_parser(data, size, seed);
    fuzz_format(data + 2, size - 2, seed);
    return 0;
}
