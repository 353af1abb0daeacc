/* SPDX-License-Identifier: Apache-2.0 */
/* The libcurl transport: verified TLS, bounded answers, reused handles. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "http/http.h"
#include "version.h"

#define POOL_MAX_IDLE 32

struct curl_transport {
    struct kmsre_http_settings settings;
    char *ca_bundle;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *idle[POOL_MAX_IDLE];
    size_t n_idle;
};

struct response_sink {
    struct kmsre_http_response *resp;
    size_t cap;
    int too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe and must run once per process; it is
 * deferred to the first request so provider init stays network-free. It is
 * never undone: other code in the process may still use libcurl. */
static void curl_global_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *userp)
{
    struct curl_transport *t = userp;

    (void)h;
    (void)a;
    pthread_mutex_lock(&t->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    struct curl_transport *t = userp;

    (void)h;
    pthread_mutex_unlock(&t->share_locks[data]);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct response_sink *sink = userp;
    struct kmsre_http_response *resp = sink->resp;
    size_t len = size * n;
    char *grown;

    if (len > sink->cap - resp->body_len) {
        sink->too_large = 1;
        return 0; /* aborts the transfer: nothing more is buffered */
    }
    grown = OPENSSL_realloc(resp->body, resp->body_len + len + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + resp->body_len, data, len);
    resp->body = grown;
    resp->body_len += len;
    resp->body[resp->body_len] = '\0';
    return len;
}

/* Copies a header's value (trimmed) into dst when its name matches. */
static void capture_header(const char *line, size_t len, const char *name,
                           char *dst, size_t dstlen)
{
    size_t nlen = strlen(name), vlen;
    const char *v;

    if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
        return;
    v = line + nlen + 1;
    vlen = len - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 &&
           (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (vlen >= dstlen)
        vlen = dstlen - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct kmsre_http_response *resp = userp;
    size_t len = size * n;

    capture_header(data, len, "x-amzn-RequestId", resp->request_id,
                   sizeof(resp->request_id));
    capture_header(data, len, "X-Amzn-ErrorType", resp->error_type,
                   sizeof(resp->error_type));
    return len;
}

static int set_constant_options(struct curl_transport *t, CURL *h)
{
    int ok = 1;

    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SHARE, t->share) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, KMSRE_USER_AGENT) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION,
                           (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    if (t->ca_bundle != NULL)
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_bundle) == CURLE_OK;
    return ok;
}

static CURL *pool_get(struct curl_transport *t)
{
    CURL *h = NULL;

    pthread_mutex_lock(&t->pool_lock);
    if (t->n_idle > 0)
        h = t->idle[--t->n_idle];
    pthread_mutex_unlock(&t->pool_lock);
    if (h != NULL)
        return h;
    h = curl_easy_init();
    if (h != NULL && !set_constant_options(t, h)) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

/* A handle keeps its live connection, so the next request on it skips the
 * TCP and TLS handshakes. */
static void pool_put(struct curl_transport *t, CURL *h)
{
    pthread_mutex_lock(&t->pool_lock);
    if (t->n_idle < POOL_MAX_IDLE) {
        t->idle[t->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&t->pool_lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* "Name: value", wiped after use: one of them carries a session token. */
static struct curl_slist *append_header(struct curl_slist *list,
                                        const struct kmsre_http_header *h)
{
    size_t len = strlen(h->name) + strlen(h->value) + 3;
    struct curl_slist *next = NULL;
    char *line = OPENSSL_malloc(len);

    if (line != NULL) {
        snprintf(line, len, "%s: %s", h->name, h->value);
        next = curl_slist_append(list, line);
        OPENSSL_clear_free(line, len);
    }
    if (next == NULL)
        curl_slist_free_all(list);
    return next;
}

static struct curl_slist *make_header_list(const struct kmsre_http_request *r)
{
    struct curl_slist *list;
    size_t i;

    /* No "Expect: 100-continue" round trip before the body. */
    list = curl_slist_append(NULL, "Expect:");
    for (i = 0; list != NULL && i < r->n_headers; i++)
        list = append_header(list, &r->headers[i]);
    return list;
}

/* Connection trouble is worth another attempt; a refused certificate, a
 * bad URL or a name that does not resolve is not. */
static int is_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* POST by default; GET and PUT for the credential endpoints. */
static void set_method(CURL *h, const struct kmsre_http_request *req)
{
    const char *m = req->method != NULL ? req->method : "POST";

    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     strcmp(m, "POST") == 0 ? NULL : m);
}

/* A request may ask for a shorter bound (instance metadata: a laptop
 * without it must not wait long). */
static void set_timeouts(CURL *h, const struct kmsre_http_settings *s,
                         const struct kmsre_http_request *req)
{
    long total = req->timeout_ms > 0 ? req->timeout_ms : s->request_timeout_ms;
    long connect =
        s->connect_timeout_ms < total ? s->connect_timeout_ms : total;

    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total);
}

static enum kmsre_status perform(CURL *h, const struct kmsre_http_settings *s,
                                 const struct kmsre_http_request *req,
                                 struct curl_slist *headers,
                                 struct kmsre_http_response *resp)
{
    struct response_sink sink = {resp, KMSRE_HTTP_MAX_RESPONSE, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;

    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                     req->allow_http ? "http" : "https");
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    set_method(h, req);
    set_timeouts(h, s, req);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* libcurl's TLS leaves OpenSSL errors on the caller's queue; its own
     * error text is what we report, so that noise is dropped. */
    ERR_set_mark();
    rc = curl_easy_perform(h);
    ERR_pop_to_mark();
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (sink.too_large) {
        snprintf(resp->error, sizeof(resp->error),
                 "response larger than %d bytes refused",
                 KMSRE_HTTP_MAX_RESPONSE);
        return KMSRE_ERR_RESPONSE;
    }
    if (rc != CURLE_OK) {
        snprintf(resp->error, sizeof(resp->error), "%s",
                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        resp->retryable = is_retryable(rc);
        return KMSRE_ERR_TRANSPORT;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    return KMSRE_OK;
}

static enum kmsre_status curl_send(void *impl,
                                   const struct kmsre_http_request *req,
                                   struct kmsre_http_response *resp)
{
    struct curl_transport *t = impl;
    struct curl_slist *headers;
    enum kmsre_status st;
    CURL *h;

    memset(resp, 0, sizeof(*resp));
    headers = make_header_list(req);
    if (headers == NULL)
        return KMSRE_ERR_NOMEM;
    h = pool_get(t);
    if (h == NULL) {
        curl_slist_free_all(headers);
        return KMSRE_ERR_NOMEM;
    }
    st = perform(h, &t->settings, req, headers, resp);
    curl_slist_free_all(headers);
    if (st == KMSRE_OK)
        pool_put(t, h);
    else
        curl_easy_cleanup(h); /* its connection is in an unknown state */
    return st;
}

static void curl_free_transport(void *impl)
{
    struct curl_transport *t = impl;
    int i;

    if (t == NULL)
        return;
    while (t->n_idle > 0)
        curl_easy_cleanup(t->idle[--t->n_idle]);
    if (t->share != NULL)
        curl_share_cleanup(t->share);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&t->share_locks[i]);
    pthread_mutex_destroy(&t->pool_lock);
    OPENSSL_free(t->ca_bundle);
    OPENSSL_free(t);
}

static const struct kmsre_http_ops curl_ops = {curl_send, curl_free_transport};

/* DNS answers and TLS sessions are shared between handles; connections are
 * not (libcurl documents shared connection caches as unsafe across
 * threads), each pooled handle keeps its own. */
static int make_share(struct curl_transport *t)
{
    t->share = curl_share_init();
    if (t->share == NULL)
        return 0;
    return curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock) ==
               CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ==
               CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_USERDATA, t) == CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ==
               CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_SHARE,
                             CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
}

enum kmsre_status kmsre_http_curl_new(struct kmsre_http *http,
                                      const struct kmsre_http_settings *s)
{
    struct curl_transport *t;
    int i;

    pthread_once(&curl_once, curl_global_once);
    if (curl_init_result != CURLE_OK)
        return KMSRE_ERR_TRANSPORT;
    t = OPENSSL_zalloc(sizeof(*t));
    if (t == NULL)
        return KMSRE_ERR_NOMEM;
    t->settings = *s;
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&t->share_locks[i], NULL);
    pthread_mutex_init(&t->pool_lock, NULL);
    if (s->ca_bundle != NULL &&
        (t->ca_bundle = OPENSSL_strdup(s->ca_bundle)) == NULL) {
        curl_free_transport(t);
        return KMSRE_ERR_NOMEM;
    }
    t->settings.ca_bundle = t->ca_bundle;
    if (!make_share(t)) {
        curl_free_transport(t);
        return KMSRE_ERR_NOMEM;
    }
    http->ops = &curl_ops;
    http->impl = t;
    return KMSRE_OK;
}

void kmsre_http_response_clear(struct kmsre_http_response *resp)
{
    OPENSSL_free(resp->body);
    memset(resp, 0, sizeof(*resp));
}
