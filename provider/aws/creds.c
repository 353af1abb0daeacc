/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials from the environment and from shared-file profiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds.h"

static char *dup_secret(const char *s)
{
    return s != NULL ? OPENSSL_strdup(s) : NULL;
}

static enum kmsre_status set_creds(struct aws_creds *out, const char *akid,
                                   const char *secret, const char *token)
{
    memset(out, 0, sizeof(*out));
    out->access_key_id = dup_secret(akid);
    out->secret_access_key = dup_secret(secret);
    if (token != NULL && *token != '\0')
        out->session_token = dup_secret(token);
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        (token != NULL && *token != '\0' && out->session_token == NULL)) {
        aws_creds_clear(out);
        return KMSRE_ERR_NOMEM;
    }
    return KMSRE_OK;
}

static int present(const char *s)
{
    return s != NULL && *s != '\0';
}

static enum kmsre_status from_env(struct aws_creds *out)
{
    const char *akid = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");

    if (!present(akid) || !present(secret))
        return KMSRE_ERR_NO_CREDENTIALS;
    if (!present(token))
        token = getenv("AWS_SECURITY_TOKEN"); /* legacy spelling */
    return set_creds(out, akid, secret, token);
}

static enum kmsre_status from_profile(const struct aws_shared_config *sc,
                                      const char *profile,
                                      struct aws_creds *out)
{
    const char *akid = aws_profile_credential(sc, profile, "aws_access_key_id");
    const char *secret =
        aws_profile_credential(sc, profile, "aws_secret_access_key");

    if (!present(akid) || !present(secret))
        return KMSRE_ERR_NO_CREDENTIALS;
    return set_creds(out, akid, secret,
                     aws_profile_credential(sc, profile, "aws_session_token"));
}

enum kmsre_status aws_creds_resolve(const struct aws_shared_config *sc,
                                    const char *explicit_profile,
                                    struct aws_creds *out, char *why,
                                    size_t whylen)
{
    const char *profile = aws_profile_name(explicit_profile);
    int use_env = explicit_profile == NULL || *explicit_profile == '\0';
    enum kmsre_status st = KMSRE_ERR_NO_CREDENTIALS;

    if (use_env)
        st = from_env(out);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = from_profile(sc, profile, out);
    if (st != KMSRE_ERR_NO_CREDENTIALS)
        return st;
    if (!use_env)
        snprintf(why, whylen,
                 "no credentials in profile \"%s\" (explicitly configured; "
                 "environment variables are not used then)",
                 profile);
    else if (explicit_profile == NULL && !aws_profile_exists(sc, profile) &&
             strcmp(profile, "default") != 0)
        snprintf(why, whylen,
                 "profile \"%s\" (AWS_PROFILE) not found in the shared "
                 "config or credentials file",
                 profile);
    else
        snprintf(why, whylen,
                 "no credentials found: tried AWS_ACCESS_KEY_ID/"
                 "AWS_SECRET_ACCESS_KEY and profile \"%s\" in the shared "
                 "credentials and config files",
                 profile);
    return st;
}

enum kmsre_status aws_creds_copy(struct aws_creds *dst,
                                 const struct aws_creds *src)
{
    return set_creds(dst, src->access_key_id, src->secret_access_key,
                     src->session_token);
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
}
