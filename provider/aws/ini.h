/* SPDX-License-Identifier: Apache-2.0 */
/* The INI dialect of the AWS shared config and credentials files. */
#ifndef KMSRE_AWS_INI_H
#define KMSRE_AWS_INI_H

#include <stddef.h>
#include "base/err.h"

struct kmsre_ini_entry {
    char *section; /* as written between the brackets, trimmed */
    char *key;
    char *value;
};

struct kmsre_ini {
    struct kmsre_ini_entry *entries;
    size_t n;
};

/* Parses text: "[section]" lines, "key = value" lines, '#' and ';'
 * comments. Indented lines under a key with an empty value are the AWS
 * nested form ("s3 =\n  max_concurrent_requests = 2") and are stored as
 * "key.subkey". Lines it cannot read are skipped, as the SDKs do. */
enum kmsre_status kmsre_ini_parse(const char *text, size_t len,
                                  struct kmsre_ini *out);

/* A file that does not exist gives an empty result, not an error. */
enum kmsre_status kmsre_ini_load(const char *path, struct kmsre_ini *out);

/* The last value of key in section, or NULL. */
const char *kmsre_ini_get(const struct kmsre_ini *ini, const char *section,
                          const char *key);

/* Frees everything, wiping values (they may be secret keys). */
void kmsre_ini_clear(struct kmsre_ini *ini);

#endif
