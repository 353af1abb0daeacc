/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers for user-supplied text: encryption contexts, grant tokens and
 * KMS key references (key id, key ARN, alias name, alias ARN, kms: URIs).
 * Pure: no network, no OpenSSL error queue. On failure they write a short,
 * human-readable reason (never echoing secrets) into err. */
#ifndef KMSRE_PARSE_H
#define KMSRE_PARSE_H

#include <stddef.h>
#include <json-c/json.h>
#include "util/status.h"

#define KMS_MAX_GRANT_TOKENS 10
#define KMS_MAX_GRANT_TOKEN_LEN 8192
#define KMS_MAX_KEY_ID_LEN 2048

/* Encryption context in either of the AWS CLI's forms: JSON object
 * ({"k":"v"}, string values only) or shorthand (k1=v1,k2=v2 with the CLI's
 * quoting and escaping rules). *out becomes a new json-c object mapping
 * string to string. An empty text gives an empty map. */
enum kmsre_status kmsre_context_parse(const char *text, size_t len,
                                      struct json_object **out, char *err,
                                      size_t errlen);

/* Grant tokens, comma-separated or a JSON list of strings, appended to the
 * json-c array *list (created when NULL). Fails with KMSRE_ERR_LIMIT when
 * the list would exceed KMS_MAX_GRANT_TOKENS, and on an empty or over-long
 * token. On failure *list is left as it was. */
enum kmsre_status kmsre_grant_tokens_append(struct json_object **list,
                                            const char *text, size_t len,
                                            char *err, size_t errlen);

enum kms_key_form {
    KMS_KEY_FORM_OTHER = 0,  /* passed to KMS as is */
    KMS_KEY_FORM_KEY_ID,     /* 1234abcd-12ab-34cd-56ef-1234567890ab */
    KMS_KEY_FORM_MRK_ID,     /* mrk-<32 hex> */
    KMS_KEY_FORM_KEY_ARN,    /* arn:PARTITION:kms:REGION:ACCOUNT:key/ID */
    KMS_KEY_FORM_ALIAS_NAME, /* alias/NAME */
    KMS_KEY_FORM_ALIAS_ARN   /* arn:PARTITION:kms:REGION:ACCOUNT:alias/NAME */
};

struct kms_key_ref {
    char *key_id;    /* exactly what goes into KeyId/DestinationKeyId */
    char *region;    /* from the ARN, else from ?region=, else NULL */
    char *profile;   /* from ?profile=, else NULL */
    char *partition; /* ARN forms only */
    char *account;   /* ARN forms only */
    enum kms_key_form form;
};

/* A bare key identifier (no "kms:" prefix, no query). Rejects empty or
 * over-long ids and any control character or white space. */
enum kmsre_status kms_key_ref_parse_id(const char *id, struct kms_key_ref *out,
                                       char *err, size_t errlen);

/* A store URI: "kms:ID", "kms://ID", each with an optional query
 * "?region=R&profile=P" (percent-decoded). The scheme is matched without
 * regard to case. A region given both in the ARN and in the query must
 * agree. Regions must match ^[a-z0-9-]{1,32}$ (no header or host
 * injection); profiles ^[A-Za-z0-9_.+@-]{1,64}$ roughly. */
enum kmsre_status kms_key_ref_parse_uri(const char *uri,
                                        struct kms_key_ref *out, char *err,
                                        size_t errlen);

/* Region validation shared with config handling. */
int kmsre_region_is_valid(const char *region);

void kms_key_ref_clear(struct kms_key_ref *ref);

/* Deep copy; returns KMSRE_ERR_NOMEM on failure. */
enum kmsre_status kms_key_ref_copy(struct kms_key_ref *dst,
                                   const struct kms_key_ref *src);

#endif
