/* SPDX-License-Identifier: Apache-2.0 */
/* The text encoder: what `openssl pkey -text` and `openssl storeutl -text`
 * print for a KMS-REENCRYPT key. A key here is a reference; the key
 * material stays in KMS, so that is what gets said. No network call. */
#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include "errors.h"
#include "key.h"
#include "kmsreencrypt.h"

static OSSL_FUNC_encoder_newctx_fn text_newctx;
static OSSL_FUNC_encoder_freectx_fn text_freectx;
static OSSL_FUNC_encoder_does_selection_fn text_does_selection;
static OSSL_FUNC_encoder_encode_fn text_encode;

/* Stateless: the provider context serves as the encoder context. */
static void *text_newctx(void *provctx)
{
    return provctx;
}

static void text_freectx(void *ctx)
{
    (void)ctx;
}

static int text_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

static const char *form_name(enum kmsre_key_form form)
{
    switch (form) {
    case KMSRE_KEY_FORM_KEY_ID:
        return "key id";
    case KMSRE_KEY_FORM_MRK_ID:
        return "multi-Region key id";
    case KMSRE_KEY_FORM_KEY_ARN:
        return "key ARN";
    case KMSRE_KEY_FORM_ALIAS_NAME:
        return "alias name";
    case KMSRE_KEY_FORM_ALIAS_ARN:
        return "alias ARN";
    default:
        return "key identifier";
    }
}

static int print_key(BIO *out, const struct kmsre_key *key, int selection)
{
    const struct kmsre_key_ref *r = &key->ref;
    int ok;

    ok = BIO_printf(out, "%s key reference (%s view)\n", KMSRE_ALG_NAME,
                    (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 &&
                            key->private_view
                        ? "private"
                        : "public") > 0 &&
         BIO_printf(out, "    %s: %s\n", form_name(r->form), r->key_id) > 0;
    if (ok && r->account != NULL)
        ok = BIO_printf(out, "    account: %s\n", r->account) > 0;
    if (ok)
        ok = BIO_printf(out, "    region: %s\n",
                        r->region != NULL ? r->region
                                          : "(not set: configuration and "
                                            "environment decide)") > 0;
    if (ok && r->profile != NULL)
        ok = BIO_printf(out, "    profile: %s\n", r->profile) > 0;
    return ok && BIO_printf(out, "    key material: stays in AWS KMS, never "
                                 "on this machine\n") > 0;
}

static int text_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj_raw,
                       const OSSL_PARAM obj_abstract[], int selection,
                       OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct kmsre_prov *prov = ctx;
    const struct kmsre_key *key = obj_raw;
    BIO *out;
    int ok;

    (void)cb, (void)cbarg;
    if (obj_abstract != NULL || key == NULL || key->ref.key_id == NULL) {
        KMSRE_RAISE(prov, KMSRE_R_NOT_SUPPORTED,
                    "only keys of this provider can be printed");
        return 0;
    }
    out = kmsre_prov_bio(prov, cout);
    if (out == NULL) {
        KMSRE_RAISE(prov, KMSRE_R_MALLOC_FAILURE, "output BIO");
        return 0;
    }
    ok = print_key(out, key, selection);
    BIO_free(out);
    return ok;
}

const OSSL_DISPATCH kmsre_text_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))text_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))text_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))text_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))text_encode},
    {0, NULL}};
