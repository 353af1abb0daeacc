/* SPDX-License-Identifier: Apache-2.0 */
/* Between client.c (sessions: what is resolved once) and send.c (each
 * request: sign, send, retry, trace). */
#ifndef KMSRE_KMS_CLIENT_INTERNAL_H
#define KMSRE_KMS_CLIENT_INTERNAL_H

#include "aws/creds_cache.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "base/fork.h"
#include "base/trace.h"
#include "kms/client.h"
#include "kms/retry.h"

/* Everything resolved for one (key region, profile) pair: made at the
 * first request that needs it, then used by every thread. */
struct kmsre_kms_session {
    struct kmsre_kms_session *next;
    char *key_region;
    char *profile;
    char region[KMSRE_REGION_MAX];
    struct kmsre_endpoint endpoint;
    enum kmsre_retry_mode retry_mode;
    int max_attempts;
    struct kmsre_creds_cache creds;
    struct kmsre_kms_client *client;
    /* The shared files as read while the session is made, so that its
     * first credential fetch does not read them again. */
    const struct kmsre_shared_config *preloaded;
};

struct kmsre_kms_client {
    /* The configuration, with owned copies of its strings. */
    struct kmsre_kms_config cfg;
    char *strings[5];
    OSSL_LIB_CTX *libctx; /* not owned */
    struct kmsre_sigv4_algs algs;
    struct kmsre_http http;
    time_t (*clock)(void);
    struct kmsre_trace trace;
    struct kmsre_retry_quota quota;
    struct kmsre_rate_limiter limiter; /* adaptive mode only */
    struct kmsre_mutex lock;           /* guards the session list */
    struct kmsre_kms_session *sessions;
};

/* Seconds on a clock that never jumps: timing and rate limiting. */
double kmsre_monotonic_now(void);

/* One operation's body sent with signing, retries and the trace. A non-2xx
 * answer gives KMSRE_ERR_SERVICE with report->kms filled. */
enum kmsre_status kmsre_kms_send(struct kmsre_kms_client *c,
                                 struct kmsre_kms_session *s, const char *op,
                                 const char *body, size_t len,
                                 struct kmsre_http_response *resp,
                                 struct kmsre_call_report *report,
                                 struct kmsre_err *err);

#endif
