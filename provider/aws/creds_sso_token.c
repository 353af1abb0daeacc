/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IAM Identity Center token that `aws sso login` cached in
 * ~/.aws/sso/cache/<sha1 hex of the session name, or of the start URL for
 * the legacy form>.json: read, refreshed through SSO-OIDC CreateToken
 * (refresh_token grant) when less than 15 minutes are left and a refresh
 * token is there (the session form only), and written back atomically
 * with the file's mode and botocore's members. Never printed.
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
enum kmsre_status kmsre_sso_login_advice(const struct kmsre_sso_settings *s,
                                         const char *what,
                                         struct kmsre_err *err)
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

static enum kmsre_status load_token(const struct kmsre_sso_settings *s,
                                    const char *path, struct kmsre_sso_token *t,
                                    struct kmsre_err *err)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    enum kmsre_status st;

    if (text == NULL && errno == ENOENT)
        return kmsre_sso_login_advice(s, "(no cached token)", err);
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
static struct json_object *token_json(const struct kmsre_sso_settings *s,
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

static enum kmsre_status save_token(const struct kmsre_sso_settings *s,
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

enum kmsre_status kmsre_sso_endpoint(const struct kmsre_creds_env *env,
                                     const struct kmsre_sso_settings *s,
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
                                       const struct kmsre_sso_settings *s,
                                       struct kmsre_sso_token *t,
                                       struct kmsre_err *err)
{
    struct kmsre_http_header h[2] = {{"Content-Type", "application/json"},
                                     {"Host", NULL}};
    struct kmsre_http_response resp = {0};
    struct kmsre_endpoint ep;
    enum kmsre_status st;
    char url[1100], *body;

    st = kmsre_sso_endpoint(env, s, "sso-oidc", "oidc", &ep, err);
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
enum kmsre_status kmsre_sso_token_current(const struct kmsre_creds_env *env,
                                          const struct kmsre_sso_settings *s,
                                          struct kmsre_sso_token *t,
                                          struct kmsre_err *err)
{
    struct kmsre_err rerr = {0};
    char path[4096];
    enum kmsre_status st;

    st = cache_path(env, s->session != NULL ? s->session : s->start_url, path,
                    sizeof(path), err);
    if (st == KMSRE_OK)
        st = load_token(s, path, t, err);
    if (st != KMSRE_OK)
        return st;
    if (s->session != NULL && kmsre_sso_token_should_refresh(t, env->now)) {
        if (refresh_token(env, s, t, &rerr) == KMSRE_OK) {
            kmsre_trace(env->trace,
                        "credentials: SSO token of session \"%s\" refreshed",
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
        return kmsre_sso_login_advice(s, "(the cached token expired)", err);
    return KMSRE_OK;
}
