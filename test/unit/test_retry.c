/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of retry classification, backoff, quota and rate limiting. */
#include <stdio.h>
#include <string.h>
#include "kms/retry.h"

static int passed, failed;

static void check(int cond, const char *what)
{
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    if (cond)
        passed++;
    else
        failed++;
}

static enum kms_failure answer(enum kms_retry_mode m, long status,
                               const char *code)
{
    struct kms_attempt_outcome o = {0, 0, 0, status, code};

    return kms_retry_classify(m, &o);
}

static void test_classify(void)
{
    struct kms_attempt_outcome reset = {1, 1, 0, 0, NULL};
    struct kms_attempt_outcome timeout = {1, 1, 1, 0, NULL};
    struct kms_attempt_outcome badcert = {1, 0, 0, 0, NULL};
    enum kms_retry_mode s = KMS_RETRY_STANDARD;

    check(answer(s, 200, NULL) == KMS_FAILURE_NONE, "200 is final");
    check(answer(s, 400, "ThrottlingException") == KMS_FAILURE_THROTTLE,
          "ThrottlingException throttles");
    check(answer(s, 400, "LimitExceededException") == KMS_FAILURE_THROTTLE,
          "LimitExceededException throttles (as in the SDKs)");
    check(answer(s, 500, "KMSInternalException") == KMS_FAILURE_TRANSIENT,
          "KMSInternalException is transient");
    check(answer(s, 400, "KMSInternalException") == KMS_FAILURE_TRANSIENT,
          "KMSInternalException is transient whatever the status");
    check(answer(s, 502, NULL) == KMS_FAILURE_TRANSIENT, "502 is transient");
    check(answer(s, 504, NULL) == KMS_FAILURE_TRANSIENT, "504 is transient");
    check(answer(s, 501, NULL) == KMS_FAILURE_NONE, "501 is final");
    check(answer(s, 429, NULL) == KMS_FAILURE_NONE,
          "429 is final in standard mode");
    check(answer(KMS_RETRY_LEGACY, 429, NULL) == KMS_FAILURE_TRANSIENT,
          "429 is retried in legacy mode");
    check(answer(s, 400, "InvalidCiphertextException") == KMS_FAILURE_NONE,
          "InvalidCiphertextException is final");
    check(answer(s, 400, "AccessDeniedException") == KMS_FAILURE_NONE,
          "AccessDeniedException is final");
    check(answer(s, 412, "DryRunOperationException") == KMS_FAILURE_NONE,
          "DryRunOperationException is final");
    check(kms_retry_classify(s, &reset) == KMS_FAILURE_TRANSIENT,
          "connection reset is transient");
    check(kms_retry_classify(s, &timeout) == KMS_FAILURE_TIMEOUT,
          "timeout is a timeout");
    check(kms_retry_classify(s, &badcert) == KMS_FAILURE_NONE,
          "a refused certificate is final");
}

static void test_backoff(void)
{
    enum kms_retry_mode s = KMS_RETRY_STANDARD;

    check(kms_retry_backoff(s, 1, 0.999) < 1.0, "first retry waits < 1 s");
    check(kms_retry_backoff(s, 2, 0.999) < 2.0 &&
              kms_retry_backoff(s, 2, 0.999) > 1.9,
          "second retry waits < 2 s");
    check(kms_retry_backoff(s, 10, 0.999) <= KMS_RETRY_MAX_BACKOFF,
          "capped at 20 s");
    check(kms_retry_backoff(KMS_RETRY_LEGACY, 10, 0.5) == 256.0,
          "legacy mode has no cap");
    check(kms_retry_backoff(s, 3, 0.0) == 0.0, "full jitter reaches 0");
}

static void test_quota(void)
{
    struct kms_retry_quota q;
    int i, n = 0;

    kms_retry_quota_init(&q);
    check(kms_retry_quota_acquire(&q, KMS_FAILURE_TIMEOUT) == 10,
          "a timeout retry costs 10");
    kms_retry_quota_release(&q, 10);
    for (i = 0; i < 200; i++)
        if (kms_retry_quota_acquire(&q, KMS_FAILURE_TRANSIENT) > 0)
            n++;
    check(n == 100, "a full quota pays for 100 retries, then none");
    kms_retry_quota_release(&q, 0);
    check(q.available == 1, "a first-attempt success returns 1 token");
    kms_retry_quota_release(&q, 5);
    check(q.available == 6, "a success after a retry returns its cost");
    for (i = 0; i < 1000; i++)
        kms_retry_quota_release(&q, 5);
    check(q.available == KMS_RETRY_QUOTA_CAPACITY, "never above 500");
    kms_retry_quota_free(&q);
}

static void test_rate_limiter(void)
{
    struct kms_rate_limiter rl;
    double t = 1000.0, wait;
    int i;

    kms_rate_limiter_init(&rl, t);
    check(kms_rate_limiter_acquire(&rl, t) == 0.0,
          "no limiting before the first throttle");
    for (i = 0; i < 40; i++) {
        t += 0.05; /* 20 answers a second */
        kms_rate_limiter_update(&rl, t, 0);
    }
    kms_rate_limiter_update(&rl, t, 1);
    check(rl.enabled, "a throttle switches the limiter on");
    check(rl.max_rate < rl.w_max, "the rate drops below the measured rate");
    wait = 0;
    for (i = 0; i < 30; i++)
        wait += kms_rate_limiter_acquire(&rl, t);
    check(wait > 1.0, "a burst after a throttle has to wait");
    kms_rate_limiter_free(&rl);
}

int main(void)
{
    enum kms_retry_mode m;

    test_classify();
    test_backoff();
    test_quota();
    test_rate_limiter();
    check(kms_retry_mode_parse("adaptive", &m) && m == KMS_RETRY_ADAPTIVE &&
              !kms_retry_mode_parse("Standard", &m),
          "mode names");
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
