/* SPDX-License-Identifier: Apache-2.0 */
/* Retries as the AWS SDKs do them: which failures are retried, how long to
 * wait, the retry quota that keeps a dead endpoint from being hammered, and
 * adaptive mode's client-side rate limiter. Pure logic: no I/O, no sleeping;
 * time and randomness come from the caller. */
#ifndef KMSRE_RETRY_H
#define KMSRE_RETRY_H

#include "base/err.h"
#include "base/fork.h"

#define KMSRE_RETRY_DEFAULT_ATTEMPTS 3
#define KMSRE_RETRY_LEGACY_ATTEMPTS 5
#define KMSRE_RETRY_MAX_BACKOFF 20.0 /* seconds */
#define KMSRE_RETRY_QUOTA_CAPACITY 500
#define KMSRE_RETRY_COST 5
#define KMSRE_RETRY_TIMEOUT_COST 10

enum kmsre_retry_mode {
    KMSRE_RETRY_STANDARD = 0,
    KMSRE_RETRY_ADAPTIVE,
    KMSRE_RETRY_LEGACY
};

/* Parses "standard", "adaptive" or "legacy"; 0 if unknown. */
int kmsre_retry_mode_parse(const char *text, enum kmsre_retry_mode *mode);
const char *kmsre_retry_mode_name(enum kmsre_retry_mode mode);

enum kmsre_failure {
    KMSRE_FAILURE_NONE = 0,  /* success, or an answer not worth retrying */
    KMSRE_FAILURE_THROTTLE,  /* throttling error codes */
    KMSRE_FAILURE_TRANSIENT, /* 5xx, connection errors, transient codes */
    KMSRE_FAILURE_TIMEOUT    /* a timeout: transient, dearer in the quota */
};

/* What one attempt's outcome means for retrying. transport_failed says the
 * request got no HTTP answer; transport_retryable and timed_out qualify
 * that (a failed certificate check is not retryable). */
struct kmsre_attempt_outcome {
    int transport_failed;
    int transport_retryable;
    int timed_out;
    long http_status;
    const char *error_code; /* KMS __type, sanitised; NULL or "" if none */
};

enum kmsre_failure kmsre_retry_classify(enum kmsre_retry_mode mode,
                                        const struct kmsre_attempt_outcome *o);

/* Full-jitter exponential backoff before retry number `retry` (1 for the
 * first retry): rand01 * min(2^(retry-1), 20) seconds; legacy mode has no
 * cap. rand01 is in [0, 1). */
double kmsre_retry_backoff(enum kmsre_retry_mode mode, int retry,
                           double rand01);

/* The retry quota (a token bucket per client). Legacy mode has none. */
struct kmsre_retry_quota {
    struct kmsre_mutex lock;
    int available;
};

int kmsre_retry_quota_init(struct kmsre_retry_quota *q);
void kmsre_retry_quota_free(struct kmsre_retry_quota *q);
/* Takes the cost of retrying after failure f; returns the cost taken, or 0
 * when the quota is exhausted (then do not retry). */
int kmsre_retry_quota_acquire(struct kmsre_retry_quota *q,
                              enum kmsre_failure f);
/* After a success: cost_taken is what the last retry took (0 if the first
 * attempt succeeded, which returns 1 token). */
void kmsre_retry_quota_release(struct kmsre_retry_quota *q, int cost_taken);

/* Adaptive mode: a token bucket whose rate follows CUBIC, switched on by
 * the first throttle (botocore's ClientRateLimiter). Times in seconds. */
struct kmsre_rate_limiter {
    struct kmsre_mutex lock;
    int enabled;
    /* token bucket */
    double max_rate, capacity, last_refill;
    /* CUBIC */
    double w_max, k, last_fail;
    /* measured send rate */
    double measured, last_bucket;
    int count;
};

int kmsre_rate_limiter_init(struct kmsre_rate_limiter *rl, double now);
void kmsre_rate_limiter_free(struct kmsre_rate_limiter *rl);
/* Seconds the caller must wait before sending (0 while disabled); the
 * token is taken. */
double kmsre_rate_limiter_acquire(struct kmsre_rate_limiter *rl, double now);
/* Feeds one answer back (throttled or not). */
void kmsre_rate_limiter_update(struct kmsre_rate_limiter *rl, double now,
                               int throttled);

#endif
