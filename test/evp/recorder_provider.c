/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny built-in provider for tests, in the manner of OpenSSL's
 * test/fake_rsaprov.c: SHA2-256 and HMAC under the property
 * "provider=recorder" (OpenSSL 3.0 takes only its predefined property
 * names in a definition), computed by the default provider of a private
 * library context and counted, so that a test can see whose SHA-256 and HMAC an
 * application's library context hands out.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include "recorder_provider.h"

static int digest_inits, mac_inits;
static OSSL_LIB_CTX *inner;
static EVP_MD *inner_sha256;
static EVP_MAC *inner_hmac;

int recorder_digest_inits(void)
{
    return __atomic_load_n(&digest_inits, __ATOMIC_SEQ_CST);
}

int recorder_mac_inits(void)
{
    return __atomic_load_n(&mac_inits, __ATOMIC_SEQ_CST);
}

/* ---- SHA2-256 ------------------------------------------------------------ */

static OSSL_FUNC_digest_newctx_fn rec_md_newctx;
static OSSL_FUNC_digest_freectx_fn rec_md_freectx;
static OSSL_FUNC_digest_dupctx_fn rec_md_dupctx;
static OSSL_FUNC_digest_init_fn rec_md_init;
static OSSL_FUNC_digest_update_fn rec_md_update;
static OSSL_FUNC_digest_final_fn rec_md_final;
static OSSL_FUNC_digest_get_params_fn rec_md_get_params;
static OSSL_FUNC_digest_gettable_params_fn rec_md_gettable_params;

static void *rec_md_newctx(void *provctx)
{
    (void)provctx;
    return EVP_MD_CTX_new();
}

static void rec_md_freectx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void *rec_md_dupctx(void *ctx)
{
    EVP_MD_CTX *copy = EVP_MD_CTX_new();

    if (copy != NULL && !EVP_MD_CTX_copy_ex(copy, ctx)) {
        EVP_MD_CTX_free(copy);
        copy = NULL;
    }
    return copy;
}

static int rec_md_init(void *ctx, const OSSL_PARAM params[])
{
    (void)params;
    __atomic_add_fetch(&digest_inits, 1, __ATOMIC_SEQ_CST);
    return EVP_DigestInit_ex2(ctx, inner_sha256, NULL);
}

static int rec_md_update(void *ctx, const unsigned char *in, size_t inl)
{
    return EVP_DigestUpdate(ctx, in, inl);
}

static int rec_md_final(void *ctx, unsigned char *out, size_t *outl,
                        size_t outsz)
{
    unsigned int n = 0;

    if (outsz < 32 || !EVP_DigestFinal_ex(ctx, out, &n))
        return 0;
    *outl = n;
    return 1;
}

static const OSSL_PARAM md_gettable[] = {
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, NULL),
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, NULL), OSSL_PARAM_END};

static const OSSL_PARAM *rec_md_gettable_params(void *provctx)
{
    (void)provctx;
    return md_gettable;
}

static int rec_md_get_params(OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE)) != NULL &&
        !OSSL_PARAM_set_size_t(p, 64))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE)) != NULL &&
        !OSSL_PARAM_set_size_t(p, 32))
        return 0;
    return 1;
}

static const OSSL_DISPATCH rec_sha256_functions[] = {
    {OSSL_FUNC_DIGEST_NEWCTX, (void (*)(void))rec_md_newctx},
    {OSSL_FUNC_DIGEST_FREECTX, (void (*)(void))rec_md_freectx},
    {OSSL_FUNC_DIGEST_DUPCTX, (void (*)(void))rec_md_dupctx},
    {OSSL_FUNC_DIGEST_INIT, (void (*)(void))rec_md_init},
    {OSSL_FUNC_DIGEST_UPDATE, (void (*)(void))rec_md_update},
    {OSSL_FUNC_DIGEST_FINAL, (void (*)(void))rec_md_final},
    {OSSL_FUNC_DIGEST_GET_PARAMS, (void (*)(void))rec_md_get_params},
    {OSSL_FUNC_DIGEST_GETTABLE_PARAMS, (void (*)(void))rec_md_gettable_params},
    {0, NULL}};

/* ---- HMAC ---------------------------------------------------------------- */

static OSSL_FUNC_mac_newctx_fn rec_mac_newctx;
static OSSL_FUNC_mac_freectx_fn rec_mac_freectx;
static OSSL_FUNC_mac_dupctx_fn rec_mac_dupctx;
static OSSL_FUNC_mac_init_fn rec_mac_init;
static OSSL_FUNC_mac_update_fn rec_mac_update;
static OSSL_FUNC_mac_final_fn rec_mac_final;
static OSSL_FUNC_mac_get_ctx_params_fn rec_mac_get_ctx_params;
static OSSL_FUNC_mac_gettable_ctx_params_fn rec_mac_gettable_ctx_params;
static OSSL_FUNC_mac_set_ctx_params_fn rec_mac_set_ctx_params;
static OSSL_FUNC_mac_settable_ctx_params_fn rec_mac_settable_ctx_params;

static void *rec_mac_newctx(void *provctx)
{
    (void)provctx;
    return EVP_MAC_CTX_new(inner_hmac);
}

static void rec_mac_freectx(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
}

static void *rec_mac_dupctx(void *ctx)
{
    return EVP_MAC_CTX_dup(ctx);
}

/* The digest is always SHA-256 of the inner context: a caller's "digest"
 * param names it, and the name resolves there. */
static int rec_mac_init(void *ctx, const unsigned char *key, size_t keylen,
                        const OSSL_PARAM params[])
{
    OSSL_PARAM p[2] = {
        OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0),
        OSSL_PARAM_END};

    (void)params;
    __atomic_add_fetch(&mac_inits, 1, __ATOMIC_SEQ_CST);
    return EVP_MAC_init(ctx, key, keylen, p);
}

static int rec_mac_update(void *ctx, const unsigned char *in, size_t inl)
{
    return EVP_MAC_update(ctx, in, inl);
}

static int rec_mac_final(void *ctx, unsigned char *out, size_t *outl,
                         size_t outsize)
{
    return EVP_MAC_final(ctx, out, outl, outsize);
}

static const OSSL_PARAM mac_gettable[] = {
    OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, NULL), OSSL_PARAM_END};
static const OSSL_PARAM mac_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM *rec_mac_gettable_ctx_params(void *ctx, void *provctx)
{
    (void)ctx, (void)provctx;
    return mac_gettable;
}

static const OSSL_PARAM *rec_mac_settable_ctx_params(void *ctx, void *provctx)
{
    (void)ctx, (void)provctx;
    return mac_settable;
}

static int rec_mac_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
    return EVP_MAC_CTX_get_params(ctx, params);
}

static int rec_mac_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
    (void)ctx, (void)params;
    return 1; /* SHA-256 it is (see rec_mac_init) */
}

static const OSSL_DISPATCH rec_hmac_functions[] = {
    {OSSL_FUNC_MAC_NEWCTX, (void (*)(void))rec_mac_newctx},
    {OSSL_FUNC_MAC_FREECTX, (void (*)(void))rec_mac_freectx},
    {OSSL_FUNC_MAC_DUPCTX, (void (*)(void))rec_mac_dupctx},
    {OSSL_FUNC_MAC_INIT, (void (*)(void))rec_mac_init},
    {OSSL_FUNC_MAC_UPDATE, (void (*)(void))rec_mac_update},
    {OSSL_FUNC_MAC_FINAL, (void (*)(void))rec_mac_final},
    {OSSL_FUNC_MAC_GET_CTX_PARAMS, (void (*)(void))rec_mac_get_ctx_params},
    {OSSL_FUNC_MAC_GETTABLE_CTX_PARAMS,
     (void (*)(void))rec_mac_gettable_ctx_params},
    {OSSL_FUNC_MAC_SET_CTX_PARAMS, (void (*)(void))rec_mac_set_ctx_params},
    {OSSL_FUNC_MAC_SETTABLE_CTX_PARAMS,
     (void (*)(void))rec_mac_settable_ctx_params},
    {0, NULL}};

/* ---- the provider -------------------------------------------------------- */

static const OSSL_ALGORITHM rec_digests[] = {
    {"SHA2-256:SHA-256:SHA256", "provider=recorder", rec_sha256_functions,
     "counted SHA-256"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM rec_macs[] = {
    {"HMAC", "provider=recorder", rec_hmac_functions, "counted HMAC"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *rec_query(void *provctx, int id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    return id == OSSL_OP_DIGEST ? rec_digests
           : id == OSSL_OP_MAC  ? rec_macs
                                : NULL;
}

static void rec_teardown(void *provctx)
{
    (void)provctx;
    EVP_MD_free(inner_sha256);
    EVP_MAC_free(inner_hmac);
    OSSL_LIB_CTX_free(inner);
    inner_sha256 = NULL;
    inner_hmac = NULL;
    inner = NULL;
}

static const OSSL_DISPATCH rec_dispatch[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))rec_query},
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))rec_teardown},
    {0, NULL}};

int recorder_provider_init(const OSSL_CORE_HANDLE *handle,
                           const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
                           void **provctx)
{
    (void)handle, (void)in;
    inner = OSSL_LIB_CTX_new();
    if (inner == NULL || OSSL_PROVIDER_load(inner, "default") == NULL)
        return 0;
    inner_sha256 = EVP_MD_fetch(inner, "SHA2-256", NULL);
    inner_hmac = EVP_MAC_fetch(inner, "HMAC", NULL);
    if (inner_sha256 == NULL || inner_hmac == NULL)
        return 0;
    *out = rec_dispatch;
    *provctx = inner;
    return 1;
}
