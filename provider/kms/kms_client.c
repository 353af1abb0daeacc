/* SPDX-License-Identifier: Apache-2.0 */
/* KMS requests: build body, resolve target, sign, send, decode. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "aws/creds.h"
#include "aws/creds_cache.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "kms/kms_client.h"
#include "kms/retry.h"

#define AMZ_DATE_LEN 16

/* Everything resolved for one (key region, profile) pair: computed at the
 * first request that needs it, then reused by every thread. */
struct kms_session {
    struct kms_session *next;
    char *key_region;
    char *profile;
    char region[AWS_REGION_MAX];
    struct aws_endpoint endpoint;
    enum kms_retry_mode retry_mode;
    int max_attempts;
    struct aws_creds_cache creds;
    struct kms_client *client;
    /* The shared files as read while the session is being made, so the
     * first credential fetch does not read them again. */
    const struct aws_shared_config *preloaded;
};

struct kms_client {
    const struct kmsre_config *cfg;
    OSSL_LIB_CTX *libctx; /* private: hashing never depends on the app's */
    struct sigv4_algs algs;
    struct kmsre_http http;
    time_t (*clock)(void);
    int debug;
    struct kms_retry_quota quota;
    struct kms_rate_limiter limiter; /* adaptive mode only */
    pthread_mutex_t lock;            /* guards the session list */
    struct kms_session *sessions;
};

/* Seconds on a clock that never jumps: for timing and rate limiting. */
static double monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int env_true(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
                         strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

static time_t system_clock(void)
{
    return time(NULL);
}

static const char *ca_bundle(const struct kmsre_config *cfg)
{
    const char *env = getenv("AWS_CA_BUNDLE");

    if (cfg->ca_bundle != NULL)
        return cfg->ca_bundle;
    return env != NULL && *env != '\0' ? env : NULL;
}

enum kmsre_status kms_client_new(struct kms_client **out,
                                 const struct kmsre_config *cfg, char *why,
                                 size_t whylen)
{
    struct kmsre_http_settings hs = {ca_bundle(cfg), cfg->connect_timeout_ms,
                                     cfg->request_timeout_ms};
    struct kms_client *c = OPENSSL_zalloc(sizeof(*c));
    enum kmsre_status st;

    if (c == NULL)
        return KMSRE_ERR_NOMEM;
    c->cfg = cfg;
    c->clock = system_clock;
    c->debug = cfg->debug || env_true("KMSRE_DEBUG");
    kms_retry_quota_init(&c->quota);
    kms_rate_limiter_init(&c->limiter, monotonic_now());
    pthread_mutex_init(&c->lock, NULL);
    c->libctx = OSSL_LIB_CTX_new();
    st = c->libctx == NULL ? KMSRE_ERR_NOMEM
                           : sigv4_algs_fetch(&c->algs, c->libctx, NULL);
    if (st == KMSRE_OK)
        st = kmsre_http_curl_new(&c->http, &hs);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot set up the KMS client (%s)",
                 st == KMSRE_ERR_TRANSPORT ? "libcurl init failed"
                                           : "crypto or memory");
        kms_client_free(c);
        return st;
    }
    *out = c;
    return KMSRE_OK;
}

static void session_free(struct kms_session *s)
{
    OPENSSL_free(s->key_region);
    OPENSSL_free(s->profile);
    aws_creds_cache_clear(&s->creds);
    OPENSSL_free(s);
}

void kms_client_free(struct kms_client *c)
{
    struct kms_session *s;

    if (c == NULL)
        return;
    while ((s = c->sessions) != NULL) {
        c->sessions = s->next;
        session_free(s);
    }
    kmsre_http_free(&c->http);
    sigv4_algs_free(&c->algs);
    OSSL_LIB_CTX_free(c->libctx);
    kms_retry_quota_free(&c->quota);
    kms_rate_limiter_free(&c->limiter);
    pthread_mutex_destroy(&c->lock);
    OPENSSL_free(c);
}

void kms_client_set_http(struct kms_client *c, struct kmsre_http http)
{
    kmsre_http_free(&c->http);
    c->http = http;
}

void kms_client_set_clock(struct kms_client *c, time_t (*clock)(void))
{
    c->clock = clock;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The first of: configuration, environment variable, profile setting. */
static const char *first_setting(const char *cfg_value, const char *env,
                                 const struct aws_shared_config *sc,
                                 const char *profile, const char *key,
                                 const char **source)
{
    const char *v = getenv(env);

    *source = "the provider configuration";
    if (cfg_value != NULL)
        return cfg_value;
    *source = env;
    if (v != NULL && *v != '\0')
        return v;
    *source = key;
    v = aws_profile_setting(sc, profile, key);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* retry-mode/AWS_RETRY_MODE/retry_mode and max-attempts/AWS_MAX_ATTEMPTS/
 * max_attempts, checked before any request. */
static enum kmsre_status resolve_retries(const struct kmsre_config *cfg,
                                         const struct aws_shared_config *sc,
                                         const char *profile,
                                         struct kms_session *s, char *why,
                                         size_t whylen)
{
    char attempts_buf[24];
    const char *src, *v;
    char *end;
    long n;

    v = first_setting(cfg->retry_mode, "AWS_RETRY_MODE", sc, profile,
                      "retry_mode", &src);
    if (v != NULL && !kms_retry_mode_parse(v, &s->retry_mode)) {
        snprintf(why, whylen,
                 "%s: retry mode must be standard, adaptive or legacy", src);
        return KMSRE_ERR_INVALID;
    }
    snprintf(attempts_buf, sizeof(attempts_buf), "%ld", cfg->max_attempts);
    v = first_setting(cfg->max_attempts > 0 ? attempts_buf : NULL,
                      "AWS_MAX_ATTEMPTS", sc, profile, "max_attempts", &src);
    s->max_attempts = s->retry_mode == KMS_RETRY_LEGACY
                          ? KMS_RETRY_LEGACY_ATTEMPTS
                          : KMS_RETRY_DEFAULT_ATTEMPTS;
    if (v == NULL)
        return KMSRE_OK;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > KMSRE_MAX_ATTEMPTS_LIMIT) {
        snprintf(why, whylen, "%s: max attempts must be 1..%d", src,
                 KMSRE_MAX_ATTEMPTS_LIMIT);
        return KMSRE_ERR_INVALID;
    }
    s->max_attempts = (int)n;
    return KMSRE_OK;
}

/* The credential chain for a session; runs at the first request and at
 * each refresh (reading the shared files once each time). */
static enum kmsre_status fetch_creds(void *arg, struct aws_creds *out,
                                     char *why, size_t whylen)
{
    struct kms_session *s = arg;
    const struct kms_client *c = s->client;
    struct aws_shared_config loaded;
    struct aws_chain_ctx cx = {s->preloaded, &c->http, &c->algs, s->region,
                               c->clock()};
    enum kmsre_status st;

    if (cx.sc == NULL) {
        st = aws_shared_config_load(&loaded);
        if (st != KMSRE_OK) {
            snprintf(why, whylen, "cannot read the AWS shared config files");
            return st;
        }
        cx.sc = &loaded;
    }
    st = aws_creds_resolve(&cx,
                           s->profile != NULL ? s->profile : c->cfg->profile,
                           out, why, whylen);
    if (cx.sc == &loaded)
        aws_shared_config_clear(&loaded);
    return st;
}

static enum kmsre_status resolve_session(const struct kms_client *c,
                                         struct kms_session *s, char *why,
                                         size_t whylen)
{
    const char *explicit_profile =
        s->profile != NULL ? s->profile : c->cfg->profile;
    const char *profile = aws_profile_name(explicit_profile);
    struct aws_shared_config sc;
    enum kmsre_status st;

    st = aws_shared_config_load(&sc);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot read the AWS shared config files");
        return st;
    }
    st = aws_region_resolve(s->key_region, c->cfg->region, &sc, profile,
                            s->region, why, whylen);
    if (st == KMSRE_OK)
        st = aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS",
                                  c->cfg->endpoint, &sc, profile, s->region,
                                  &s->endpoint, why, whylen);
    if (st == KMSRE_OK)
        st = resolve_retries(c->cfg, &sc, profile, s, why, whylen);
    if (st == KMSRE_OK) {
        struct aws_identity *id;

        s->preloaded = &sc;
        st = aws_creds_cache_get(&s->creds, &id, why, whylen);
        s->preloaded = NULL;
        if (st == KMSRE_OK)
            aws_creds_cache_put(&s->creds, id);
    }
    aws_shared_config_clear(&sc);
    return st;
}

static struct kms_session *new_session(struct kms_client *c,
                                       const struct kms_target *t)
{
    struct kms_session *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->client = c;
    aws_creds_cache_init(&s->creds, fetch_creds, s, c->clock);
    if ((t->key_region != NULL &&
         (s->key_region = OPENSSL_strdup(t->key_region)) == NULL) ||
        (t->profile != NULL &&
         (s->profile = OPENSSL_strdup(t->profile)) == NULL)) {
        session_free(s);
        return NULL;
    }
    return s;
}

/* Finds or makes the session for a target. Resolution failures are not
 * cached: the user may fix the environment and retry in the same process. */
static enum kmsre_status get_session(struct kms_client *c,
                                     const struct kms_target *t,
                                     struct kms_session **out, char *why,
                                     size_t whylen)
{
    struct kms_session *s;
    enum kmsre_status st = KMSRE_OK;

    pthread_mutex_lock(&c->lock);
    for (s = c->sessions; s != NULL; s = s->next)
        if (same(s->key_region, t->key_region) && same(s->profile, t->profile))
            break;
    if (s == NULL) {
        s = new_session(c, t);
        st = s == NULL ? KMSRE_ERR_NOMEM : resolve_session(c, s, why, whylen);
        if (st == KMSRE_OK) {
            s->next = c->sessions;
            c->sessions = s;
        } else if (s != NULL) {
            session_free(s);
            s = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
    *out = s;
    return st;
}

static void format_amz_date(time_t now, char out[AMZ_DATE_LEN + 1])
{
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* The signing key only changes with the date (and the credentials): derive
 * it once a day per identity. */
static enum kmsre_status signing_key(const struct kms_client *c,
                                     const struct kms_session *s,
                                     struct aws_identity *id, const char *date,
                                     unsigned char key[SIGV4_KEY_LEN])
{
    enum kmsre_status st = KMSRE_OK;
    char date8[9];

    memcpy(date8, date, 8);
    date8[8] = '\0';
    pthread_mutex_lock(&id->key_lock);
    if (strcmp(id->key_date, date8) != 0) {
        st = sigv4_derive_key(&c->algs, id->creds.secret_access_key, date8,
                              s->region, "kms", id->signing_key);
        memcpy(id->key_date, st == KMSRE_OK ? date8 : "",
               st == KMSRE_OK ? 9 : 1);
    }
    if (st == KMSRE_OK)
        memcpy(key, id->signing_key, SIGV4_KEY_LEN);
    pthread_mutex_unlock(&id->key_lock);
    return st;
}

/* One signed request as it goes on the wire. */
struct wire_request {
    char amz_date[AMZ_DATE_LEN + 1];
    char target[64];
    struct sigv4_header signed_headers[5];
    size_t n_signed;
    struct kmsre_http_header headers[6];
    struct sigv4_state sig;
};

static void add_header(struct wire_request *w, const char *name,
                       const char *value)
{
    w->signed_headers[w->n_signed].name = name;
    w->signed_headers[w->n_signed].value = value;
    w->headers[w->n_signed].name = name;
    w->headers[w->n_signed].value = value;
    w->n_signed++;
}

/* Signs with every header KMS needs; User-Agent and Content-Length stay
 * unsigned, as in the SDKs, since libcurl or a proxy may touch them. */
static enum kmsre_status
sign_request(const struct kms_client *c, struct kms_session *s,
             struct aws_identity *id, struct wire_request *w,
             const char *operation, const char *body, size_t len)
{
    struct sigv4_request r = {"POST", s->endpoint.path,
                              "",     w->signed_headers,
                              0,      (const unsigned char *)body,
                              len,    1};
    struct sigv4_scope scope = {w->amz_date, s->region, "kms"};
    unsigned char key[SIGV4_KEY_LEN];
    enum kmsre_status st;

    format_amz_date(c->clock(), w->amz_date);
    snprintf(w->target, sizeof(w->target), "TrentService.%s", operation);
    add_header(w, "Content-Type", "application/x-amz-json-1.1");
    add_header(w, "Host", s->endpoint.host);
    add_header(w, "X-Amz-Date", w->amz_date);
    add_header(w, "X-Amz-Target", w->target);
    if (id->creds.session_token != NULL)
        add_header(w, "X-Amz-Security-Token", id->creds.session_token);
    r.n_headers = w->n_signed;
    st = signing_key(c, s, id, w->amz_date, key);
    if (st == KMSRE_OK)
        st = sigv4_sign(&c->algs, &w->sig, &r, &scope, id->creds.access_key_id,
                        key);
    OPENSSL_cleanse(key, sizeof(key));
    if (st == KMSRE_OK) {
        w->headers[w->n_signed].name = "Authorization";
        w->headers[w->n_signed].value = w->sig.authorization;
    }
    return st;
}

static enum kmsre_status call(struct kms_client *c, struct kms_session *s,
                              struct aws_identity *id, const char *operation,
                              const char *body, size_t len,
                              struct kmsre_http_response *resp, char *why,
                              size_t whylen)
{
    struct wire_request w;
    struct kmsre_http_request req = {0};
    enum kmsre_status st;

    memset(&w, 0, sizeof(w));
    st = sign_request(c, s, id, &w, operation, body, len);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot sign the request");
        sigv4_state_clear(&w.sig);
        return st;
    }
    req.url = s->endpoint.url;
    req.headers = w.headers;
    req.n_headers = w.n_signed + 1;
    req.body = body;
    req.body_len = len;
    req.allow_http = s->endpoint.is_http;
    st = kmsre_http_send(&c->http, &req, resp);
    sigv4_state_clear(&w.sig);
    if (st != KMSRE_OK)
        snprintf(why, whylen, "%s %s: %s", operation, s->endpoint.url,
                 resp->error);
    return st;
}

/* A non-2xx answer becomes KMSRE_ERR_SERVICE with KMS's error in kerr. */
static enum kmsre_status read_error(const struct kmsre_http_response *resp,
                                    struct kms_error *kerr)
{
    if (resp->status >= 200 && resp->status <= 299)
        return KMSRE_OK;
    kms_error_parse(resp->status, resp->error_type, resp->body, resp->body_len,
                    kerr);
    snprintf(kerr->request_id, sizeof(kerr->request_id), "%s",
             resp->request_id);
    return KMSRE_ERR_SERVICE;
}

static double random_unit(const struct kms_client *c)
{
    uint32_t r = 0;

    if (RAND_bytes_ex(c->libctx, (unsigned char *)&r, sizeof(r), 0) <= 0)
        return 0.5;
    return (double)r / 4294967296.0;
}

/* One line per attempt on stderr, only when asked for. Only the endpoint,
 * operation, attempt, status, error type and request id: never a key,
 * token, body or header value. */
static void debug_attempt(const struct kms_client *c,
                          const struct kms_session *s, const char *op,
                          int attempt, enum kmsre_status st,
                          const struct kmsre_http_response *resp,
                          const struct kms_error *kerr, double ms,
                          double retry_in)
{
    char what[320];

    if (!c->debug)
        return;
    if (st == KMSRE_ERR_TRANSPORT || st == KMSRE_ERR_RESPONSE)
        snprintf(what, sizeof(what), "transport error: %s", resp->error);
    else
        snprintf(what, sizeof(what), "HTTP %ld%s%s request-id %s", resp->status,
                 st == KMSRE_ERR_SERVICE ? " " : "",
                 st == KMSRE_ERR_SERVICE ? kerr->type : "",
                 resp->request_id[0] != '\0' ? resp->request_id : "-");
    fprintf(stderr, "kmsreencrypt: %s %s region %s attempt %d/%d: %s, %.1f ms",
            op, s->endpoint.url, s->region, attempt, s->max_attempts, what, ms);
    if (retry_in >= 0)
        fprintf(stderr, "; retrying in %.3f s", retry_in);
    fputc('\n', stderr);
}

/* Whether to try again, and after how long: the attempt budget, the retry
 * quota (not in legacy mode) and full-jitter backoff. */
static int plan_retry(struct kms_client *c, const struct kms_session *s,
                      enum kms_failure f, int attempt, int *cost, double *delay)
{
    if (f == KMS_FAILURE_NONE || attempt >= s->max_attempts)
        return 0;
    if (s->retry_mode != KMS_RETRY_LEGACY) {
        *cost = kms_retry_quota_acquire(&c->quota, f);
        if (*cost == 0)
            return 0;
    }
    *delay = kms_retry_backoff(s->retry_mode, attempt, random_unit(c));
    return 1;
}

static enum kms_failure classify(const struct kms_session *s,
                                 enum kmsre_status st,
                                 const struct kmsre_http_response *resp,
                                 const struct kms_error *kerr)
{
    struct kms_attempt_outcome o = {
        st == KMSRE_ERR_TRANSPORT, resp->retryable, resp->timed_out,
        resp->status, st == KMSRE_ERR_SERVICE ? kerr->type : NULL};

    return kms_retry_classify(s->retry_mode, &o);
}

/* One signed request with the current credentials. *expired is set when
 * KMS says the session token expired: the credentials are then refreshed
 * before the next attempt. */
static enum kmsre_status
attempt_once(struct kms_client *c, struct kms_session *s, const char *op,
             const char *body, size_t len, struct kmsre_http_response *resp,
             struct kms_error *kerr, int *expired, char *why, size_t whylen)
{
    struct aws_identity *id;
    enum kmsre_status st;

    *expired = 0;
    kmsre_http_response_clear(resp);
    st = aws_creds_cache_get(&s->creds, &id, why, whylen);
    if (st != KMSRE_OK)
        return st;
    st = call(c, s, id, op, body, len, resp, why, whylen);
    if (st == KMSRE_OK)
        st = read_error(resp, kerr);
    *expired = st == KMSRE_ERR_SERVICE &&
               strcmp(kerr->type, "ExpiredTokenException") == 0;
    if (*expired)
        aws_creds_cache_expire(&s->creds, id);
    aws_creds_cache_put(&s->creds, id);
    return st;
}

/* Sends until an answer that is not worth retrying, each attempt signed
 * afresh (new X-Amz-Date). */
static enum kmsre_status
call_with_retries(struct kms_client *c, struct kms_session *s, const char *op,
                  const char *body, size_t len,
                  struct kmsre_http_response *resp, struct kms_error *kerr,
                  char *why, size_t whylen)
{
    enum kmsre_status st;
    enum kms_failure f;
    double start, delay;
    int attempt, cost = 0, expired, refreshed = 0;

    for (attempt = 1;; attempt++) {
        if (s->retry_mode == KMS_RETRY_ADAPTIVE)
            sleep_seconds(
                kms_rate_limiter_acquire(&c->limiter, monotonic_now()));
        start = monotonic_now();
        st = attempt_once(c, s, op, body, len, resp, kerr, &expired, why,
                          whylen);
        if (expired && !refreshed) {
            /* Once, at no cost: new credentials, then the same attempt. */
            debug_attempt(c, s, op, attempt, st, resp, kerr,
                          (monotonic_now() - start) * 1000, 0);
            refreshed = 1;
            attempt--;
            continue;
        }
        f = classify(s, st, resp, kerr);
        if (s->retry_mode == KMS_RETRY_ADAPTIVE)
            kms_rate_limiter_update(&c->limiter, monotonic_now(),
                                    f == KMS_FAILURE_THROTTLE);
        delay = -1;
        if (!plan_retry(c, s, f, attempt, &cost, &delay)) {
            debug_attempt(c, s, op, attempt, st, resp, kerr,
                          (monotonic_now() - start) * 1000, -1);
            break;
        }
        debug_attempt(c, s, op, attempt, st, resp, kerr,
                      (monotonic_now() - start) * 1000, delay);
        sleep_seconds(delay);
    }
    if (st == KMSRE_OK && s->retry_mode != KMS_RETRY_LEGACY)
        kms_retry_quota_release(&c->quota, cost);
    if (st == KMSRE_ERR_TRANSPORT && attempt > 1)
        snprintf(why + strlen(why), whylen - strlen(why),
                 " (after %d attempts)", attempt);
    return st;
}

enum kmsre_status kms_client_reencrypt(struct kms_client *c,
                                       const struct kms_target *target,
                                       const struct kms_reencrypt_req *req,
                                       struct kms_reencrypt_resp *resp,
                                       struct kms_error *kerr, char *why,
                                       size_t whylen)
{
    struct kmsre_http_response hresp;
    struct kms_session *s;
    enum kmsre_status st;
    char *body = NULL;
    size_t len = 0;

    memset(&hresp, 0, sizeof(hresp));
    st = get_session(c, target, &s, why, whylen);
    if (st != KMSRE_OK)
        return st;
    st = kms_reencrypt_build(req, &body, &len);
    if (st == KMSRE_OK)
        st = call_with_retries(c, s, "ReEncrypt", body, len, &hresp, kerr, why,
                               whylen);
    if (st == KMSRE_OK)
        st = kms_reencrypt_parse(hresp.body != NULL ? hresp.body : "",
                                 hresp.body_len, resp, why, whylen);
    if (body != NULL)
        OPENSSL_clear_free(body, len);
    kmsre_http_response_clear(&hresp);
    return st;
}
