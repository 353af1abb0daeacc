/* SPDX-License-Identifier: Apache-2.0 */
/* Provider entry point: core upcalls, configuration and algorithm tables.
 * Nothing here touches the network or libcurl; that waits for first use. */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "base/fork.h"
#include "config.h"
#include "errors.h"
#include "kms/client.h"
#include "kmsreencrypt.h"
#include "provider.h"
#include "version.h"

#define KMSRE_PROPS "provider=kmsreencrypt"

struct kmsre_prov {
    struct kmsre_core_errors core;
    struct kmsre_config cfg;
    /* A child of the application's library context: SHA-256, HMAC and
     * random bytes come from the application's providers and properties
     * (FIPS included), never from a default provider loaded behind its
     * back. */
    OSSL_LIB_CTX *libctx;
    struct kmsre_mutex client_lock;
    struct kmsre_kms_client *client; /* made at the first request */
};

static const OSSL_ALGORITHM keymgmt_algs[] = {{KMSRE_ALG_NAME, KMSRE_PROPS,
                                               kmsre_keymgmt_functions,
                                               "Reference to an AWS KMS key"},
                                              {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM asym_cipher_algs[] = {{KMSRE_ALG_NAME, KMSRE_PROPS,
                                                   kmsre_asym_cipher_functions,
                                                   "AWS KMS ReEncrypt"},
                                                  {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM encoder_algs[] = {
    {KMSRE_ALG_NAME, KMSRE_PROPS ",output=text", kmsre_text_encoder_functions,
     "Text description of a KMS key reference"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM store_algs[] = {
    {KMSRE_STORE_SCHEME, KMSRE_PROPS, kmsre_store_functions,
     "AWS KMS key references (kms:KEY)"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_PARAM gettable_params[] = {
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
    OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL), OSSL_PARAM_END};

static OSSL_FUNC_provider_teardown_fn prov_teardown;
static OSSL_FUNC_provider_gettable_params_fn prov_gettable_params;
static OSSL_FUNC_provider_get_params_fn prov_get_params;
static OSSL_FUNC_provider_query_operation_fn prov_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn prov_get_reason_strings;

static void prov_teardown(void *provctx)
{
    struct kmsre_prov *prov = provctx;

    kmsre_kms_client_free(prov->client);
    kmsre_config_clear(&prov->cfg);
    kmsre_mutex_destroy(&prov->client_lock);
    OSSL_LIB_CTX_free(prov->libctx);
    OPENSSL_free(prov);
}

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    (void)provctx;
    return gettable_params;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    (void)provctx;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "AWS KMS ReEncrypt provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, KMSRE_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, KMSRE_USER_AGENT))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ALGORITHM *prov_query_operation(void *provctx, int op,
                                                  int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (op) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_STORE:
        return store_algs;
    case OSSL_OP_ENCODER:
        return encoder_algs;
    }
    return NULL;
}

static const OSSL_ITEM *prov_get_reason_strings(void *provctx)
{
    (void)provctx;
    return kmsre_reason_strings();
}

static const OSSL_DISPATCH prov_functions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query_operation},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS,
     (void (*)(void))prov_get_reason_strings},
    {0, NULL}};

const struct kmsre_core_errors *
kmsre_prov_core_errors(const struct kmsre_prov *prov)
{
    return &prov->core;
}

int kmsre_prov_check_config(const struct kmsre_prov *prov)
{
    if (prov->cfg.error[0] == '\0')
        return 1;
    KMSRE_RAISE(prov, KMSRE_R_BAD_CONFIG, "%s", prov->cfg.error);
    return 0;
}

BIO *kmsre_prov_bio(struct kmsre_prov *prov, OSSL_CORE_BIO *cbio)
{
    return prov->libctx != NULL ? BIO_new_from_core_bio(prov->libctx, cbio)
                                : NULL;
}

struct kmsre_kms_client *kmsre_prov_client(struct kmsre_prov *prov)
{
    struct kmsre_kms_config kcfg;
    struct kmsre_kms_client *client, *fresh = NULL;
    struct kmsre_err err = {0};

    if (!kmsre_prov_check_config(prov))
        return NULL;
    if (prov->libctx == NULL) {
        KMSRE_RAISE(prov, KMSRE_R_INTERNAL,
                    "no library context: the core gave no child context");
        return NULL;
    }
    kmsre_mutex_lock(&prov->client_lock);
    client = prov->client;
    kmsre_mutex_unlock(&prov->client_lock);
    if (client != NULL)
        return client;
    /* Made outside the lock: a new client registers mutexes of its own,
     * and no kmsre_mutex may be held while one is made (base/fork.h). The
     * first thread to finish installs its client; a loser frees its own. */
    kmsre_config_for_kms(&prov->cfg, &kcfg);
    if (kmsre_kms_client_new(&fresh, &kcfg, prov->libctx, &err) != KMSRE_OK) {
        KMSRE_RAISE_ERR(prov, &err);
        return NULL;
    }
    kmsre_mutex_lock(&prov->client_lock);
    if (prov->client == NULL)
        prov->client = fresh, fresh = NULL;
    client = prov->client;
    kmsre_mutex_unlock(&prov->client_lock);
    kmsre_kms_client_free(fresh);
    return client;
}

static void capture_core(struct kmsre_prov *prov, const OSSL_DISPATCH *in,
                         OSSL_FUNC_core_get_params_fn **get_params)
{
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            *get_params = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            prov->core.new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            prov->core.set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            prov->core.vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        }
    }
}

/* The one symbol the module exports (the rest is hidden, see provider.map). */
__attribute__((visibility("default"))) int
OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                   const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    struct kmsre_prov *prov = OPENSSL_zalloc(sizeof(*prov));

    if (prov == NULL)
        return 0;
    if (!kmsre_mutex_init(&prov->client_lock)) {
        OPENSSL_free(prov);
        return 0;
    }
    prov->core.handle = handle;
    capture_core(prov, in, &get_params);
    kmsre_config_read(&prov->cfg, handle, get_params);
    /* Cheap (no provider is loaded by it), and like pkcs11-provider and
     * tpm2-openssl it is made here; a failure surfaces at first use. */
    prov->libctx = OSSL_LIB_CTX_new_child(handle, in);
    *out = prov_functions;
    *provctx = prov;
    return 1;
}
