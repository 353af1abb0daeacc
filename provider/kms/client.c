/* SPDX-License-Identifier: Apache-2.0 */
/* The KMS client: sessions that resolve region, endpoint, retry settings
 * and credentials once per (key region, profile), and the operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds_chain.h"
#include "base/text.h"
#include "kms/client_internal.h"

static time_t system_clock(void)
{
    return time(NULL);
}

/* The configuration's strings, copied (the caller's may go away). */
static int copy_config(struct kmsre_kms_client *c,
                       const struct kmsre_kms_config *cfg)
{
    const char **fields[] = {&c->cfg.region, &c->cfg.profile, &c->cfg.endpoint,
                             &c->cfg.ca_bundle, &c->cfg.retry_mode};
    size_t i;

    c->cfg = *cfg;
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (*fields[i] == NULL)
            continue;
        c->strings[i] = OPENSSL_strdup(*fields[i]);
        if (c->strings[i] == NULL)
            return 0;
        *fields[i] = c->strings[i];
    }
    return 1;
}

/* cnf ca-bundle, else AWS_CA_BUNDLE (else the system store). */
static const char *ca_bundle(const struct kmsre_kms_config *cfg)
{
    return cfg->ca_bundle != NULL ? cfg->ca_bundle : kmsre_env("AWS_CA_BUNDLE");
}

static enum kmsre_status set_up(struct kmsre_kms_client *c)
{
    struct kmsre_http_settings hs = {ca_bundle(&c->cfg),
                                     c->cfg.connect_timeout_ms,
                                     c->cfg.request_timeout_ms};

    if (!kmsre_mutex_init(&c->lock) || !kmsre_retry_quota_init(&c->quota) ||
        !kmsre_rate_limiter_init(&c->limiter, kmsre_monotonic_now()))
        return KMSRE_ERR_NOMEM;
    if (kmsre_sigv4_algs_fetch(&c->algs, c->libctx, NULL) != KMSRE_OK)
        return KMSRE_ERR_CRYPTO;
    return kmsre_http_curl_new(&c->http, &hs);
}

static enum kmsre_status new_client(struct kmsre_kms_client **out,
                                    const struct kmsre_kms_config *cfg,
                                    OSSL_LIB_CTX *libctx, struct kmsre_err *err)
{
    struct kmsre_kms_client *c = OPENSSL_zalloc(sizeof(*c));
    enum kmsre_status st;

    if (c == NULL || !copy_config(c, cfg)) {
        kmsre_kms_client_free(c);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    c->libctx = libctx;
    c->clock = system_clock;
    c->trace.on = cfg->debug || kmsre_env_true("KMSRE_DEBUG");
    st = set_up(c);
    if (st != KMSRE_OK) {
        kmsre_kms_client_free(c);
        return kmsre_fail(err, st, "cannot set up the KMS client (%s)",
                          st == KMSRE_ERR_TRANSPORT ? "libcurl init failed"
                          : st == KMSRE_ERR_CRYPTO
                              ? "SHA-256 or HMAC cannot be fetched"
                              : "out of memory");
    }
    *out = c;
    return KMSRE_OK;
}

/* Making a client fetches algorithms and sets libcurl up: inside the fork
 * barrier, as every KMS call (base/fork.h). */
enum kmsre_status kmsre_kms_client_new(struct kmsre_kms_client **out,
                                       const struct kmsre_kms_config *cfg,
                                       OSSL_LIB_CTX *libctx,
                                       struct kmsre_err *err)
{
    enum kmsre_status st;

    kmsre_fork_barrier_enter();
    st = new_client(out, cfg, libctx, err);
    kmsre_fork_barrier_leave();
    return st;
}

static void session_free(struct kmsre_kms_session *s)
{
    OPENSSL_free(s->key_region);
    OPENSSL_free(s->profile);
    kmsre_creds_cache_clear(&s->creds);
    OPENSSL_free(s);
}

void kmsre_kms_client_free(struct kmsre_kms_client *c)
{
    struct kmsre_kms_session *s;
    size_t i;

    if (c == NULL)
        return;
    kmsre_fork_barrier_enter(); /* TLS shutdowns and frees inside OpenSSL */
    while ((s = c->sessions) != NULL) {
        c->sessions = s->next;
        session_free(s);
    }
    kmsre_http_free(&c->http);
    kmsre_sigv4_algs_free(&c->algs);
    /* Zeroed mutexes that set_up never reached are destroyed harmlessly. */
    kmsre_retry_quota_free(&c->quota);
    kmsre_rate_limiter_free(&c->limiter);
    kmsre_mutex_destroy(&c->lock);
    for (i = 0; i < sizeof(c->strings) / sizeof(c->strings[0]); i++)
        OPENSSL_free(c->strings[i]);
    OPENSSL_free(c);
    kmsre_fork_barrier_leave();
}

void kmsre_kms_client_set_http(struct kmsre_kms_client *c,
                               struct kmsre_http http)
{
    kmsre_http_free(&c->http);
    c->http = http;
}

void kmsre_kms_client_set_clock(struct kmsre_kms_client *c,
                                time_t (*clock)(void))
{
    c->clock = clock;
}

/* ---- sessions ----------------------------------------------------------- */

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *session_profile(const struct kmsre_kms_client *c,
                                   const struct kmsre_kms_session *s)
{
    return s->profile != NULL ? s->profile : c->cfg.profile;
}

/* The first of: configuration, environment variable, profile setting. */
static const char *first_setting(const char *cfg_value, const char *env,
                                 const struct kmsre_shared_config *sc,
                                 const char *profile, const char *key,
                                 const char **source)
{
    const char *v;

    *source = "the provider configuration";
    if (cfg_value != NULL)
        return cfg_value;
    *source = env;
    if ((v = kmsre_env(env)) != NULL)
        return v;
    *source = key;
    return kmsre_profile_setting(sc, profile, key);
}

/* retry-mode/AWS_RETRY_MODE/retry_mode and max-attempts/AWS_MAX_ATTEMPTS/
 * max_attempts, checked before any request. */
static enum kmsre_status resolve_retries(const struct kmsre_kms_client *c,
                                         const struct kmsre_shared_config *sc,
                                         const char *profile,
                                         struct kmsre_kms_session *s,
                                         struct kmsre_err *err)
{
    char attempts_buf[24];
    const char *src, *v;
    char *end;
    long n;

    v = first_setting(c->cfg.retry_mode, "AWS_RETRY_MODE", sc, profile,
                      "retry_mode", &src);
    if (v != NULL && !kmsre_retry_mode_parse(v, &s->retry_mode))
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "%s: retry mode must be standard, adaptive or "
                          "legacy",
                          src);
    snprintf(attempts_buf, sizeof(attempts_buf), "%ld", c->cfg.max_attempts);
    v = first_setting(c->cfg.max_attempts > 0 ? attempts_buf : NULL,
                      "AWS_MAX_ATTEMPTS", sc, profile, "max_attempts", &src);
    s->max_attempts = s->retry_mode == KMSRE_RETRY_LEGACY
                          ? KMSRE_RETRY_LEGACY_ATTEMPTS
                          : KMSRE_RETRY_DEFAULT_ATTEMPTS;
    if (v == NULL)
        return KMSRE_OK;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > KMSRE_MAX_ATTEMPTS_LIMIT)
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "%s: max attempts must be 1..%d", src,
                          KMSRE_MAX_ATTEMPTS_LIMIT);
    s->max_attempts = (int)n;
    return KMSRE_OK;
}

/* The credential chain for a session; runs at the first request and at
 * each refresh (reading the shared files once each time). */
static enum kmsre_status fetch_creds(void *arg, struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    struct kmsre_kms_session *s = arg;
    const struct kmsre_kms_client *c = s->client;
    struct kmsre_shared_config loaded;
    struct kmsre_creds_env env = {&c->http,  &c->algs,  s->preloaded,
                                  c->libctx, s->region, c->clock(),
                                  &c->trace};
    enum kmsre_status st;

    if (env.sc == NULL) {
        if (kmsre_shared_config_load(&loaded) != KMSRE_OK)
            return kmsre_fail(err, KMSRE_ERR_IO,
                              "cannot read the AWS shared config files");
        env.sc = &loaded;
    }
    st = kmsre_creds_resolve(&env, session_profile(c, s), out, err);
    if (env.sc == &loaded)
        kmsre_shared_config_clear(&loaded);
    return st;
}

static enum kmsre_status resolve_endpoint(const struct kmsre_kms_client *c,
                                          struct kmsre_kms_session *s,
                                          const struct kmsre_shared_config *sc,
                                          const char *profile,
                                          struct kmsre_err *err)
{
    struct kmsre_endpoint_query q = {"kms", NULL,    c->cfg.endpoint,
                                     sc,    profile, s->region};
    const char *from = "";
    enum kmsre_status st = kmsre_endpoint_resolve(&q, &s->endpoint, &from, err);

    if (st == KMSRE_OK)
        kmsre_trace(&c->trace, "endpoint %s (from %s)", s->endpoint.url, from);
    return st;
}

/* Region, endpoint, retry settings and a first set of credentials. */
static enum kmsre_status resolve_session(struct kmsre_kms_client *c,
                                         struct kmsre_kms_session *s,
                                         struct kmsre_err *err)
{
    const char *profile = kmsre_profile_name(session_profile(c, s));
    struct kmsre_shared_config sc;
    struct kmsre_identity *id;
    const char *from = "";
    enum kmsre_status st;

    if (kmsre_shared_config_load(&sc) != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_IO,
                          "cannot read the AWS shared config files");
    st = kmsre_region_resolve(s->key_region, c->cfg.region, &sc, profile,
                              s->region, &from, err);
    if (st == KMSRE_OK) {
        kmsre_trace(&c->trace, "region %s (from %s)", s->region, from);
        st = resolve_endpoint(c, s, &sc, profile, err);
    }
    if (st == KMSRE_OK)
        st = resolve_retries(c, &sc, profile, s, err);
    if (st == KMSRE_OK &&
        !kmsre_creds_cache_init(&s->creds, fetch_creds, s, c->clock, &c->algs,
                                s->region, "kms"))
        st = kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    if (st == KMSRE_OK) {
        s->preloaded = &sc;
        st = kmsre_creds_cache_get(&s->creds, &id, err);
        s->preloaded = NULL;
        if (st == KMSRE_OK)
            kmsre_creds_cache_put(&s->creds, id);
    }
    kmsre_shared_config_clear(&sc);
    return st;
}

static struct kmsre_kms_session *new_session(struct kmsre_kms_client *c,
                                             const struct kmsre_kms_target *t)
{
    struct kmsre_kms_session *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->client = c;
    if ((t->key_region != NULL &&
         (s->key_region = OPENSSL_strdup(t->key_region)) == NULL) ||
        (t->profile != NULL &&
         (s->profile = OPENSSL_strdup(t->profile)) == NULL)) {
        OPENSSL_free(s->key_region);
        OPENSSL_free(s);
        return NULL;
    }
    return s;
}

static struct kmsre_kms_session *find_locked(struct kmsre_kms_client *c,
                                             const struct kmsre_kms_target *t)
{
    struct kmsre_kms_session *s;

    for (s = c->sessions; s != NULL; s = s->next)
        if (same(s->key_region, t->key_region) && same(s->profile, t->profile))
            return s;
    return NULL;
}

/* Finds or makes the session for a target. It is resolved without the
 * lock held (the first credential fetch may take seconds); should another
 * thread have made the same one meanwhile, theirs is used. Resolution
 * failures are not cached: the user may fix the environment and retry. */
static enum kmsre_status get_session(struct kmsre_kms_client *c,
                                     const struct kmsre_kms_target *t,
                                     struct kmsre_kms_session **out,
                                     struct kmsre_err *err)
{
    struct kmsre_kms_session *s, *fresh;
    enum kmsre_status st;

    kmsre_mutex_lock(&c->lock);
    s = find_locked(c, t);
    kmsre_mutex_unlock(&c->lock);
    if ((*out = s) != NULL)
        return KMSRE_OK;
    fresh = new_session(c, t);
    if (fresh == NULL)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    st = resolve_session(c, fresh, err);
    if (st != KMSRE_OK) {
        if (fresh->creds.fetch != NULL)
            kmsre_creds_cache_clear(&fresh->creds);
        OPENSSL_free(fresh->key_region);
        OPENSSL_free(fresh->profile);
        OPENSSL_free(fresh);
        return st;
    }
    kmsre_mutex_lock(&c->lock);
    s = find_locked(c, t);
    if (s == NULL) {
        fresh->next = c->sessions;
        c->sessions = s = fresh;
        fresh = NULL;
    }
    kmsre_mutex_unlock(&c->lock);
    if (fresh != NULL)
        session_free(fresh);
    *out = s;
    return KMSRE_OK;
}

/* ---- operations --------------------------------------------------------- */

enum kmsre_status kmsre_kms_reencrypt(struct kmsre_kms_client *c,
                                      const struct kmsre_kms_target *target,
                                      const struct kmsre_reencrypt_request *req,
                                      const unsigned char *in, size_t inlen,
                                      const char *destination_key_id,
                                      struct kmsre_reencrypt_answer *answer,
                                      struct kmsre_call_report *report,
                                      struct kmsre_err *err)
{
    struct kmsre_http_response resp = {0};
    struct kmsre_kms_session *s;
    enum kmsre_status st;
    char *body = NULL;
    size_t len = 0;

    memset(report, 0, sizeof(*report));
    kmsre_fork_barrier_enter(); /* see base/fork.h */
    st = get_session(c, target, &s, err);
    if (st == KMSRE_OK) {
        st = kmsre_reencrypt_encode(req, in, inlen, destination_key_id, &body,
                                    &len);
        if (st != KMSRE_OK)
            kmsre_fail(err, st, "out of memory");
    }
    if (st == KMSRE_OK)
        st = kmsre_kms_send(c, s, "ReEncrypt", body, len, &resp, report, err);
    if (st == KMSRE_OK)
        st = kmsre_reencrypt_decode(resp.body, resp.body_len, answer, err);
    kmsre_fork_barrier_leave();
    OPENSSL_clear_free(body, len);
    kmsre_http_response_clear(&resp);
    return st;
}
