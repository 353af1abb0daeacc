/* SPDX-License-Identifier: Apache-2.0 */
/* Provider entry point: core upcalls, configuration and algorithm tables.
 * Nothing here touches the network or libcurl; that waits for first use. */
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "errors.h"
#include "kms/kms_client.h"
#include "kmsreencrypt.h"
#include "prov.h"
#include "version.h"

#define KMSRE_PROPS "provider=kmsreencrypt"

static const OSSL_ALGORITHM keymgmt_algs[] = {{KMSRE_ALG_NAME, KMSRE_PROPS,
                                               kmsre_keymgmt_functions,
                                               "Reference to an AWS KMS key"},
                                              {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM asym_cipher_algs[] = {{KMSRE_ALG_NAME, KMSRE_PROPS,
                                                   kmsre_asym_cipher_functions,
                                                   "AWS KMS ReEncrypt"},
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

    kms_client_free(prov->client);
    kmsre_config_clear(&prov->cfg);
    pthread_mutex_destroy(&prov->client_lock);
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

int kmsre_prov_check_config(const struct kmsre_prov *prov)
{
    if (prov->config_error[0] == '\0')
        return 1;
    KMSRE_RAISE(prov, KMSRE_R_BAD_CONFIG, "%s", prov->config_error);
    return 0;
}

struct kms_client *kmsre_prov_client(struct kmsre_prov *prov)
{
    struct kms_client *client;
    char why[256] = "";
    enum kmsre_status st = KMSRE_OK;

    if (!kmsre_prov_check_config(prov))
        return NULL;

    pthread_mutex_lock(&prov->client_lock);
    if (prov->client == NULL)
        st = kms_client_new(&prov->client, &prov->cfg, why, sizeof(why));
    client = prov->client;
    pthread_mutex_unlock(&prov->client_lock);
    if (st != KMSRE_OK)
        KMSRE_RAISE(prov, kmsre_reason_for_status(st), "%s", why);
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
            prov->core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            prov->core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            prov->core_vset_error = OSSL_FUNC_core_vset_error(in);
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
    prov->handle = handle;
    capture_core(prov, in, &get_params);
    pthread_mutex_init(&prov->client_lock, NULL);
    if (!kmsre_config_read(&prov->cfg, handle, get_params, prov->config_error,
                           sizeof(prov->config_error)) &&
        prov->config_error[0] == '\0')
        snprintf(prov->config_error, sizeof(prov->config_error),
                 "cannot read the provider configuration");
    *out = prov_functions;
    *provctx = prov;
    return 1;
}
