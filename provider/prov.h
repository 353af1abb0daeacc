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
    pthread_mutex_t client_lock;
    struct kms_client *client; /* made at the first request, not at init */
};

/* The KMS client, created on first use. On failure an error is raised. */
struct kms_client *kmsre_prov_client(struct kmsre_prov *prov);

extern const OSSL_DISPATCH kmsre_keymgmt_functions[];
extern const OSSL_DISPATCH kmsre_asym_cipher_functions[];
extern const OSSL_DISPATCH kmsre_store_functions[];

#endif
