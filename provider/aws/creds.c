/* SPDX-License-Identifier: Apache-2.0 */
/* The credential chain: environment, web identity, profile (roles, static
 * keys, credential_process), container, instance metadata. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <json-c/json.h>
#include "aws/creds.h"

#define MAX_ROLE_CHAIN 5

static int present(const char *s)
{
    return s != NULL && *s != '\0';
}

enum kmsre_status aws_creds_set(struct aws_creds *out, const char *akid,
                                const char *secret, const char *token,
                                time_t expiration, const char *source)
{
    memset(out, 0, sizeof(*out));
    out->expiration = expiration;
    out->source = source;
    out->access_key_id = OPENSSL_strdup(akid);
    out->secret_access_key = OPENSSL_strdup(secret);
    if (present(token))
        out->session_token = OPENSSL_strdup(token);
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        (present(token) && out->session_token == NULL)) {
        aws_creds_clear(out);
        return KMSRE_ERR_NOMEM;
    }
    return KMSRE_OK;
}

enum kmsre_status aws_creds_copy(struct aws_creds *dst,
                                 const struct aws_creds *src)
{
    return aws_creds_set(dst, src->access_key_id, src->secret_access_key,
                         src->session_token, src->expiration, src->source);
}

static void clear_string(char **s)
{
    if (*s != NULL)
        OPENSSL_clear_free(*s, strlen(*s));
    *s = NULL;
}

void aws_creds_clear(struct aws_creds *creds)
{
    clear_string(&creds->access_key_id);
    clear_string(&creds->secret_access_key);
    clear_string(&creds->session_token);
    creds->expiration = 0;
}

/* ---- parsing shared by the sources ----------------------------------- */

int aws_parse_iso8601(const char *text, time_t *out)
{
    struct tm tm = {0};
    const char *p;
    int n = 0, sign, hh, mm;

    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return 0;
    p = text + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0)
        return *out != (time_t)-1;
    if ((*p != '+' && *p != '-') ||
        sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || p[1 + n] != '\0')
        return 0;
    sign = *p == '+' ? -1 : 1;
    *out += sign * (hh * 3600 + mm * 60);
    return 1;
}

static const char *json_member(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

enum kmsre_status aws_creds_parse_json(const char *body, size_t len,
                                       const char *token_member,
                                       const char *source,
                                       struct aws_creds *out, char *why,
                                       size_t whylen)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = NULL;
    const char *akid, *secret, *exp;
    time_t expiration = 0;
    enum kmsre_status st = KMSRE_ERR_RESPONSE;

    if (tok != NULL && len < (size_t)1 << 20)
        o = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    akid = json_member(o, "AccessKeyId");
    secret = json_member(o, "SecretAccessKey");
    exp = json_member(o, "Expiration");
    if (!json_object_is_type(o, json_type_object) || !present(akid) ||
        !present(secret))
        snprintf(why, whylen,
                 "%s: answer has no AccessKeyId and "
                 "SecretAccessKey",
                 source);
    else if (exp != NULL && !aws_parse_iso8601(exp, &expiration))
        snprintf(why, whylen, "%s: Expiration is not an ISO 8601 time", source);
    else
        st = aws_creds_set(out, akid, secret, json_member(o, token_member),
                           expiration, source);
    json_object_put(o);
    return st;
}

/* ---- environment and static profile keys ---------------------------- */

static enum kmsre_status from_env(struct aws_creds *out)
{
    const char *akid = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    const char *exp = getenv("AWS_CREDENTIAL_EXPIRATION");
    time_t expiration = 0;

    if (!present(akid) || !present(secret))
        return KMSRE_ERR_NO_CREDENTIALS;
    if (!present(token))
        token = getenv("AWS_SECURITY_TOKEN"); /* legacy spelling */
    if (present(exp) && !aws_parse_iso8601(exp, &expiration))
        expiration = 0;
    return aws_creds_set(out, akid, secret, token, expiration,
                         "environment variables");
}

static const char *setting(const struct aws_chain_ctx *cx, const char *profile,
                           const char *key)
{
    const char *v = aws_profile_credential(cx->sc, profile, key);

    return present(v) ? v : NULL;
}

static enum kmsre_status static_keys(const struct aws_chain_ctx *cx,
                                     const char *profile, struct aws_creds *out)
{
    const char *akid = setting(cx, profile, "aws_access_key_id");
    const char *secret = setting(cx, profile, "aws_secret_access_key");

    if (akid == NULL || secret == NULL)
        return KMSRE_ERR_NO_CREDENTIALS;
    return aws_creds_set(out, akid, secret,
                         setting(cx, profile, "aws_session_token"), 0,
                         "shared credentials file");
}

/* ---- roles ---------------------------------------------------------- */

static enum kmsre_status profile_creds(const struct aws_chain_ctx *cx,
                                       const char *profile, int depth,
                                       struct aws_creds *out, char *why,
                                       size_t whylen);

static enum kmsre_status credential_source(const struct aws_chain_ctx *cx,
                                           const char *profile,
                                           const char *name,
                                           struct aws_creds *out, char *why,
                                           size_t whylen)
{
    enum kmsre_status st;

    if (strcmp(name, "Environment") == 0)
        st = from_env(out);
    else if (strcmp(name, "Ec2InstanceMetadata") == 0)
        st = aws_creds_from_imds(cx, out, why, whylen);
    else if (strcmp(name, "EcsContainer") == 0)
        st = aws_creds_from_container(cx, out, why, whylen);
    else {
        snprintf(why, whylen,
                 "profile \"%s\": credential_source \"%.40s\" is not "
                 "Environment, Ec2InstanceMetadata or EcsContainer",
                 profile, name);
        return KMSRE_ERR_CREDENTIALS;
    }
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        snprintf(why, whylen,
                 "profile \"%s\": credential_source %s has no credentials",
                 profile, name);
    return st == KMSRE_ERR_NO_CREDENTIALS ? KMSRE_ERR_CREDENTIALS : st;
}

/* The credentials that sign AssumeRole: source_profile (which may itself
 * assume a role) or credential_source. */
static enum kmsre_status role_source(const struct aws_chain_ctx *cx,
                                     const char *profile, int depth,
                                     struct aws_creds *out, char *why,
                                     size_t whylen)
{
    const char *sp = setting(cx, profile, "source_profile");
    const char *cs = setting(cx, profile, "credential_source");
    enum kmsre_status st;

    if (cs != NULL)
        return credential_source(cx, profile, cs, out, why, whylen);
    if (sp == NULL) {
        snprintf(why, whylen,
                 "profile \"%s\": role_arn needs source_profile, "
                 "credential_source or web_identity_token_file",
                 profile);
        return KMSRE_ERR_CREDENTIALS;
    }
    /* A profile naming itself uses its own static keys (as botocore). */
    st = strcmp(sp, profile) == 0
             ? static_keys(cx, sp, out)
             : profile_creds(cx, sp, depth + 1, out, why, whylen);
    if (st == KMSRE_ERR_NO_CREDENTIALS) {
        snprintf(why, whylen,
                 "profile \"%s\": source_profile \"%.64s\" has no credentials",
                 profile, sp);
        st = KMSRE_ERR_CREDENTIALS;
    }
    return st;
}

static void read_role(const struct aws_chain_ctx *cx, const char *profile,
                      struct aws_assume_role *role)
{
    const char *d = setting(cx, profile, "duration_seconds");

    role->role_arn = setting(cx, profile, "role_arn");
    role->session_name = setting(cx, profile, "role_session_name");
    role->external_id = setting(cx, profile, "external_id");
    role->duration_seconds = d != NULL ? strtol(d, NULL, 10) : 0;
}

static enum kmsre_status assume_profile_role(const struct aws_chain_ctx *cx,
                                             const char *profile, int depth,
                                             struct aws_creds *out, char *why,
                                             size_t whylen)
{
    const char *wif = setting(cx, profile, "web_identity_token_file");
    struct aws_assume_role role;
    struct aws_creds source = {0};
    enum kmsre_status st;

    read_role(cx, profile, &role);
    if (wif != NULL)
        return aws_sts_web_identity(cx, profile, wif, &role, out, why, whylen);
    st = role_source(cx, profile, depth, &source, why, whylen);
    if (st == KMSRE_OK)
        st = aws_sts_assume_role(cx, profile, &source, &role, out, why, whylen);
    aws_creds_clear(&source);
    return st;
}

static enum kmsre_status profile_creds(const struct aws_chain_ctx *cx,
                                       const char *profile, int depth,
                                       struct aws_creds *out, char *why,
                                       size_t whylen)
{
    const char *process;
    enum kmsre_status st;

    if (depth > MAX_ROLE_CHAIN) {
        snprintf(why, whylen,
                 "profile \"%s\": source_profile chain longer than %d "
                 "(a loop?)",
                 profile, MAX_ROLE_CHAIN);
        return KMSRE_ERR_CREDENTIALS;
    }
    if (depth > 0 && !aws_profile_exists(cx->sc, profile)) {
        snprintf(why, whylen, "source_profile \"%.64s\" does not exist",
                 profile);
        return KMSRE_ERR_CREDENTIALS;
    }
    if (setting(cx, profile, "role_arn") != NULL)
        return assume_profile_role(cx, profile, depth, out, why, whylen);
    st = static_keys(cx, profile, out);
    if (st != KMSRE_ERR_NO_CREDENTIALS)
        return st;
    process = setting(cx, profile, "credential_process");
    if (process != NULL)
        return aws_creds_from_process(process, out, why, whylen);
    return KMSRE_ERR_NO_CREDENTIALS;
}

/* ---- the chain ------------------------------------------------------ */

static enum kmsre_status web_identity_env(const struct aws_chain_ctx *cx,
                                          const char *profile,
                                          struct aws_creds *out, char *why,
                                          size_t whylen)
{
    const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    struct aws_assume_role role = {getenv("AWS_ROLE_ARN"),
                                   getenv("AWS_ROLE_SESSION_NAME"), NULL, 0};

    if (!present(file))
        return KMSRE_ERR_NO_CREDENTIALS;
    if (!present(role.role_arn)) {
        snprintf(why, whylen,
                 "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
        return KMSRE_ERR_CREDENTIALS;
    }
    if (!present(role.session_name))
        role.session_name = NULL;
    return aws_sts_web_identity(cx, profile, file, &role, out, why, whylen);
}

static void none_found(const char *profile, int explicit_profile, char *why,
                       size_t whylen)
{
    snprintf(why, whylen,
             "no credentials found; tried: %sprofile \"%s\" (static keys, "
             "role_arn, credential_process), container credentials "
             "(AWS_CONTAINER_CREDENTIALS_*), EC2 instance metadata",
             explicit_profile ? ""
                              : "environment (AWS_ACCESS_KEY_ID), web "
                                "identity (AWS_WEB_IDENTITY_TOKEN_FILE), ",
             profile);
}

enum kmsre_status aws_creds_resolve(const struct aws_chain_ctx *cx,
                                    const char *explicit_profile,
                                    struct aws_creds *out, char *why,
                                    size_t whylen)
{
    int is_explicit = present(explicit_profile);
    const char *profile = aws_profile_name(explicit_profile);
    enum kmsre_status st = KMSRE_ERR_NO_CREDENTIALS;

    if (is_explicit && !aws_profile_exists(cx->sc, profile)) {
        snprintf(why, whylen,
                 "profile \"%s\" not found in the shared config or "
                 "credentials file",
                 profile);
        return KMSRE_ERR_NO_CREDENTIALS;
    }
    if (!is_explicit)
        st = from_env(out);
    if (st == KMSRE_ERR_NO_CREDENTIALS && !is_explicit)
        st = web_identity_env(cx, profile, out, why, whylen);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = profile_creds(cx, profile, 0, out, why, whylen);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = aws_creds_from_container(cx, out, why, whylen);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = aws_creds_from_imds(cx, out, why, whylen);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        none_found(profile, is_explicit, why, whylen);
    return st;
}
