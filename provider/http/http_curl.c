/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libcurl transport: verified TLS, bounded answers, reused connections.
 *
 * KMS calls (POST over https) take the fast path: libcurl opens the
 * connection (DNS, proxy tunnel, TLS and its verification) with
 * CURLOPT_CONNECT_ONLY, and each request is then one curl_easy_send of the
 * whole HTTP/1.1 request and curl_easy_recv until http1.c has the whole
 * answer. curl_easy_perform re-parses the URL and formats every header
 * byte by byte on each request, which cost more than the signing, JSON and
 * provider work of a ReEncrypt together. Everything else (the credential
 * endpoints, plain http) goes through curl_easy_perform.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "http/http.h"
#include "http/http1.h"
#include "version.h"

#define POOL_MAX_IDLE 32
#define RECV_CHUNK 16384

/* A connection libcurl opened for the fast path. */
struct connection {
    CURL *h;
    curl_socket_t sock;
    char *url;    /* what it is connected to; reused only for the same */
    char *target; /* path and query of url: the request target */
};

struct curl_transport {
    struct kmsre_http_settings settings;
    char *ca_bundle;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *idle[POOL_MAX_IDLE];
    size_t n_idle;
    struct connection *conns[POOL_MAX_IDLE];
    size_t n_conns;
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

/* --- Fast path: HTTP/1.1 on a connection libcurl opened ----------------- */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void connection_free(struct connection *c)
{
    if (c == NULL)
        return;
    if (c->h != NULL)
        curl_easy_cleanup(c->h);
    OPENSSL_free(c->url);
    OPENSSL_free(c->target);
    OPENSSL_free(c);
}

/* An idle connection to this URL, or NULL. */
static struct connection *connection_get(struct curl_transport *t,
                                         const char *url)
{
    struct connection *c = NULL;
    size_t i;

    pthread_mutex_lock(&t->pool_lock);
    for (i = t->n_conns; i > 0; i--)
        if (strcmp(t->conns[i - 1]->url, url) == 0) {
            c = t->conns[i - 1];
            t->conns[i - 1] = t->conns[--t->n_conns];
            break;
        }
    pthread_mutex_unlock(&t->pool_lock);
    return c;
}

static void connection_put(struct curl_transport *t, struct connection *c)
{
    pthread_mutex_lock(&t->pool_lock);
    if (t->n_conns < POOL_MAX_IDLE) {
        t->conns[t->n_conns++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&t->pool_lock);
    connection_free(c); /* the pool is full */
}

/* "/path?query" of a URL, as the request line wants it. */
static char *request_target(const char *url)
{
    CURLU *u = curl_url();
    char *path = NULL, *query = NULL, *target = NULL;
    size_t len;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
            query = NULL;
        len = strlen(path) + (query != NULL ? strlen(query) + 1 : 0) + 1;
        target = OPENSSL_malloc(len);
        if (target != NULL)
            snprintf(target, len, "%s%s%s", path, query != NULL ? "?" : "",
                     query != NULL ? query : "");
    }
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return target;
}

static void transport_failure(struct kmsre_http_response *resp, int retryable,
                              int timed_out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void transport_failure(struct kmsre_http_response *resp, int retryable,
                              int timed_out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(resp->error, sizeof(resp->error), fmt, ap);
    va_end(ap);
    resp->retryable = retryable;
    resp->timed_out = timed_out;
}

/* What libcurl reads while it opens a connection is a proxy's answer to
 * CONNECT at most: not ours to keep. */
static size_t discard(char *data, size_t size, size_t n, void *userp)
{
    (void)data;
    (void)userp;
    return size * n;
}

/* TCP, proxy tunnel and TLS by libcurl, with the settings of every other
 * request; no HTTP is sent. */
static enum kmsre_status connection_open(struct curl_transport *t,
                                         struct connection *c, const char *url,
                                         double deadline,
                                         struct kmsre_http_response *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    long left = (long)(deadline - now_ms());
    CURLcode rc;

    if (left < 1)
        left = 1;
    c->h = curl_easy_init();
    if (c->h == NULL || !set_constant_options(t, c->h))
        return KMSRE_ERR_NOMEM;
    curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS,
                     t->settings.connect_timeout_ms < left
                         ? t->settings.connect_timeout_ms
                         : left);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, errbuf);
    ERR_set_mark();
    rc = curl_easy_perform(c->h);
    ERR_pop_to_mark();
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK &&
        curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &c->sock) != CURLE_OK)
        rc = CURLE_COULDNT_CONNECT;
    if (rc != CURLE_OK) {
        transport_failure(resp, is_retryable(rc),
                          rc == CURLE_OPERATION_TIMEDOUT, "%s",
                          errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        return KMSRE_ERR_TRANSPORT;
    }
    return KMSRE_OK;
}

/* Waits until the socket is ready for `events` or the deadline passes. */
static int wait_socket(curl_socket_t sock, short events, double deadline)
{
    struct pollfd pfd = {sock, events, 0};
    double left;
    int n;

    for (;;) {
        left = deadline - now_ms();
        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, (int)(left + 1));
        if (n > 0)
            return 1;
        if (n == 0 || errno != EINTR)
            return n == 0 ? 0 : -1;
    }
}

static enum kmsre_status timed_out(struct kmsre_http_response *resp,
                                   const char *what)
{
    transport_failure(resp, 1, 1, "timed out %s", what);
    return KMSRE_ERR_TRANSPORT;
}

static enum kmsre_status send_all(struct connection *c, const char *data,
                                  size_t len, double deadline,
                                  struct kmsre_http_response *resp)
{
    size_t sent, done = 0;
    CURLcode rc;

    while (done < len) {
        sent = 0;
        ERR_set_mark();
        rc = curl_easy_send(c->h, data + done, len - done, &sent);
        ERR_pop_to_mark();
        if (rc == CURLE_AGAIN) {
            if (wait_socket(c->sock, POLLOUT, deadline) <= 0)
                return timed_out(resp, "sending the request");
            continue;
        }
        if (rc != CURLE_OK) {
            transport_failure(resp, 1, 0, "send failure: %s",
                              curl_easy_strerror(rc));
            return KMSRE_ERR_TRANSPORT;
        }
        done += sent;
    }
    return KMSRE_OK;
}

/* What a finished parse means for the caller. A connection that closes
 * early is worth another attempt; an answer that is not HTTP is not. */
static enum kmsre_status parse_outcome(enum http1_result r, int at_eof,
                                       struct kmsre_http_response *resp)
{
    switch (r) {
    case HTTP1_DONE:
        return KMSRE_OK;
    case HTTP1_TOO_LARGE:
        return KMSRE_ERR_RESPONSE;
    case HTTP1_NOMEM:
        return KMSRE_ERR_NOMEM;
    default:
        resp->retryable = at_eof;
        return KMSRE_ERR_TRANSPORT;
    }
}

/* Reads until the parser has a whole answer. *reusable tells whether the
 * connection can carry another request. */
static enum kmsre_status receive_answer(struct connection *c, double deadline,
                                        struct http1_parser *p, int *reusable)
{
    char buf[RECV_CHUNK];
    enum http1_result r = HTTP1_MORE;
    size_t n, used;
    int at_eof = 0;
    CURLcode rc;

    while (r == HTTP1_MORE) {
        n = 0;
        ERR_set_mark();
        rc = curl_easy_recv(c->h, buf, sizeof(buf), &n);
        ERR_pop_to_mark();
        if (rc == CURLE_AGAIN) {
            if (wait_socket(c->sock, POLLIN, deadline) <= 0)
                return timed_out(p->resp, "waiting for the answer");
            continue;
        }
        if (rc != CURLE_OK) {
            transport_failure(p->resp, 1, 0, "receive failure: %s",
                              curl_easy_strerror(rc));
            return KMSRE_ERR_TRANSPORT;
        }
        if (n == 0) {
            at_eof = 1;
            r = http1_parser_eof(p);
            break;
        }
        r = http1_parser_feed(p, buf, n, &used);
        if (r == HTTP1_DONE && used != n)
            p->keep_alive = 0; /* bytes nobody asked for: drop it */
    }
    *reusable = r == HTTP1_DONE && !at_eof && p->keep_alive;
    return parse_outcome(r, at_eof, p->resp);
}

/* One request and its answer on an open connection. *silent is set when
 * the connection failed before any byte of an answer came back. */
static enum kmsre_status exchange(struct connection *c, const char *request,
                                  size_t len, double deadline,
                                  struct kmsre_http_response *resp,
                                  int *reusable, int *silent)
{
    struct http1_parser p;
    enum kmsre_status st;

    *reusable = 0;
    *silent = 1;
    st = send_all(c, request, len, deadline, resp);
    if (st != KMSRE_OK)
        return st;
    http1_parser_init(&p, resp, KMSRE_HTTP_MAX_RESPONSE);
    st = receive_answer(c, deadline, &p, reusable);
    *silent = !p.started;
    http1_parser_cleanup(&p);
    return st;
}

static enum kmsre_status format_request(const struct connection *c,
                                        const struct kmsre_http_request *req,
                                        char **out, size_t *out_len)
{
    return http1_format_request("POST", c->target, req->headers, req->n_headers,
                                KMSRE_USER_AGENT, req->body, req->body_len, out,
                                out_len);
}

/* A fresh connection object for url, not yet open. */
static struct connection *connection_new(const char *url)
{
    struct connection *c = OPENSSL_zalloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    c->url = OPENSSL_strdup(url);
    c->target = request_target(url);
    if (c->url == NULL || c->target == NULL) {
        connection_free(c);
        return NULL;
    }
    return c;
}

/* An idle connection may have been closed by the server meanwhile; when
 * one fails before answering anything, the request goes once more on a new
 * connection, as curl_easy_perform does. */
static enum kmsre_status fast_send(struct curl_transport *t,
                                   const struct kmsre_http_request *req,
                                   struct kmsre_http_response *resp)
{
    long total =
        req->timeout_ms > 0 ? req->timeout_ms : t->settings.request_timeout_ms;
    double deadline = now_ms() + (double)total;
    struct connection *c = connection_get(t, req->url);
    enum kmsre_status st = KMSRE_OK;
    char *request = NULL;
    size_t len = 0;
    int reused = c != NULL, reusable = 0, silent = 0;

    if (c == NULL && (c = connection_new(req->url)) == NULL)
        return KMSRE_ERR_NOMEM;
    st = format_request(c, req, &request, &len);
    if (st == KMSRE_ERR_INVALID)
        transport_failure(resp, 0, 0,
                          "request refused: a header or the "
                          "URL path cannot go on the wire");
    for (;;) {
        if (st == KMSRE_OK && c->h == NULL)
            st = connection_open(t, c, req->url, deadline, resp);
        if (st == KMSRE_OK)
            st = exchange(c, request, len, deadline, resp, &reusable, &silent);
        if (st != KMSRE_ERR_TRANSPORT || !reused || !silent || resp->timed_out)
            break;
        reused = 0;
        kmsre_http_response_clear(resp);
        curl_easy_cleanup(c->h);
        c->h = NULL;
    }
    OPENSSL_clear_free(request, len);
    if (st == KMSRE_OK && reusable)
        connection_put(t, c);
    else
        connection_free(c);
    return st;
}

/* Plain POSTs over https; the rest keeps curl_easy_perform. */
static int takes_fast_path(const struct kmsre_http_request *req)
{
    return (req->method == NULL || strcmp(req->method, "POST") == 0) &&
           strncasecmp(req->url, "https://", 8) == 0;
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
    if (takes_fast_path(req))
        return fast_send(t, req, resp);
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
    while (t->n_conns > 0)
        connection_free(t->conns[--t->n_conns]);
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
