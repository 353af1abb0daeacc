/* SPDX-License-Identifier: Apache-2.0 */
/* The provider context shared by every algorithm of this provider. */
#ifndef KMSRE_PROV_H
#define KMSRE_PROV_H

#include <pthread.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include "config.h"

struct kms_client;

struct kmsre_prov {
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    struct kmsre_config cfg;
    /* A bad cnf value. Reported by every operation rather than by failing
     * init, since OpenSSL's config loading drops init errors silently. */
    char config_error[256];
    pthread_mutex_t client_lock;
    struct kms_client *client; /* made at the first request, not at init */
};

/* 1 if the configuration is usable; else raises its error and returns 0. */
int kmsre_prov_check_config(const struct kmsre_prov *prov);

/* The KMS client, created on first use. On failure an error is raised. */
struct kms_client *kmsre_prov_client(struct kmsre_prov *prov);

extern const OSSL_DISPATCH kmsre_keymgmt_functions[];
extern const OSSL_DISPATCH kmsre_asym_cipher_functions[];
extern const OSSL_DISPATCH kmsre_store_functions[];

#endif
