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
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "aws/creds_sso.h"
#include "aws/endpoint.h"
#include "base/strbuf.h"
#include "base/text.h"

struct sso_source {
    struct kmsre_creds_source base;
    struct kmsre_sso_settings s;
};

static const char *member(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
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
                    const struct kmsre_sso_settings *s, struct kmsre_strbuf *b)
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
    else if (kmsre_creds_set(out, member(rc, "accessKeyId"),
                             member(rc, "secretAccessKey"),
                             member(rc, "sessionToken"), 1,
                             (time_t)(json_object_get_int64(exp) / 1000),
                             "IAM Identity Center (SSO)") != KMSRE_OK)
        st = kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    else
        st = KMSRE_OK;
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

static enum kmsre_status portal_answer(const struct kmsre_sso_settings *s,
                                       const struct kmsre_http_response *resp,
                                       struct kmsre_creds *out,
                                       struct kmsre_err *err)
{
    char type[128];

    if (resp->status == 200)
        return read_role_credentials(resp->body, resp->body_len, out, err);
    portal_error_type(resp, type, sizeof(type));
    if (resp->status == 401 || strcmp(type, "UnauthorizedException") == 0)
        return kmsre_sso_login_advice(s, "(the SSO portal refused it)", err);
    return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                      "SSO GetRoleCredentials for role %.64s in account "
                      "%.20s: %s (HTTP %ld)",
                      s->role_name, s->account_id,
                      type[0] != '\0' ? type : "error", resp->status);
}

static enum kmsre_status role_credentials(const struct kmsre_creds_env *env,
                                          const struct kmsre_sso_settings *s,
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

    st = kmsre_sso_endpoint(env, s, "sso", "portal.sso", &ep, err);
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
    const struct kmsre_sso_settings *s = &ss->s;
    struct kmsre_sso_token token = {0};
    enum kmsre_status st;

    st = kmsre_sso_token_current(env, s, &token, err);
    if (st == KMSRE_OK)
        st = role_credentials(env, s, token.access_token, out, err);
    kmsre_sso_token_clear(&token);
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

static void settings_clear(struct kmsre_sso_settings *s)
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
                         const char *profile, struct kmsre_sso_settings *s)
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

static enum kmsre_status check_settings(const struct kmsre_sso_settings *s,
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
