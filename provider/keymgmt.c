/* SPDX-License-Identifier: Apache-2.0 */
/* KMS-REENCRYPT key management: keys are references to KMS keys. Making
 * one never calls KMS; a bad key surfaces from ReEncrypt itself. */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "aws/endpoint.h"
#include "errors.h"
#include "key.h"
#include "kmsreencrypt.h"

/* Nominal figures: a KMS key has no size here. MAX_SIZE is what matters:
 * the largest CiphertextBlob, so EVP_PKEY_get_size() bounds the output. */
#define KMSRE_KEY_BITS 256
#define KMSRE_KEY_SECURITY_BITS 128

static OSSL_FUNC_keymgmt_new_fn km_new;
static OSSL_FUNC_keymgmt_free_fn km_free;
static OSSL_FUNC_keymgmt_has_fn km_has;
static OSSL_FUNC_keymgmt_match_fn km_match;
static OSSL_FUNC_keymgmt_dup_fn km_dup;
static OSSL_FUNC_keymgmt_load_fn km_load;
static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn km_gettable_params;
static OSSL_FUNC_keymgmt_import_fn km_import;
static OSSL_FUNC_keymgmt_import_types_fn km_import_types;
static OSSL_FUNC_keymgmt_export_fn km_export;
static OSSL_FUNC_keymgmt_export_types_fn km_export_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn km_query_operation_name;

struct kmsre_key *kmsre_key_new(struct kmsre_prov *prov)
{
    struct kmsre_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL) {
        KMSRE_RAISE(prov, KMSRE_R_MALLOC_FAILURE, "key object");
        return NULL;
    }
    key->prov = prov;
    key->refcount = 1;
    return key;
}

int kmsre_key_up_ref(struct kmsre_key *key)
{
    __atomic_add_fetch(&key->refcount, 1, __ATOMIC_RELAXED);
    return 1;
}

void kmsre_key_free(struct kmsre_key *key)
{
    if (key == NULL ||
        __atomic_sub_fetch(&key->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    kmsre_key_ref_clear(&key->ref);
    OPENSSL_free(key);
}

static void *km_new(void *provctx)
{
    return kmsre_key_new(provctx);
}

static void km_free(void *keydata)
{
    kmsre_key_free(keydata);
}

static int km_has(const void *keydata, int selection)
{
    const struct kmsre_key *key = keydata;

    if (key == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0 &&
        key->ref.key_id == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 &&
        !key->private_view)
        return 0;
    return 1;
}

static int km_match(const void *a, const void *b, int selection)
{
    const struct kmsre_key *ka = a, *kb = b;

    (void)selection;
    return kmsre_key_ref_equal(&ka->ref, &kb->ref);
}

static void *km_dup(const void *keydata, int selection)
{
    const struct kmsre_key *src = keydata;
    struct kmsre_key *key = kmsre_key_new(src->prov);

    if (key == NULL)
        return NULL;
    if (kmsre_key_ref_copy(&key->ref, &src->ref) != KMSRE_OK) {
        KMSRE_RAISE(src->prov, KMSRE_R_MALLOC_FAILURE, "key copy");
        kmsre_key_free(key);
        return NULL;
    }
    key->private_view =
        src->private_view && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY);
    return key;
}

/* The store hands over a pointer to its key; load takes it (the store's
 * pointer becomes NULL), so ownership passes without copying. */
static void *km_load(const void *reference, size_t reference_sz)
{
    struct kmsre_key **slot = (struct kmsre_key **)reference;
    struct kmsre_key *key;

    if (reference == NULL || reference_sz != sizeof(*slot))
        return NULL;
    key = *slot;
    *slot = NULL;
    return key;
}

static const OSSL_PARAM km_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_REGION, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_PROFILE, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
    (void)provctx;
    return km_gettable;
}

static int set_int(OSSL_PARAM params[], const char *name, int v)
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, name);

    return p == NULL || OSSL_PARAM_set_int(p, v);
}

static int set_str(OSSL_PARAM params[], const char *name, const char *v)
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, name);

    return p == NULL || v == NULL || OSSL_PARAM_set_utf8_string(p, v);
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    const struct kmsre_key *key = keydata;

    return set_int(params, OSSL_PKEY_PARAM_BITS, KMSRE_KEY_BITS) &&
           set_int(params, OSSL_PKEY_PARAM_SECURITY_BITS,
                   KMSRE_KEY_SECURITY_BITS) &&
           set_int(params, OSSL_PKEY_PARAM_MAX_SIZE, KMSRE_MAX_CIPHERTEXT) &&
           set_str(params, KMSRE_PKEY_PARAM_KEY_ID, key->ref.key_id) &&
           set_str(params, KMSRE_PKEY_PARAM_REGION, key->ref.region) &&
           set_str(params, KMSRE_PKEY_PARAM_PROFILE, key->ref.profile);
}

static const OSSL_PARAM km_key_types[] = {
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_REGION, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PKEY_PARAM_PROFILE, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM *km_import_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0 ? km_key_types : NULL;
}

static const OSSL_PARAM *km_export_types(int selection)
{
    return km_import_types(selection);
}

static int get_optional_str(const OSSL_PARAM params[], const char *name,
                            const char **out)
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, name);

    *out = NULL;
    return p == NULL || OSSL_PARAM_get_utf8_string_ptr(p, out);
}

/* The key URI's rules apply: an ARN's region must agree with an explicit
 * region, and region/profile are checked against injection. */
static enum kmsre_status add_region(struct kmsre_key_ref *ref,
                                    const char *region, struct kmsre_err *err)
{
    if (!kmsre_region_is_valid(region) ||
        (ref->region != NULL && strcmp(ref->region, region) != 0))
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "region \"%.64s\" is not valid for key", region);
    if (ref->region == NULL && (ref->region = OPENSSL_strdup(region)) == NULL)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    return KMSRE_OK;
}

static int import_ref(struct kmsre_key *key, const char *id, const char *region,
                      const char *profile)
{
    struct kmsre_err err = {0};
    enum kmsre_status st = kmsre_key_ref_parse_id(id, &key->ref, &err);

    if (st == KMSRE_OK && region != NULL)
        st = add_region(&key->ref, region, &err);
    if (st == KMSRE_OK && profile != NULL &&
        (key->ref.profile = OPENSSL_strdup(profile)) == NULL)
        st = kmsre_fail(&err, KMSRE_ERR_NOMEM, "out of memory");
    if (st != KMSRE_OK) {
        kmsre_err_prefix(&err, "key-id");
        KMSRE_RAISE_ERR(key->prov, &err);
        kmsre_key_ref_clear(&key->ref);
        return 0;
    }
    return 1;
}

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    struct kmsre_key *key = keydata;
    const char *id, *region, *profile;

    if (key == NULL || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return 0;
    if (!get_optional_str(params, KMSRE_PKEY_PARAM_KEY_ID, &id) ||
        !get_optional_str(params, KMSRE_PKEY_PARAM_REGION, &region) ||
        !get_optional_str(params, KMSRE_PKEY_PARAM_PROFILE, &profile)) {
        KMSRE_RAISE(key->prov, KMSRE_R_INVALID_PARAMETER,
                    "key-id, region and profile must be UTF-8 strings");
        return 0;
    }
    if (id == NULL) {
        KMSRE_RAISE(key->prov, KMSRE_R_MISSING_PARAMETER, "key-id is required");
        return 0;
    }
    kmsre_key_ref_clear(&key->ref);
    if (!import_ref(key, id, region, profile))
        return 0;
    key->private_view = (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
    return 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb,
                     void *cbarg)
{
    const struct kmsre_key *key = keydata;
    OSSL_PARAM params[4];
    size_t n = 0;

    if (key == NULL || key->ref.key_id == NULL ||
        (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(KMSRE_PKEY_PARAM_KEY_ID,
                                                   key->ref.key_id, 0);
    if (key->ref.region != NULL)
        params[n++] = OSSL_PARAM_construct_utf8_string(KMSRE_PKEY_PARAM_REGION,
                                                       key->ref.region, 0);
    if (key->ref.profile != NULL)
        params[n++] = OSSL_PARAM_construct_utf8_string(KMSRE_PKEY_PARAM_PROFILE,
                                                       key->ref.profile, 0);
    params[n] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

static const char *km_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_ASYM_CIPHER ? KMSRE_ALG_NAME : NULL;
}

const OSSL_DISPATCH kmsre_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
     (void (*)(void))km_query_operation_name},
    {0, NULL}};
