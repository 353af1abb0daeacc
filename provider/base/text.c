/* SPDX-License-Identifier: Apache-2.0 */
/* Quoting for messages, UTF-8, booleans and the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "base/text.h"

size_t kmsre_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len, i;
    uint32_t c;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min_cp[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static int quote_put(struct kmsre_quoted *q, size_t *o, const char *piece,
                     size_t n)
{
    if (*o + n + 4 >= sizeof(q->s))
        return 0;
    memcpy(q->s + *o, piece, n);
    *o += n;
    return 1;
}

/* One character of input, escaped if need be; the bytes it used, or 0
 * when it no longer fits. */
static size_t quote_one(struct kmsre_quoted *q, size_t *o,
                        const unsigned char *s, size_t n)
{
    char esc[8];
    uint32_t cp = 0;
    size_t len = kmsre_utf8_decode(s, n, &cp);

    if (len > 1 && cp >= 0xa0)
        return quote_put(q, o, (const char *)s, len) ? len : 0;
    if (len == 1 && cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\')
        return quote_put(q, o, (const char *)s, 1);
    if (len == 1 && (cp == '"' || cp == '\\'))
        snprintf(esc, sizeof(esc), "\\%c", (char)cp);
    else
        snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
    return quote_put(q, o, esc, strlen(esc)) ? 1 : 0;
}

const char *kmsre_quote(struct kmsre_quoted *q, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0, used;

    while (i < n) {
        used = quote_one(q, &o, u + i, n - i);
        if (used == 0) {
            memcpy(q->s + o, "...", 3);
            o += 3;
            break;
        }
        i += used;
    }
    q->s[o] = '\0';
    return q->s;
}

const char *kmsre_quote_str(struct kmsre_quoted *q, const char *s)
{
    return kmsre_quote(q, s, strlen(s));
}

void kmsre_copy_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
    size_t i;

    if (dstlen == 0)
        return;
    if (len >= dstlen)
        len = dstlen - 1;
    for (i = 0; i < len; i++)
        dst[i] =
            ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
    dst[len] = '\0';
}

int kmsre_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    size_t i;

    for (i = 0; text != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 1;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

const char *kmsre_env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

int kmsre_env_true(const char *name)
{
    int on = 0;

    return kmsre_parse_bool(kmsre_env(name), &on) && on;
}

static int in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
    return c >= lo && c <= hi;
}

int kmsre_is_py_space(uint32_t c)
{
    return in_range(c, 0x09, 0x0d) || in_range(c, 0x1c, 0x20) || c == 0x85 ||
           c == 0xa0 || c == 0x1680 || in_range(c, 0x2000, 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

int kmsre_is_control(uint32_t c)
{
    return c < 0x20 || in_range(c, 0x7f, 0x9f);
}

int kmsre_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

size_t kmsre_skip_blanks(const char *s, size_t len, size_t pos)
{
    while (pos < len && kmsre_is_blank(s[pos]))
        pos++;
    return pos;
}

enum kmsre_status kmsre_check_utf8(const char *text, size_t len,
                                   const char *what, struct kmsre_err *err)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        if (u[i] == 0)
            return kmsre_fail(err, KMSRE_ERR_INVALID,
                              "bad %s: NUL byte at offset %zu", what, i);
        n = kmsre_utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return kmsre_fail(err, KMSRE_ERR_INVALID,
                              "bad %s: not valid UTF-8 at offset %zu", what, i);
        i += n;
    }
    return KMSRE_OK;
}

char *kmsre_strndup(const char *s, size_t n)
{
    char *d = OPENSSL_malloc(n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
