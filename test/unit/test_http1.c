/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of provider/http/http1.c: request formatting and the
 * incremental response parser. Every response is parsed twice, all at once
 * and one byte at a time, and both parses must agree. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "http/http1.h"

static int passed, failed;

static void check(int cond, const char *what)
{
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    if (cond)
        passed++;
    else
        failed++;
}

/* ---- request formatting ------------------------------------------------- */

static const struct kmsre_http_header kms_headers[] = {
    {"Host", "kms.us-east-1.amazonaws.com"},
    {"Content-Type", "application/x-amz-json-1.1"},
    {"X-Amz-Target", "TrentService.ReEncrypt"},
};

static enum kmsre_status format_one(const char *method, const char *target,
                                    const char *name, const char *value,
                                    const char *ua, const char *body,
                                    size_t body_len)
{
    struct kmsre_http_header h = {name, value};
    enum kmsre_status st;
    char sentinel = 'x', *out = &sentinel;
    size_t len = 1;

    st = http1_format_request(method, target, &h, name != NULL ? 1 : 0, ua,
                              body, body_len, &out, &len);
    if (st == KMSRE_OK)
        OPENSSL_clear_free(out, len);
    else if (out != NULL || len != 0)
        return (enum kmsre_status) - 1; /* outputs must be cleared */
    return st;
}

static void test_format(void)
{
    static const char want[] = "POST / HTTP/1.1\r\n"
                               "Host: kms.us-east-1.amazonaws.com\r\n"
                               "Content-Type: application/x-amz-json-1.1\r\n"
                               "X-Amz-Target: TrentService.ReEncrypt\r\n"
                               "User-Agent: kmsre/0.1\r\n"
                               "Content-Length: 7\r\n"
                               "\r\n"
                               "{\"a\":1}";
    static const char want_empty[] = "GET /latest/meta-data/ HTTP/1.1\r\n"
                                     "Content-Length: 0\r\n"
                                     "\r\n";
    char *out = NULL;
    size_t len = 0;
    enum kmsre_status st;

    st = http1_format_request("POST", "/", kms_headers, 3, "kmsre/0.1",
                              "{\"a\":1}", 7, &out, &len);
    check(st == KMSRE_OK && len == sizeof(want) - 1 &&
              memcmp(out, want, len) == 0 && out[len] == '\0',
          "format: exact bytes of a KMS request");
    if (st == KMSRE_OK)
        OPENSSL_clear_free(out, len);

    st = http1_format_request("GET", "/latest/meta-data/", NULL, 0, NULL, NULL,
                              0, &out, &len);
    check(st == KMSRE_OK && len == sizeof(want_empty) - 1 &&
              memcmp(out, want_empty, len) == 0,
          "format: NULL body, Content-Length: 0, no User-Agent");
    if (st == KMSRE_OK)
        OPENSSL_clear_free(out, len);

    check(format_one("POST", "/", "X", "a\tb", "ua", "", 0) == KMSRE_OK,
          "format: HTAB in a value is fine");
    check(format_one("POST", "/", "X", "a\r\nEvil: 1", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: CRLF in a value refused");
    check(format_one("POST", "/", "X", "a\nb", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: LF in a value refused");
    check(format_one("POST", "/", "X", "a\rb", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: CR in a value refused");
    check(format_one("POST", "/", "X", "a\x01", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: control character in a value refused");
    check(format_one("POST", "/", "X", "v", "ua\r\n", "", 0) ==
              KMSRE_ERR_INVALID,
          "format: CRLF in the User-Agent refused");
    check(format_one("POST", "/", "Bad Name", "v", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: space in a header name refused");
    check(format_one("POST", "/", "X:Y", "v", NULL, "", 0) == KMSRE_ERR_INVALID,
          "format: colon in a header name refused");
    check(format_one("POST", "/", "", "v", NULL, "", 0) == KMSRE_ERR_INVALID,
          "format: empty header name refused");
    check(format_one("POST", "/", "content-length", "5", NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: a caller's Content-Length refused");
    check(format_one("POST", "/", "Transfer-Encoding", "chunked", NULL, "",
                     0) == KMSRE_ERR_INVALID,
          "format: a caller's Transfer-Encoding refused");
    check(format_one("GE T", "/", NULL, NULL, NULL, "", 0) == KMSRE_ERR_INVALID,
          "format: space in the method refused");
    check(format_one("", "/", NULL, NULL, NULL, "", 0) == KMSRE_ERR_INVALID,
          "format: empty method refused");
    check(format_one("POST", "", NULL, NULL, NULL, "", 0) == KMSRE_ERR_INVALID,
          "format: empty target refused");
    check(format_one("POST", "x/", NULL, NULL, NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: target not starting with / refused");
    check(format_one("POST", "/a b", NULL, NULL, NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: space in the target refused");
    check(format_one("POST", "/a\x7f", NULL, NULL, NULL, "", 0) ==
              KMSRE_ERR_INVALID,
          "format: DEL in the target refused");
    check(format_one("POST", "/", NULL, NULL, NULL, NULL, 3) ==
              KMSRE_ERR_INVALID,
          "format: NULL body with a length refused");
    /* The size is computed before the body is read: no overrun here. */
    check(format_one("POST", "/", NULL, NULL, NULL, "x", SIZE_MAX - 8) ==
              KMSRE_ERR_LIMIT,
          "format: size overflow refused");
}

/* ---- response parsing --------------------------------------------------- */

#define MAX_BODY 4096

struct outcome {
    enum http1_result result;
    long status;
    char body[MAX_BODY + 1];
    size_t body_len;
    int body_null;
    int terminated; /* body NUL-terminated (or NULL and empty) */
    char request_id[128];
    char error_type[128];
    char error[256];
    int keep_alive;
    int started;
    enum http1_framing framing;
    size_t used; /* total consumed, when DONE */
};

static void record(const struct http1_parser *p,
                   const struct kmsre_http_response *r, enum http1_result res,
                   size_t used, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->result = res;
    o->status = r->status;
    o->body_len = r->body_len;
    o->body_null = r->body == NULL;
    o->terminated =
        r->body == NULL ? r->body_len == 0 : r->body[r->body_len] == '\0';
    if (r->body != NULL && r->body_len <= MAX_BODY)
        memcpy(o->body, r->body, r->body_len);
    memcpy(o->request_id, r->request_id, sizeof(o->request_id));
    memcpy(o->error_type, r->error_type, sizeof(o->error_type));
    memcpy(o->error, r->error, sizeof(o->error));
    o->keep_alive = p->keep_alive;
    o->started = p->started;
    o->framing = p->framing;
    o->used = used;
}

/* step 0: everything in one call; otherwise step bytes per call. eof:
 * close the connection after the input if the parser still wants more. */
static void parse(const char *in, size_t len, size_t max_body, size_t step,
                  int eof, struct outcome *o)
{
    struct kmsre_http_response resp;
    struct http1_parser p;
    enum http1_result r = HTTP1_MORE;
    size_t off = 0, n, used, total = 0;

    http1_parser_init(&p, &resp, max_body);
    while (r == HTTP1_MORE && off < len) {
        n = step == 0 || step > len - off ? len - off : step;
        r = http1_parser_feed(&p, in + off, n, &used);
        total += used;
        off += n;
    }
    if (r == HTTP1_MORE && eof)
        r = http1_parser_eof(&p);
    record(&p, &resp, r, total, o);
    /* A finished parser gives the same answer again and takes nothing. */
    if (r != HTTP1_MORE && http1_parser_feed(&p, "x", 1, &used) != r)
        o->result = (enum http1_result) - 1;
    http1_parser_cleanup(&p);
    OPENSSL_free(resp.body);
}

static int same(const struct outcome *a, const struct outcome *b)
{
    return a->result == b->result && a->status == b->status &&
           a->body_len == b->body_len &&
           memcmp(a->body, b->body, a->body_len) == 0 &&
           a->body_null == b->body_null &&
           strcmp(a->request_id, b->request_id) == 0 &&
           strcmp(a->error_type, b->error_type) == 0 &&
           strcmp(a->error, b->error) == 0 && a->keep_alive == b->keep_alive &&
           a->started == b->started &&
           (a->result != HTTP1_DONE || a->used == b->used);
}

/* Parses whole, one byte at a time and three at a time; checks that they
 * agree and returns the whole-input outcome. */
static void parse_all_ways(const char *what, const char *in, size_t len,
                           size_t max_body, int eof, struct outcome *o)
{
    struct outcome bytewise, threes;
    char name[160];

    parse(in, len, max_body, 0, eof, o);
    parse(in, len, max_body, 1, eof, &bytewise);
    parse(in, len, max_body, 3, eof, &threes);
    snprintf(name, sizeof(name), "%s: same one byte at a time", what);
    check(same(o, &bytewise) && same(o, &threes) && o->terminated &&
              bytewise.terminated,
          name);
}

#define PARSE(what, text, max_body, eof, o)                                    \
    parse_all_ways(what, text, sizeof(text) - 1, max_body, eof, o)

static int body_is(const struct outcome *o, const char *want)
{
    return o->body_len == strlen(want) &&
           memcmp(o->body, want, o->body_len) == 0;
}

static int error_has(const struct outcome *o, const char *part)
{
    return strstr(o->error, part) != NULL;
}

static void test_kms_answers(void)
{
    static const char ok[] =
        "HTTP/1.1 200 OK\r\n"
        "x-amzn-RequestId: 6b1f2b34-2f3e-4e6e-9d3b-1a2b3c4d5e6f\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        "Content-Length: 41\r\n"
        "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
        "\r\n"
        "{\"CiphertextBlob\":\"AQID\",\"KeyId\":\"arn:k\"}";
    static const char err[] =
        "HTTP/1.1 400 Bad Request\r\n"
        "x-amzn-requestid: req-2\r\n"
        "X-Amzn-ErrorType: ThrottlingException:http://internal/\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        "Content-Length: 29\r\n"
        "\r\n"
        "{\"message\":\"Rate exceeded\"}\r\n";
    static const char ctl_id[] = "HTTP/1.1 200 OK\r\n"
                                 "X-AMZN-REQUESTID:\t a\x01"
                                 "b\tc \t\r\n"
                                 "Content-Length: 0\r\n"
                                 "\r\n";
    char long_id[400];
    struct outcome o;
    size_t n;

    PARSE("kms 200", ok, MAX_BODY, 0, &o);
    check(
        o.result == HTTP1_DONE && o.status == 200 &&
            body_is(&o, "{\"CiphertextBlob\":\"AQID\",\"KeyId\":\"arn:k\"}") &&
            strcmp(o.request_id, "6b1f2b34-2f3e-4e6e-9d3b-1a2b3c4d5e6f") == 0 &&
            o.error_type[0] == '\0' && o.keep_alive &&
            o.framing == HTTP1_FRAMING_LENGTH && o.used == sizeof(ok) - 1,
        "kms 200: status, body, request id, reusable");

    PARSE("kms 400", err, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.status == 400 &&
              body_is(&o, "{\"message\":\"Rate exceeded\"}\r\n") &&
              strcmp(o.request_id, "req-2") == 0 &&
              strcmp(o.error_type, "ThrottlingException:http://internal/") ==
                  0 &&
              o.keep_alive,
          "kms 400: X-Amzn-ErrorType captured (name case-insensitive)");

    PARSE("control characters", ctl_id, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && strcmp(o.request_id, "a b c") == 0 &&
              o.body_null && o.body_len == 0,
          "request id trimmed, control characters as spaces, empty body");

    n = (size_t)snprintf(long_id, sizeof(long_id),
                         "HTTP/1.1 200 OK\r\nx-amzn-RequestId: %0300d\r\n"
                         "Content-Length: 0\r\n\r\n",
                         7);
    parse_all_ways("long request id", long_id, n, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && strlen(o.request_id) == 127 &&
              o.request_id[0] == '0',
          "a long request id is truncated and NUL-terminated");
}

static void test_interim(void)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n"
                               "x-amzn-RequestId: interim\r\n"
                               "\r\n"
                               "HTTP/1.1 103 Early Hints\r\n"
                               "Link: </a>\r\n"
                               "\r\n"
                               "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 2\r\n"
                               "\r\n"
                               "{}";
    static const char cont_len[] = "HTTP/1.1 100 Continue\r\n"
                                   "Content-Length: 99999999\r\n"
                                   "\r\n"
                                   "HTTP/1.1 200 OK\r\n"
                                   "Content-Length: 1\r\n"
                                   "\r\n"
                                   "x";
    static const char switching[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                    "Upgrade: h2c\r\n"
                                    "\r\n";
    struct outcome o;

    PARSE("100-continue", cont, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.status == 200 && body_is(&o, "{}") &&
              o.request_id[0] == '\0' && o.keep_alive,
          "1xx answers skipped, their headers ignored");
    PARSE("1xx framing", cont_len, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "x"),
          "a 1xx Content-Length does not frame the final answer");
    PARSE("101", switching, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD && o.status == 101 && error_has(&o, "101"),
          "101 Switching Protocols refused");
}

static void test_chunked(void)
{
    static const char chunked[] = "HTTP/1.1 200 OK\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n"
                                  "5;name=value;x\r\n"
                                  "hello\r\n"
                                  "00B \t;ext\r\n"
                                  ", chunked 1\r\n"
                                  "0\r\n"
                                  "Trailer-One: a\r\n"
                                  "Checksum: b\r\n"
                                  "\r\n";
    static const char with_cl[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Length: 3\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n"
                                  "4\r\nabcd\r\n0\r\n\r\n";
    static const char two_headers[] = "HTTP/1.1 200 OK\r\n"
                                      "Transfer-Encoding:\r\n"
                                      "transfer-encoding: , CHUNKED\r\n"
                                      "\r\n"
                                      "1\r\nz\r\n0\r\n\r\n";
    static const char compressed[] = "HTTP/1.1 200 OK\r\n"
                                     "Transfer-Encoding: gzip, chunked\r\n"
                                     "\r\n"
                                     "1\r\nz\r\n0\r\n\r\n";
    static const char not_last[] = "HTTP/1.1 200 OK\r\n"
                                   "Transfer-Encoding: chunked, gzip\r\n"
                                   "\r\n"
                                   "0\r\n\r\n";
    static const char twice[] = "HTTP/1.1 200 OK\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n"
                                "0\r\n\r\n";
    static const char no_crlf[] = "HTTP/1.1 200 OK\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n"
                                  "3\r\nabcX\r\n0\r\n\r\n";
    static const char bad_size[] = "HTTP/1.1 200 OK\r\n"
                                   "Transfer-Encoding: chunked\r\n"
                                   "\r\n"
                                   " 3\r\nabc\r\n0\r\n\r\n";
    static const char overflow[] = "HTTP/1.1 200 OK\r\n"
                                   "Transfer-Encoding: chunked\r\n"
                                   "\r\n"
                                   "10000000000000000\r\n";
    static const char large[] = "HTTP/1.1 200 OK\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n"
                                "8\r\n12345678\r\n"
                                "8\r\n12345678\r\n"
                                "0\r\n\r\n";
    struct outcome o;

    PARSE("chunked", chunked, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "hello, chunked 1") &&
              o.keep_alive && o.framing == HTTP1_FRAMING_CHUNKED &&
              o.used == sizeof(chunked) - 1,
          "chunked: extensions and trailers skipped");
    PARSE("chunked + Content-Length", with_cl, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "abcd") && !o.keep_alive,
          "chunked + Content-Length: chunked wins, not reusable");
    PARSE("two TE headers", two_headers, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "z"),
          "empty lists ignored over headers; chunked case-insensitive");
    PARSE("gzip, chunked", compressed, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "Transfer-Encoding"),
          "a coding besides chunked refused (we never ask for one)");
    PARSE("chunked not last", not_last, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "Transfer-Encoding"),
          "chunked not the last coding refused");
    PARSE("chunked twice", twice, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "chunked applied twice refused");
    PARSE("chunk without CRLF", no_crlf, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "chunk data not followed by CRLF refused");
    PARSE("chunk size with space", bad_size, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "chunk size with leading space refused");
    PARSE("chunk size overflow", overflow, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "overflow"),
          "chunk size overflow refused");
    PARSE("chunked too large", large, 12, 0, &o);
    check(o.result == HTTP1_TOO_LARGE && body_is(&o, "12345678") &&
              error_has(&o, "larger than 12 bytes"),
          "a chunk beyond max_body refused before its data");
    PARSE("chunked at the cap", large, 16, 0, &o);
    check(o.result == HTTP1_DONE && o.body_len == 16,
          "a chunked body of exactly max_body accepted");
}

static void test_connection(void)
{
    static const char close_hdr[] = "HTTP/1.1 200 OK\r\n"
                                    "Connection: foo, Close\r\n"
                                    "Content-Length: 1\r\n"
                                    "\r\n"
                                    "a";
    static const char h10_ka[] = "HTTP/1.0 200 OK\r\n"
                                 "Connection: keep-alive\r\n"
                                 "Content-Length: 1\r\n"
                                 "\r\n"
                                 "a";
    static const char h10[] = "HTTP/1.0 200 OK\r\n"
                              "Content-Length: 1\r\n"
                              "\r\n"
                              "a";
    static const char h10_close[] = "HTTP/1.0 200 OK\r\n"
                                    "Connection: keep-alive\r\n"
                                    "\r\n"
                                    "body until close";
    static const char until_close[] = "HTTP/1.1 200 OK\r\n"
                                      "\r\n"
                                      "{\"a\":\r\n1}";
    static const char nothing_more[] = "HTTP/1.1 200 OK\r\n"
                                       "\r\n";
    static const char close_large[] = "HTTP/1.1 200 OK\r\n"
                                      "\r\n"
                                      "0123456789";
    struct outcome o;

    PARSE("Connection: close", close_hdr, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "a") && !o.keep_alive,
          "Connection: close (in a list, any case): not reusable");
    PARSE("HTTP/1.0 keep-alive", h10_ka, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.keep_alive,
          "HTTP/1.0 with keep-alive and a length: reusable");
    PARSE("HTTP/1.0", h10, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "a") && !o.keep_alive,
          "HTTP/1.0 without keep-alive: not reusable");
    PARSE("HTTP/1.0 until close", h10_close, MAX_BODY, 1, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "body until close") &&
              !o.keep_alive,
          "HTTP/1.0 keep-alive without a length: body until close");
    PARSE("body until close", until_close, MAX_BODY, 1, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "{\"a\":\r\n1}") &&
              !o.keep_alive && o.framing == HTTP1_FRAMING_CLOSE,
          "no length: the body ends at eof");
    PARSE("empty body until close", nothing_more, MAX_BODY, 1, &o);
    check(o.result == HTTP1_DONE && o.body_len == 0,
          "no length, nothing before eof: an empty body");
    PARSE("until close, too large", close_large, 4, 1, &o);
    check(o.result == HTTP1_TOO_LARGE && body_is(&o, "0123") &&
              error_has(&o, "larger than 4 bytes"),
          "a body until close beyond max_body refused");
}

static void test_truncated(void)
{
    static const char body[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 10\r\n"
                               "\r\n"
                               "01234";
    static const char headers[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Le";
    static const char chunk[] = "HTTP/1.1 200 OK\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n"
                                "a\r\n0123456789\r\n";
    static const char no_body[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Length: 14\r\n"
                                  "\r\n";
    static const char no_chunk[] = "HTTP/1.1 200 OK\r\n"
                                   "Transfer-Encoding: chunked\r\n"
                                   "\r\n"
                                   "2\r\nab\r\n"
                                   "100\r\n";
    struct outcome o;

    PARSE("truncated body", body, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "before the answer was"),
          "eof inside a Content-Length body: BAD");
    PARSE("truncated headers", headers, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && o.status == 200,
          "eof inside the headers: BAD");
    PARSE("truncated chunked", chunk, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD, "eof before the last chunk: BAD");
    PARSE("eof before the body", no_body, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && o.body_len == 0 && o.terminated,
          "eof right after the headers: BAD, the reserved body terminated");
    PARSE("eof after a chunk size", no_chunk, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && body_is(&o, "ab") && o.terminated,
          "eof after a chunk size line: BAD, the body terminated");
    parse_all_ways("nothing", "", 0, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && !o.started &&
              error_has(&o, "before any answer"),
          "eof with nothing: BAD, nothing started");
}

static void test_no_body(void)
{
    static const char no_content[] = "HTTP/1.1 204 No Content\r\n"
                                     "Content-Length: 5\r\n"
                                     "\r\n";
    static const char not_modified[] = "HTTP/1.1 304 Not Modified\r\n"
                                       "Transfer-Encoding: chunked\r\n"
                                       "\r\n";
    static const char zero[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    struct outcome o;

    PARSE("204", no_content, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.status == 204 && o.body_len == 0 &&
              o.keep_alive && o.framing == HTTP1_FRAMING_NONE,
          "204: no body whatever the headers say");
    PARSE("304", not_modified, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.body_len == 0, "304: no body");
    PARSE("Content-Length: 0", zero, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && o.body_null && o.keep_alive,
          "Content-Length: 0 is done at the empty line");
}

static void test_lengths(void)
{
    static const char large[] = "HTTP/1.1 200 OK\r\n"
                                "Content-Length: 100000000\r\n"
                                "\r\n";
    static const char at_cap[] = "HTTP/1.1 200 OK\r\n"
                                 "Content-Length: 4\r\n"
                                 "\r\n"
                                 "abcd";
    static const char conflict[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Length: 3\r\n"
                                   "Content-Length: 4\r\n"
                                   "\r\n"
                                   "abcd";
    static const char conflict_list[] = "HTTP/1.1 200 OK\r\n"
                                        "Content-Length: 4, 3\r\n"
                                        "\r\n"
                                        "abcd";
    static const char agree[] = "HTTP/1.1 200 OK\r\n"
                                "Content-Length: 4 , 4\r\n"
                                "Content-Length: 004\r\n"
                                "\r\n"
                                "abcd";
    static const char signed_len[] = "HTTP/1.1 200 OK\r\n"
                                     "Content-Length: +4\r\n"
                                     "\r\n"
                                     "abcd";
    static const char empty_len[] = "HTTP/1.1 200 OK\r\n"
                                    "Content-Length:\r\n"
                                    "\r\n";
    static const char overflow[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Length: 18446744073709551616\r\n"
                                   "\r\n";
    struct outcome o;

    /* Only the headers are fed: the refusal comes without a body byte. */
    PARSE("too large Content-Length", large, 1000, 0, &o);
    check(o.result == HTTP1_TOO_LARGE && o.body_null &&
              strcmp(o.error, "response larger than 1000 bytes refused") == 0,
          "Content-Length beyond max_body refused before the body");
    PARSE("Content-Length at the cap", at_cap, 4, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "abcd"),
          "Content-Length equal to max_body accepted");
    PARSE("conflicting Content-Length", conflict, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "conflicting"),
          "conflicting Content-Length headers refused");
    PARSE("conflicting Content-Length list", conflict_list, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "conflicting Content-Length list refused");
    PARSE("agreeing Content-Length", agree, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "abcd") && o.keep_alive,
          "repeated Content-Length values that agree accepted");
    PARSE("signed Content-Length", signed_len, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "Content-Length with a sign refused");
    PARSE("empty Content-Length", empty_len, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "empty Content-Length refused");
    PARSE("Content-Length overflow", overflow, MAX_BODY, 0, &o);
    check(o.result == HTTP1_BAD, "Content-Length overflow refused");
}

static void expect_bad(const char *what, const char *text, const char *why)
{
    struct outcome o;

    parse_all_ways(what, text, strlen(text), MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && error_has(&o, why), what);
}

static void test_malformed(void)
{
    expect_bad("HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n",
               "malformed status line");
    expect_bad("HTTP/1.2 status line", "HTTP/1.2 200 OK\r\n\r\n",
               "malformed status line");
    expect_bad("2-digit status", "HTTP/1.1 20 OK\r\n\r\n",
               "malformed status line");
    expect_bad("4-digit status", "HTTP/1.1 2000 OK\r\n\r\n",
               "malformed status line");
    expect_bad("status 600", "HTTP/1.1 600 X\r\n\r\n", "malformed status line");
    expect_bad("status 099", "HTTP/1.1 099 X\r\n\r\n", "malformed status line");
    expect_bad("no space after the version", "HTTP/1.1\t200 OK\r\n\r\n",
               "malformed status line");
    expect_bad("lower-case version", "http/1.1 200 OK\r\n\r\n",
               "malformed status line");
    expect_bad("not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", "malformed status line");
    expect_bad("bare CR in the status line", "HTTP/1.1 200 O\rK\r\n\r\n",
               "malformed status line");
    expect_bad("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\n\r\n",
               "obsolete line folding");
    expect_bad("space before the colon",
               "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx",
               "malformed header line");
    expect_bad("no colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
               "malformed header line");
    expect_bad("empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
               "malformed header line");
    expect_bad("unknown coding",
               "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
               "unsupported Transfer-Encoding");
}

static void test_malformed_with_nul(void)
{
    static const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
    struct outcome o;

    PARSE("NUL in a value (whole)", nul, MAX_BODY, 1, &o);
    check(o.result == HTTP1_BAD && error_has(&o, "malformed"),
          "NUL in a header value refused");
}

/* A response whose one header line has n value bytes. */
static char *long_header(size_t n, size_t *len)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nX-Long: ";
    static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
    char *s = OPENSSL_malloc(sizeof(head) + n + sizeof(tail));

    if (s == NULL)
        return NULL;
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, 'v', n);
    memcpy(s + sizeof(head) - 1 + n, tail, sizeof(tail));
    *len = sizeof(head) - 1 + n + sizeof(tail) - 1;
    return s;
}

/* Many header lines, total bytes of them about n. */
static char *many_headers(size_t n, size_t *len)
{
    static const char line[] = "X-Filler: 0123456789012345678901234567890\r\n";
    size_t count = n / (sizeof(line) - 1) + 1, i;
    char *s = OPENSSL_malloc(64 + count * (sizeof(line) - 1));
    char *w = s;

    if (s == NULL)
        return NULL;
    w += sprintf(w, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < count; i++)
        w += sprintf(w, "%s", line);
    w += sprintf(w, "Content-Length: 0\r\n\r\n");
    *len = (size_t)(w - s);
    return s;
}

static void test_limits(void)
{
    /* "X-Long: " is 8 bytes and CRLF 2: n = MAX_LINE - 10 just fits. */
    size_t fits = HTTP1_MAX_LINE - 10, len;
    struct outcome o;
    char *s;

    s = long_header(fits, &len);
    if (s != NULL) {
        parse_all_ways("longest header line", s, len, MAX_BODY, 0, &o);
        check(o.result == HTTP1_DONE, "a line of HTTP1_MAX_LINE bytes is fine");
        OPENSSL_free(s);
    }
    s = long_header(fits + 1, &len);
    if (s != NULL) {
        parse_all_ways("header line too long", s, len, MAX_BODY, 0, &o);
        check(o.result == HTTP1_BAD && error_has(&o, "line too long"),
              "a line one byte over HTTP1_MAX_LINE refused");
        OPENSSL_free(s);
    }
    s = long_header(fits + 1000, &len);
    if (s != NULL) {
        /* Refused before the line ends, so without its LF too. */
        parse_all_ways("line without end", s, HTTP1_MAX_LINE + 50, MAX_BODY, 0,
                       &o);
        check(o.result == HTTP1_BAD && error_has(&o, "line too long"),
              "an unterminated long line refused as it arrives");
        OPENSSL_free(s);
    }
    s = many_headers(HTTP1_MAX_HEADERS + 100, &len);
    if (s != NULL) {
        parse_all_ways("header section too large", s, len, MAX_BODY, 0, &o);
        check(o.result == HTTP1_BAD &&
                  error_has(&o, "header section too large"),
              "headers beyond HTTP1_MAX_HEADERS refused");
        OPENSSL_free(s);
    }
    s = many_headers(HTTP1_MAX_HEADERS - 200, &len);
    if (s != NULL) {
        parse_all_ways("header section near the limit", s, len, MAX_BODY, 0,
                       &o);
        check(o.result == HTTP1_DONE, "headers just under the limit accepted");
        OPENSSL_free(s);
    }
}

static void test_line_ends(void)
{
    static const char lf[] = "HTTP/1.1 200 OK\n"
                             "x-amzn-RequestId: lf\n"
                             "Content-Length: 2\n"
                             "\n"
                             "{}";
    static const char lf_chunked[] = "HTTP/1.1 200\n"
                                     "Transfer-Encoding: chunked\n"
                                     "\n"
                                     "2\n{}\n0\n\n";
    static const char empty_reason[] = "HTTP/1.1 200 \r\n"
                                       "Content-Length: 0\r\n"
                                       "\r\n";
    struct outcome o;

    PARSE("bare LF", lf, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "{}") &&
              strcmp(o.request_id, "lf") == 0,
          "bare LF line endings accepted");
    PARSE("bare LF chunked, no reason", lf_chunked, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "{}") && o.status == 200,
          "bare LF in chunked framing, status line without a reason");
    PARSE("empty reason", empty_reason, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE, "empty reason phrase accepted");
}

static void test_leftover(void)
{
    static const char two[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Length: 3\r\n"
                              "\r\n"
                              "abcHTTP/1.1 200 OK\r\n\r\n";
    static const size_t first = sizeof("HTTP/1.1 200 OK\r\n"
                                       "Content-Length: 3\r\n"
                                       "\r\n"
                                       "abc") -
                                1;
    struct kmsre_http_response resp;
    struct http1_parser p;
    enum http1_result r;
    struct outcome o;
    size_t used;

    PARSE("leftover", two, MAX_BODY, 0, &o);
    check(o.result == HTTP1_DONE && body_is(&o, "abc") && o.used == first,
          "bytes after the answer are left to the caller");

    http1_parser_init(&p, &resp, MAX_BODY);
    r = http1_parser_feed(&p, two, sizeof(two) - 1, &used);
    check(r == HTTP1_DONE && used == first &&
              http1_parser_feed(&p, two + used, 5, &used) == HTTP1_DONE &&
              used == 0 && http1_parser_eof(&p) == HTTP1_DONE,
          "feeding after DONE: DONE again, nothing used");
    http1_parser_cleanup(&p);
    OPENSSL_free(resp.body);

    http1_parser_init(&p, &resp, MAX_BODY);
    r = http1_parser_feed(&p, "HTTP/3", 6, &used);
    check(r == HTTP1_MORE && used == 6 && p.started &&
              http1_parser_feed(&p, NULL, 0, &used) == HTTP1_MORE && used == 0,
          "an incomplete line is taken whole; an empty feed is harmless");
    r = http1_parser_feed(&p, " 200\r\n", 6, &used);
    check(r == HTTP1_BAD && http1_parser_feed(&p, "x", 1, &used) == HTTP1_BAD &&
              used == 0 && http1_parser_eof(&p) == HTTP1_BAD,
          "after BAD: BAD again, nothing used");
    http1_parser_cleanup(&p);
    OPENSSL_free(resp.body);
}

int main(void)
{
    test_format();
    test_kms_answers();
    test_interim();
    test_chunked();
    test_connection();
    test_truncated();
    test_no_body();
    test_lengths();
    test_malformed();
    test_malformed_with_nul();
    test_limits();
    test_line_ends();
    test_leftover();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
