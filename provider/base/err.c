/* SPDX-License-Identifier: Apache-2.0 */
/* The error carrier: the first failure and the context callers add. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base/err.h"

enum kmsre_status kmsre_fail(struct kmsre_err *err, enum kmsre_status st,
                             const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->status != KMSRE_OK || st == KMSRE_OK)
        return st;
    err->status = st;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return st;
}

void kmsre_err_prefix(struct kmsre_err *err, const char *fmt, ...)
{
    char whole[KMSRE_ERR_MSG_MAX];
    size_t n, rest;
    va_list ap;

    if (err == NULL || err->status == KMSRE_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(whole, sizeof(whole), fmt, ap);
    va_end(ap);
    n = strlen(whole);
    if (err->msg[0] != '\0' && n + 2 < sizeof(whole)) {
        memcpy(whole + n, ": ", 3);
        n += 2;
        rest = strlen(err->msg);
        if (rest > sizeof(whole) - 1 - n)
            rest = sizeof(whole) - 1 - n;
        memcpy(whole + n, err->msg, rest);
        whole[n + rest] = '\0';
    }
    memcpy(err->msg, whole, sizeof(err->msg));
}

void kmsre_err_clear(struct kmsre_err *err)
{
    if (err == NULL)
        return;
    err->status = KMSRE_OK;
    err->msg[0] = '\0';
}

const char *kmsre_err_text(const struct kmsre_err *err)
{
    if (err->msg[0] != '\0')
        return err->msg;
    switch (err->status) {
    case KMSRE_OK:
        return "no error";
    case KMSRE_ERR_NOMEM:
        return "out of memory";
    case KMSRE_ERR_CRYPTO:
        return "an OpenSSL primitive failed";
    default:
        return "failed";
    }
}

const char *kmsre_status_name(enum kmsre_status st)
{
    static const char *const names[] = {
        "OK",        "NOMEM",      "INVALID",  "LIMIT",   "CRYPTO",
        "IO",        "TRANSPORT",  "RESPONSE", "SERVICE", "NO_CREDENTIALS",
        "NO_REGION", "CREDENTIALS"};

    return (size_t)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}
