/* SPDX-License-Identifier: Apache-2.0 */
/* KMS key references: key id, key ARN, alias name, alias ARN, and the
 * kms: URIs of the store. Pure: no network. */
#ifndef KMSRE_KMS_KEY_REF_H
#define KMSRE_KMS_KEY_REF_H

#include "base/err.h"

#define KMSRE_MAX_KEY_ID_LEN 2048

enum kmsre_key_form {
    KMSRE_KEY_FORM_OTHER = 0,  /* passed to KMS as is */
    KMSRE_KEY_FORM_KEY_ID,     /* 1234abcd-12ab-34cd-56ef-1234567890ab */
    KMSRE_KEY_FORM_MRK_ID,     /* mrk-<32 hex> */
    KMSRE_KEY_FORM_KEY_ARN,    /* arn:PARTITION:kms:REGION:ACCOUNT:key/ID */
    KMSRE_KEY_FORM_ALIAS_NAME, /* alias/NAME */
    KMSRE_KEY_FORM_ALIAS_ARN   /* arn:PARTITION:kms:REGION:ACCOUNT:alias/NAME */
};

struct kmsre_key_ref {
    char *key_id;    /* exactly what goes into KeyId/DestinationKeyId */
    char *region;    /* from the ARN, else from ?region=, else NULL */
    char *profile;   /* from ?profile=, else NULL */
    char *partition; /* ARN forms only */
    char *account;   /* ARN forms only */
    enum kmsre_key_form form;
};

/* A bare key identifier (no "kms:" prefix, no query): 1..2048 characters
 * of UTF-8 without white space or control characters; ARNs are checked
 * field by field. out is overwritten, not freed. */
enum kmsre_status kmsre_key_ref_parse_id(const char *id,
                                         struct kmsre_key_ref *out,
                                         struct kmsre_err *err);

/* "kms:ID" or "kms://ID", each with an optional "?region=R&profile=P"
 * (percent-decoded); the scheme in any case. A region given both in the
 * ARN and the query must agree. Regions are ^[a-z0-9-]{1,32}$, profiles
 * 1..64 of A-Z a-z 0-9 _ . + @ -. */
enum kmsre_status kmsre_key_ref_parse_uri(const char *uri,
                                          struct kmsre_key_ref *out,
                                          struct kmsre_err *err);

/* Whether two references name the same key in the same place: key id,
 * region and profile (alias/x in us-east-1 is not alias/x elsewhere). */
int kmsre_key_ref_equal(const struct kmsre_key_ref *a,
                        const struct kmsre_key_ref *b);

void kmsre_key_ref_clear(struct kmsre_key_ref *ref);

/* Deep copy; dst is overwritten, not freed. */
enum kmsre_status kmsre_key_ref_copy(struct kmsre_key_ref *dst,
                                     const struct kmsre_key_ref *src);

#endif
