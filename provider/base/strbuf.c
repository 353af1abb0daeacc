/* SPDX-License-Identifier: Apache-2.0 */
/* Growable strings that wipe what they held. */
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include "base/strbuf.h"

void kmsre_strbuf_free(struct kmsre_strbuf *sb)
{
    OPENSSL_clear_free(sb->data, sb->cap);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

enum kmsre_status kmsre_strbuf_reserve(struct kmsre_strbuf *sb, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - sb->len - 1)
        return KMSRE_ERR_LIMIT;
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return KMSRE_OK;
    cap = sb->cap != 0 ? sb->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = OPENSSL_clear_realloc(sb->data, sb->cap, cap);
    if (p == NULL)
        return KMSRE_ERR_NOMEM;
    sb->data = p;
    sb->cap = cap;
    return KMSRE_OK;
}

enum kmsre_status kmsre_strbuf_append_mem(struct kmsre_strbuf *sb,
                                          const void *p, size_t n)
{
    enum kmsre_status rc = kmsre_strbuf_reserve(sb, n);

    if (rc != KMSRE_OK)
        return rc;
    if (n != 0)
        memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return KMSRE_OK;
}

enum kmsre_status kmsre_strbuf_append(struct kmsre_strbuf *sb, const char *s)
{
    return kmsre_strbuf_append_mem(sb, s, strlen(s));
}

enum kmsre_status kmsre_strbuf_append_char(struct kmsre_strbuf *sb, char c)
{
    return kmsre_strbuf_append_mem(sb, &c, 1);
}

enum kmsre_status kmsre_strbuf_append_all(struct kmsre_strbuf *sb,
                                          const char *const *parts)
{
    enum kmsre_status rc = KMSRE_OK;

    for (; rc == KMSRE_OK && *parts != NULL; parts++)
        rc = kmsre_strbuf_append(sb, *parts);
    return rc;
}

enum kmsre_status kmsre_strbuf_finish(struct kmsre_strbuf *sb, char **out)
{
    enum kmsre_status rc = kmsre_strbuf_reserve(sb, 0);

    if (rc != KMSRE_OK)
        return rc;
    sb->data[sb->len] = '\0';
    *out = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return KMSRE_OK;
}

void kmsre_free_secret(char **s)
{
    if (*s != NULL)
        OPENSSL_clear_free(*s, strlen(*s));
    *s = NULL;
}
