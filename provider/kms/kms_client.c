/* SPDX-License-Identifier: Apache-2.0 */
/* KMS requests: build body, resolve target, sign, send, decode. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "kms/kms_client.h"

#define AMZ_DATE_LEN 16

/* Everything resolved for one (key region, profile) pair: computed at the
 * first request that needs it, then reused by every thread. */
struct kms_session {
    struct kms_session *next;
    char *key_region;
    char *profile;
    char region[AWS_REGION_MAX];
    struct aws_endpoint endpoint;
    struct aws_creds creds;
    pthread_mutex_t key_lock; /* guards the cached signing key */
    char key_date[9];
    unsigned char signing_key[SIGV4_KEY_LEN];
};

struct kms_client {
    const struct kmsre_config *cfg;
    OSSL_LIB_CTX *libctx; /* private: hashing never depends on the app's */
    struct sigv4_algs algs;
    struct kmsre_http http;
    time_t (*clock)(void);
    pthread_mutex_t lock; /* guards the session list */
    struct kms_session *sessions;
};

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
    aws_creds_clear(&s->creds);
    OPENSSL_cleanse(s->signing_key, sizeof(s->signing_key));
    pthread_mutex_destroy(&s->key_lock);
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
        st = aws_kms_endpoint_resolve(c->cfg->endpoint, &sc, profile, s->region,
                                      &s->endpoint, why, whylen);
    if (st == KMSRE_OK)
        st = aws_creds_resolve(&sc, explicit_profile, &s->creds, why, whylen);
    aws_shared_config_clear(&sc);
    return st;
}

static struct kms_session *new_session(const struct kms_target *t)
{
    struct kms_session *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->key_lock, NULL);
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
        s = new_session(t);
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

static void format_amz_date(time_t now, char out[AMZ_DATE_LEN + 1])
{
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* The signing key only changes with the date: derive it once a day. */
static enum kmsre_status signing_key(const struct kms_client *c,
                                     struct kms_session *s, const char *date,
                                     unsigned char key[SIGV4_KEY_LEN])
{
    enum kmsre_status st = KMSRE_OK;
    char date8[9];

    memcpy(date8, date, 8);
    date8[8] = '\0';
    pthread_mutex_lock(&s->key_lock);
    if (strcmp(s->key_date, date8) != 0) {
        st = sigv4_derive_key(&c->algs, s->creds.secret_access_key, date8,
                              s->region, "kms", s->signing_key);
        memcpy(s->key_date, st == KMSRE_OK ? date8 : "",
               st == KMSRE_OK ? 9 : 1);
    }
    if (st == KMSRE_OK)
        memcpy(key, s->signing_key, SIGV4_KEY_LEN);
    pthread_mutex_unlock(&s->key_lock);
    return st;
}

/* One signed request as it goes on the wire. */
struct wire_request {
    char amz_date[AMZ_DATE_LEN + 1];
    char target[64];
    struct sigv4_header signed_headers[5];
    size_t n_signed;
    struct kmsre_http_header headers[6];
    struct sigv4_state sig;
};

static void add_header(struct wire_request *w, const char *name,
                       const char *value)
{
    w->signed_headers[w->n_signed].name = name;
    w->signed_headers[w->n_signed].value = value;
    w->headers[w->n_signed].name = name;
    w->headers[w->n_signed].value = value;
    w->n_signed++;
}

/* Signs with every header KMS needs; User-Agent and Content-Length stay
 * unsigned, as in the SDKs, since libcurl or a proxy may touch them. */
static enum kmsre_status sign_request(const struct kms_client *c,
                                      struct kms_session *s,
                                      struct wire_request *w,
                                      const char *operation, const char *body,
                                      size_t len)
{
    struct sigv4_request r = {"POST", s->endpoint.path,
                              "",     w->signed_headers,
                              0,      (const unsigned char *)body,
                              len,    1};
    struct sigv4_scope scope = {w->amz_date, s->region, "kms"};
    unsigned char key[SIGV4_KEY_LEN];
    enum kmsre_status st;

    format_amz_date(c->clock(), w->amz_date);
    snprintf(w->target, sizeof(w->target), "TrentService.%s", operation);
    add_header(w, "Content-Type", "application/x-amz-json-1.1");
    add_header(w, "Host", s->endpoint.host);
    add_header(w, "X-Amz-Date", w->amz_date);
    add_header(w, "X-Amz-Target", w->target);
    if (s->creds.session_token != NULL)
        add_header(w, "X-Amz-Security-Token", s->creds.session_token);
    r.n_headers = w->n_signed;
    st = signing_key(c, s, w->amz_date, key);
    if (st == KMSRE_OK)
        st = sigv4_sign(&c->algs, &w->sig, &r, &scope, s->creds.access_key_id,
                        key);
    OPENSSL_cleanse(key, sizeof(key));
    if (st == KMSRE_OK) {
        w->headers[w->n_signed].name = "Authorization";
        w->headers[w->n_signed].value = w->sig.authorization;
    }
    return st;
}

static enum kmsre_status call(struct kms_client *c, struct kms_session *s,
                              const char *operation, const char *body,
                              size_t len, struct kmsre_http_response *resp,
                              char *why, size_t whylen)
{
    struct wire_request w;
    struct kmsre_http_request req;
    enum kmsre_status st;

    memset(&w, 0, sizeof(w));
    st = sign_request(c, s, &w, operation, body, len);
    if (st != KMSRE_OK) {
        snprintf(why, whylen, "cannot sign the request");
        sigv4_state_clear(&w.sig);
        return st;
    }
    req.url = s->endpoint.url;
    req.headers = w.headers;
    req.n_headers = w.n_signed + 1;
    req.body = body;
    req.body_len = len;
    req.allow_http = s->endpoint.is_http;
    st = kmsre_http_send(&c->http, &req, resp);
    sigv4_state_clear(&w.sig);
    if (st != KMSRE_OK)
        snprintf(why, whylen, "%s %s: %s", operation, s->endpoint.url,
                 resp->error);
    return st;
}

static enum kmsre_status decode_answer(const struct kmsre_http_response *resp,
                                       struct kms_reencrypt_resp *out,
                                       struct kms_error *kerr, char *why,
                                       size_t whylen)
{
    enum kmsre_status st;

    if (resp->status < 200 || resp->status > 299) {
        kms_error_parse(resp->status, resp->error_type, resp->body,
                        resp->body_len, kerr);
        snprintf(kerr->request_id, sizeof(kerr->request_id), "%s",
                 resp->request_id);
        return KMSRE_ERR_SERVICE;
    }
    st = kms_reencrypt_parse(resp->body != NULL ? resp->body : "",
                             resp->body_len, out, why, whylen);
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
        st = call(c, s, "ReEncrypt", body, len, &hresp, why, whylen);
    if (st == KMSRE_OK)
        st = decode_answer(&hresp, resp, kerr, why, whylen);
    if (body != NULL)
        OPENSSL_clear_free(body, len);
    kmsre_http_response_clear(&hresp);
    return st;
}
