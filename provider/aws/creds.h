/* SPDX-License-Identifier: Apache-2.0 */
/* AWS credentials and where they come from. */
#ifndef KMSRE_CREDS_H
#define KMSRE_CREDS_H

#include <stddef.h>
#include "aws/profile.h"

struct aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
};

/* The chain: environment variables unless a profile was named explicitly
 * (cnf or key URI), then the profile's static keys. On failure why names
 * the sources tried; it never holds a secret. */
enum kmsre_status aws_creds_resolve(const struct aws_shared_config *sc,
                                    const char *explicit_profile,
                                    struct aws_creds *out, char *why,
                                    size_t whylen);

enum kmsre_status aws_creds_copy(struct aws_creds *dst,
                                 const struct aws_creds *src);

/* Frees and wipes. */
void aws_creds_clear(struct aws_creds *creds);

#endif
