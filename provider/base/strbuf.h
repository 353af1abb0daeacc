/* SPDX-License-Identifier: Apache-2.0 */
/* A growable NUL-terminated string. Its old buffers are wiped when it
 * grows and when it is freed: the strings built here (canonical requests,
 * STS forms) may hold session tokens. */
#ifndef KMSRE_BASE_STRBUF_H
#define KMSRE_BASE_STRBUF_H

#include <stddef.h>
#include "base/err.h"

struct kmsre_strbuf {
    char *data;
    size_t len;
    size_t cap;
};

enum kmsre_status kmsre_strbuf_reserve(struct kmsre_strbuf *sb, size_t extra);
enum kmsre_status kmsre_strbuf_append_mem(struct kmsre_strbuf *sb,
                                          const void *p, size_t n);
enum kmsre_status kmsre_strbuf_append(struct kmsre_strbuf *sb, const char *s);
enum kmsre_status kmsre_strbuf_append_char(struct kmsre_strbuf *sb, char c);
/* Every string of a NULL-terminated list; stops at the first failure. */
enum kmsre_status kmsre_strbuf_append_all(struct kmsre_strbuf *sb,
                                          const char *const *parts);
/* Hands the string over to *out (never NULL on success); sb is empty. */
enum kmsre_status kmsre_strbuf_finish(struct kmsre_strbuf *sb, char **out);
void kmsre_strbuf_free(struct kmsre_strbuf *sb);

/* Wipes and frees a NUL-terminated string; sets *s to NULL. */
void kmsre_free_secret(char **s);

#endif
