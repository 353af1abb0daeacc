/* SPDX-License-Identifier: Apache-2.0 */
/* The provider context, as the algorithm files see it: opaque, with the
 * few things they need from it. */
#ifndef KMSRE_PROVIDER_H
#define KMSRE_PROVIDER_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

struct kmsre_prov;
struct kmsre_kms_client;

/* The core's error upcalls (errors.c puts entries on the queue with them). */
struct kmsre_core_errors {
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *new_error;
    OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
    OSSL_FUNC_core_vset_error_fn *vset_error;
};

const struct kmsre_core_errors *
kmsre_prov_core_errors(const struct kmsre_prov *prov);

/* 1 if the configuration is usable; else raises its error and returns 0.
 * A bad cnf value is reported by every operation rather than by failing
 * init, since OpenSSL's config loading drops init errors silently. */
int kmsre_prov_check_config(const struct kmsre_prov *prov);

/* A BIO on the core's BIO (an encoder's output), through the provider's
 * library context; NULL on failure. */
struct bio_st *kmsre_prov_bio(struct kmsre_prov *prov, OSSL_CORE_BIO *cbio);

/* The KMS client, created on first use. On failure an error is raised. */
struct kmsre_kms_client *kmsre_prov_client(struct kmsre_prov *prov);

extern const OSSL_DISPATCH kmsre_keymgmt_functions[];
extern const OSSL_DISPATCH kmsre_asym_cipher_functions[];
extern const OSSL_DISPATCH kmsre_store_functions[];
extern const OSSL_DISPATCH kmsre_text_encoder_functions[];

#endif
