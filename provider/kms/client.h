/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMS client: sessions that resolve region, endpoint, retry settings
 * and credentials once per (key region, profile), and the ReEncrypt
 * operation, signed afresh for each attempt and retried as the SDKs do.
 * Thread-safe and fork-safe; one per provider context.
 */
#ifndef KMSRE_KMS_CLIENT_H
#define KMSRE_KMS_CLIENT_H

#include <time.h>
#include <openssl/types.h>
#include "http/http.h"
#include "kms/reencrypt.h"

#define KMSRE_DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define KMSRE_DEFAULT_REQUEST_TIMEOUT_MS 30000L
#define KMSRE_MAX_ATTEMPTS_LIMIT 20

/* What the provider's configuration says; NULL strings and 0 numbers:
 * not configured, the environment and the profile decide. */
struct kmsre_kms_config {
    const char *region;
    const char *profile;
    const char *endpoint;
    const char *ca_bundle;
    long connect_timeout_ms;
    long request_timeout_ms;
    long max_attempts;
    const char *retry_mode;
    int debug;
};

struct kmsre_kms_client;

/* Where a request goes: the destination key's region (from its ARN or
 * URI, may be NULL) and the profile its URI names (may be NULL). */
struct kmsre_kms_target {
    const char *key_region;
    const char *profile;
};

/* How a call went, for the caller's records: filled for every call that
 * sent a request, successful or not. */
struct kmsre_call_report {
    char request_id[128];       /* of the last answer */
    struct kmsre_kms_error kms; /* type and message when KMS refused */
    int attempts;               /* requests sent, the first included */
    int throttles;              /* of which KMS throttled */
    /* After a failure, whether trying the same call later may help:
     * "throttling", "transient" (5xx, timeouts, lost connections) or
     * "permanent"; "" after a success. */
    char error_class[16];
};

/* The configuration is copied. libctx: where SHA-256, HMAC and random
 * bytes come from (the provider's child of the application's context). */
enum kmsre_status kmsre_kms_client_new(struct kmsre_kms_client **out,
                                       const struct kmsre_kms_config *cfg,
                                       OSSL_LIB_CTX *libctx,
                                       struct kmsre_err *err);
void kmsre_kms_client_free(struct kmsre_kms_client *c);

/* For tests: the transport (taken over) and the clock. */
void kmsre_kms_client_set_http(struct kmsre_kms_client *c,
                               struct kmsre_http http);
void kmsre_kms_client_set_clock(struct kmsre_kms_client *c,
                                time_t (*clock)(void));

/* One ReEncrypt of the CiphertextBlob in[0..inlen) to destination_key_id.
 * When KMS refuses, KMSRE_ERR_SERVICE with "KMS <type>: <message> (HTTP
 * <status>, request id <id>)" in err and the parts in report. */
enum kmsre_status kmsre_kms_reencrypt(struct kmsre_kms_client *c,
                                      const struct kmsre_kms_target *target,
                                      const struct kmsre_reencrypt_request *req,
                                      const unsigned char *in, size_t inlen,
                                      const char *destination_key_id,
                                      struct kmsre_reencrypt_answer *answer,
                                      struct kmsre_call_report *report,
                                      struct kmsre_err *err);

#endif
