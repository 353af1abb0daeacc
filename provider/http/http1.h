/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 framing on a byte stream, with no I/O: the request as one
 * buffer, the response parsed incrementally as it arrives. The libcurl
 * transport uses it on connections that libcurl opened (TCP, proxy tunnel,
 * TLS with verification), where curl_easy_perform's per-request work would
 * cost more than everything else a ReEncrypt does.
 */
#ifndef KMSRE_HTTP1_H
#define KMSRE_HTTP1_H

#include <stddef.h>
#include "http/http.h"

/* Limits on what a server may send before the body. */
#define HTTP1_MAX_LINE 8192     /* one status or header line */
#define HTTP1_MAX_HEADERS 65536 /* all header lines of one response */

enum http1_result {
    HTTP1_MORE,      /* feed more bytes */
    HTTP1_DONE,      /* a whole final (non-1xx) response was read */
    HTTP1_BAD,       /* not HTTP/1.x, malformed or refused framing */
    HTTP1_TOO_LARGE, /* the body would exceed the cap */
    HTTP1_NOMEM
};

enum http1_framing {
    HTTP1_FRAMING_NONE,    /* 204, 304: no body */
    HTTP1_FRAMING_LENGTH,  /* Content-Length */
    HTTP1_FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
    HTTP1_FRAMING_CLOSE    /* neither: the body ends when the server closes */
};

struct http1_parser {
    struct kmsre_http_response *resp; /* status, body, request id, type */
    size_t max_body;
    int state;  /* private: where in the response the parser is */
    char *line; /* private: the current status/header/chunk-size line */
    size_t line_len, line_cap;
    size_t header_bytes; /* private: bytes of header lines so far (1xx
                            responses included; trailers counted apart) */
    enum http1_framing framing;
    unsigned long long remaining; /* private: of the body or chunk */
    int have_length;
    int http10;     /* HTTP/1.0 answer */
    int keep_alive; /* connection usable for another request after DONE */
    int started;    /* at least one byte of a response was fed */
    /* private: what the current response's headers said */
    unsigned long long length; /* Content-Length, when have_length */
    int interim;               /* a 1xx response, whose headers are skipped */
    int te;                    /* Transfer-Encoding seen, and how it ends */
    int conn_close, conn_keep_alive; /* Connection tokens */
    size_t body_cap;          /* private: bytes allocated at resp->body */
    enum http1_result result; /* private: HTTP1_MORE until the end */
};

/* resp is cleared and then filled as the response arrives: status,
 * request_id (x-amzn-RequestId), error_type (X-Amzn-ErrorType), body
 * (OPENSSL_malloc'd, NUL-terminated, at most max_body bytes; NULL while
 * empty). On HTTP1_BAD and HTTP1_TOO_LARGE resp->error says why; after
 * either, keep_alive is 0. The parser does not know the request: the
 * answer to a HEAD (which has no body whatever it says) cannot be read. */
void http1_parser_init(struct http1_parser *p, struct kmsre_http_response *resp,
                       size_t max_body);

/* Consumes bytes of the response; *used is how many. Bytes left over after
 * HTTP1_DONE belong to nothing we asked for: the caller must not reuse the
 * connection. Once a result other than HTTP1_MORE is returned, feeding
 * again returns it again. */
enum http1_result http1_parser_feed(struct http1_parser *p, const char *data,
                                    size_t len, size_t *used);

/* The server closed the connection: HTTP1_DONE if that ends a body framed
 * by the close, HTTP1_BAD (a truncated answer) otherwise. */
enum http1_result http1_parser_eof(struct http1_parser *p);

/* Frees the parser's own buffer (never resp->body). */
void http1_parser_cleanup(struct http1_parser *p);

/* "METHOD target HTTP/1.1", the caller's headers, User-Agent (when not
 * NULL), Content-Length, an empty line and the body, in one
 * OPENSSL_malloc'd buffer. The headers may carry a session token: free
 * the buffer with OPENSSL_clear_free(*out, *out_len). A header name that
 * is not an RFC 9110 token, or a value with CR, LF or NUL, is refused
 * (KMSRE_ERR_INVALID): nothing can smuggle another header or request. */
enum kmsre_status http1_format_request(const char *method, const char *target,
                                       const struct kmsre_http_header *headers,
                                       size_t n_headers, const char *user_agent,
                                       const char *body, size_t body_len,
                                       char **out, size_t *out_len);

#endif
