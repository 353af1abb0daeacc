/* SPDX-License-Identifier: Apache-2.0 */
/* Error reasons and the core upcalls that put them on the error queue. */
#include <stdarg.h>
#include "errors.h"
#include "provider.h"

/* OSSL_ITEM holds a non-const pointer; the strings are never written. */
#define REASON(code, text)                                                     \
    {                                                                          \
        (code), (void *)(text)                                                 \
    }

static const OSSL_ITEM reason_strings[] = {
    REASON(KMSRE_R_MISSING_PARAMETER, "missing parameter"),
    REASON(KMSRE_R_INVALID_PARAMETER, "invalid parameter"),
    REASON(KMSRE_R_BAD_URI, "bad KMS key URI"),
    REASON(KMSRE_R_BAD_CONFIG, "bad provider configuration"),
    REASON(KMSRE_R_NO_CREDENTIALS, "no AWS credentials"),
    REASON(KMSRE_R_NO_REGION, "no AWS region"),
    REASON(KMSRE_R_HTTP_TRANSPORT, "KMS request failed"),
    REASON(KMSRE_R_BAD_RESPONSE, "bad KMS response"),
    REASON(KMSRE_R_KMS_ERROR, "KMS error"),
    REASON(KMSRE_R_OUTPUT_BUFFER_TOO_SMALL, "output buffer too small"),
    REASON(KMSRE_R_INPUT_TOO_LARGE, "input ciphertext too large"),
    REASON(KMSRE_R_EMPTY_INPUT, "empty input ciphertext"),
    REASON(KMSRE_R_INTERNAL, "internal error"),
    REASON(KMSRE_R_MALLOC_FAILURE, "out of memory"),
    REASON(KMSRE_R_NOT_SUPPORTED, "operation not supported"),
    {0, NULL}};

const OSSL_ITEM *kmsre_reason_strings(void)
{
    return reason_strings;
}

void kmsre_raise(const struct kmsre_prov *prov, const char *file, int line,
                 const char *func, int reason, const char *fmt, ...)
{
    const struct kmsre_core_errors *core =
        prov != NULL ? kmsre_prov_core_errors(prov) : NULL;
    va_list ap;

    if (core == NULL || core->new_error == NULL)
        return;
    core->new_error(core->handle);
    core->set_error_debug(core->handle, file, line, func);
    va_start(ap, fmt);
    core->vset_error(core->handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}

void kmsre_raise_err(const struct kmsre_prov *prov, const char *file, int line,
                     const char *func, const struct kmsre_err *err)
{
    kmsre_raise(prov, file, line, func, kmsre_reason_for_status(err->status),
                "%s", kmsre_err_text(err));
}

int kmsre_reason_for_status(enum kmsre_status st)
{
    switch (st) {
    case KMSRE_ERR_NOMEM:
        return KMSRE_R_MALLOC_FAILURE;
    case KMSRE_ERR_INVALID:
    case KMSRE_ERR_LIMIT:
        return KMSRE_R_INVALID_PARAMETER;
    case KMSRE_ERR_TRANSPORT:
    case KMSRE_ERR_IO:
        return KMSRE_R_HTTP_TRANSPORT;
    case KMSRE_ERR_RESPONSE:
        return KMSRE_R_BAD_RESPONSE;
    case KMSRE_ERR_SERVICE:
        return KMSRE_R_KMS_ERROR;
    case KMSRE_ERR_NO_CREDENTIALS:
    case KMSRE_ERR_CREDENTIALS:
        return KMSRE_R_NO_CREDENTIALS;
    case KMSRE_ERR_NO_REGION:
        return KMSRE_R_NO_REGION;
    case KMSRE_OK:
    case KMSRE_ERR_CRYPTO:
    default:
        return KMSRE_R_INTERNAL;
    }
}
