/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's openssl.cnf section, read once at provider init. */
#ifndef KMSRE_CONFIG_H
#define KMSRE_CONFIG_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include "kms/client.h"

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
    int debug;         /* trace decisions and attempts on stderr */
    char error[256];   /* a bad value: why (empty when all is well) */
};

/* Reads every known key; a bad value leaves its reason in cfg->error.
 * Unknown keys are left to OpenSSL (module, activate, ...). */
void kmsre_config_read(struct kmsre_config *cfg, const OSSL_CORE_HANDLE *handle,
                       OSSL_FUNC_core_get_params_fn *get_params);

/* The settings the KMS client takes, pointing into cfg. */
void kmsre_config_for_kms(const struct kmsre_config *cfg,
                          struct kmsre_kms_config *out);

void kmsre_config_clear(struct kmsre_config *cfg);

#endif
