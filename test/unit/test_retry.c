/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of retry classification, backoff, quota and rate limiting. */
#include <stdio.h>
#include <string.h>
#include "kms/retry.h"
#include "test.h"

static enum kmsre_failure answer(enum kmsre_retry_mode m, long status,
                                 const char *code)
{
    struct kmsre_attempt_outcome o = {0, 0, 0, status, code};

    return kmsre_retry_classify(m, &o);
}

static void test_classify(void)
{
    struct kmsre_attempt_outcome reset = {1, 1, 0, 0, NULL};
    struct kmsre_attempt_outcome timeout = {1, 1, 1, 0, NULL};
    struct kmsre_attempt_outcome badcert = {1, 0, 0, 0, NULL};
    enum kmsre_retry_mode s = KMSRE_RETRY_STANDARD;

    test_check(answer(s, 200, NULL) == KMSRE_FAILURE_NONE, "200 is final");
    test_check(answer(s, 400, "ThrottlingException") == KMSRE_FAILURE_THROTTLE,
               "ThrottlingException throttles");
    test_check(answer(s, 400, "LimitExceededException") ==
                   KMSRE_FAILURE_THROTTLE,
               "LimitExceededException throttles (as in the SDKs)");
    test_check(answer(s, 500, "KMSInternalException") ==
                   KMSRE_FAILURE_TRANSIENT,
               "KMSInternalException is transient");
    test_check(answer(s, 400, "KMSInternalException") ==
                   KMSRE_FAILURE_TRANSIENT,
               "KMSInternalException is transient whatever the status");
    test_check(answer(s, 502, NULL) == KMSRE_FAILURE_TRANSIENT,
               "502 is transient");
    test_check(answer(s, 504, NULL) == KMSRE_FAILURE_TRANSIENT,
               "504 is transient");
    test_check(answer(s, 501, NULL) == KMSRE_FAILURE_NONE, "501 is final");
    test_check(answer(s, 429, NULL) == KMSRE_FAILURE_NONE,
               "429 is final in standard mode");
    test_check(answer(KMSRE_RETRY_LEGACY, 429, NULL) == KMSRE_FAILURE_TRANSIENT,
               "429 is retried in legacy mode");
    test_check(answer(s, 400, "InvalidCiphertextException") ==
                   KMSRE_FAILURE_NONE,
               "InvalidCiphertextException is final");
    test_check(answer(s, 400, "AccessDeniedException") == KMSRE_FAILURE_NONE,
               "AccessDeniedException is final");
    test_check(answer(s, 412, "DryRunOperationException") == KMSRE_FAILURE_NONE,
               "DryRunOperationException is final");
    test_check(kmsre_retry_classify(s, &reset) == KMSRE_FAILURE_TRANSIENT,
               "connection reset is transient");
    test_check(kmsre_retry_classify(s, &timeout) == KMSRE_FAILURE_TIMEOUT,
               "timeout is a timeout");
    test_check(kmsre_retry_classify(s, &badcert) == KMSRE_FAILURE_NONE,
               "a refused certificate is final");
}

static void test_backoff(void)
{
    enum kmsre_retry_mode s = KMSRE_RETRY_STANDARD;

    test_check(kmsre_retry_backoff(s, 1, 0.999) < 1.0,
               "first retry waits < 1 s");
    test_check(kmsre_retry_backoff(s, 2, 0.999) < 2.0 &&
                   kmsre_retry_backoff(s, 2, 0.999) > 1.9,
               "second retry waits < 2 s");
    test_check(kmsre_retry_backoff(s, 10, 0.999) <= KMSRE_RETRY_MAX_BACKOFF,
               "capped at 20 s");
    test_check(kmsre_retry_backoff(KMSRE_RETRY_LEGACY, 10, 0.5) == 256.0,
               "legacy mode has no cap");
    test_check(kmsre_retry_backoff(s, 3, 0.0) == 0.0, "full jitter reaches 0");
}

static void test_quota(void)
{
    struct kmsre_retry_quota q;
    int i, n = 0;

    kmsre_retry_quota_init(&q);
    test_check(kmsre_retry_quota_acquire(&q, KMSRE_FAILURE_TIMEOUT) == 10,
               "a timeout retry costs 10");
    kmsre_retry_quota_release(&q, 10);
    for (i = 0; i < 200; i++)
        if (kmsre_retry_quota_acquire(&q, KMSRE_FAILURE_TRANSIENT) > 0)
            n++;
    test_check(n == 100, "a full quota pays for 100 retries, then none");
    kmsre_retry_quota_release(&q, 0);
    test_check(q.available == 1, "a first-attempt success returns 1 token");
    kmsre_retry_quota_release(&q, 5);
    test_check(q.available == 6, "a success after a retry returns its cost");
    for (i = 0; i < 1000; i++)
        kmsre_retry_quota_release(&q, 5);
    test_check(q.available == KMSRE_RETRY_QUOTA_CAPACITY, "never above 500");
    kmsre_retry_quota_free(&q);
}

static void test_rate_limiter(void)
{
    struct kmsre_rate_limiter rl;
    double t = 1000.0, wait;
    int i;

    kmsre_rate_limiter_init(&rl, t);
    test_check(kmsre_rate_limiter_acquire(&rl, t) == 0.0,
               "no limiting before the first throttle");
    for (i = 0; i < 40; i++) {
        t += 0.05; /* 20 answers a second */
        kmsre_rate_limiter_update(&rl, t, 0);
    }
    kmsre_rate_limiter_update(&rl, t, 1);
    test_check(rl.enabled, "a throttle switches the limiter on");
    test_check(rl.max_rate < rl.w_max,
               "the rate drops below the measured rate");
    wait = 0;
    for (i = 0; i < 30; i++)
        wait += kmsre_rate_limiter_acquire(&rl, t);
    test_check(wait > 1.0, "a burst after a throttle has to wait");
    kmsre_rate_limiter_free(&rl);
}

int main(void)
{
    enum kmsre_retry_mode m;

    test_classify();
    test_backoff();
    test_quota();
    test_rate_limiter();
    test_check(kmsre_retry_mode_parse("adaptive", &m) &&
                   m == KMSRE_RETRY_ADAPTIVE &&
                   !kmsre_retry_mode_parse("Standard", &m),
               "mode names");
    return test_summary();
}
