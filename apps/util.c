/* SPDX-License-Identifier: Apache-2.0 */
/* kms-rotate: base64, allocation and small text helpers. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rotate.h"

double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void die_oom(void)
{
    fputs("kms-rotate: out of memory\n", stderr);
    exit(EXIT_ABORTED);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL)
        die_oom();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n == 0 ? 1 : n, m == 0 ? 1 : m);

    if (p == NULL)
        die_oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

void msg(const char *fmt, ...)
{
    va_list ap;

    flockfile(stderr);
    fputs("kms-rotate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    size_t i, n = 0, pad = 0;

    if (len == 0 || len % 4 != 0)
        return -1;
    if (in[len - 1] == '=')
        pad++;
    if (in[len - 2] == '=')
        pad++;
    if ((len / 4) * 3 - pad > cap)
        return -2;
    for (i = 0; i < len; i += 4) {
        int v[4], k, last = i + 4 == len;
        unsigned long acc;

        for (k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];

            if (c == '=' && last && k >= 2 && (k == 3 || in[i + 3] == '='))
                v[k] = 0;
            else if ((v[k] = b64_value(c)) < 0)
                return -1;
        }
        acc = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
              ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        out[n++] = (unsigned char)(acc >> 16);
        if (!last || pad < 2)
            out[n++] = (unsigned char)(acc >> 8);
        if (!last || pad < 1)
            out[n++] = (unsigned char)acc;
    }
    return (long)n;
}

char *b64_encode(const unsigned char *in, size_t len)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *p = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16) |
                          ((unsigned long)in[i + 1] << 8) | in[i + 2];

        *p++ = tbl[(v >> 18) & 63];
        *p++ = tbl[(v >> 12) & 63];
        *p++ = tbl[(v >> 6) & 63];
        *p++ = tbl[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        *p++ = tbl[(v >> 18) & 63];
        *p++ = tbl[(v >> 12) & 63];
        *p++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p = '\0';
    return out;
}

void json_fputs(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

const char *chomp(char *line, size_t *len)
{
    if (*len > 0 && line[*len - 1] == '\n') {
        line[--*len] = '\0';
        if (*len > 0 && line[*len - 1] == '\r') {
            line[--*len] = '\0';
            return "\r\n";
        }
        return "\n";
    }
    return "";
}

int is_blank(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

void record_free(struct record *r)
{
    if (r == NULL)
        return;
    free(r->path);
    free(r->blob);
    free(r->src_ctx);
    free(r->dst_ctx);
    free(r->raw);
    free(r->out);
    /* r->parsed is freed by records.c before this */
    free(r);
}

void record_fail(struct record *r, const char *type, const char *fmt, ...)
{
    va_list ap;

    r->outcome = OUT_FAILED;
    r->local_failure = 1;
    snprintf(r->error_type, sizeof(r->error_type), "%s", type);
    va_start(ap, fmt);
    vsnprintf(r->error_msg, sizeof(r->error_msg), fmt, ap);
    va_end(ap);
}
