/* SPDX-License-Identifier: Apache-2.0 */
/* The KMS client: sessions that resolve region, endpoint, retry settings
 * and credentials once per (key region, profile), and the operations. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "kms/kms_internal.h"

static int env_true(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
                         strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

static time_t system_clock(void)
{
    return time(NULL);
}

static const char *ca_bundle(const struct kmsre_config *cfg)
{
    const char *env = getenv("AWS_CA_BUNDLE");

    if (cfg->ca_bundle != NULL)
        return cfg->ca_bundle;
    return env != NULL && *env != '\0' ? env : NULL;
}

enum kmsre_status kms_client_new(struct kms_client **out,
                                 const struct kmsre_config *cfg, char *why,
                                 size_t whylen)
{
    struct kmsre_http_settings hs = {ca_bundle(cfg), cfg->connect_timeout_ms,
                                     cfg->request_timeout_ms};
    struct kms_client *c = OPENSSL_zalloc(sizeof(*c));
    enum kmsre_status st;

    if (c == NULL)
        return KMSRE_ERR_NOMEM;
    c->cfg = cfg;
    c->clock = system_clock;
    c->debug = cfg->debug || env_true("KMSRE_DEBUG");
    kms_retry_quota_init(&c->quota);
    kms_rate_limiter_init(&c->limiter, kms_monotonic_now());
    pthread_mutex_init(&c->lock, NULL);
    c->libctx = OSSL_LIB_CTX_new();
    st = c->libctx == NULL ? KMSRE_ERR_NOMEM
                           : sigv4_algs_fetch(&c->algs, c->libctx, NULL);
    if (st == KMSRE_OK)
        st = kmsre_http_curl_new(&c->http, &hs);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot set up the KMS client (%s)",
                 st == KMSRE_ERR_TRANSPORT ? "libcurl init failed"
                                           : "crypto or memory");
        kms_client_free(c);
        return st;
    }
    *out = c;
    return KMSRE_OK;
}

static void session_free(struct kms_session *s)
{
    OPENSSL_free(s->key_region);
    OPENSSL_free(s->profile);
    aws_creds_cache_clear(&s->creds);
    OPENSSL_free(s);
}

void kms_client_free(struct kms_client *c)
{
    struct kms_session *s;

    if (c == NULL)
        return;
    while ((s = c->sessions) != NULL) {
        c->sessions = s->next;
        session_free(s);
    }
    kmsre_http_free(&c->http);
    sigv4_algs_free(&c->algs);
    OSSL_LIB_CTX_free(c->libctx);
    kms_retry_quota_free(&c->quota);
    kms_rate_limiter_free(&c->limiter);
    pthread_mutex_destroy(&c->lock);
    OPENSSL_free(c);
}

void kms_client_set_http(struct kms_client *c, struct kmsre_http http)
{
    kmsre_http_free(&c->http);
    c->http = http;
}

void kms_client_set_clock(struct kms_client *c, time_t (*clock)(void))
{
    c->clock = clock;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The first of: configuration, environment variable, profile setting. */
static const char *first_setting(const char *cfg_value, const char *env,
                                 const struct aws_shared_config *sc,
                                 const char *profile, const char *key,
                                 const char **source)
{
    const char *v = getenv(env);

    *source = "the provider configuration";
    if (cfg_value != NULL)
        return cfg_value;
    *source = env;
    if (v != NULL && *v != '\0')
        return v;
    *source = key;
    v = aws_profile_setting(sc, profile, key);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* retry-mode/AWS_RETRY_MODE/retry_mode and max-attempts/AWS_MAX_ATTEMPTS/
 * max_attempts, checked before any request. */
static enum kmsre_status resolve_retries(const struct kmsre_config *cfg,
                                         const struct aws_shared_config *sc,
                                         const char *profile,
                                         struct kms_session *s, char *why,
                                         size_t whylen)
{
    char attempts_buf[24];
    const char *src, *v;
    char *end;
    long n;

    v = first_setting(cfg->retry_mode, "AWS_RETRY_MODE", sc, profile,
                      "retry_mode", &src);
    if (v != NULL && !kms_retry_mode_parse(v, &s->retry_mode)) {
        snprintf(why, whylen,
                 "%s: retry mode must be standard, adaptive or legacy", src);
        return KMSRE_ERR_INVALID;
    }
    snprintf(attempts_buf, sizeof(attempts_buf), "%ld", cfg->max_attempts);
    v = first_setting(cfg->max_attempts > 0 ? attempts_buf : NULL,
                      "AWS_MAX_ATTEMPTS", sc, profile, "max_attempts", &src);
    s->max_attempts = s->retry_mode == KMS_RETRY_LEGACY
                          ? KMS_RETRY_LEGACY_ATTEMPTS
                          : KMS_RETRY_DEFAULT_ATTEMPTS;
    if (v == NULL)
        return KMSRE_OK;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > KMSRE_MAX_ATTEMPTS_LIMIT) {
        snprintf(why, whylen, "%s: max attempts must be 1..%d", src,
                 KMSRE_MAX_ATTEMPTS_LIMIT);
        return KMSRE_ERR_INVALID;
    }
    s->max_attempts = (int)n;
    return KMSRE_OK;
}

/* The credential chain for a session; runs at the first request and at
 * each refresh (reading the shared files once each time). */
static enum kmsre_status fetch_creds(void *arg, struct aws_creds *out,
                                     char *why, size_t whylen)
{
    struct kms_session *s = arg;
    const struct kms_client *c = s->client;
    struct aws_shared_config loaded;
    struct aws_chain_ctx cx = {s->preloaded, &c->http, &c->algs, s->region,
                               c->clock()};
    enum kmsre_status st;

    if (cx.sc == NULL) {
        st = aws_shared_config_load(&loaded);
        if (st != KMSRE_OK) {
            snprintf(why, whylen, "cannot read the AWS shared config files");
            return st;
        }
        cx.sc = &loaded;
    }
    st = aws_creds_resolve(&cx,
                           s->profile != NULL ? s->profile : c->cfg->profile,
                           out, why, whylen);
    if (cx.sc == &loaded)
        aws_shared_config_clear(&loaded);
    return st;
}

static enum kmsre_status resolve_session(const struct kms_client *c,
                                         struct kms_session *s, char *why,
                                         size_t whylen)
{
    const char *explicit_profile =
        s->profile != NULL ? s->profile : c->cfg->profile;
    const char *profile = aws_profile_name(explicit_profile);
    struct aws_shared_config sc;
    enum kmsre_status st;

    st = aws_shared_config_load(&sc);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot read the AWS shared config files");
        return st;
    }
    st = aws_region_resolve(s->key_region, c->cfg->region, &sc, profile,
                            s->region, why, whylen);
    if (st == KMSRE_OK)
        st = aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS",
                                  c->cfg->endpoint, &sc, profile, s->region,
                                  &s->endpoint, why, whylen);
    if (st == KMSRE_OK)
        st = resolve_retries(c->cfg, &sc, profile, s, why, whylen);
    if (st == KMSRE_OK) {
        struct aws_identity *id;

        s->preloaded = &sc;
        st = aws_creds_cache_get(&s->creds, &id, why, whylen);
        s->preloaded = NULL;
        if (st == KMSRE_OK)
            aws_creds_cache_put(&s->creds, id);
    }
    aws_shared_config_clear(&sc);
    return st;
}

static struct kms_session *new_session(struct kms_client *c,
                                       const struct kms_target *t)
{
    struct kms_session *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->client = c;
    aws_creds_cache_init(&s->creds, fetch_creds, s, c->clock);
    if ((t->key_region != NULL &&
         (s->key_region = OPENSSL_strdup(t->key_region)) == NULL) ||
        (t->profile != NULL &&
         (s->profile = OPENSSL_strdup(t->profile)) == NULL)) {
        session_free(s);
        return NULL;
    }
    return s;
}

/* Finds or makes the session for a target. Resolution failures are not
 * cached: the user may fix the environment and retry in the same process. */
static enum kmsre_status get_session(struct kms_client *c,
                                     const struct kms_target *t,
                                     struct kms_session **out, char *why,
                                     size_t whylen)
{
    struct kms_session *s;
    enum kmsre_status st = KMSRE_OK;

    pthread_mutex_lock(&c->lock);
    for (s = c->sessions; s != NULL; s = s->next)
        if (same(s->key_region, t->key_region) && same(s->profile, t->profile))
            break;
    if (s == NULL) {
        s = new_session(c, t);
        st = s == NULL ? KMSRE_ERR_NOMEM : resolve_session(c, s, why, whylen);
        if (st == KMSRE_OK) {
            s->next = c->sessions;
            c->sessions = s;
        } else if (s != NULL) {
            session_free(s);
            s = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
    *out = s;
    return st;
}

enum kmsre_status kms_client_reencrypt(struct kms_client *c,
                                       const struct kms_target *target,
                                       const struct kms_reencrypt_req *req,
                                       struct kms_reencrypt_resp *resp,
                                       struct kms_error *kerr, char *why,
                                       size_t whylen)
{
    struct kmsre_http_response hresp;
    struct kms_session *s;
    enum kmsre_status st;
    char *body = NULL;
    size_t len = 0;

    memset(&hresp, 0, sizeof(hresp));
    st = get_session(c, target, &s, why, whylen);
    if (st != KMSRE_OK)
        return st;
    st = kms_reencrypt_build(req, &body, &len);
    if (st == KMSRE_OK)
        st = kms_send(c, s, "ReEncrypt", body, len, &hresp, kerr, why, whylen);
    if (st == KMSRE_OK)
        st = kms_reencrypt_parse(hresp.body != NULL ? hresp.body : "",
                                 hresp.body_len, resp, why, whylen);
    if (body != NULL)
        OPENSSL_clear_free(body, len);
    kmsre_http_response_clear(&hresp);
    return st;
}
