/* SPDX-License-Identifier: Apache-2.0 */
/* One KMS request on the wire: SigV4-signed afresh for every attempt, sent,
 * retried as the SDKs do, and traced when debugging is on. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "base/text.h"
#include "kms/client_internal.h"

double kmsre_monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Outside the fork barrier: a fork() need not wait out a backoff. */
static void sleep_seconds(double s)
{
    struct timespec ts;
    int stepped_out;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    stepped_out = kmsre_fork_barrier_step_out();
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    kmsre_fork_barrier_step_in(stepped_out);
}

/* One attempt's outcome, as the retry logic and the trace see it. */
struct attempt {
    enum kmsre_status st;
    struct kmsre_http_response *resp;
    struct kmsre_err err;
    char request_id[128];
    struct kmsre_kms_error kms;
    double ms;
};

/* Signs with every header KMS needs; User-Agent and Content-Length stay
 * unsigned, as in the SDKs, since libcurl or a proxy may touch them. */
static enum kmsre_status send_signed(struct kmsre_kms_client *c,
                                     const struct kmsre_kms_session *s,
                                     const struct kmsre_identity *id,
                                     const char *op, const char *body,
                                     size_t len, struct attempt *a)
{
    char target[64];
    struct kmsre_http_header h[6] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"Host", s->endpoint.host},
        {"X-Amz-Target", target}};
    struct kmsre_signing_input in = {
        "POST", s->endpoint.path, "",        h,     3,          body,
        len,    &id->creds,       s->region, "kms", c->clock(), &id->key};
    struct kmsre_signed_headers sig;
    enum kmsre_status st;
    size_t i, n = 3;

    snprintf(target, sizeof(target), "TrentService.%s", op);
    st = kmsre_sigv4_sign_request(&c->algs, &in, &sig, &a->err);
    if (st != KMSRE_OK)
        return st;
    for (i = 0; i < sig.n_headers; i++)
        h[n++] = sig.headers[i];
    {
        struct kmsre_http_request req = {
            "POST", s->endpoint.url, h, n, body, len, s->endpoint.is_http, 0};

        st = kmsre_http_send(&c->http, &req, a->resp, &a->err);
    }
    kmsre_signed_headers_clear(&sig);
    return st;
}

/* A non-2xx answer becomes KMSRE_ERR_SERVICE with KMS's error. */
static enum kmsre_status read_answer(struct attempt *a)
{
    char type[128];

    kmsre_http_response_header(a->resp, "x-amzn-RequestId", a->request_id,
                               sizeof(a->request_id));
    kmsre_copy_printable(a->request_id, sizeof(a->request_id), a->request_id,
                         strlen(a->request_id));
    if (a->resp->status >= 200 && a->resp->status <= 299)
        return KMSRE_OK;
    kmsre_http_response_header(a->resp, "X-Amzn-ErrorType", type, sizeof(type));
    kmsre_kms_error_parse(a->resp->status, type, a->resp->body,
                          a->resp->body_len, &a->kms);
    return KMSRE_ERR_SERVICE;
}

static double random_unit(const struct kmsre_kms_client *c)
{
    uint32_t r = 0;

    if (RAND_bytes_ex(c->libctx, (unsigned char *)&r, sizeof(r), 0) <= 0)
        return 0.5;
    return (double)r / 4294967296.0;
}

/* One line per attempt, only when asked for: endpoint, operation, attempt,
 * status, error type and request id; never a key, token, body or header
 * value. */
static void trace_attempt(const struct kmsre_kms_client *c,
                          const struct kmsre_kms_session *s, const char *op,
                          int attempt, const struct attempt *a, double retry_in)
{
    char what[KMSRE_ERR_MSG_MAX + 32], wait[48] = "";

    if (!c->trace.on)
        return;
    if (a->st == KMSRE_ERR_TRANSPORT || a->st == KMSRE_ERR_RESPONSE ||
        a->st == KMSRE_ERR_CREDENTIALS || a->st == KMSRE_ERR_NO_CREDENTIALS)
        snprintf(what, sizeof(what), "%s error: %s",
                 a->st == KMSRE_ERR_TRANSPORT ? "transport" : "client",
                 kmsre_err_text(&a->err));
    else
        snprintf(what, sizeof(what), "HTTP %ld%s%s request-id %s",
                 a->resp->status, a->st == KMSRE_ERR_SERVICE ? " " : "",
                 a->st == KMSRE_ERR_SERVICE ? a->kms.type : "",
                 a->request_id[0] != '\0' ? a->request_id : "-");
    if (retry_in >= 0)
        snprintf(wait, sizeof(wait), "; retrying in %.3f s", retry_in);
    kmsre_trace(&c->trace, "%s %s region %s attempt %d/%d: %s, %.1f ms%s", op,
                s->endpoint.url, s->region, attempt, s->max_attempts, what,
                a->ms, wait);
}

/* Whether to try again, and after how long: the attempt budget, the retry
 * quota (not in legacy mode) and full-jitter backoff. */
static int plan_retry(struct kmsre_kms_client *c,
                      const struct kmsre_kms_session *s, enum kmsre_failure f,
                      int attempt, int *cost, double *delay)
{
    if (f == KMSRE_FAILURE_NONE || attempt >= s->max_attempts)
        return 0;
    if (s->retry_mode != KMSRE_RETRY_LEGACY) {
        *cost = kmsre_retry_quota_acquire(&c->quota, f);
        if (*cost == 0)
            return 0;
    }
    *delay = kmsre_retry_backoff(s->retry_mode, attempt, random_unit(c));
    return 1;
}

static enum kmsre_failure classify(const struct kmsre_kms_session *s,
                                   const struct attempt *a)
{
    struct kmsre_attempt_outcome o = {
        a->st == KMSRE_ERR_TRANSPORT, a->resp->retryable, a->resp->timed_out,
        a->resp->status, a->st == KMSRE_ERR_SERVICE ? a->kms.type : NULL};

    return kmsre_retry_classify(s->retry_mode, &o);
}

/* One signed request with the current credentials. Returns 1 when KMS
 * said the session token expired: the credentials are then refreshed
 * before the next attempt. */
static int attempt_once(struct kmsre_kms_client *c, struct kmsre_kms_session *s,
                        const char *op, const char *body, size_t len,
                        struct attempt *a)
{
    struct kmsre_identity *id;
    double start = kmsre_monotonic_now();
    int expired = 0;

    kmsre_http_response_clear(a->resp);
    kmsre_err_clear(&a->err);
    a->request_id[0] = '\0';
    a->st = kmsre_creds_cache_get(&s->creds, &id, &a->err);
    if (a->st == KMSRE_OK) {
        a->st = send_signed(c, s, id, op, body, len, a);
        if (a->st == KMSRE_OK)
            a->st = read_answer(a);
        expired = a->st == KMSRE_ERR_SERVICE &&
                  strcmp(a->kms.type, "ExpiredTokenException") == 0;
        if (expired)
            kmsre_creds_cache_expire(&s->creds, id);
        kmsre_creds_cache_put(&s->creds, id);
    }
    a->ms = (kmsre_monotonic_now() - start) * 1000;
    return expired;
}

static const char *failure_class(enum kmsre_failure f)
{
    switch (f) {
    case KMSRE_FAILURE_THROTTLE:
        return "throttling";
    case KMSRE_FAILURE_TRANSIENT:
    case KMSRE_FAILURE_TIMEOUT:
        return "transient";
    default:
        return "permanent";
    }
}

/* The call's outcome for the caller: the report, and err for a failure.
 * f: how the last attempt was classified. */
static enum kmsre_status finish(const struct kmsre_kms_session *s,
                                const char *op, const struct attempt *a,
                                enum kmsre_failure f, int attempts,
                                struct kmsre_call_report *report,
                                struct kmsre_err *err)
{
    char after[32] = "";

    snprintf(report->request_id, sizeof(report->request_id), "%s",
             a->request_id);
    snprintf(report->error_class, sizeof(report->error_class), "%s",
             a->st == KMSRE_OK ? "" : failure_class(f));
    if (a->st == KMSRE_ERR_SERVICE)
        report->kms = a->kms;
    if (a->st == KMSRE_OK)
        return KMSRE_OK;
    if (a->st == KMSRE_ERR_SERVICE)
        return kmsre_fail(err, a->st, "KMS %s: %s (HTTP %ld, request id %s)",
                          a->kms.type[0] != '\0' ? a->kms.type : "error",
                          a->kms.message[0] != '\0' ? a->kms.message
                                                    : "(no message)",
                          a->kms.http_status,
                          a->request_id[0] != '\0' ? a->request_id : "none");
    if (a->st != KMSRE_ERR_TRANSPORT && a->st != KMSRE_ERR_RESPONSE)
        return kmsre_fail(err, a->st, "%s", kmsre_err_text(&a->err));
    if (attempts > 1)
        snprintf(after, sizeof(after), " (after %d attempts)", attempts);
    return kmsre_fail(err, a->st, "%s %s: %s%s", op, s->endpoint.url,
                      kmsre_err_text(&a->err), after);
}

/* Sends until an answer that is not worth retrying, each attempt signed
 * afresh (new X-Amz-Date). */
enum kmsre_status kmsre_kms_send(struct kmsre_kms_client *c,
                                 struct kmsre_kms_session *s, const char *op,
                                 const char *body, size_t len,
                                 struct kmsre_http_response *resp,
                                 struct kmsre_call_report *report,
                                 struct kmsre_err *err)
{
    struct attempt a = {0};
    enum kmsre_failure f = KMSRE_FAILURE_NONE;
    double delay;
    int attempt, cost = 0, refreshed = 0;

    a.resp = resp;
    for (attempt = 1;; attempt++) {
        if (s->retry_mode == KMSRE_RETRY_ADAPTIVE)
            sleep_seconds(
                kmsre_rate_limiter_acquire(&c->limiter, kmsre_monotonic_now()));
        if (attempt_once(c, s, op, body, len, &a) && !refreshed) {
            /* Once, at no cost: new credentials, then the same attempt. */
            report->attempts++;
            trace_attempt(c, s, op, attempt, &a, 0);
            refreshed = 1;
            attempt--;
            continue;
        }
        f = classify(s, &a);
        report->attempts++;
        report->throttles += f == KMSRE_FAILURE_THROTTLE;
        if (s->retry_mode == KMSRE_RETRY_ADAPTIVE)
            kmsre_rate_limiter_update(&c->limiter, kmsre_monotonic_now(),
                                      f == KMSRE_FAILURE_THROTTLE);
        delay = -1;
        if (!plan_retry(c, s, f, attempt, &cost, &delay)) {
            trace_attempt(c, s, op, attempt, &a, -1);
            break;
        }
        trace_attempt(c, s, op, attempt, &a, delay);
        sleep_seconds(delay);
    }
    if (a.st == KMSRE_OK && s->retry_mode != KMSRE_RETRY_LEGACY)
        kmsre_retry_quota_release(&c->quota, cost);
    return finish(s, op, &a, f, attempt, report, err);
}
