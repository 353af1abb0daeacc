/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP transport behind an ops table, so tests can plug in a fake. The real
 * one (curl.c) is libcurl's transfer API: TLS verification always on,
 * TLS 1.2 at least, HTTP/1.1, answers bounded while they stream in,
 * connections reused across calls and threads and never across fork().
 */
#ifndef KMSRE_HTTP_H
#define KMSRE_HTTP_H

#include <stddef.h>
#include "base/err.h"

/* The largest answer kept; anything larger is refused while it streams in,
 * never buffered whole. */
#define KMSRE_HTTP_MAX_RESPONSE (1024 * 1024)
/* Response headers kept for kmsre_http_response_header. */
#define KMSRE_HTTP_MAX_HEADERS 16384

struct kmsre_http_header {
    const char *name;
    const char *value;
};

struct kmsre_http_request {
    const char *method; /* "GET", "PUT" or "POST" (NULL: POST) */
    const char *url;
    const struct kmsre_http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    int allow_http;  /* plain http: only for endpoints configured so, and
                        the link-local credential services */
    long timeout_ms; /* whole request; 0: the transport's setting */
};

struct kmsre_http_response {
    long status;
    char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    size_t body_cap;
    char *headers; /* "name: value\n" lines, as received */
    size_t headers_len;
    int retryable; /* a transport failure worth another attempt */
    int timed_out;
};

struct kmsre_http_settings {
    const char *ca_bundle; /* NULL: the system store; else the only trust */
    long connect_timeout_ms;
    long request_timeout_ms;
};

struct kmsre_http_ops {
    /* A transport failure returns KMSRE_ERR_TRANSPORT (or _RESPONSE for an
     * answer over the bound) with the reason in err; any HTTP status is a
     * success at this level. */
    enum kmsre_status (*send)(void *impl, const struct kmsre_http_request *req,
                              struct kmsre_http_response *resp,
                              struct kmsre_err *err);
    void (*free)(void *impl);
};

struct kmsre_http {
    const struct kmsre_http_ops *ops;
    void *impl;
};

enum kmsre_status kmsre_http_curl_new(struct kmsre_http *http,
                                      const struct kmsre_http_settings *s);

/* resp is overwritten (free it with kmsre_http_response_clear). */
enum kmsre_status kmsre_http_send(const struct kmsre_http *http,
                                  const struct kmsre_http_request *req,
                                  struct kmsre_http_response *resp,
                                  struct kmsre_err *err);
void kmsre_http_free(struct kmsre_http *http);

/* The value of a response header (case-insensitive name, last one wins),
 * trimmed, into buf; "" when absent. */
const char *kmsre_http_response_header(const struct kmsre_http_response *resp,
                                       const char *name, char *buf, size_t len);

/* Frees and wipes the body (it may hold credentials). */
void kmsre_http_response_clear(struct kmsre_http_response *resp);

/* Appends to the body, keeping the bound; a buffer that grows is wiped
 * before it is freed. For transports and fakes. */
enum kmsre_status kmsre_http_response_append(struct kmsre_http_response *resp,
                                             const char *data, size_t len);

#endif
