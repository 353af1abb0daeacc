/* SPDX-License-Identifier: Apache-2.0 */
/* Reason codes of the provider and the one way to raise them. */
#ifndef KMSRE_ERRORS_H
#define KMSRE_ERRORS_H

#include <openssl/core.h>
#include <openssl/crypto.h>
#include "base/err.h"

struct kmsre_prov;

/* Values stay small: their library bits must be zero (provider_core.c). */
enum kmsre_reason {
    KMSRE_R_MISSING_PARAMETER = 1,
    KMSRE_R_INVALID_PARAMETER,
    KMSRE_R_BAD_URI,
    KMSRE_R_BAD_CONFIG,
    KMSRE_R_NO_CREDENTIALS,
    KMSRE_R_NO_REGION,
    KMSRE_R_HTTP_TRANSPORT,
    KMSRE_R_BAD_RESPONSE,
    KMSRE_R_KMS_ERROR,
    KMSRE_R_OUTPUT_BUFFER_TOO_SMALL,
    KMSRE_R_INPUT_TOO_LARGE,
    KMSRE_R_EMPTY_INPUT,
    KMSRE_R_INTERNAL,
    KMSRE_R_MALLOC_FAILURE,
    KMSRE_R_NOT_SUPPORTED,
    KMSRE_R_MAX
};

const OSSL_ITEM *kmsre_reason_strings(void);

/* Puts one entry on the caller's error queue through the core upcalls. */
void kmsre_raise(const struct kmsre_prov *prov, const char *file, int line,
                 const char *func, int reason, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

#define KMSRE_RAISE(prov, reason, ...)                                         \
    kmsre_raise((prov), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason),    \
                __VA_ARGS__)

/* The reason that fits an inner module's status best. */
int kmsre_reason_for_status(enum kmsre_status st);

/* An inner module's failure on the queue, in the one consistent form:
 * the reason its status maps to, its message as the data. */
void kmsre_raise_err(const struct kmsre_prov *prov, const char *file, int line,
                     const char *func, const struct kmsre_err *err);

#define KMSRE_RAISE_ERR(prov, err)                                             \
    kmsre_raise_err((prov), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (err))

#endif
