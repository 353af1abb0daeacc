/* SPDX-License-Identifier: Apache-2.0 */
/* KMS-REENCRYPT asymmetric cipher: "encrypt" is one KMS ReEncrypt call.
 * Input is the source CiphertextBlob, output the new CiphertextBlob. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "errors.h"
#include "key.h"
#include "kms/kms_client.h"
#include "kmsreencrypt.h"

struct kmsre_reenc_ctx {
    struct kmsre_prov *prov;
    struct kmsre_key *key;
    /* The request, as set through params. */
    char *source_key_id;
    char *destination_key_id;
    struct json_object *source_context;
    struct json_object *destination_context;
    char *source_algorithm;
    char *destination_algorithm;
    struct json_object *grant_tokens;
    int dry_run;
    struct json_object *dry_run_modifiers;
    /* KMS's answer to the last successful call (ciphertext not kept). */
    struct kms_reencrypt_resp answer;
    /* How the last call that reached the network went. */
    struct kms_error report;
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

static void *re_newctx(void *provctx)
{
    struct kmsre_reenc_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL) {
        KMSRE_RAISE(provctx, KMSRE_R_MALLOC_FAILURE, "cipher context");
        return NULL;
    }
    ctx->prov = provctx;
    return ctx;
}

static void clear_request(struct kmsre_reenc_ctx *ctx)
{
    OPENSSL_free(ctx->source_key_id);
    OPENSSL_free(ctx->destination_key_id);
    json_object_put(ctx->source_context);
    json_object_put(ctx->destination_context);
    OPENSSL_free(ctx->source_algorithm);
    OPENSSL_free(ctx->destination_algorithm);
    json_object_put(ctx->grant_tokens);
    json_object_put(ctx->dry_run_modifiers);
    ctx->source_key_id = ctx->destination_key_id = NULL;
    ctx->source_context = ctx->destination_context = NULL;
    ctx->source_algorithm = ctx->destination_algorithm = NULL;
    ctx->grant_tokens = ctx->dry_run_modifiers = NULL;
    ctx->dry_run = 0;
}

static void re_freectx(void *vctx)
{
    struct kmsre_reenc_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    clear_request(ctx);
    kms_reencrypt_resp_clear(&ctx->answer);
    kmsre_key_free(ctx->key);
    OPENSSL_free(ctx);
}

static int dup_string(char **dst, const char *src)
{
    *dst = src != NULL ? OPENSSL_strdup(src) : NULL;
    return src == NULL || *dst != NULL;
}

/* A copy gets its own json-c objects: json-c's reference counts are not
 * atomic, and copies of a context may live in different threads. */
static int copy_json(struct json_object *src, struct json_object **dst)
{
    *dst = NULL;
    return src == NULL || json_object_deep_copy(src, dst, NULL) == 0;
}

static void *re_dupctx(void *vctx)
{
    const struct kmsre_reenc_ctx *src = vctx;
    struct kmsre_reenc_ctx *dst = re_newctx(src->prov);

    if (dst == NULL)
        return NULL;
    if (src->key != NULL && kmsre_key_up_ref(src->key))
        dst->key = src->key;
    dst->dry_run = src->dry_run;
    if (!copy_json(src->source_context, &dst->source_context) ||
        !copy_json(src->destination_context, &dst->destination_context) ||
        !copy_json(src->grant_tokens, &dst->grant_tokens) ||
        !copy_json(src->dry_run_modifiers, &dst->dry_run_modifiers) ||
        !dup_string(&dst->source_key_id, src->source_key_id) ||
        !dup_string(&dst->destination_key_id, src->destination_key_id) ||
        !dup_string(&dst->source_algorithm, src->source_algorithm) ||
        !dup_string(&dst->destination_algorithm, src->destination_algorithm)) {
        KMSRE_RAISE(src->prov, KMSRE_R_MALLOC_FAILURE, "cipher context copy");
        re_freectx(dst);
        return NULL;
    }
    return dst;
}

static int re_encrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    struct kmsre_reenc_ctx *ctx = vctx;
    struct kmsre_key *key = vkey;

    if (key == NULL || key->ref.key_id == NULL) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_MISSING_PARAMETER,
                    "the key names no KMS key");
        return 0;
    }
    kmsre_key_up_ref(key);
    kmsre_key_free(ctx->key);
    ctx->key = key;
    clear_request(ctx);
    kms_reencrypt_resp_clear(&ctx->answer);
    ctx->has_report = 0;
    return re_set_ctx_params(ctx, params);
}

/* ---- settable parameters ------------------------------------------- */

static const OSSL_PARAM known_settable_ctx_params[] = {
    OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DESTINATION_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DESTINATION_ENCRYPTION_CONTEXT, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM, NULL,
                           0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_GRANT_TOKENS, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DRY_RUN, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DRY_RUN_MODIFIERS, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM *re_settable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return known_settable_ctx_params;
}

/* A NUL-terminated copy of a UTF-8 param (its data need not end in NUL). */
static char *param_text(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p)
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

static int set_key_id(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p,
                      char **field)
{
    struct kms_key_ref ref = {0};
    char err[256] = "";
    char *text = param_text(ctx, p);
    enum kmsre_status st;

    if (text == NULL)
        return 0;
    st = kms_key_ref_parse_id(text, &ref, err, sizeof(err));
    kms_key_ref_clear(&ref);
    if (st != KMSRE_OK) {
        KMSRE_RAISE(ctx->prov, kmsre_reason_for_status(st), "%s: %s", p->key,
                    err);
        OPENSSL_free(text);
        return 0;
    }
    OPENSSL_free(*field);
    *field = text;
    return 1;
}

static int set_context(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p,
                       struct json_object **field)
{
    struct json_object *map = NULL;
    char err[256] = "";
    char *text = param_text(ctx, p);
    enum kmsre_status st;

    if (text == NULL)
        return 0;
    st = kmsre_context_parse(text, strlen(text), &map, err, sizeof(err));
    OPENSSL_free(text);
    if (st != KMSRE_OK) {
        KMSRE_RAISE(ctx->prov, kmsre_reason_for_status(st), "%s: %s", p->key,
                    err);
        return 0;
    }
    json_object_put(*field);
    *field = map;
    return 1;
}

static int set_algorithm(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p,
                         char **field)
{
    char *text = param_text(ctx, p);

    if (text == NULL)
        return 0;
    if (!kms_algorithm_is_known(text)) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s: unknown algorithm \"%.64s\" (SYMMETRIC_DEFAULT, "
                    "RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256 or SM2PKE)",
                    p->key, text);
        OPENSSL_free(text);
        return 0;
    }
    OPENSSL_free(*field);
    *field = text;
    return 1;
}

static int set_grant_tokens(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p)
{
    char err[256] = "";
    char *text = param_text(ctx, p);
    enum kmsre_status st;

    if (text == NULL)
        return 0;
    st = kmsre_grant_tokens_append(&ctx->grant_tokens, text, strlen(text), err,
                                   sizeof(err));
    OPENSSL_clear_free(text, strlen(text));
    if (st != KMSRE_OK) {
        KMSRE_RAISE(ctx->prov, kmsre_reason_for_status(st), "%s: %s", p->key,
                    err);
        return 0;
    }
    return 1;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1;
        if (strcasecmp(s, no[i]) == 0)
            return (*out = 0) == 0;
    }
    return 0;
}

/* UTF-8 for -pkeyopt; an integer is accepted too for EVP callers. */
static int set_dry_run(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p)
{
    char *text;
    int ok;

    if (p->data_type == OSSL_PARAM_INTEGER ||
        p->data_type == OSSL_PARAM_UNSIGNED_INTEGER) {
        if (!OSSL_PARAM_get_int(p, &ctx->dry_run))
            return 0;
        ctx->dry_run = ctx->dry_run != 0;
        return 1;
    }
    if ((text = param_text(ctx, p)) == NULL)
        return 0;
    ok = parse_bool(text, &ctx->dry_run);
    if (!ok)
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s: \"%.32s\" is not a boolean (true/false)", p->key,
                    text);
    OPENSSL_free(text);
    return ok;
}

static int set_dry_run_modifiers(struct kmsre_reenc_ctx *ctx,
                                 const OSSL_PARAM *p)
{
    struct json_object *list;
    char *text = param_text(ctx, p);
    int ok = 1;

    if (text == NULL)
        return 0;
    list = json_object_new_array();
    if (strcmp(text, "IGNORE_CIPHERTEXT") == 0)
        ok = list != NULL &&
             json_object_array_add(
                 list, json_object_new_string("IGNORE_CIPHERTEXT")) == 0;
    else if (*text != '\0')
        ok = 0;
    if (!ok)
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER,
                    "%s: unknown modifier \"%.64s\" (IGNORE_CIPHERTEXT)",
                    p->key, text);
    OPENSSL_free(text);
    if (!ok || list == NULL) {
        json_object_put(list);
        return 0;
    }
    json_object_put(ctx->dry_run_modifiers);
    ctx->dry_run_modifiers = json_object_array_length(list) > 0 ? list : NULL;
    if (ctx->dry_run_modifiers == NULL)
        json_object_put(list);
    return 1;
}

static int set_one_param(struct kmsre_reenc_ctx *ctx, const OSSL_PARAM *p)
{
    const char *k = p->key;

    if (strcmp(k, KMSRE_PARAM_SOURCE_KEY_ID) == 0)
        return set_key_id(ctx, p, &ctx->source_key_id);
    if (strcmp(k, KMSRE_PARAM_DESTINATION_KEY_ID) == 0)
        return set_key_id(ctx, p, &ctx->destination_key_id);
    if (strcmp(k, KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT) == 0)
        return set_context(ctx, p, &ctx->source_context);
    if (strcmp(k, KMSRE_PARAM_DESTINATION_ENCRYPTION_CONTEXT) == 0)
        return set_context(ctx, p, &ctx->destination_context);
    if (strcmp(k, KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM) == 0)
        return set_algorithm(ctx, p, &ctx->source_algorithm);
    if (strcmp(k, KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM) == 0)
        return set_algorithm(ctx, p, &ctx->destination_algorithm);
    if (strcmp(k, KMSRE_PARAM_GRANT_TOKENS) == 0)
        return set_grant_tokens(ctx, p);
    if (strcmp(k, KMSRE_PARAM_DRY_RUN) == 0)
        return set_dry_run(ctx, p);
    if (strcmp(k, KMSRE_PARAM_DRY_RUN_MODIFIERS) == 0)
        return set_dry_run_modifiers(ctx, p);
    return 1; /* not ours: ignored, as OpenSSL's own ciphers do */
}

static int re_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct kmsre_reenc_ctx *ctx = vctx;

    for (; params != NULL && params->key != NULL; params++)
        if (!set_one_param(ctx, params))
            return 0;
    return 1;
}

/* ---- gettable parameters: KMS's answer ------------------------------ */

static const OSSL_PARAM known_gettable_ctx_params[] = {
    OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DESTINATION_KEY_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM, NULL,
                           0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_REQUEST_ID, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_ERROR_TYPE, NULL, 0),
    OSSL_PARAM_utf8_string(KMSRE_PARAM_ERROR_MESSAGE, NULL, 0),
    OSSL_PARAM_int(KMSRE_PARAM_ATTEMPTS, NULL),
    OSSL_PARAM_int(KMSRE_PARAM_THROTTLES, NULL),
    OSSL_PARAM_END};

static const OSSL_PARAM *re_gettable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return known_gettable_ctx_params;
}

static int get_answer(OSSL_PARAM params[], const char *name, const char *v)
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, name);

    return p == NULL || v == NULL || OSSL_PARAM_set_utf8_string(p, v);
}

static int get_count(OSSL_PARAM params[], const char *name, int v)
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, name);

    return p == NULL || OSSL_PARAM_set_int(p, v);
}

static int get_report(const struct kmsre_reenc_ctx *ctx, OSSL_PARAM params[])
{
    const struct kms_error *r = &ctx->report;

    if (!ctx->has_report)
        return 1;
    return get_answer(params, KMSRE_PARAM_REQUEST_ID, r->request_id) &&
           get_answer(params, KMSRE_PARAM_ERROR_TYPE, r->type) &&
           get_answer(params, KMSRE_PARAM_ERROR_MESSAGE, r->message) &&
           get_count(params, KMSRE_PARAM_ATTEMPTS, r->attempts) &&
           get_count(params, KMSRE_PARAM_THROTTLES, r->throttles);
}

static int re_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    const struct kmsre_reenc_ctx *ctx = vctx;
    const struct kms_reencrypt_resp *a = &ctx->answer;

    return get_report(ctx, params) &&
           get_answer(params, KMSRE_PARAM_SOURCE_KEY_ID, a->source_key_id) &&
           get_answer(params, KMSRE_PARAM_DESTINATION_KEY_ID, a->key_id) &&
           get_answer(params, KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM,
                      a->source_algorithm) &&
           get_answer(params, KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM,
                      a->destination_algorithm);
}

/* ---- encrypt = ReEncrypt -------------------------------------------- */

static int ignores_ciphertext(const struct kmsre_reenc_ctx *ctx)
{
    return ctx->dry_run_modifiers != NULL;
}

/* Everything that can be checked without KMS is, before any request. */
static int check_request(struct kmsre_reenc_ctx *ctx, size_t inlen)
{
    if (ignores_ciphertext(ctx)) {
        if (!ctx->dry_run || ctx->source_key_id == NULL) {
            KMSRE_RAISE(ctx->prov, KMSRE_R_MISSING_PARAMETER,
                        "dry-run-modifiers IGNORE_CIPHERTEXT needs dry-run "
                        "and source-key-id");
            return 0;
        }
        return 1;
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

static void fill_request(const struct kmsre_reenc_ctx *ctx,
                         struct kms_reencrypt_req *req, const unsigned char *in,
                         size_t inlen)
{
    memset(req, 0, sizeof(*req));
    req->ciphertext = in;
    req->ciphertext_len = inlen;
    req->source_key_id = ctx->source_key_id;
    req->destination_key_id = ctx->destination_key_id != NULL
                                  ? ctx->destination_key_id
                                  : ctx->key->ref.key_id;
    req->source_context = ctx->source_context;
    req->destination_context = ctx->destination_context;
    req->source_algorithm = ctx->source_algorithm;
    req->destination_algorithm = ctx->destination_algorithm;
    req->grant_tokens = ctx->grant_tokens;
    req->dry_run = ctx->dry_run;
    req->dry_run_modifiers = ctx->dry_run_modifiers;
}

/* The destination key decides where the request goes: an overriding ARN
 * brings its own region; otherwise the key's region (ARN or URI). */
static int destination_target(struct kmsre_reenc_ctx *ctx,
                              struct kms_key_ref *override,
                              struct kms_target *t)
{
    char err[256] = "";

    t->key_region = ctx->key->ref.region;
    t->profile = ctx->key->ref.profile;
    if (ctx->destination_key_id == NULL)
        return 1;
    if (kms_key_ref_parse_id(ctx->destination_key_id, override, err,
                             sizeof(err)) != KMSRE_OK) {
        KMSRE_RAISE(ctx->prov, KMSRE_R_INVALID_PARAMETER, "%s", err);
        return 0;
    }
    if (override->region != NULL)
        t->key_region = override->region;
    return 1;
}

/* The error text for a failed call; KMS's own answers carry their type,
 * message, status and request id. Returns the reason to raise. */
static int describe_failure(enum kmsre_status st, const struct kms_error *kerr,
                            const char *why, char *buf, size_t len)
{
    if (st != KMSRE_ERR_SERVICE) {
        snprintf(buf, len, "%s", why);
        return kmsre_reason_for_status(st);
    }
    snprintf(buf, len, "KMS %s: %s (HTTP %ld, request id %s)",
             kerr->type[0] != '\0' ? kerr->type : "error",
             kerr->message[0] != '\0' ? kerr->message : "(no message)",
             kerr->http_status,
             kerr->request_id[0] != '\0' ? kerr->request_id : "none");
    return KMSRE_R_KMS_ERROR;
}

static int deliver(struct kmsre_reenc_ctx *ctx, struct kms_reencrypt_resp *a,
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
    kms_reencrypt_resp_clear(&ctx->answer);
    ctx->answer = *a; /* moved: the caller's copy must not free it again */
    memset(a, 0, sizeof(*a));
    return 1;
}

static int re_encrypt(void *vctx, unsigned char *out, size_t *outlen,
                      size_t outsize, const unsigned char *in, size_t inlen)
{
    struct kmsre_reenc_ctx *ctx = vctx;
    struct kms_key_ref override = {0};
    struct kms_reencrypt_req req;
    struct kms_reencrypt_resp answer = {0};
    struct kms_error kerr = {0};
    struct kms_target target;
    struct kms_client *client;
    char why[512] = "";
    enum kmsre_status st;
    int ok = 0;

    /* Size query: a bound, with no call to KMS (EVP's two-call protocol). */
    if (out == NULL) {
        *outlen = KMSRE_MAX_CIPHERTEXT;
        return 1;
    }
    if (ctx->key == NULL || !check_request(ctx, inlen) ||
        !destination_target(ctx, &override, &target) ||
        (client = kmsre_prov_client(ctx->prov)) == NULL)
        goto end;
    fill_request(ctx, &req, in, inlen);
    st = kms_client_reencrypt(client, &target, &req, &answer, &kerr, why,
                              sizeof(why));
    ctx->report = kerr;
    ctx->has_report = kerr.attempts > 0;
    if (st != KMSRE_OK) {
        char msg[1024];
        int reason = describe_failure(st, &kerr, why, msg, sizeof(msg));

        KMSRE_RAISE(ctx->prov, reason, "%s", msg);
    } else
        ok = deliver(ctx, &answer, out, outlen, outsize);
end:
    kms_reencrypt_resp_clear(&answer);
    kms_key_ref_clear(&override);
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
