/* SPDX-License-Identifier: Apache-2.0 */
/* Grant tokens: comma-separated or a JSON list of strings, at most ten in
 * all (the KMS API's GrantTokenList), each 1..8192 characters. */
#ifndef KMSRE_KMS_GRANT_TOKENS_H
#define KMSRE_KMS_GRANT_TOKENS_H

#include <stddef.h>
#include "base/err.h"

#define KMSRE_MAX_GRANT_TOKENS 10
#define KMSRE_MAX_GRANT_TOKEN_LEN 8192

struct kmsre_grant_tokens {
    size_t n;
    char *tokens[KMSRE_MAX_GRANT_TOKENS];
};

/* Appends every token of text, or none: the list is unchanged on
 * failure (KMSRE_ERR_LIMIT beyond ten tokens in all). */
enum kmsre_status kmsre_grant_tokens_append(struct kmsre_grant_tokens *list,
                                            const char *text, size_t len,
                                            struct kmsre_err *err);
enum kmsre_status kmsre_grant_tokens_copy(struct kmsre_grant_tokens *dst,
                                          const struct kmsre_grant_tokens *src);
/* Frees and wipes (a grant token is a credential of sorts). */
void kmsre_grant_tokens_clear(struct kmsre_grant_tokens *list);

#endif
