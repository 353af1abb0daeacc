/* SPDX-License-Identifier: Apache-2.0 */
/* One KMS request on the wire: SigV4-signed afresh for every attempt, sent,
 * retried as the SDKs do, and logged when debugging is on. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "kms/kms_internal.h"

#define AMZ_DATE_LEN 16

double kms_monotonic_now(void)
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
enum kmsre_status kms_send(struct kms_client *c, struct kms_session *s,
                           const char *op, const char *body, size_t len,
                           struct kmsre_http_response *resp,
                           struct kms_error *kerr, char *why, size_t whylen)
{
    enum kmsre_status st;
    enum kms_failure f;
    double start, delay;
    int attempt, cost = 0, expired, refreshed = 0;

    kerr->attempts = kerr->throttles = 0;
    for (attempt = 1;; attempt++) {
        if (s->retry_mode == KMS_RETRY_ADAPTIVE)
            sleep_seconds(
                kms_rate_limiter_acquire(&c->limiter, kms_monotonic_now()));
        start = kms_monotonic_now();
        st = attempt_once(c, s, op, body, len, resp, kerr, &expired, why,
                          whylen);
        if (expired && !refreshed) {
            /* Once, at no cost: new credentials, then the same attempt. */
            debug_attempt(c, s, op, attempt, st, resp, kerr,
                          (kms_monotonic_now() - start) * 1000, 0);
            refreshed = 1;
            attempt--;
            continue;
        }
        f = classify(s, st, resp, kerr);
        kerr->attempts++;
        kerr->throttles += f == KMS_FAILURE_THROTTLE;
        if (s->retry_mode == KMS_RETRY_ADAPTIVE)
            kms_rate_limiter_update(&c->limiter, kms_monotonic_now(),
                                    f == KMS_FAILURE_THROTTLE);
        delay = -1;
        if (!plan_retry(c, s, f, attempt, &cost, &delay)) {
            debug_attempt(c, s, op, attempt, st, resp, kerr,
                          (kms_monotonic_now() - start) * 1000, -1);
            break;
        }
        debug_attempt(c, s, op, attempt, st, resp, kerr,
                      (kms_monotonic_now() - start) * 1000, delay);
        sleep_seconds(delay);
    }
    if (st == KMSRE_OK && s->retry_mode != KMS_RETRY_LEGACY)
        kms_retry_quota_release(&c->quota, cost);
    snprintf(kerr->request_id, sizeof(kerr->request_id), "%s",
             resp->request_id);
    if (st != KMSRE_ERR_SERVICE) /* an earlier attempt's error is history */
        kerr->type[0] = kerr->message[0] = '\0';
    if (st == KMSRE_ERR_TRANSPORT && attempt > 1)
        snprintf(why + strlen(why), whylen - strlen(why),
                 " (after %d attempts)", attempt);
    return st;
}
