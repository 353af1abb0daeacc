/* SPDX-License-Identifier: Apache-2.0 */
/* The "kms:" store loader: turns a key URI into one KMS-REENCRYPT key
 * object, without any network call. */
#include <stdio.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include "errors.h"
#include "key.h"
#include "kmsreencrypt.h"

struct kmsre_store_ctx {
    struct kmsre_prov *prov;
    struct kmsre_key_ref ref;
    int expect; /* OSSL_STORE_INFO_* the caller wants, 0 for any */
    int done;   /* eof: set after the one object, and after any failure */
};

static OSSL_FUNC_store_open_fn st_open;
static OSSL_FUNC_store_settable_ctx_params_fn st_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn st_set_ctx_params;
static OSSL_FUNC_store_load_fn st_load;
static OSSL_FUNC_store_eof_fn st_eof;
static OSSL_FUNC_store_close_fn st_close;

static void *st_open(void *provctx, const char *uri)
{
    struct kmsre_prov *prov = provctx;
    struct kmsre_store_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));
    struct kmsre_err err = {0};
    enum kmsre_status st;

    if (!kmsre_prov_check_config(prov)) {
        OPENSSL_free(ctx);
        return NULL;
    }
    if (ctx == NULL) {
        KMSRE_RAISE(prov, KMSRE_R_MALLOC_FAILURE, "store context");
        return NULL;
    }
    ctx->prov = prov;
    st = kmsre_key_ref_parse_uri(uri, &ctx->ref, &err);
    if (st != KMSRE_OK) {
        KMSRE_RAISE(prov,
                    st == KMSRE_ERR_NOMEM ? KMSRE_R_MALLOC_FAILURE
                                          : KMSRE_R_BAD_URI,
                    "%s", kmsre_err_text(&err));
        OPENSSL_free(ctx);
        return NULL;
    }
    return ctx;
}

static const OSSL_PARAM known_settable_ctx_params[] = {
    OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
    OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_PROPERTIES, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM *st_settable_ctx_params(void *provctx)
{
    (void)provctx;
    return known_settable_ctx_params;
}

static int st_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    struct kmsre_store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p;

    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL && !OSSL_PARAM_get_int(p, &ctx->expect))
        return 0;
    return 1;
}

/* Only keys live here; asking for certificates or CRLs finds nothing. */
static int expects_key(int expect)
{
    return expect == 0 || expect == OSSL_STORE_INFO_PKEY ||
           expect == OSSL_STORE_INFO_PUBKEY;
}

static int hand_over(struct kmsre_key *key, OSSL_CALLBACK *object_cb,
                     void *object_cbarg)
{
    int object_type = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[5];
    char desc[] = "AWS KMS key";
    int ok;

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)KMSRE_ALG_NAME, 0);
    /* By reference: our keymgmt's load takes the key out of this slot. */
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
                                                  &key, sizeof(key));
    params[3] =
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, desc, 0);
    params[4] = OSSL_PARAM_construct_end();
    ok = object_cb(params, object_cbarg);
    kmsre_key_free(key); /* NULL when the keymgmt took it */
    return ok;
}

static int st_load(void *loaderctx, OSSL_CALLBACK *object_cb,
                   void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                   void *pw_cbarg)
{
    struct kmsre_store_ctx *ctx = loaderctx;
    struct kmsre_key *key;

    (void)pw_cb;
    (void)pw_cbarg;
    if (ctx->done)
        return 0;
    /* Whatever happens next, there is nothing more to load: an eof that
     * stayed false after a failure makes `openssl pkeyutl` loop forever. */
    ctx->done = 1;
    if (!expects_key(ctx->expect))
        return 0;
    key = kmsre_key_new(ctx->prov);
    if (key == NULL)
        return 0;
    if (kmsre_key_ref_copy(&key->ref, &ctx->ref) != KMSRE_OK) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_MALLOC_FAILURE, "key reference");
        kmsre_key_free(key);
        return 0;
    }
    /* OSSL_STORE drops an object of the wrong kind: give the caller the
     * view it asked for (public with -pubin, private otherwise). */
    key->private_view = ctx->expect != OSSL_STORE_INFO_PUBKEY;
    return hand_over(key, object_cb, object_cbarg);
}

static int st_eof(void *loaderctx)
{
    struct kmsre_store_ctx *ctx = loaderctx;

    return ctx->done;
}

static int st_close(void *loaderctx)
{
    struct kmsre_store_ctx *ctx = loaderctx;

    if (ctx == NULL)
        return 1;
    kmsre_key_ref_clear(&ctx->ref);
    OPENSSL_free(ctx);
    return 1;
}

const OSSL_DISPATCH kmsre_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))st_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS,
     (void (*)(void))st_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))st_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))st_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))st_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))st_close},
    {0, NULL}};
