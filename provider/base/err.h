/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status codes and the error carrier of the inner modules. They never touch
 * the OpenSSL error queue: a failure is a status plus one message, and only
 * the OpenSSL-facing files (errors.c) turn it into a queue entry.
 *
 * The first failure's message wins; a caller that knows more adds context
 * in front of it with kmsre_err_prefix ("profile \"dev\": ..."), never by
 * overwriting it.
 */
#ifndef KMSRE_BASE_ERR_H
#define KMSRE_BASE_ERR_H

#include <stddef.h>

enum kmsre_status {
    KMSRE_OK = 0,
    KMSRE_ERR_NOMEM,     /* allocation failed */
    KMSRE_ERR_INVALID,   /* malformed input (syntax, characters, type) */
    KMSRE_ERR_LIMIT,     /* input outside a documented size or count limit */
    KMSRE_ERR_CRYPTO,    /* an OpenSSL primitive failed */
    KMSRE_ERR_IO,        /* a file could not be read or written */
    KMSRE_ERR_TRANSPORT, /* HTTP transport failure (connect, TLS, timeout) */
    KMSRE_ERR_RESPONSE,  /* the peer answered something we cannot use */
    KMSRE_ERR_SERVICE,   /* the service answered with an error document */
    KMSRE_ERR_NO_CREDENTIALS, /* no credential source is configured */
    KMSRE_ERR_NO_REGION,
    KMSRE_ERR_CREDENTIALS /* a configured credential source failed */
};

#define KMSRE_ERR_MSG_MAX 768

struct kmsre_err {
    enum kmsre_status status; /* KMSRE_OK until the first failure */
    char msg[KMSRE_ERR_MSG_MAX];
};

#if defined(__GNUC__)
#define KMSRE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KMSRE_PRINTF(f, a)
#endif

/* Records a failure unless one is recorded already; returns st so that a
 * function can end with `return kmsre_fail(err, ...)`. err may be NULL. */
enum kmsre_status kmsre_fail(struct kmsre_err *err, enum kmsre_status st,
                             const char *fmt, ...) KMSRE_PRINTF(3, 4);

/* Puts "context: " in front of the recorded message. */
void kmsre_err_prefix(struct kmsre_err *err, const char *fmt, ...)
    KMSRE_PRINTF(2, 3);

/* Forgets a failure that the caller handled (a fallback that worked). */
void kmsre_err_clear(struct kmsre_err *err);

/* "INVALID", "NO_CREDENTIALS", ...: for tests and traces. */
const char *kmsre_status_name(enum kmsre_status st);

/* The message, or a generic one for a status recorded without text. */
const char *kmsre_err_text(const struct kmsre_err *err);

#endif
