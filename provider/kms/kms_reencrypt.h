/* SPDX-License-Identifier: Apache-2.0 */
/* The ReEncrypt request and answer as KMS's JSON 1.1 protocol spells them
 * (members from the KMS API model), and the error document every KMS
 * operation shares. Pure: json-c and OpenSSL base64, no I/O. */
#ifndef KMSRE_KMS_REENCRYPT_H
#define KMSRE_KMS_REENCRYPT_H

#include <stddef.h>
#include <json-c/json.h>
#include "util/status.h"

#define KMS_MAX_CIPHERTEXT 6144

/* Request members; NULL/0 members are left out of the JSON. The json-c
 * objects are borrowed. */
struct kms_reencrypt_req {
    const unsigned char *ciphertext;
    size_t ciphertext_len;
    const char *source_key_id;
    const char *destination_key_id; /* required */
    struct json_object *source_context;
    struct json_object *destination_context;
    const char *source_algorithm;
    const char *destination_algorithm;
    struct json_object *grant_tokens;
    int dry_run;
    struct json_object *dry_run_modifiers;
};

struct kms_reencrypt_resp {
    unsigned char *ciphertext;
    size_t ciphertext_len;
    char *source_key_id;
    char *key_id;
    char *source_algorithm;
    char *destination_algorithm;
};

/* What KMS said when it refused: type with any "namespace#" prefix and
 * ":suffix" removed, message from "message" or "Message". The request id,
 * attempts and throttled attempts are filled for every call, successful or
 * not. */
struct kms_error {
    long http_status;
    char type[128];
    char message[512];
    char request_id[128];
    int attempts;  /* requests sent, the first included */
    int throttles; /* of which KMS answered with a throttling error */
};

/* Serialises the request; *body is NUL-terminated, free with
 * OPENSSL_clear_free (it carries the ciphertext). */
enum kmsre_status kms_reencrypt_build(const struct kms_reencrypt_req *req,
                                      char **body, size_t *body_len);

/* Parses a 2xx answer. On KMSRE_ERR_RESPONSE, why says what was wrong. */
enum kmsre_status kms_reencrypt_parse(const char *body, size_t len,
                                      struct kms_reencrypt_resp *resp,
                                      char *why, size_t whylen);

void kms_reencrypt_resp_clear(struct kms_reencrypt_resp *resp);

/* Fills err from an error answer; header_type is X-Amzn-ErrorType or NULL.
 * Never fails: a body that is not JSON is kept (shortened) as the message. */
void kms_error_parse(long status, const char *header_type, const char *body,
                     size_t len, struct kms_error *err);

/* Encryption algorithm names KMS knows (EncryptionAlgorithmSpec). */
int kms_algorithm_is_known(const char *name);

#endif
