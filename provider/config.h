/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's openssl.cnf section, read once at provider init. */
#ifndef KMSRE_CONFIG_H
#define KMSRE_CONFIG_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#define KMSRE_DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define KMSRE_DEFAULT_REQUEST_TIMEOUT_MS 30000L
#define KMSRE_MAX_ATTEMPTS_LIMIT 20

/* NULL strings mean "not configured": the environment decides. */
struct kmsre_config {
    char *region;
    char *profile;
    char *endpoint;
    char *ca_bundle;
    long connect_timeout_ms;
    long request_timeout_ms;
    long max_attempts; /* 0: not configured */
    char *retry_mode;  /* standard, adaptive or legacy */
    long debug;        /* 1: log each request to stderr (no secrets) */
};

/* Reads every known key; on a bad value writes a message into err and
 * returns 0. Unknown keys are left to OpenSSL (module, activate, ...). */
int kmsre_config_read(struct kmsre_config *cfg, const OSSL_CORE_HANDLE *handle,
                      OSSL_FUNC_core_get_params_fn *get_params, char *err,
                      size_t errlen);

void kmsre_config_clear(struct kmsre_config *cfg);

#endif
