/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libcurl transport. Every request is one curl_easy_perform on a handle
 * from a pool, so libcurl does all of HTTP: framing, chunked answers,
 * 1xx answers, keep-alive and the liveness check of a reused connection
 * (with one more try on a fresh connection when a reused one died), proxies
 * and CONNECT tunnels. Handles are pooled per origin, each keeping one
 * connection; DNS answers are shared through a curl share.
 *
 * TLS sessions are not shared: each handle resumes only its own. A shared
 * SSL_SESSION is freed by whichever thread drops the last reference, and
 * OpenSSL 3.0 orders that reference count too weakly for ThreadSanitizer
 * (openssl/openssl#25660), so sharing would hide our own races behind its
 * reports. A handle reconnects seldom (the pool keeps its connection), and
 * a TLS 1.3 ticket is then never offered on two connections at once.
 *
 * Before a pooled connection is reused it must be silent: bytes that
 * arrived after its last complete answer (or its close) mean it cannot
 * carry another request. libcurl 7.88 (Debian 12) would read such bytes as
 * the next answer; the handle is dropped instead.
 *
 * fork(): the pool's connections belong to the parent. Every socket the
 * transport opens is tracked, and in a forked child each one is replaced by
 * /dev/null before anything else runs (a fork hook), so nothing the child
 * does can read from or write to the parent's connections, not even the
 * TLS close_notify that freeing a handle sends. The child then drops the
 * parent's idle handles and opens connections of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "base/fork.h"
#include "http/http.h"
#include "version.h"

/* Idle handles for one scheme://host:port, newest last. */
struct origin_pool {
    struct origin_pool *next;
    char *origin;
    CURL **idle;
    size_t n_idle, cap_idle;
};

struct curl_transport {
    char *ca_bundle; /* owned copy; NULL: the system store */
    long connect_timeout_ms;
    long request_timeout_ms;
    CURLSH *share;
    /* One per kind of data libcurl locks (plain mutexes: base/fork.h). */
    struct kmsre_mutex share_locks[CURL_LOCK_DATA_LAST];
    struct kmsre_mutex pool_lock;
    struct origin_pool *pools;
    int stale; /* set in a forked child: the idle handles are the parent's */
    struct kmsre_mutex sockets_lock;
    curl_socket_t *sockets; /* every socket open now */
    size_t n_sockets, cap_sockets;
    struct kmsre_fork_hook fork_hook;
};

struct transfer {
    struct kmsre_http_response *resp;
    int too_large;
    int nomem;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe and runs once per process, at the
 * first request (provider init stays network-free). It is never undone:
 * other code in the process may use libcurl too. */
static void curl_global_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- shared DNS cache --------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *userp)
{
    struct curl_transport *t = userp;

    (void)h, (void)a;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        kmsre_mutex_lock(&t->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    struct curl_transport *t = userp;

    (void)h;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        kmsre_mutex_unlock(&t->share_locks[data]);
}

static void destroy_locks(struct curl_transport *t)
{
    size_t i;

    kmsre_mutex_destroy(&t->sockets_lock);
    kmsre_mutex_destroy(&t->pool_lock);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        kmsre_mutex_destroy(&t->share_locks[i]);
}

/* On failure every lock is destroyed (a zeroed one harmlessly). */
static int init_locks(struct curl_transport *t)
{
    size_t i;
    int ok = 1;

    for (i = 0; ok && i < CURL_LOCK_DATA_LAST; i++)
        ok = kmsre_mutex_init(&t->share_locks[i]);
    ok = ok && kmsre_mutex_init(&t->pool_lock) &&
         kmsre_mutex_init(&t->sockets_lock);
    if (!ok)
        destroy_locks(t);
    return ok;
}

static int make_share(struct curl_transport *t)
{
    t->share = curl_share_init();
    return t->share != NULL &&
           curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock) ==
               CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ==
               CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_USERDATA, t) == CURLSHE_OK &&
           curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ==
               CURLSHE_OK;
}

/* ---- sockets: opened close-on-exec, tracked for fork() ------------------ */

static int track_socket(struct curl_transport *t, curl_socket_t fd)
{
    curl_socket_t *grown;
    size_t cap;
    int ok = 1;

    kmsre_mutex_lock(&t->sockets_lock);
    if (t->n_sockets == t->cap_sockets) {
        cap = t->cap_sockets != 0 ? t->cap_sockets * 2 : 16;
        grown = OPENSSL_realloc(t->sockets, cap * sizeof(*grown));
        if (grown != NULL) {
            t->sockets = grown;
            t->cap_sockets = cap;
        }
        ok = grown != NULL;
    }
    if (ok)
        t->sockets[t->n_sockets++] = fd;
    kmsre_mutex_unlock(&t->sockets_lock);
    return ok;
}

static void untrack_socket(struct curl_transport *t, curl_socket_t fd)
{
    size_t i;

    kmsre_mutex_lock(&t->sockets_lock);
    for (i = 0; i < t->n_sockets; i++)
        if (t->sockets[i] == fd) {
            t->sockets[i] = t->sockets[--t->n_sockets];
            break;
        }
    kmsre_mutex_unlock(&t->sockets_lock);
}

static curl_socket_t open_socket(void *userp, curlsocktype purpose,
                                 struct curl_sockaddr *addr)
{
    struct curl_transport *t = userp;
    curl_socket_t fd;

    (void)purpose;
    fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    if (!track_socket(t, fd)) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

static int close_socket(void *userp, curl_socket_t fd)
{
    untrack_socket(userp, fd);
    return close(fd);
}

/* In a forked child, before anything else runs: each of the parent's
 * sockets becomes /dev/null (or an unconnected socket), so libcurl can
 * "close" the connections without touching them. The descriptor numbers
 * stay taken until libcurl closes them. Async-signal-safe. */
static void neutralise_sockets_in_child(void *arg)
{
    struct curl_transport *t = arg;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    size_t i;

    if (null_fd < 0)
        null_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    for (i = 0; null_fd >= 0 && i < t->n_sockets; i++)
        if (t->sockets[i] != null_fd &&
            dup2(null_fd, t->sockets[i]) == t->sockets[i])
            fcntl(t->sockets[i], F_SETFD, FD_CLOEXEC);
    if (null_fd >= 0)
        close(null_fd);
    t->n_sockets = 0;
    t->stale = 1;
}

/* ---- answers ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct transfer *x = userp;
    enum kmsre_status st = kmsre_http_response_append(x->resp, data, size * n);

    x->too_large = st == KMSRE_ERR_LIMIT;
    x->nomem = st == KMSRE_ERR_NOMEM;
    return st == KMSRE_OK ? size * n : 0; /* 0 aborts the transfer */
}

/* Keeps the final answer's header lines; a status line (after a 1xx
 * answer) starts over. */
static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct kmsre_http_response *resp = userp;
    size_t len = size * n;
    char *grown;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        resp->headers_len = 0;
    if (resp->headers_len + len + 1 > KMSRE_HTTP_MAX_HEADERS)
        return len; /* kept what fits; the body is what matters */
    grown = OPENSSL_realloc(resp->headers, resp->headers_len + len + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + resp->headers_len, data, len);
    resp->headers = grown;
    resp->headers_len += len;
    resp->headers[resp->headers_len] = '\0';
    return len;
}

/* ---- handles -------------------------------------------------------------*/

/* libcurl's TLS can leave OpenSSL errors (a shutdown of a dead session)
 * on the caller's queue: not ours to report. */
static void drop_handle(CURL *h)
{
    ERR_set_mark();
    curl_easy_cleanup(h);
    ERR_pop_to_mark();
}

static int set_trust(const struct curl_transport *t, CURL *h)
{
    if (t->ca_bundle == NULL)
        return 1;
    /* A configured bundle is the only trust: the compiled-in CA directory
     * is not consulted as well (as the AWS CLI behaves). */
    return curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_bundle) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_CAPATH, NULL) == CURLE_OK;
}

static int set_constant_options(struct curl_transport *t, CURL *h)
{
    int ok = 1;

    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SHARE, t->share) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, KMSRE_USER_AGENT) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                           (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION,
                           (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    /* One connection per handle: the one its origin pool stands for. */
    ok &= curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket) ==
          CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket) ==
          CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, t) == CURLE_OK;
    return ok && set_trust(t, h);
}

static CURL *new_handle(struct curl_transport *t)
{
    CURL *h = curl_easy_init();

    if (h != NULL && !set_constant_options(t, h)) {
        drop_handle(h);
        h = NULL;
    }
    return h;
}

static void free_pools(struct origin_pool *p)
{
    struct origin_pool *next;

    for (; p != NULL; p = next) {
        next = p->next;
        while (p->n_idle > 0)
            drop_handle(p->idle[--p->n_idle]);
        OPENSSL_free(p->idle);
        OPENSSL_free(p->origin);
        OPENSSL_free(p);
    }
}

/* "scheme://host:port" of a URL: what a connection is bound to. */
static size_t origin_length(const char *url)
{
    const char *auth = strstr(url, "://");

    auth = auth != NULL ? auth + 3 : url;
    return (size_t)(auth - url) + strcspn(auth, "/?#");
}

static struct origin_pool *find_pool(struct curl_transport *t, const char *url,
                                     int create)
{
    size_t n = origin_length(url);
    struct origin_pool *p;

    for (p = t->pools; p != NULL; p = p->next)
        if (strlen(p->origin) == n && strncmp(p->origin, url, n) == 0)
            return p;
    if (!create || (p = OPENSSL_zalloc(sizeof(*p))) == NULL)
        return NULL;
    if ((p->origin = OPENSSL_strndup(url, n)) == NULL) {
        OPENSSL_free(p);
        return NULL;
    }
    p->next = t->pools;
    t->pools = p;
    return p;
}

/* Whether the handle's connection (if it has one) is silent: no byte and
 * no close since its last answer. */
static int connection_is_silent(CURL *h)
{
    curl_socket_t fd = CURL_SOCKET_BAD;
    struct pollfd pfd;

    if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
        fd == CURL_SOCKET_BAD)
        return 1;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 0;
}

static CURL *pop_idle(struct curl_transport *t, const char *url)
{
    struct origin_pool *p;
    CURL *h = NULL;

    kmsre_mutex_lock(&t->pool_lock);
    p = find_pool(t, url, 0);
    if (p != NULL && p->n_idle > 0)
        h = p->idle[--p->n_idle];
    kmsre_mutex_unlock(&t->pool_lock);
    return h;
}

/* After a fork the parent's handles are dropped first (their sockets are
 * /dev/null by now). */
static void drop_if_forked(struct curl_transport *t)
{
    struct origin_pool *stale = NULL;

    kmsre_mutex_lock(&t->pool_lock);
    if (t->stale) {
        stale = t->pools;
        t->pools = NULL;
        t->stale = 0;
    }
    kmsre_mutex_unlock(&t->pool_lock);
    free_pools(stale);
}

/* A pooled handle whose connection can carry a request, or a new one. */
static CURL *pool_take(struct curl_transport *t, const char *url)
{
    CURL *h;

    drop_if_forked(t);
    while ((h = pop_idle(t, url)) != NULL) {
        if (connection_is_silent(h))
            return h;
        drop_handle(h);
    }
    return new_handle(t);
}

/* The pool grows to the largest number of requests ever in flight at once
 * to an origin, so every thread of a busy application keeps its
 * connection. */
static void pool_give_back(struct curl_transport *t, const char *url, CURL *h)
{
    struct origin_pool *p;
    CURL **grown;
    size_t cap;

    kmsre_mutex_lock(&t->pool_lock);
    p = find_pool(t, url, 1);
    if (p != NULL && p->n_idle == p->cap_idle) {
        cap = p->cap_idle != 0 ? p->cap_idle * 2 : 8;
        grown = OPENSSL_realloc(p->idle, cap * sizeof(*grown));
        if (grown != NULL) {
            p->idle = grown;
            p->cap_idle = cap;
        }
    }
    if (p != NULL && p->n_idle < p->cap_idle) {
        p->idle[p->n_idle++] = h;
        h = NULL;
    }
    kmsre_mutex_unlock(&t->pool_lock);
    if (h != NULL)
        drop_handle(h);
}

/* ---- one request -------------------------------------------------------- */

/* "Name: value", wiped after use: one of them may carry a session token. */
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

/* POST by default; GET, and PUT with an empty body, for the credential
 * endpoints. */
static void set_method(CURL *h, const struct kmsre_http_request *req)
{
    const char *m = req->method != NULL ? req->method : "POST";

    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     strcmp(m, "POST") == 0 ? NULL : m);
}

/* A request may ask for a shorter bound (instance metadata: a laptop
 * without it must not wait long). */
static void set_timeouts(CURL *h, const struct curl_transport *t,
                         const struct kmsre_http_request *req)
{
    long total = req->timeout_ms > 0 ? req->timeout_ms : t->request_timeout_ms;
    long connect =
        t->connect_timeout_ms < total ? t->connect_timeout_ms : total;

    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total);
}

/* Nothing of this request may outlive it in the pooled handle. */
static void forget_request(CURL *h)
{
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
}

static enum kmsre_status outcome(CURL *h, CURLcode rc, const struct transfer *x,
                                 const char *errbuf,
                                 struct kmsre_http_response *resp,
                                 struct kmsre_err *err)
{
    if (x->too_large)
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "response larger than %d bytes refused",
                          KMSRE_HTTP_MAX_RESPONSE);
    if (x->nomem)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    if (rc != CURLE_OK) {
        resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        resp->retryable = is_retryable(rc);
        return kmsre_fail(err, KMSRE_ERR_TRANSPORT, "%s",
                          errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    return KMSRE_OK;
}

static enum kmsre_status perform(struct curl_transport *t, CURL *h,
                                 const struct kmsre_http_request *req,
                                 struct curl_slist *headers,
                                 struct kmsre_http_response *resp,
                                 struct kmsre_err *err)
{
    struct transfer x = {resp, 0, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;

    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                     req->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    set_method(h, req);
    set_timeouts(h, t, req);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* libcurl's TLS leaves OpenSSL errors on the caller's queue; its own
     * error text is what we report, so that noise is dropped. */
    ERR_set_mark();
    rc = curl_easy_perform(h);
    ERR_pop_to_mark();
    forget_request(h);
    return outcome(h, rc, &x, errbuf, resp, err);
}

static enum kmsre_status curl_send(void *impl,
                                   const struct kmsre_http_request *req,
                                   struct kmsre_http_response *resp,
                                   struct kmsre_err *err)
{
    struct curl_transport *t = impl;
    struct curl_slist *headers = make_header_list(req);
    enum kmsre_status st;
    CURL *h = NULL;

    if (headers == NULL || (h = pool_take(t, req->url)) == NULL) {
        curl_slist_free_all(headers);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    st = perform(t, h, req, headers, resp, err);
    curl_slist_free_all(headers);
    if (st == KMSRE_OK)
        pool_give_back(t, req->url, h);
    else
        drop_handle(h); /* its connection is in an unknown state */
    return st;
}

static void curl_free_transport(void *impl)
{
    struct curl_transport *t = impl;

    if (t == NULL)
        return;
    kmsre_fork_hook_remove(&t->fork_hook);
    free_pools(t->pools);
    if (t->share != NULL)
        curl_share_cleanup(t->share);
    destroy_locks(t);
    OPENSSL_free(t->sockets);
    OPENSSL_free(t->ca_bundle);
    OPENSSL_free(t);
}

static const struct kmsre_http_ops curl_ops = {curl_send, curl_free_transport};

enum kmsre_status kmsre_http_curl_new(struct kmsre_http *http,
                                      const struct kmsre_http_settings *s)
{
    struct curl_transport *t;

    pthread_once(&curl_once, curl_global_once);
    if (curl_init_result != CURLE_OK)
        return KMSRE_ERR_TRANSPORT;
    t = OPENSSL_zalloc(sizeof(*t));
    if (t == NULL)
        return KMSRE_ERR_NOMEM;
    if (!init_locks(t)) {
        OPENSSL_free(t);
        return KMSRE_ERR_NOMEM;
    }
    kmsre_fork_hook_add(&t->fork_hook, neutralise_sockets_in_child, t);
    t->connect_timeout_ms = s->connect_timeout_ms;
    t->request_timeout_ms = s->request_timeout_ms;
    if ((s->ca_bundle != NULL &&
         (t->ca_bundle = OPENSSL_strdup(s->ca_bundle)) == NULL) ||
        !make_share(t)) {
        curl_free_transport(t);
        return KMSRE_ERR_NOMEM;
    }
    http->ops = &curl_ops;
    http->impl = t;
    return KMSRE_OK;
}
