/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: the provider, the destination key and one ReEncrypt per
 * record, through OpenSSL's public API only (OSSL_PROVIDER, OSSL_STORE,
 * EVP_PKEY_encrypt_init_ex with OSSL_PARAMs, EVP_PKEY_CTX_get_params).
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include "kmsreencrypt.h"
#include "rotate.h"

#define ARN_MAX 2048

enum key_check {
    CHECK_EXACT,  /* --to is a key ARN: the answer must be it */
    CHECK_SUFFIX, /* --to is a key id: the answer must end in :key/ID */
    CHECK_PIN,    /* alias: the first answer is pinned */
};

struct kms {
    const struct options *o;
    OSSL_PROVIDER *prov, *deflt;
    EVP_PKEY *key;
    enum key_check check;
    char want[ARN_MAX];   /* exact ARN, ":key/ID", or an alias ARN's prefix */
    pthread_mutex_t lock; /* pinned */
    char pinned[ARN_MAX];
};

struct kms_worker {
    struct kms *k;
    EVP_PKEY_CTX *ctx;
    unsigned char buf[KMSRE_MAX_CIPHERTEXT];
};

/* The SDKs' throttling error codes (standard mode), as the provider's
 * README lists them. */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    NULL};

int kms_is_throttling(const char *type)
{
    const char *const *p;

    for (p = throttling_codes; *p != NULL; p++)
        if (strcmp(*p, type) == 0)
            return 1;
    return 0;
}

/* The last error on this thread's queue with its text, then an empty
 * queue. */
static void take_errors(char *buf, size_t len)
{
    const char *data, *func, *file;
    unsigned long code;
    int line, flags;

    buf[0] = '\0';
    while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) !=
           0) {
        const char *reason = ERR_reason_error_string(code);

        if ((flags & ERR_TXT_STRING) != 0 && data != NULL && *data != '\0')
            snprintf(buf, len, "%s", data);
        else if (buf[0] == '\0' && reason != NULL)
            snprintf(buf, len, "%s", reason);
    }
}

static void set_env_defaults(const struct options *o)
{
    char n[16];

    if (o->retry_mode != NULL)
        setenv("AWS_RETRY_MODE", o->retry_mode, 1);
    else if (getenv("AWS_RETRY_MODE") == NULL)
        setenv("AWS_RETRY_MODE", "adaptive", 1);
    if (o->max_attempts > 0) {
        snprintf(n, sizeof(n), "%d", o->max_attempts);
        setenv("AWS_MAX_ATTEMPTS", n, 1);
    }
    if (o->endpoint_url != NULL)
        setenv("AWS_ENDPOINT_URL_KMS", o->endpoint_url, 1);
}

/* The key part of --to: without "kms:", "//" and the query. */
static void plan_check(struct kms *k)
{
    const char *t = k->o->to;
    size_t n;
    char id[ARN_MAX];

    if (strncmp(t, "kms:", 4) == 0)
        t += 4;
    if (strncmp(t, "//", 2) == 0)
        t += 2;
    n = strcspn(t, "?");
    if (n >= sizeof(id))
        n = sizeof(id) - 1;
    memcpy(id, t, n);
    id[n] = '\0';
    if (strncmp(id, "arn:", 4) == 0 && strstr(id, ":key/") != NULL) {
        k->check = CHECK_EXACT;
        snprintf(k->want, sizeof(k->want), "%s", id);
    } else if (strncmp(id, "arn:", 4) == 0 && strstr(id, ":alias/") != NULL) {
        /* arn:aws:kms:R:A:alias/N -> answers must start arn:aws:kms:R:A:key/ */
        k->check = CHECK_PIN;
        snprintf(k->want, sizeof(k->want), "%.*s:key/",
                 (int)(strstr(id, ":alias/") - id), id);
    } else if (strncmp(id, "alias/", 6) == 0) {
        k->check = CHECK_PIN;
        k->want[0] = '\0';
    } else {
        k->check = CHECK_SUFFIX;
        snprintf(k->want, sizeof(k->want), ":key/%.2000s", id);
    }
}

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *st;
    EVP_PKEY *pkey = NULL;

    st = OSSL_STORE_open_ex(uri, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (st == NULL)
        return NULL;
    if (OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY))
        while (pkey == NULL && !OSSL_STORE_eof(st)) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(st);

            if (info == NULL)
                break;
            if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
                pkey = OSSL_STORE_INFO_get1_PKEY(info);
            OSSL_STORE_INFO_free(info);
        }
    OSSL_STORE_close(st);
    return pkey;
}

struct kms *kms_open(const struct options *o)
{
    struct kms *k = xcalloc(1, sizeof(*k));
    char why[512];

    k->o = o;
    pthread_mutex_init(&k->lock, NULL);
    plan_check(k);
    set_env_defaults(o);
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    if (o->provider_path != NULL &&
        !OSSL_PROVIDER_set_default_search_path(NULL, o->provider_path)) {
        msg("--provider-path %s: cannot be used", o->provider_path);
        goto fail;
    }
    k->prov = OSSL_PROVIDER_try_load(NULL, KMSRE_PROVIDER_NAME, 1);
    if (k->prov == NULL) {
        take_errors(why, sizeof(why));
        msg("cannot load the %s provider (%s); set OPENSSL_MODULES or "
            "--provider-path to the directory of %s.so",
            KMSRE_PROVIDER_NAME, why, KMSRE_PROVIDER_NAME);
        goto fail;
    }
    k->deflt = OSSL_PROVIDER_try_load(NULL, "default", 1);
    if (k->deflt == NULL) {
        take_errors(why, sizeof(why));
        msg("cannot load OpenSSL's default provider (%s)", why);
        goto fail;
    }
    k->key = load_key(o->key_uri);
    if (k->key == NULL) {
        take_errors(why, sizeof(why));
        msg("--to %s: cannot load the key %s (%s)", o->to, o->key_uri,
            why[0] ? why : "no key");
        goto fail;
    }
    return k;
fail:
    kms_close(k);
    return NULL;
}

void kms_close(struct kms *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->key);
    if (k->deflt != NULL)
        OSSL_PROVIDER_unload(k->deflt);
    if (k->prov != NULL)
        OSSL_PROVIDER_unload(k->prov);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

struct kms_worker *kms_worker_new(struct kms *k)
{
    struct kms_worker *w = xcalloc(1, sizeof(*w));

    w->k = k;
    w->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL);
    if (w->ctx == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

void kms_worker_free(struct kms_worker *w)
{
    if (w == NULL)
        return;
    EVP_PKEY_CTX_free(w->ctx);
    OPENSSL_cleanse(w->buf, sizeof(w->buf));
    free(w);
}

const char *kms_destination_arn(struct kms *k)
{
    const char *p;

    if (k->check == CHECK_EXACT)
        return k->want;
    pthread_mutex_lock(&k->lock);
    p = k->pinned[0] != '\0' ? k->pinned : NULL;
    pthread_mutex_unlock(&k->lock);
    return p;
}

/* Whether KMS's KeyId is the destination key's ARN. */
static int key_id_ok(struct kms *k, const char *arn, char *why, size_t len)
{
    size_t n = strlen(arn), w = strlen(k->want);
    int ok = 1;

    if (strncmp(arn, "arn:", 4) != 0 || strstr(arn, ":key/") == NULL) {
        snprintf(why, len, "KMS answered KeyId \"%.200s\", not a key ARN", arn);
        return 0;
    }
    switch (k->check) {
    case CHECK_EXACT:
        ok = strcmp(arn, k->want) == 0;
        break;
    case CHECK_SUFFIX:
        ok = n > w && strcmp(arn + n - w, k->want) == 0;
        break;
    case CHECK_PIN:
        if (w > 0 && strncmp(arn, k->want, w) != 0) {
            ok = 0;
            break;
        }
        pthread_mutex_lock(&k->lock);
        if (k->pinned[0] == '\0')
            snprintf(k->pinned, sizeof(k->pinned), "%s", arn);
        else
            ok = strcmp(k->pinned, arn) == 0;
        pthread_mutex_unlock(&k->lock);
        if (!ok) {
            snprintf(why, len,
                     "KMS answered KeyId %.150s, but %.100s named %.150s "
                     "earlier in this run (the alias moved?)",
                     arn, k->o->to, kms_destination_arn(k));
            return 0;
        }
        return 1;
    }
    if (!ok)
        snprintf(why, len,
                 "KMS answered KeyId %.200s, which is not the destination "
                 "key %.200s",
                 arn, k->o->to);
    return ok;
}

static void add_param(OSSL_PARAM *p, size_t *n, const char *name,
                      const char *value)
{
    if (value != NULL)
        p[(*n)++] = OSSL_PARAM_construct_utf8_string(name, (char *)value, 0);
}

enum kms_result kms_reencrypt(struct kms_worker *w, struct record *r)
{
    const struct options *o = w->k->o;
    OSSL_PARAM p[10], got[6];
    size_t n = 0, len = sizeof(w->buf);
    const char *src_ctx = r->src_ctx ? r->src_ctx : o->from_context;
    /* The destination context defaults to the source's: rotating a key
     * keeps the context unless --to-context says otherwise ('{}' drops
     * it). */
    const char *dst_ctx = o->to_context ? o->to_context
                          : r->dst_ctx  ? r->dst_ctx
                                        : o->from_context;
    char arn[ARN_MAX] = "", why[512];
    int ok;

    r->error_type[0] = r->error_msg[0] = r->request_id[0] = '\0';
    r->attempts = r->throttles = 0;
    add_param(p, &n, KMSRE_PARAM_SOURCE_KEY_ID, o->from);
    add_param(p, &n, KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT, src_ctx);
    add_param(p, &n, KMSRE_PARAM_DESTINATION_ENCRYPTION_CONTEXT, dst_ctx);
    add_param(p, &n, KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM,
              o->from_algorithm);
    add_param(p, &n, KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM,
              o->to_algorithm);
    add_param(p, &n, KMSRE_PARAM_GRANT_TOKENS, o->grant_tokens);
    add_param(p, &n, KMSRE_PARAM_DRY_RUN, o->dry_run ? "true" : NULL);
    p[n] = OSSL_PARAM_construct_end();

    ERR_clear_error();
    if (EVP_PKEY_encrypt_init_ex(w->ctx, p) <= 0) {
        take_errors(why, sizeof(why));
        record_fail(r, "InvalidParameter", "%s", why);
        return KMS_FAILED;
    }
    ok = EVP_PKEY_encrypt(w->ctx, w->buf, &len, r->blob, r->blob_len) > 0;
    take_errors(why, sizeof(why));

    got[0] = OSSL_PARAM_construct_utf8_string(
        KMSRE_PARAM_REQUEST_ID, r->request_id, sizeof(r->request_id));
    got[1] = OSSL_PARAM_construct_utf8_string(
        KMSRE_PARAM_ERROR_TYPE, r->error_type, sizeof(r->error_type));
    got[2] = OSSL_PARAM_construct_utf8_string(
        KMSRE_PARAM_ERROR_MESSAGE, r->error_msg, sizeof(r->error_msg));
    got[3] = OSSL_PARAM_construct_int(KMSRE_PARAM_ATTEMPTS, &r->attempts);
    got[4] = OSSL_PARAM_construct_int(KMSRE_PARAM_THROTTLES, &r->throttles);
    got[5] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(w->ctx, got) <= 0)
        ERR_clear_error(); /* untouched: no request was sent */
    if (!ok) {
        if (o->dry_run &&
            strcmp(r->error_type, "DryRunOperationException") == 0)
            return KMS_WOULD_MOVE;
        if (kms_is_throttling(r->error_type))
            return KMS_THROTTLED;
        if (r->error_type[0] == '\0') {
            /* No KMS answer (transport, local check): the provider's
             * error queue says why. */
            snprintf(r->error_type, sizeof(r->error_type), "%s",
                     r->attempts > 0 ? "RequestFailed" : "LocalError");
            snprintf(r->error_msg, sizeof(r->error_msg), "%s", why);
        } else if (r->error_msg[0] == '\0')
            snprintf(r->error_msg, sizeof(r->error_msg), "%s", why);
        r->outcome = OUT_FAILED;
        return KMS_FAILED;
    }
    if (o->dry_run) {
        record_fail(r, "UnexpectedAnswer",
                    "a dry run came back with a ciphertext");
        return KMS_FAILED;
    }
    got[0] = OSSL_PARAM_construct_utf8_string(KMSRE_PARAM_DESTINATION_KEY_ID,
                                              arn, sizeof(arn));
    got[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(w->ctx, got) <= 0 ||
        !OSSL_PARAM_modified(&got[0])) {
        ERR_clear_error();
        record_fail(r, "UnexpectedAnswer",
                    "the provider gave no destination-key-id");
        return KMS_FAILED;
    }
    if (len == 0 || len > sizeof(w->buf)) {
        record_fail(r, "UnexpectedAnswer", "empty or oversized ciphertext");
        return KMS_FAILED;
    }
    if (!key_id_ok(w->k, arn, why, sizeof(why))) {
        record_fail(r, "WrongKeyId", "%s", why);
        r->local_failure = 0;
        return KMS_FAILED;
    }
    r->out = xmalloc(len);
    memcpy(r->out, w->buf, len);
    r->out_len = len;
    return KMS_OK;
}
