/* SPDX-License-Identifier: Apache-2.0 */
/* The ReEncrypt request and answer as KMS's JSON 1.1 protocol spells them
 * (members from the KMS API model), and the error document every KMS
 * operation shares. The one place json-c meets a request or an answer. */
#ifndef KMSRE_KMS_REENCRYPT_H
#define KMSRE_KMS_REENCRYPT_H

#include <stddef.h>
#include "base/err.h"
#include "kms/context.h"
#include "kms/grant_tokens.h"

/* What the operation context holds: typed, owned, copied by dupctx.
 * NULL/empty members are left out of the JSON. */
struct kmsre_reencrypt_request {
    char *source_key_id;
    char *destination_key_id; /* NULL: the key's */
    struct kmsre_context source_context;
    struct kmsre_context destination_context;
    char *source_algorithm;
    char *destination_algorithm;
    struct kmsre_grant_tokens grant_tokens;
    int dry_run;
    int ignore_ciphertext; /* DryRunModifiers: ["IGNORE_CIPHERTEXT"] */
};

enum kmsre_status
kmsre_reencrypt_request_copy(struct kmsre_reencrypt_request *dst,
                             const struct kmsre_reencrypt_request *src);
void kmsre_reencrypt_request_clear(struct kmsre_reencrypt_request *req);

struct kmsre_reencrypt_answer {
    unsigned char *ciphertext;
    size_t ciphertext_len;
    char *source_key_id;
    char *key_id;
    char *source_algorithm;
    char *destination_algorithm;
};

void kmsre_reencrypt_answer_clear(struct kmsre_reencrypt_answer *a);

/* The JSON body for req with this CiphertextBlob (in may be empty with
 * ignore_ciphertext) and destination key; *body is NUL-terminated, free
 * it with OPENSSL_clear_free. */
enum kmsre_status
kmsre_reencrypt_encode(const struct kmsre_reencrypt_request *req,
                       const unsigned char *in, size_t inlen,
                       const char *destination_key_id, char **body,
                       size_t *body_len);

/* A 2xx answer's members. */
enum kmsre_status kmsre_reencrypt_decode(const char *body, size_t len,
                                         struct kmsre_reencrypt_answer *a,
                                         struct kmsre_err *err);

/* What KMS said when it refused: type with any "namespace#" prefix and
 * ":suffix" removed (as botocore reads it), message from "message" or
 * "Message". */
struct kmsre_kms_error {
    long http_status;
    char type[128];
    char message[512];
};

/* header_type is X-Amzn-ErrorType or NULL. Never fails: a body that is not
 * JSON is kept (shortened, printable) as the message. */
void kmsre_kms_error_parse(long status, const char *header_type,
                           const char *body, size_t len,
                           struct kmsre_kms_error *out);

/* Encryption algorithm names KMS knows (EncryptionAlgorithmSpec). */
int kmsre_algorithm_is_known(const char *name);

#endif
