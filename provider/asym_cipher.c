/* SPDX-License-Identifier: Apache-2.0 */
/* KMS-REENCRYPT asymmetric cipher: "encrypt" is one KMS ReEncrypt call.
 * Input is the source CiphertextBlob, output the new CiphertextBlob. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "base/fork.h"
#include "base/text.h"
#include "errors.h"
#include "key.h"
#include "kms/client.h"
#include "kmsreencrypt.h"

struct reenc_ctx {
    struct kmsre_prov *prov;
    struct kmsre_key *key;
    struct kmsre_reencrypt_request req; /* as set through params */
    /* KMS's answer to the last successful call (ciphertext not kept). */
    struct kmsre_reencrypt_answer answer;
    int has_answer;
    /* How the last call that reached the network went. */
    struct kmsre_call_report report;
    int has_report;
};

static OSSL_FUNC_asym_cipher_newctx_fn re_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn re_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn re_dupctx;
static OSSL_FUNC_asym_cipher_encrypt_init_fn re_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn re_encrypt;
static OSSL_FUNC_asym_cipher_get_ctx_params_fn re_get_ctx_params;
static OSSL_FUNC_asym_cipher_gettable_ctx_params_fn re_gettable_ctx_params;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn re_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn re_settable_ctx_params;

/* ---- the parameters, each declared once ----------------------------------
 *
 * A row says how -pkeyopt text (or an EVP caller's value) becomes part of
 * the request, and where the value a caller can get comes from. The
 * settable and gettable lists and both setters are derived from it. */

enum set_kind {
    NOT_SET = 0,
    SET_KEY_ID,
    SET_CONTEXT,
    SET_ALGORITHM,
    SET_GRANT_TOKENS,
    SET_BOOL,
    SET_MODIFIERS
};
enum get_kind { NOT_GOT = 0, GET_ANSWER, GET_REPORT_TEXT, GET_REPORT_INT };

struct reenc_param {
    const char *name;
    enum set_kind set;
    size_t set_at; /* offset in struct kmsre_reencrypt_request */
    enum get_kind get;
    size_t get_at; /* offset in the answer or the report */
};

#define REQ(field) offsetof(struct kmsre_reencrypt_request, field)
#define ANS(field) offsetof(struct kmsre_reencrypt_answer, field)
#define REP(field) offsetof(struct kmsre_call_report, field)

static const struct reenc_param reenc_params[] = {
    {KMSRE_PARAM_SOURCE_KEY_ID, SET_KEY_ID, REQ(source_key_id), GET_ANSWER,
     ANS(source_key_id)},
    {KMSRE_PARAM_DESTINATION_KEY_ID, SET_KEY_ID, REQ(destination_key_id),
     GET_ANSWER, ANS(key_id)},
    {KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT, SET_CONTEXT, REQ(source_context),
     NOT_GOT, 0},
    {KMSRE_PARAM_DESTINATION_ENCRYPTION_CONTEXT, SET_CONTEXT,
     REQ(destination_context), NOT_GOT, 0},
    {KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM, SET_ALGORITHM,
     REQ(source_algorithm), GET_ANSWER, ANS(source_algorithm)},
    {KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM, SET_ALGORITHM,
     REQ(destination_algorithm), GET_ANSWER, ANS(destination_algorithm)},
    {KMSRE_PARAM_GRANT_TOKENS, SET_GRANT_TOKENS, REQ(grant_tokens), NOT_GOT, 0},
    {KMSRE_PARAM_DRY_RUN, SET_BOOL, REQ(dry_run), NOT_GOT, 0},
    {KMSRE_PARAM_DRY_RUN_MODIFIERS, SET_MODIFIERS, REQ(ignore_ciphertext),
     NOT_GOT, 0},
    {KMSRE_PARAM_REQUEST_ID, NOT_SET, 0, GET_REPORT_TEXT, REP(request_id)},
    {KMSRE_PARAM_ERROR_TYPE, NOT_SET, 0, GET_REPORT_TEXT, REP(kms.type)},
    {KMSRE_PARAM_ERROR_MESSAGE, NOT_SET, 0, GET_REPORT_TEXT, REP(kms.message)},
    {KMSRE_PARAM_ATTEMPTS, NOT_SET, 0, GET_REPORT_INT, REP(attempts)},
    {KMSRE_PARAM_THROTTLES, NOT_SET, 0, GET_REPORT_INT, REP(throttles)},
    {KMSRE_PARAM_ERROR_CLASS, NOT_SET, 0, GET_REPORT_TEXT, REP(error_class)},
};

#define N_PARAMS (sizeof(reenc_params) / sizeof(reenc_params[0]))

static OSSL_PARAM settable_list[N_PARAMS + 1];
static OSSL_PARAM gettable_list[N_PARAMS + 1];
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;

/* Every settable value is a UTF-8 string, so -pkeyopt name:value works. */
static void make_lists(void)
{
    size_t i, ns = 0, ng = 0;

    for (i = 0; i < N_PARAMS; i++) {
        const struct reenc_param *r = &reenc_params[i];

        if (r->set != NOT_SET)
            settable_list[ns++] =
                OSSL_PARAM_construct_utf8_string(r->name, NULL, 0);
        if (r->get == GET_REPORT_INT)
            gettable_list[ng++] = OSSL_PARAM_construct_int(r->name, NULL);
        else if (r->get != NOT_GOT)
            gettable_list[ng++] =
                OSSL_PARAM_construct_utf8_string(r->name, NULL, 0);
    }
    settable_list[ns] = OSSL_PARAM_construct_end();
    gettable_list[ng] = OSSL_PARAM_construct_end();
}

static const OSSL_PARAM *re_settable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx, (void)provctx;
    pthread_once(&lists_once, make_lists);
    return settable_list;
}

static const OSSL_PARAM *re_gettable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx, (void)provctx;
    pthread_once(&lists_once, make_lists);
    return gettable_list;
}

static const struct reenc_param *find_param(const char *name)
{
    size_t i;

    for (i = 0; i < N_PARAMS; i++)
        if (strcmp(reenc_params[i].name, name) == 0)
            return &reenc_params[i];
    return NULL;
}

/* ---- context lifetime --------------------------------------------------- */

static void *re_newctx(void *provctx)
{
    struct reenc_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL) {
        KMSRE_RAISE(provctx, KMSRE_R_MALLOC_FAILURE, "cipher context");
        return NULL;
    }
    ctx->prov = provctx;
    return ctx;
}

static void forget_outcome(struct reenc_ctx *ctx)
{
    kmsre_reencrypt_answer_clear(&ctx->answer);
    ctx->has_answer = 0;
    ctx->has_report = 0;
}

static void re_freectx(void *vctx)
{
    struct reenc_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    kmsre_reencrypt_request_clear(&ctx->req);
    forget_outcome(ctx);
    kmsre_key_free(ctx->key);
    OPENSSL_free(ctx);
}

/* A copy's request is its own: copies of a context may live in different
 * threads. KMS's last answer is not copied. */
static void *re_dupctx(void *vctx)
{
    const struct reenc_ctx *src = vctx;
    struct reenc_ctx *dst = re_newctx(src->prov);

    if (dst == NULL)
        return NULL;
    if (kmsre_reencrypt_request_copy(&dst->req, &src->req) != KMSRE_OK) {
        KMSRE_RAISE(src->prov, KMSRE_R_MALLOC_FAILURE, "cipher context copy");
        re_freectx(dst);
        return NULL;
    }
    if (src->key != NULL && kmsre_key_up_ref(src->key))
        dst->key = src->key;
    return dst;
}

static int re_encrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    struct reenc_ctx *ctx = vctx;
    struct kmsre_key *key = vkey;

    if (key == NULL || key->ref.key_id == NULL) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_MISSING_PARAMETER,
                    "the key names no KMS key");
        return 0;
    }
    kmsre_key_up_ref(key);
    kmsre_key_free(ctx->key);
    ctx->key = key;
    kmsre_reencrypt_request_clear(&ctx->req);
    forget_outcome(ctx);
    return re_set_ctx_params(ctx, params);
}

/* ---- setting ------------------------------------------------------------ */

/* A NUL-terminated copy of a UTF-8 param (its data need not end in NUL). */
static char *param_text(struct reenc_ctx *ctx, const OSSL_PARAM *p)
{
    char *text = NULL;

    if (p->data_type != OSSL_PARAM_UTF8_STRING ||
        !OSSL_PARAM_get_utf8_string(p, &text, 0)) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s must be a UTF-8 string", p->key);
        return NULL;
    }
    /* data_size may or may not count a terminating NUL; any other NUL
     * would silently cut the value short. */
    if (strlen(text) + 1 < p->data_size ||
        (strlen(text) < p->data_size &&
         ((const char *)p->data)[p->data_size - 1] != '\0')) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s contains a NUL byte", p->key);
        OPENSSL_free(text);
        return NULL;
    }
    return text;
}

/* Parses text into the request field; the message names the param. */
static enum kmsre_status set_from_text(const struct reenc_param *row,
                                       void *field, char **text,
                                       struct kmsre_err *err)
{
    struct kmsre_key_ref ref = {0};
    struct kmsre_context map;
    enum kmsre_status st;

    switch (row->set) {
    case SET_KEY_ID:
        st = kmsre_key_ref_parse_id(*text, &ref, err);
        kmsre_key_ref_clear(&ref);
        break;
    case SET_ALGORITHM:
        st = kmsre_algorithm_is_known(*text)
                 ? KMSRE_OK
                 : kmsre_fail(err, KMSRE_ERR_INVALID,
                              "unknown algorithm \"%.64s\" (SYMMETRIC_DEFAULT, "
                              "RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256 or SM2PKE)",
                              *text);
        break;
    case SET_CONTEXT:
        st = kmsre_context_parse(*text, strlen(*text), &map, err);
        if (st == KMSRE_OK) {
            kmsre_context_clear(field);
            *(struct kmsre_context *)field = map;
        }
        return st;
    case SET_GRANT_TOKENS:
        return kmsre_grant_tokens_append(field, *text, strlen(*text), err);
    default:
        return kmsre_fail(err, KMSRE_ERR_INVALID, "not settable");
    }
    if (st == KMSRE_OK) { /* the string itself is kept */
        OPENSSL_free(*(char **)field);
        *(char **)field = *text;
        *text = NULL;
    }
    return st;
}

/* true/false (or yes/no, on/off, 1/0) for -pkeyopt; an integer from EVP. */
static int set_bool(struct reenc_ctx *ctx, const OSSL_PARAM *p, int *field)
{
    char *text;
    int ok;

    if (p->data_type == OSSL_PARAM_INTEGER ||
        p->data_type == OSSL_PARAM_UNSIGNED_INTEGER) {
        if (!OSSL_PARAM_get_int(p, field))
            return 0;
        *field = *field != 0;
        return 1;
    }
    if ((text = param_text(ctx, p)) == NULL)
        return 0;
    ok = kmsre_parse_bool(text, field);
    if (!ok)
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s: \"%.32s\" is not a boolean (true/false)", p->key,
                    text);
    OPENSSL_free(text);
    return ok;
}

/* "IGNORE_CIPHERTEXT", or "" for none. */
static int set_modifiers(struct reenc_ctx *ctx, const OSSL_PARAM *p, int *field)
{
    char *text = param_text(ctx, p);
    int ok;

    if (text == NULL)
        return 0;
    ok = strcmp(text, "IGNORE_CIPHERTEXT") == 0 || *text == '\0';
    if (ok)
        *field = *text != '\0';
    else
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s: unknown modifier \"%.64s\" (IGNORE_CIPHERTEXT)",
                    p->key, text);
    OPENSSL_free(text);
    return ok;
}

static int set_one_param(struct reenc_ctx *ctx, const OSSL_PARAM *p)
{
    const struct reenc_param *row = find_param(p->key);
    void *field;
    struct kmsre_err err = {0};
    char *text;
    int ok;

    if (row == NULL || row->set == NOT_SET)
        return 1; /* not ours: ignored, as OpenSSL's own ciphers do */
    field = (char *)&ctx->req + row->set_at;
    if (row->set == SET_BOOL)
        return set_bool(ctx, p, field);
    if (row->set == SET_MODIFIERS)
        return set_modifiers(ctx, p, field);
    if ((text = param_text(ctx, p)) == NULL)
        return 0;
    ok = set_from_text(row, field, &text, &err) == KMSRE_OK;
    if (!ok) {
        kmsre_err_prefix(&err, "%s", p->key);
        KMSRE_RAISE_ERR(ctx->prov, &err);
    }
    if (text != NULL)
        OPENSSL_clear_free(text, strlen(text)); /* grant tokens included */
    return ok;
}

static int re_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct reenc_ctx *ctx = vctx;

    for (; params != NULL && params->key != NULL; params++)
        if (!set_one_param(ctx, params))
            return 0;
    return 1;
}

/* ---- getting: KMS's answer and the call's outcome ----------------------- */

static int get_one_param(const struct reenc_ctx *ctx,
                         const struct reenc_param *row, OSSL_PARAM *p)
{
    const char *text;

    switch (row->get) {
    case GET_ANSWER:
        if (!ctx->has_answer)
            return 1;
        text = *(char *const *)((const char *)&ctx->answer + row->get_at);
        return text == NULL || OSSL_PARAM_set_utf8_string(p, text);
    case GET_REPORT_TEXT:
        return !ctx->has_report ||
               OSSL_PARAM_set_utf8_string(p, (const char *)&ctx->report +
                                                 row->get_at);
    case GET_REPORT_INT:
        return !ctx->has_report ||
               OSSL_PARAM_set_int(
                   p, *(const int *)((const char *)&ctx->report + row->get_at));
    default:
        return 1;
    }
}

/* Values are left untouched (OSSL_PARAM_modified) until there is one. */
static int re_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    const struct reenc_ctx *ctx = vctx;
    OSSL_PARAM *p;
    size_t i;

    for (i = 0; i < N_PARAMS; i++) {
        p = OSSL_PARAM_locate(params, reenc_params[i].name);
        if (p != NULL && !get_one_param(ctx, &reenc_params[i], p))
            return 0;
    }
    return 1;
}

/* ---- encrypt = ReEncrypt ------------------------------------------------ */

/* Everything that can be checked without KMS is, before any request. */
static int check_request(struct reenc_ctx *ctx, size_t inlen)
{
    if (ctx->req.ignore_ciphertext) {
        if (ctx->req.dry_run && ctx->req.source_key_id != NULL)
            return 1;
        KMSRE_RAISE(ctx->prov, KMSRE_R_MISSING_PARAMETER,
                    "dry-run-modifiers IGNORE_CIPHERTEXT needs dry-run and "
                    "source-key-id");
        return 0;
    }
    if (inlen == 0) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_EMPTY_INPUT,
                    "the input must be a KMS CiphertextBlob (1 to %d bytes)",
                    KMSRE_MAX_CIPHERTEXT);
        return 0;
    }
    if (inlen > KMSRE_MAX_CIPHERTEXT) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_INPUT_TOO_LARGE,
                    "input has %zu bytes; a KMS CiphertextBlob has at most %d",
                    inlen, KMSRE_MAX_CIPHERTEXT);
        return 0;
    }
    return 1;
}

/* The destination key decides where the request goes: an overriding ARN
 * brings its own region; otherwise the key's region (ARN or URI). */
static int destination_target(struct reenc_ctx *ctx,
                              struct kmsre_key_ref *override,
                              struct kmsre_kms_target *t)
{
    struct kmsre_err err = {0};

    t->key_region = ctx->key->ref.region;
    t->profile = ctx->key->ref.profile;
    if (ctx->req.destination_key_id == NULL)
        return 1;
    if (kmsre_key_ref_parse_id(ctx->req.destination_key_id, override, &err) !=
        KMSRE_OK) {
        KMSRE_RAISE_ERR(ctx->prov, &err);
        return 0;
    }
    if (override->region != NULL)
        t->key_region = override->region;
    return 1;
}

/* The new blob to the caller; the rest of the answer kept for getting. */
static int deliver(struct reenc_ctx *ctx, struct kmsre_reencrypt_answer *a,
                   unsigned char *out, size_t *outlen, size_t outsize)
{
    if (a->ciphertext_len > outsize) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_OUTPUT_BUFFER_TOO_SMALL,
                    "need %zu bytes, have %zu", a->ciphertext_len, outsize);
        return 0;
    }
    memcpy(out, a->ciphertext, a->ciphertext_len);
    *outlen = a->ciphertext_len;
    OPENSSL_free(a->ciphertext);
    a->ciphertext = NULL;
    ctx->answer = *a; /* moved: the caller's copy must not free it again */
    ctx->has_answer = 1;
    memset(a, 0, sizeof(*a));
    return 1;
}

static int call_kms(struct reenc_ctx *ctx, struct kmsre_kms_client *client,
                    const struct kmsre_kms_target *target,
                    const unsigned char *in, size_t inlen,
                    struct kmsre_reencrypt_answer *answer)
{
    const char *dest = ctx->req.destination_key_id != NULL
                           ? ctx->req.destination_key_id
                           : ctx->key->ref.key_id;
    struct kmsre_err err = {0};
    enum kmsre_status st;

    st = kmsre_kms_reencrypt(client, target, &ctx->req, in, inlen, dest, answer,
                             &ctx->report, &err);
    ctx->has_report = ctx->report.attempts > 0;
    if (st != KMSRE_OK)
        KMSRE_RAISE_ERR(ctx->prov, &err);
    return st == KMSRE_OK;
}

static int re_encrypt(void *vctx, unsigned char *out, size_t *outlen,
                      size_t outsize, const unsigned char *in, size_t inlen)
{
    struct reenc_ctx *ctx = vctx;
    struct kmsre_key_ref override = {0};
    struct kmsre_reencrypt_answer answer = {0};
    struct kmsre_kms_target target;
    struct kmsre_kms_client *client;
    int ok = 0;

    /* Size query: a bound, with no call to KMS (EVP's two-call protocol). */
    if (out == NULL) {
        *outlen = KMSRE_MAX_CIPHERTEXT;
        return 1;
    }
    forget_outcome(ctx);
    kmsre_fork_barrier_enter(); /* the whole call: see base/fork.h */
    if (ctx->key != NULL && check_request(ctx, inlen) &&
        destination_target(ctx, &override, &target) &&
        (client = kmsre_prov_client(ctx->prov)) != NULL &&
        call_kms(ctx, client, &target, in, inlen, &answer))
        ok = deliver(ctx, &answer, out, outlen, outsize);
    kmsre_reencrypt_answer_clear(&answer);
    kmsre_key_ref_clear(&override);
    kmsre_fork_barrier_leave();
    return ok;
}

const OSSL_DISPATCH kmsre_asym_cipher_functions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))re_newctx},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))re_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))re_dupctx},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))re_encrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))re_encrypt},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))re_get_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS,
     (void (*)(void))re_gettable_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))re_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
     (void (*)(void))re_settable_ctx_params},
    {0, NULL}};
