/* SPDX-License-Identifier: Apache-2.0 */
/* Retry classification, backoff, quota and adaptive rate limiting, after the
 * AWS SDKs' standard, adaptive and legacy modes (KMS-PROTOCOL.md 2.4). */
#include <math.h>
#include <string.h>
#include "kms/retry.h"

/* Identical lists in botocore and aws-sdk-go-v2 (standard mode). */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    NULL};

/* Legacy mode's shorter list (botocore data/_retry.json). */
static const char *const legacy_throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    NULL};

/* Transient by code; KMS's server faults also come with a 5xx status. */
static const char *const transient_codes[] = {"RequestTimeout",
                                              "RequestTimeoutException",
                                              "PriorRequestNotComplete",
                                              "KMSInternalException",
                                              "KeyUnavailableException",
                                              "DependencyTimeoutException",
                                              "InternalFailure",
                                              "ServiceUnavailable",
                                              NULL};

static int in_list(const char *const *list, const char *code)
{
    if (code == NULL || *code == '\0')
        return 0;
    for (; *list != NULL; list++)
        if (strcmp(*list, code) == 0)
            return 1;
    return 0;
}

int kmsre_retry_mode_parse(const char *text, enum kmsre_retry_mode *mode)
{
    static const char *const names[] = {"standard", "adaptive", "legacy"};
    int i;

    for (i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *mode = (enum kmsre_retry_mode)i;
            return 1;
        }
    return 0;
}

const char *kmsre_retry_mode_name(enum kmsre_retry_mode mode)
{
    return mode == KMSRE_RETRY_ADAPTIVE ? "adaptive"
           : mode == KMSRE_RETRY_LEGACY ? "legacy"
                                        : "standard";
}

static int is_transient_status(long status, enum kmsre_retry_mode mode)
{
    if (status == 500 || status == 502 || status == 503 || status == 504)
        return 1;
    return mode == KMSRE_RETRY_LEGACY && (status == 509 || status == 429);
}

enum kmsre_failure kmsre_retry_classify(enum kmsre_retry_mode mode,
                                        const struct kmsre_attempt_outcome *o)
{
    if (o->transport_failed) {
        if (!o->transport_retryable)
            return KMSRE_FAILURE_NONE;
        return o->timed_out ? KMSRE_FAILURE_TIMEOUT : KMSRE_FAILURE_TRANSIENT;
    }
    if (o->http_status >= 200 && o->http_status < 300)
        return KMSRE_FAILURE_NONE;
    if (in_list(mode == KMSRE_RETRY_LEGACY ? legacy_throttling_codes
                                           : throttling_codes,
                o->error_code))
        return KMSRE_FAILURE_THROTTLE;
    if (is_transient_status(o->http_status, mode))
        return KMSRE_FAILURE_TRANSIENT;
    if (mode != KMSRE_RETRY_LEGACY && in_list(transient_codes, o->error_code))
        return KMSRE_FAILURE_TRANSIENT;
    return KMSRE_FAILURE_NONE;
}

double kmsre_retry_backoff(enum kmsre_retry_mode mode, int retry, double rand01)
{
    double base = ldexp(1.0, retry > 1 ? retry - 1 : 0);

    if (mode != KMSRE_RETRY_LEGACY && base > KMSRE_RETRY_MAX_BACKOFF)
        base = KMSRE_RETRY_MAX_BACKOFF;
    return rand01 * base;
}

int kmsre_retry_quota_init(struct kmsre_retry_quota *q)
{
    q->available = KMSRE_RETRY_QUOTA_CAPACITY;
    return kmsre_mutex_init(&q->lock);
}

void kmsre_retry_quota_free(struct kmsre_retry_quota *q)
{
    kmsre_mutex_destroy(&q->lock);
}

int kmsre_retry_quota_acquire(struct kmsre_retry_quota *q, enum kmsre_failure f)
{
    int cost = f == KMSRE_FAILURE_TIMEOUT ? KMSRE_RETRY_TIMEOUT_COST
                                          : KMSRE_RETRY_COST;

    kmsre_mutex_lock(&q->lock);
    if (q->available < cost)
        cost = 0;
    q->available -= cost;
    kmsre_mutex_unlock(&q->lock);
    return cost;
}

void kmsre_retry_quota_release(struct kmsre_retry_quota *q, int cost_taken)
{
    kmsre_mutex_lock(&q->lock);
    q->available += cost_taken > 0 ? cost_taken : 1;
    if (q->available > KMSRE_RETRY_QUOTA_CAPACITY)
        q->available = KMSRE_RETRY_QUOTA_CAPACITY;
    kmsre_mutex_unlock(&q->lock);
}

/* ---- adaptive mode (botocore retries/adaptive.py, bucket.py,
 * throttling.py) ---------------------------------------------------- */

#define RL_MIN_RATE 0.5
#define RL_BETA 0.7
#define RL_SCALE 0.4
#define RL_SMOOTH 0.8
#define RL_BUCKET 0.5

int kmsre_rate_limiter_init(struct kmsre_rate_limiter *rl, double now)
{
    memset(rl, 0, sizeof(*rl));
    rl->max_rate = RL_MIN_RATE;
    rl->w_max = RL_MIN_RATE;
    rl->last_fail = now;
    rl->last_refill = now;
    rl->last_bucket = floor(now / RL_BUCKET) * RL_BUCKET;
    return kmsre_mutex_init(&rl->lock);
}

void kmsre_rate_limiter_free(struct kmsre_rate_limiter *rl)
{
    kmsre_mutex_destroy(&rl->lock);
}

static void refill(struct kmsre_rate_limiter *rl, double now)
{
    double cap = rl->max_rate > 1.0 ? rl->max_rate : 1.0;

    rl->capacity += (now - rl->last_refill) * rl->max_rate;
    if (rl->capacity > cap)
        rl->capacity = cap;
    rl->last_refill = now;
}

double kmsre_rate_limiter_acquire(struct kmsre_rate_limiter *rl, double now)
{
    double wait = 0;

    kmsre_mutex_lock(&rl->lock);
    if (rl->enabled) {
        refill(rl, now);
        if (rl->capacity < 1.0)
            wait = (1.0 - rl->capacity) / rl->max_rate;
        /* The token is spoken for now; the wait pays the debt. */
        rl->capacity -= 1.0;
    }
    kmsre_mutex_unlock(&rl->lock);
    return wait;
}

/* Smoothed rate of answers, measured over half-second buckets. */
static double measure(struct kmsre_rate_limiter *rl, double now)
{
    double bucket = floor(now / RL_BUCKET) * RL_BUCKET;

    rl->count++;
    if (bucket > rl->last_bucket) {
        double current = rl->count / (bucket - rl->last_bucket);

        rl->measured = current * RL_SMOOTH + rl->measured * (1 - RL_SMOOTH);
        rl->count = 0;
        rl->last_bucket = bucket;
    }
    return rl->measured;
}

static double cubic_k(double w_max)
{
    return cbrt(w_max * (1 - RL_BETA) / RL_SCALE);
}

void kmsre_rate_limiter_update(struct kmsre_rate_limiter *rl, double now,
                               int throttled)
{
    double measured, rate;

    kmsre_mutex_lock(&rl->lock);
    measured = measure(rl, now);
    if (!throttled) {
        double dt = now - rl->last_fail - rl->k;

        rate = RL_SCALE * dt * dt * dt + rl->w_max;
    } else {
        double current =
            rl->enabled && rl->max_rate < measured ? rl->max_rate : measured;

        rl->w_max = current;
        rl->k = cubic_k(current);
        rl->last_fail = now;
        rate = current * RL_BETA;
        rl->enabled = 1;
    }
    if (rate > 2 * measured)
        rate = 2 * measured;
    if (rate < RL_MIN_RATE)
        rate = RL_MIN_RATE;
    refill(rl, now);
    rl->max_rate = rate;
    kmsre_mutex_unlock(&rl->lock);
}
