/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP transport behind an ops table, so tests can plug in a fake. The
 * real one (http_curl.c) is libcurl with TLS verification always on. */
#ifndef KMSRE_HTTP_H
#define KMSRE_HTTP_H

#include <stddef.h>
#include "util/status.h"

/* KMS's largest answer is a few KiB; anything far larger is refused while
 * it streams in, never buffered whole. */
#define KMSRE_HTTP_MAX_RESPONSE (1024 * 1024)

struct kmsre_http_header {
    const char *name;
    const char *value;
};

struct kmsre_http_request {
    const char *method; /* "GET", "PUT" or NULL for POST */
    const char *url;
    const struct kmsre_http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    int allow_http;  /* http:// endpoints: only explicit configuration,
                        IMDS and container credentials give them */
    long timeout_ms; /* whole request; 0: the transport's settings */
};

struct kmsre_http_response {
    long status;
    char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    char request_id[128];
    char error_type[128]; /* X-Amzn-ErrorType, when sent */
    char error[256];      /* transport failure text */
    int retryable;        /* transport failure worth another attempt */
    int timed_out;
};

struct kmsre_http_settings {
    const char *ca_bundle; /* NULL: the system store */
    long connect_timeout_ms;
    long request_timeout_ms;
};

struct kmsre_http_ops {
    enum kmsre_status (*send)(void *impl, const struct kmsre_http_request *req,
                              struct kmsre_http_response *resp);
    void (*free)(void *impl);
};

struct kmsre_http {
    const struct kmsre_http_ops *ops;
    void *impl;
};

/* libcurl transport: pooled connections shared by all threads (TLS
 * sessions and DNS too); KMS calls framed by http1.c on connections
 * libcurl opened, the rest through curl_easy_perform. */
enum kmsre_status kmsre_http_curl_new(struct kmsre_http *http,
                                      const struct kmsre_http_settings *s);

static inline enum kmsre_status
kmsre_http_send(const struct kmsre_http *http,
                const struct kmsre_http_request *req,
                struct kmsre_http_response *resp)
{
    return http->ops->send(http->impl, req, resp);
}

static inline void kmsre_http_free(struct kmsre_http *http)
{
    if (http->ops != NULL)
        http->ops->free(http->impl);
    http->ops = NULL;
    http->impl = NULL;
}

void kmsre_http_response_clear(struct kmsre_http_response *resp);

#endif
