/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption contexts in either of the AWS CLI's forms: a JSON object of
 * strings ({"k":"v"}) or its shorthand (k1=v1,k2=v2, with the CLI's
 * quoting and escaping rules). */
#ifndef KMSRE_KMS_CONTEXT_H
#define KMSRE_KMS_CONTEXT_H

#include <stddef.h>
#include "base/err.h"

struct kmsre_context_pair {
    char *key;
    char *value;
};

/* A string map in the order given. `present` tells an empty context that
 * was set ("{}" is sent as such) from none at all. */
struct kmsre_context {
    int present;
    size_t n;
    struct kmsre_context_pair *pairs;
};

/* Parses text into *out (which it overwrites); an empty text gives an
 * empty, present context. Keys must be unique. */
enum kmsre_status kmsre_context_parse(const char *text, size_t len,
                                      struct kmsre_context *out,
                                      struct kmsre_err *err);
enum kmsre_status kmsre_context_copy(struct kmsre_context *dst,
                                     const struct kmsre_context *src);
void kmsre_context_clear(struct kmsre_context *ctx);

/* The value of key, or NULL. */
const char *kmsre_context_get(const struct kmsre_context *ctx, const char *key);

#endif
