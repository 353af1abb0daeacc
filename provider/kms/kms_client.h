/* SPDX-License-Identifier: Apache-2.0 */
/* A KMS client: resolves region, endpoint and credentials once per target,
 * signs each request with SigV4 and sends it over the HTTP transport.
 * Thread-safe; one per provider context. */
#ifndef KMSRE_KMS_CLIENT_H
#define KMSRE_KMS_CLIENT_H

#include <time.h>
#include "config.h"
#include "http/http.h"
#include "kms/kms_reencrypt.h"

struct kms_client;

/* Where a request goes: the destination key's region (from its ARN or
 * URI, may be NULL) and the profile named by the key URI (may be NULL). */
struct kms_target {
    const char *key_region;
    const char *profile;
};

enum kmsre_status kms_client_new(struct kms_client **out,
                                 const struct kmsre_config *cfg, char *why,
                                 size_t whylen);
void kms_client_free(struct kms_client *c);

/* Replaces the transport (tests) and the clock (tests, skew handling). */
void kms_client_set_http(struct kms_client *c, struct kmsre_http http);
void kms_client_set_clock(struct kms_client *c, time_t (*clock)(void));

/* One ReEncrypt call. On KMSRE_ERR_SERVICE kerr holds KMS's answer; on
 * any other failure why says what went wrong. */
enum kmsre_status kms_client_reencrypt(struct kms_client *c,
                                       const struct kms_target *target,
                                       const struct kms_reencrypt_req *req,
                                       struct kms_reencrypt_resp *resp,
                                       struct kms_error *kerr, char *why,
                                       size_t whylen);

#endif
