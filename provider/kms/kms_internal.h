/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by kms_client.c (sessions: what is resolved once) and
 * kms_send.c (each request: sign, send, retry). */
#ifndef KMSRE_KMS_INTERNAL_H
#define KMSRE_KMS_INTERNAL_H

#include <pthread.h>
#include "aws/creds_cache.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "kms/kms_client.h"
#include "kms/retry.h"

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
double kms_monotonic_now(void);

/* One operation's request body sent with signing, retries and the debug
 * log; a non-2xx answer gives KMSRE_ERR_SERVICE with kerr filled. */
enum kmsre_status kms_send(struct kms_client *c, struct kms_session *s,
                           const char *op, const char *body, size_t len,
                           struct kmsre_http_response *resp,
                           struct kms_error *kerr, char *why, size_t whylen);

#endif
