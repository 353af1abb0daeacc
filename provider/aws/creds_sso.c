/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IAM Identity Center (SSO) credentials, as botocore and the AWS CLI v2
 * take them:
 *  - the profile names an [sso-session NAME] section (sso_start_url,
 *    sso_region) or, in the legacy form, has sso_start_url and sso_region
 *    itself; sso_account_id and sso_role_name say which role;
 *  - `aws sso login` cached the token in ~/.aws/sso/cache/<sha1>.json, the
 *    SHA-1 (hex) of the session name, or of the start URL (legacy);
 *  - a session token within 15 minutes of expiry is refreshed through
 *    SSO-OIDC CreateToken (refresh_token grant) and written back
 *    atomically with the file's mode; the legacy form never refreshes;
 *  - the SSO portal's GetRoleCredentials trades the token for temporary
 *    role credentials (not SigV4-signed; the token is a bearer header).
 * No token ever reaches a message or the trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "aws/creds_sso.h"
#include "aws/endpoint.h"
#include "base/strbuf.h"
#include "base/text.h"

#define TOKEN_FILE_MAX (64 * 1024)

struct sso_settings {
    char *profile;
    char *session; /* NULL: the legacy form */
    char *start_url;
    char *region;
    char *account_id;
    char *role_name;
};

struct sso_source {
    struct kmsre_creds_source base;
    struct sso_settings s;
};

/* ---- the token file ----------------------------------------------------- */

void kmsre_sso_token_clear(struct kmsre_sso_token *token)
{
    kmsre_free_secret(&token->access_token);
    kmsre_free_secret(&token->refresh_token);
    kmsre_free_secret(&token->client_id);
    kmsre_free_secret(&token->client_secret);
    memset(token, 0, sizeof(*token));
}

static const char *member(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
}

static int copy_member(struct json_object *o, const char *name, char **out)
{
    const char *v = member(o, name);

    *out = v != NULL ? OPENSSL_strdup(v) : NULL;
    return v == NULL || *out != NULL;
}

static enum kmsre_status read_token_members(struct json_object *o,
                                            struct kmsre_sso_token *t,
                                            struct kmsre_err *err)
{
    const char *exp = member(o, "expiresAt");
    const char *reg = member(o, "registrationExpiresAt");

    if (member(o, "accessToken") == NULL)
        return kmsre_fail(err, KMSRE_ERR_INVALID, "it has no accessToken");
    if (exp == NULL || !kmsre_parse_iso8601(exp, &t->expires_at))
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "its expiresAt is missing or not an ISO 8601 time");
    if (reg != NULL && !kmsre_parse_iso8601(reg, &t->registration_expires_at))
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "its registrationExpiresAt is not an ISO 8601 time");
    t->has_registration_expiry = reg != NULL;
    if (!copy_member(o, "accessToken", &t->access_token) ||
        !copy_member(o, "refreshToken", &t->refresh_token) ||
        !copy_member(o, "clientId", &t->client_id) ||
        !copy_member(o, "clientSecret", &t->client_secret))
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    return KMSRE_OK;
}

enum kmsre_status kmsre_sso_token_parse(const char *text, size_t len,
                                        struct kmsre_sso_token *out,
                                        struct kmsre_err *err)
{
    struct json_object *o = kmsre_json_parse_secret(text, len);
    enum kmsre_status st;

    memset(out, 0, sizeof(*out));
    if (o == NULL)
        return kmsre_fail(err, KMSRE_ERR_INVALID, "it is not a JSON object");
    st = read_token_members(o, out, err);
    kmsre_json_free_secret(o);
    if (st != KMSRE_OK)
        kmsre_sso_token_clear(out);
    return st;
}

int kmsre_sso_token_should_refresh(const struct kmsre_sso_token *token,
                                   time_t now)
{
    return token->expires_at - now < KMSRE_SSO_REFRESH_WINDOW &&
           token->refresh_token != NULL && token->client_id != NULL &&
           token->client_secret != NULL && token->has_registration_expiry &&
           now < token->registration_expires_at;
}

/* ~/.aws/sso/cache/<sha1 hex of key>.json */
static enum kmsre_status cache_path(const struct kmsre_creds_env *env,
                                    const char *key, char *path, size_t len,
                                    struct kmsre_err *err)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[20];
    char hex[41];
    size_t mdlen = 0, i;
    const char *home = kmsre_env("HOME");

    if (home == NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "HOME is not set: no SSO token cache");
    if (!EVP_Q_digest(env->libctx, "SHA1", NULL, key, strlen(key), md,
                      &mdlen) ||
        mdlen != sizeof(md))
        return kmsre_fail(err, KMSRE_ERR_CRYPTO, "SHA-1 is not available");
    for (i = 0; i < sizeof(md); i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[40] = '\0';
    if ((size_t)snprintf(path, len, "%s/.aws/sso/cache/%s.json", home, hex) >=
        len)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS, "HOME is too long");
    return KMSRE_OK;
}

static char *read_file(const char *path, size_t *len)
{
    char *buf = OPENSSL_malloc(TOKEN_FILE_MAX + 1);
    FILE *fp = fopen(path, "rb");

    *len = 0;
    if (fp != NULL && buf != NULL)
        *len = fread(buf, 1, TOKEN_FILE_MAX + 1, fp);
    if (fp == NULL || buf == NULL || ferror(fp) || *len > TOKEN_FILE_MAX) {
        if (buf != NULL)
            OPENSSL_clear_free(buf, TOKEN_FILE_MAX + 1);
        buf = NULL;
    }
    if (fp != NULL)
        fclose(fp);
    return buf;
}

/* "run aws sso login ...": what the user can do about a missing, expired
 * or refused token. */
static enum kmsre_status login_advice(const struct sso_settings *s,
                                      const char *what, struct kmsre_err *err)
{
    if (s->session != NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "SSO session \"%s\" has no valid token%s%s: run aws "
                          "sso login --sso-session %s",
                          s->session, what[0] ? " " : "", what, s->session);
    return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                      "SSO profile \"%s\" has no valid token%s%s: run aws sso "
                      "login --profile %s",
                      s->profile, what[0] ? " " : "", what, s->profile);
}

static enum kmsre_status load_token(const struct sso_settings *s,
                                    const char *path, struct kmsre_sso_token *t,
                                    struct kmsre_err *err)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    enum kmsre_status st;

    if (text == NULL && errno == ENOENT)
        return login_advice(s, "(no cached token)", err);
    if (text == NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "cannot read the SSO token cache %.200s", path);
    st = kmsre_sso_token_parse(text, len, t, err);
    OPENSSL_clear_free(text, TOKEN_FILE_MAX + 1);
    if (st != KMSRE_OK) {
        kmsre_err_prefix(err, "SSO token cache %.200s", path);
        return KMSRE_ERR_CREDENTIALS;
    }
    return KMSRE_OK;
}

/* ---- writing the refreshed token back ----------------------------------- */

static void put_string(struct json_object *o, const char *name,
                       const char *value)
{
    if (value != NULL)
        json_object_object_add(o, name, json_object_new_string(value));
}

static void put_time(struct json_object *o, const char *name, time_t t)
{
    char buf[32];
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    put_string(o, name, buf);
}

/* The members botocore writes, in its order. */
static struct json_object *token_json(const struct sso_settings *s,
                                      const struct kmsre_sso_token *t)
{
    struct json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    put_string(o, "startUrl", s->start_url);
    put_string(o, "region", s->region);
    put_string(o, "accessToken", t->access_token);
    put_time(o, "expiresAt", t->expires_at);
    put_string(o, "clientId", t->client_id);
    put_string(o, "clientSecret", t->client_secret);
    if (t->has_registration_expiry)
        put_time(o, "registrationExpiresAt", t->registration_expires_at);
    put_string(o, "refreshToken", t->refresh_token);
    return o;
}

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static void sync_dir_of(const char *path)
{
    char dir[4096];
    char *slash;
    int fd;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* A temporary file beside the cache file, with its mode, synced, then
 * renamed over it: readers see the old token or the new one, whole. */
static enum kmsre_status replace_file(const char *path, const char *text,
                                      size_t len)
{
    char tmp[4200];
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0600;
    int fd, ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        return KMSRE_ERR_IO;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    ok = fchmod(fd, mode) == 0 && write_all(fd, text, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        unlink(tmp);
        return KMSRE_ERR_IO;
    }
    sync_dir_of(path);
    return KMSRE_OK;
}

static enum kmsre_status save_token(const struct sso_settings *s,
                                    const char *path,
                                    const struct kmsre_sso_token *t)
{
    struct json_object *o = token_json(s, t);
    enum kmsre_status st = KMSRE_ERR_NOMEM;
    const char *text;
    size_t len = 0;

    if (o != NULL && (text = json_object_to_json_string_length(
                          o, JSON_C_TO_STRING_SPACED, &len)) != NULL) {
        st = replace_file(path, text, len);
        OPENSSL_cleanse((char *)text, len); /* json-c's serialisation */
    }
    kmsre_json_free_secret(o);
    return st;
}

/* ---- SSO-OIDC CreateToken ------------------------------------------------ */

static enum kmsre_status service_url(const struct kmsre_creds_env *env,
                                     const struct sso_settings *s,
                                     const char *service, const char *prefix,
                                     struct kmsre_endpoint *ep,
                                     struct kmsre_err *err)
{
    struct kmsre_endpoint_query q = {service, prefix,     NULL,
                                     env->sc, s->profile, s->region};

    return kmsre_endpoint_resolve(&q, ep, NULL, err);
}

static char *create_token_body(const struct kmsre_sso_token *t)
{
    struct json_object *o = json_object_new_object();
    char *body = NULL;
    const char *text;
    size_t len = 0;

    if (o == NULL)
        return NULL;
    put_string(o, "clientId", t->client_id);
    put_string(o, "clientSecret", t->client_secret);
    put_string(o, "grantType", "refresh_token");
    put_string(o, "refreshToken", t->refresh_token);
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    if (text != NULL) {
        body = OPENSSL_strndup(text, len);
        OPENSSL_cleanse((char *)text, len);
    }
    kmsre_json_free_secret(o);
    return body;
}

/* The new access token (and refresh token, when rotated) into t. */
static enum kmsre_status read_create_token(const char *body, size_t len,
                                           time_t now,
                                           struct kmsre_sso_token *t)
{
    struct json_object *o = kmsre_json_parse_secret(body, len), *v;
    const char *access = member(o, "accessToken");
    const char *refresh = member(o, "refreshToken");
    enum kmsre_status st = KMSRE_ERR_RESPONSE;
    char *a = NULL, *r = NULL;

    if (access != NULL && json_object_object_get_ex(o, "expiresIn", &v) &&
        json_object_is_type(v, json_type_int) &&
        (a = OPENSSL_strdup(access)) != NULL &&
        (refresh == NULL || (r = OPENSSL_strdup(refresh)) != NULL)) {
        kmsre_free_secret(&t->access_token);
        kmsre_free_secret(&t->refresh_token);
        t->access_token = a;
        t->refresh_token = r; /* botocore drops it when none came back */
        t->expires_at = now + (time_t)json_object_get_int64(v);
        a = r = NULL;
        st = KMSRE_OK;
    }
    kmsre_free_secret(&a);
    kmsre_json_free_secret(o);
    return st;
}

static enum kmsre_status refresh_token(const struct kmsre_creds_env *env,
                                       const struct sso_settings *s,
                                       struct kmsre_sso_token *t,
                                       struct kmsre_err *err)
{
    struct kmsre_http_header h[2] = {{"Content-Type", "application/json"},
                                     {"Host", NULL}};
    struct kmsre_http_response resp = {0};
    struct kmsre_endpoint ep;
    enum kmsre_status st;
    char url[1100], *body;

    st = service_url(env, s, "sso-oidc", "oidc", &ep, err);
    if (st != KMSRE_OK)
        return st;
    h[1].value = ep.host;
    snprintf(url, sizeof(url), "%s%stoken", ep.url,
             ep.url[strlen(ep.url) - 1] == '/' ? "" : "/");
    if ((body = create_token_body(t)) == NULL)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    {
        struct kmsre_http_request req = {"POST", url,          h, 2,
                                         body,   strlen(body), 0, 0};

        st = kmsre_http_send(env->http, &req, &resp, err);
    }
    if (st == KMSRE_OK && resp.status != 200)
        st = kmsre_fail(err, KMSRE_ERR_SERVICE,
                        "SSO-OIDC CreateToken answered HTTP %ld", resp.status);
    else if (st == KMSRE_OK)
        st = read_create_token(resp.body, resp.body_len, env->now, t);
    kmsre_free_secret(&body);
    kmsre_http_response_clear(&resp);
    return st;
}

/* A token that is valid now, refreshed first when that is due. */
static enum kmsre_status current_token(const struct kmsre_creds_env *env,
                                       const struct sso_settings *s,
                                       const char *path,
                                       struct kmsre_sso_token *t,
                                       struct kmsre_err *err)
{
    struct kmsre_err rerr = {0};
    enum kmsre_status st = load_token(s, path, t, err);

    if (st != KMSRE_OK)
        return st;
    if (s->session != NULL && kmsre_sso_token_should_refresh(t, env->now)) {
        if (refresh_token(env, s, t, &rerr) == KMSRE_OK) {
            kmsre_trace(env->trace,
                        "credentials: SSO token of session \"%s\" "
                        "refreshed",
                        s->session);
            if (save_token(s, path, t) != KMSRE_OK)
                kmsre_trace(env->trace, "credentials: cannot write %s back",
                            path);
        } else {
            kmsre_trace(env->trace, "credentials: SSO token refresh failed: %s",
                        kmsre_err_text(&rerr));
        }
    }
    if (env->now >= t->expires_at)
        return login_advice(s, "(the cached token expired)", err);
    return KMSRE_OK;
}

/* ---- the SSO portal's GetRoleCredentials -------------------------------- */

static int append_query_value(struct kmsre_strbuf *b, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    int ok = 1;

    for (; ok && *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || strchr("-_.~", c) != NULL)
            ok = kmsre_strbuf_append_char(b, (char)c) == KMSRE_OK;
        else
            ok = kmsre_strbuf_append_mem(b, esc, 3) == KMSRE_OK;
    }
    return ok;
}

static int role_url(const struct kmsre_endpoint *ep,
                    const struct sso_settings *s, struct kmsre_strbuf *b)
{
    const char *parts[] = {ep->url,
                           ep->url[strlen(ep->url) - 1] == '/' ? "" : "/",
                           "federation/credentials?role_name=", NULL};

    return kmsre_strbuf_append_all(b, parts) == KMSRE_OK &&
           append_query_value(b, s->role_name) &&
           kmsre_strbuf_append(b, "&account_id=") == KMSRE_OK &&
           append_query_value(b, s->account_id);
}

static enum kmsre_status read_role_credentials(const char *body, size_t len,
                                               struct kmsre_creds *out,
                                               struct kmsre_err *err)
{
    struct json_object *o = kmsre_json_parse_secret(body, len), *rc, *exp;
    enum kmsre_status st;

    if (o == NULL || !json_object_object_get_ex(o, "roleCredentials", &rc) ||
        !json_object_is_type(rc, json_type_object) ||
        member(rc, "accessKeyId") == NULL ||
        member(rc, "secretAccessKey") == NULL ||
        !json_object_object_get_ex(rc, "expiration", &exp) ||
        !json_object_is_type(exp, json_type_int))
        st = kmsre_fail(err, KMSRE_ERR_RESPONSE,
                        "the SSO portal's answer lacks roleCredentials");
    else
        st = kmsre_creds_set(out, member(rc, "accessKeyId"),
                             member(rc, "secretAccessKey"),
                             member(rc, "sessionToken"), 1,
                             (time_t)(json_object_get_int64(exp) / 1000),
                             "IAM Identity Center (SSO)");
    kmsre_json_free_secret(o);
    return st;
}

/* The error type of the portal's answer: x-amzn-ErrorType, else the
 * body's __type, cut at ':' and after '#'. */
static void portal_error_type(const struct kmsre_http_response *resp, char *buf,
                              size_t len)
{
    struct json_object *o;
    const char *t, *hash;

    kmsre_http_response_header(resp, "x-amzn-ErrorType", buf, len);
    if (buf[0] == '\0' &&
        (o = kmsre_json_parse_secret(resp->body, resp->body_len)) != NULL) {
        if ((t = member(o, "__type")) != NULL)
            snprintf(buf, len, "%s", t);
        kmsre_json_free_secret(o);
    }
    buf[strcspn(buf, ":")] = '\0';
    if ((hash = strrchr(buf, '#')) != NULL)
        memmove(buf, hash + 1, strlen(hash + 1) + 1);
    kmsre_copy_printable(buf, len, buf, strlen(buf));
}

static enum kmsre_status portal_answer(const struct sso_settings *s,
                                       const struct kmsre_http_response *resp,
                                       struct kmsre_creds *out,
                                       struct kmsre_err *err)
{
    char type[128];

    if (resp->status == 200)
        return read_role_credentials(resp->body, resp->body_len, out, err);
    portal_error_type(resp, type, sizeof(type));
    if (resp->status == 401 || strcmp(type, "UnauthorizedException") == 0)
        return login_advice(s, "(the SSO portal refused it)", err);
    return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                      "SSO GetRoleCredentials for role %.64s in account "
                      "%.20s: %s (HTTP %ld)",
                      s->role_name, s->account_id,
                      type[0] != '\0' ? type : "error", resp->status);
}

static enum kmsre_status role_credentials(const struct kmsre_creds_env *env,
                                          const struct sso_settings *s,
                                          const char *token,
                                          struct kmsre_creds *out,
                                          struct kmsre_err *err)
{
    struct kmsre_http_header h[2] = {{"x-amz-sso_bearer_token", token},
                                     {"Host", NULL}};
    struct kmsre_http_response resp = {0};
    struct kmsre_strbuf url = {0};
    struct kmsre_endpoint ep;
    enum kmsre_status st;

    st = service_url(env, s, "sso", "portal.sso", &ep, err);
    if (st != KMSRE_OK)
        return st;
    h[1].value = ep.host;
    if (!role_url(&ep, s, &url)) {
        kmsre_strbuf_free(&url);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    {
        struct kmsre_http_request req = {"GET", url.data, h, 2, NULL, 0, 0, 0};

        st = kmsre_http_send(env->http, &req, &resp, err);
    }
    if (st == KMSRE_OK)
        st = portal_answer(s, &resp, out, err);
    else
        kmsre_err_prefix(err, "SSO portal %s", ep.url);
    kmsre_strbuf_free(&url);
    kmsre_http_response_clear(&resp);
    return st;
}

/* ---- the source --------------------------------------------------------- */

static enum kmsre_status sso_get(struct kmsre_creds_source *src,
                                 const struct kmsre_creds_env *env,
                                 struct kmsre_creds *out, struct kmsre_err *err)
{
    struct sso_source *ss = (struct sso_source *)src;
    const struct sso_settings *s = &ss->s;
    struct kmsre_sso_token token = {0};
    char path[4096];
    enum kmsre_status st;

    st = cache_path(env, s->session != NULL ? s->session : s->start_url, path,
                    sizeof(path), err);
    if (st == KMSRE_OK)
        st = current_token(env, s, path, &token, err);
    if (st == KMSRE_OK)
        st = role_credentials(env, s, token.access_token, out, err);
    kmsre_sso_token_clear(&token);
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

static void settings_clear(struct sso_settings *s)
{
    OPENSSL_free(s->profile);
    OPENSSL_free(s->session);
    OPENSSL_free(s->start_url);
    OPENSSL_free(s->region);
    OPENSSL_free(s->account_id);
    OPENSSL_free(s->role_name);
    memset(s, 0, sizeof(*s));
}

static void sso_destroy(struct kmsre_creds_source *src)
{
    struct sso_source *ss = (struct sso_source *)src;

    settings_clear(&ss->s);
    OPENSSL_free(ss);
}

static const struct kmsre_creds_source_vtable sso_vtable = {
    "IAM Identity Center (SSO)", sso_get, sso_destroy};

int kmsre_sso_profile_configured(const struct kmsre_shared_config *sc,
                                 const char *profile)
{
    return kmsre_profile_setting(sc, profile, "sso_session") != NULL ||
           kmsre_profile_setting(sc, profile, "sso_start_url") != NULL;
}

static int dup_setting(char **dst, const char *v)
{
    *dst = v != NULL ? OPENSSL_strdup(v) : NULL;
    return v == NULL || *dst != NULL;
}

/* The start URL and region: from [sso-session NAME], or the profile. */
static int read_settings(const struct kmsre_shared_config *sc,
                         const char *profile, struct sso_settings *s)
{
    const char *session = kmsre_profile_setting(sc, profile, "sso_session");
    const char *url, *region;

    if (session != NULL) {
        url = kmsre_config_section_setting(sc, "sso-session", session,
                                           "sso_start_url");
        region = kmsre_config_section_setting(sc, "sso-session", session,
                                              "sso_region");
    } else {
        url = kmsre_profile_setting(sc, profile, "sso_start_url");
        region = kmsre_profile_setting(sc, profile, "sso_region");
    }
    return dup_setting(&s->profile, profile) &&
           dup_setting(&s->session, session) &&
           dup_setting(&s->start_url, url) && dup_setting(&s->region, region) &&
           dup_setting(&s->account_id,
                       kmsre_profile_setting(sc, profile, "sso_account_id")) &&
           dup_setting(&s->role_name,
                       kmsre_profile_setting(sc, profile, "sso_role_name"));
}

static enum kmsre_status check_settings(const struct sso_settings *s,
                                        struct kmsre_err *err)
{
    const char *missing = s->start_url == NULL    ? "sso_start_url"
                          : s->region == NULL     ? "sso_region"
                          : s->account_id == NULL ? "sso_account_id"
                          : s->role_name == NULL  ? "sso_role_name"
                                                  : NULL;
    /* With sso_session, the start URL and region come from its section. */
    int in_section =
        s->session != NULL && (s->start_url == NULL || s->region == NULL);

    if (in_section)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": [sso-session %s] has no %s",
                          s->profile, s->session, missing);
    if (missing != NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": the SSO profile has no %s",
                          s->profile, missing);
    if (!kmsre_region_is_valid(s->region))
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": sso_region is not a valid region",
                          s->profile);
    return KMSRE_OK;
}

enum kmsre_status kmsre_creds_sso_source_for_profile(
    const struct kmsre_shared_config *sc, const char *profile,
    struct kmsre_creds_source **out, struct kmsre_err *err)
{
    struct sso_source *ss = OPENSSL_zalloc(sizeof(*ss));
    enum kmsre_status st;

    *out = NULL;
    if (ss == NULL || !read_settings(sc, profile, &ss->s)) {
        if (ss != NULL)
            sso_destroy(&ss->base);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    ss->base.vtable = &sso_vtable;
    st = check_settings(&ss->s, err);
    if (st != KMSRE_OK) {
        sso_destroy(&ss->base);
        return st;
    }
    *out = &ss->base;
    return KMSRE_OK;
}
