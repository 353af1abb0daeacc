/* SPDX-License-Identifier: Apache-2.0 */
/* The fake transport of the unit tests. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "fake_http.h"

static const struct fake_rule *match(const struct fake_http *f,
                                     const char *method, const char *url)
{
    size_t i;

    for (i = f->n_rules; i > 0; i--) {
        const struct fake_rule *r = &f->rules[i - 1];

        if (strcmp(r->method, method) == 0 && strstr(url, r->url_part) != NULL)
            return r;
    }
    return NULL;
}

static void record(struct fake_http *f, const char *method,
                   const struct kmsre_http_request *req)
{
    struct fake_seen *s;
    size_t i, o = 0;

    if (f->n_seen == FAKE_MAX_SEEN)
        return;
    s = &f->seen[f->n_seen++];
    snprintf(s->method, sizeof(s->method), "%s", method);
    snprintf(s->url, sizeof(s->url), "%s", req->url);
    for (i = 0; i < req->n_headers && o < sizeof(s->headers); i++)
        o +=
            (size_t)snprintf(s->headers + o, sizeof(s->headers) - o, "%s: %s\n",
                             req->headers[i].name, req->headers[i].value);
    snprintf(s->body, sizeof(s->body), "%.*s", (int)req->body_len,
             req->body != NULL ? req->body : "");
}

static enum kmsre_status fake_send(void *impl,
                                   const struct kmsre_http_request *req,
                                   struct kmsre_http_response *resp,
                                   struct kmsre_err *err)
{
    struct fake_http *f = impl;
    const char *method = req->method != NULL ? req->method : "POST";
    const struct fake_rule *r;

    record(f, method, req);
    r = match(f, method, req->url);
    if (r == NULL) {
        resp->retryable = 1;
        return kmsre_fail(err, KMSRE_ERR_TRANSPORT,
                          "Failed to connect (fake: nothing at %s)", req->url);
    }
    resp->status = r->status;
    if (r->body != NULL &&
        kmsre_http_response_append(resp, r->body, strlen(r->body)) != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    if (r->headers != NULL) {
        resp->headers = OPENSSL_strdup(r->headers);
        resp->headers_len = strlen(r->headers);
    }
    return KMSRE_OK;
}

static void fake_free(void *impl)
{
    (void)impl;
}

static const struct kmsre_http_ops fake_ops = {fake_send, fake_free};

struct kmsre_http fake_http_transport(struct fake_http *f)
{
    struct kmsre_http h = {&fake_ops, f};

    return h;
}

void fake_http_answer(struct fake_http *f, const char *method,
                      const char *url_part, long status, const char *body,
                      const char *headers)
{
    struct fake_rule r = {method, url_part, status, body, headers};

    if (f->n_rules < FAKE_MAX_RULES)
        f->rules[f->n_rules++] = r;
}

size_t fake_http_count(const struct fake_http *f, const char *method,
                       const char *url_part)
{
    size_t i, n = 0;

    for (i = 0; i < f->n_seen; i++)
        n += strcmp(f->seen[i].method, method) == 0 &&
             strstr(f->seen[i].url, url_part) != NULL;
    return n;
}

const struct fake_seen *fake_http_last(const struct fake_http *f,
                                       const char *url_part)
{
    size_t i;

    for (i = f->n_seen; i > 0; i--)
        if (strstr(f->seen[i - 1].url, url_part) != NULL)
            return &f->seen[i - 1];
    return NULL;
}
