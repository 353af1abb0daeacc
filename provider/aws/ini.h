/* SPDX-License-Identifier: Apache-2.0 */
/* The INI dialect of the AWS shared config and credentials files. */
#ifndef KMSRE_INI_H
#define KMSRE_INI_H

#include <stddef.h>
#include "util/status.h"

struct aws_ini_entry {
    char *section; /* as written between the brackets, trimmed */
    char *key;
    char *value;
};

struct aws_ini {
    struct aws_ini_entry *entries;
    size_t n;
};

/* Parses text: "[section]" lines, "key = value" lines, '#' and ';'
 * comments. Indented lines under a key with an empty value are the AWS
 * nested form ("s3 =\n  max_concurrent_requests = 2") and are stored as
 * "key.subkey". Lines it cannot read are skipped, as the SDKs do. */
enum kmsre_status aws_ini_parse(const char *text, size_t len,
                                struct aws_ini *out);

/* A file that does not exist gives an empty result, not an error. */
enum kmsre_status aws_ini_load(const char *path, struct aws_ini *out);

/* The last value of key in section, or NULL. */
const char *aws_ini_get(const struct aws_ini *ini, const char *section,
                        const char *key);

/* Frees everything, wiping values (they may be secret keys). */
void aws_ini_clear(struct aws_ini *ini);

#endif
