/* SPDX-License-Identifier: Apache-2.0 */
/* The credential chain and profile resolution: which sources a profile's
 * settings describe, in what order the chain tries them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/creds_chain.h"
#include "aws/creds_sso.h"
#include "base/text.h"

#define MAX_ROLE_CHAIN 5

static const char *setting(const struct kmsre_creds_env *env,
                           const char *profile, const char *key)
{
    return kmsre_profile_credential(env->sc, profile, key);
}

static enum kmsre_status no_memory(struct kmsre_err *err)
{
    return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
}

static enum kmsre_status profile_source(const struct kmsre_creds_env *env,
                                        const char *profile, int depth,
                                        struct kmsre_creds_source **out,
                                        struct kmsre_err *err);

/* ---- roles -------------------------------------------------------------- */

static enum kmsre_status credential_source(const char *profile,
                                           const char *name,
                                           struct kmsre_creds_source **out,
                                           struct kmsre_err *err)
{
    if (strcmp(name, "Environment") == 0)
        *out = kmsre_creds_env_source();
    else if (strcmp(name, "Ec2InstanceMetadata") == 0)
        *out = kmsre_creds_imds_source();
    else if (strcmp(name, "EcsContainer") == 0)
        *out = kmsre_creds_container_source();
    else
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": credential_source \"%.40s\" is "
                          "not Environment, Ec2InstanceMetadata or "
                          "EcsContainer",
                          profile, name);
    return *out != NULL ? KMSRE_OK : no_memory(err);
}

/* The source whose credentials sign AssumeRole: source_profile (which may
 * itself assume a role) or credential_source. */
static enum kmsre_status role_base(const struct kmsre_creds_env *env,
                                   const char *profile, int depth,
                                   struct kmsre_creds_source **out,
                                   struct kmsre_err *err)
{
    const char *sp = setting(env, profile, "source_profile");
    const char *cs = setting(env, profile, "credential_source");
    enum kmsre_status st;

    if (cs != NULL)
        return credential_source(profile, cs, out, err);
    if (sp == NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": role_arn needs source_profile, "
                          "credential_source or web_identity_token_file",
                          profile);
    /* A profile naming itself uses its own static keys (as botocore). */
    if (strcmp(sp, profile) == 0) {
        const char *akid = setting(env, sp, "aws_access_key_id");
        const char *secret = setting(env, sp, "aws_secret_access_key");

        if (akid == NULL || secret == NULL)
            return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                              "profile \"%s\": source_profile is itself but "
                              "it has no static keys",
                              profile);
        *out = kmsre_creds_static_source(akid, secret,
                                         setting(env, sp, "aws_session_token"),
                                         "shared credentials file");
        return *out != NULL ? KMSRE_OK : no_memory(err);
    }
    st = profile_source(env, sp, depth + 1, out, err);
    if (st == KMSRE_ERR_NO_CREDENTIALS) {
        kmsre_err_clear(err);
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "profile \"%s\": source_profile \"%.64s\" has no "
                        "credentials",
                        profile, sp);
    }
    return st;
}

static void read_role(const struct kmsre_creds_env *env, const char *profile,
                      struct kmsre_assume_role *role)
{
    const char *d = setting(env, profile, "duration_seconds");

    role->role_arn = setting(env, profile, "role_arn");
    role->session_name = setting(env, profile, "role_session_name");
    role->external_id = setting(env, profile, "external_id");
    role->duration_seconds = d != NULL ? strtol(d, NULL, 10) : 0;
}

static enum kmsre_status role_source(const struct kmsre_creds_env *env,
                                     const char *profile, int depth,
                                     struct kmsre_creds_source **out,
                                     struct kmsre_err *err)
{
    const char *wif = setting(env, profile, "web_identity_token_file");
    struct kmsre_creds_source *base = NULL;
    struct kmsre_assume_role role;
    enum kmsre_status st;

    read_role(env, profile, &role);
    if (wif != NULL) {
        *out = kmsre_creds_web_identity_source(wif, &role, profile,
                                               "web identity (profile)");
        return *out != NULL ? KMSRE_OK : no_memory(err);
    }
    st = role_base(env, profile, depth, &base, err);
    if (st != KMSRE_OK)
        return st;
    *out = kmsre_creds_assume_role_source(&role, profile, base);
    return *out != NULL ? KMSRE_OK : no_memory(err);
}

/* ---- profiles ----------------------------------------------------------- */

static enum kmsre_status static_source(const char *akid, const char *secret,
                                       const char *token, const char *label,
                                       struct kmsre_creds_source **out,
                                       struct kmsre_err *err)
{
    *out = kmsre_creds_static_source(akid, secret, token, label);
    return *out != NULL ? KMSRE_OK : no_memory(err);
}

/* Static keys of one file, credentials file or config file. */
static int file_keys(const struct kmsre_ini *file, const char *section,
                     const char **akid, const char **secret, const char **token)
{
    *akid = kmsre_ini_get(file, section, "aws_access_key_id");
    *secret = kmsre_ini_get(file, section, "aws_secret_access_key");
    *token = kmsre_ini_get(file, section, "aws_session_token");
    return *akid != NULL && **akid != '\0' && *secret != NULL &&
           **secret != '\0';
}

static enum kmsre_status keys_or_process(const struct kmsre_creds_env *env,
                                         const char *profile,
                                         struct kmsre_creds_source **out,
                                         struct kmsre_err *err)
{
    const char *akid, *secret, *token, *process;
    char section[300];

    if (file_keys(&env->sc->credentials, profile, &akid, &secret, &token))
        return static_source(akid, secret, token, "shared credentials file",
                             out, err);
    process = setting(env, profile, "credential_process");
    if (process != NULL) {
        *out = kmsre_creds_process_source(process, KMSRE_PROCESS_TIMEOUT_MS);
        return *out != NULL ? KMSRE_OK : no_memory(err);
    }
    snprintf(section, sizeof(section), "%s%s",
             strcmp(profile, "default") == 0 ? "" : "profile ", profile);
    if (file_keys(&env->sc->config, section, &akid, &secret, &token))
        return static_source(akid, secret, token, "shared config file", out,
                             err);
    return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                      "profile \"%s\" has no role_arn, SSO settings, static "
                      "keys or credential_process",
                      profile);
}

/* The source a profile's settings describe; KMSRE_ERR_NO_CREDENTIALS when
 * they describe none. */
static enum kmsre_status profile_source(const struct kmsre_creds_env *env,
                                        const char *profile, int depth,
                                        struct kmsre_creds_source **out,
                                        struct kmsre_err *err)
{
    *out = NULL;
    if (depth > MAX_ROLE_CHAIN)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "profile \"%s\": source_profile chain longer than "
                          "%d (a loop?)",
                          profile, MAX_ROLE_CHAIN);
    if (depth > 0 && !kmsre_profile_exists(env->sc, profile))
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "source_profile \"%.64s\" does not exist", profile);
    if (setting(env, profile, "role_arn") != NULL)
        return role_source(env, profile, depth, out, err);
    if (kmsre_sso_profile_configured(env->sc, profile))
        return kmsre_creds_sso_source_for_profile(env->sc, profile, out, err);
    return keys_or_process(env, profile, out, err);
}

/* ---- the chain ---------------------------------------------------------- */

static enum kmsre_status web_identity_env(const char *profile,
                                          struct kmsre_creds_source **out,
                                          struct kmsre_err *err)
{
    const char *file = kmsre_env("AWS_WEB_IDENTITY_TOKEN_FILE");
    struct kmsre_assume_role role = {
        kmsre_env("AWS_ROLE_ARN"), kmsre_env("AWS_ROLE_SESSION_NAME"), NULL, 0};

    if (file == NULL)
        return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                          "AWS_WEB_IDENTITY_TOKEN_FILE not set");
    *out =
        kmsre_creds_web_identity_source(file, &role, profile, "web identity");
    return *out != NULL ? KMSRE_OK : no_memory(err);
}

/* Runs one source; on "not configured" the reason goes to the trace and
 * the chain goes on (KMSRE_ERR_NO_CREDENTIALS, err cleared). */
static enum kmsre_status try_source(const struct kmsre_creds_env *env,
                                    const char *what,
                                    struct kmsre_creds_source *src,
                                    struct kmsre_creds *out,
                                    struct kmsre_err *err)
{
    enum kmsre_status st;

    if (src == NULL)
        return no_memory(err);
    st = kmsre_creds_source_get(src, env, out, err);
    if (st == KMSRE_OK && strcmp(what, src->vtable->name) == 0)
        kmsre_trace(env->trace, "credentials: %s", what);
    else if (st == KMSRE_OK) /* a profile: say which source it named */
        kmsre_trace(env->trace, "credentials: %s (%s)", what,
                    src->vtable->name);
    else if (st == KMSRE_ERR_NO_CREDENTIALS) {
        kmsre_trace(env->trace, "credentials: %s skipped: %s", what,
                    kmsre_err_text(err));
        kmsre_err_clear(err);
    }
    kmsre_creds_source_free(src);
    return st;
}

/* A configured profile, resolved and run. */
static enum kmsre_status try_profile(const struct kmsre_creds_env *env,
                                     const char *profile,
                                     struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    struct kmsre_creds_source *src = NULL;
    char what[128];
    enum kmsre_status st = profile_source(env, profile, 0, &src, err);

    snprintf(what, sizeof(what), "profile \"%.64s\"", profile);
    if (st == KMSRE_ERR_NO_CREDENTIALS) {
        kmsre_trace(env->trace, "credentials: %s skipped: %s", what,
                    kmsre_err_text(err));
        kmsre_err_clear(err);
    }
    if (st != KMSRE_OK)
        return st;
    return try_source(env, what, src, out, err);
}

static enum kmsre_status none_found(const char *profile, int is_explicit,
                                    struct kmsre_err *err)
{
    return kmsre_fail(
        err, KMSRE_ERR_NO_CREDENTIALS,
        "no credentials found; tried: %sprofile \"%s\" (static keys, "
        "role_arn, SSO, credential_process), container credentials "
        "(AWS_CONTAINER_CREDENTIALS_*), EC2 instance metadata",
        is_explicit ? ""
                    : "environment (AWS_ACCESS_KEY_ID), web identity "
                      "(AWS_WEB_IDENTITY_TOKEN_FILE), ",
        profile);
}

enum kmsre_status kmsre_creds_resolve(const struct kmsre_creds_env *env,
                                      const char *explicit_profile,
                                      struct kmsre_creds *out,
                                      struct kmsre_err *err)
{
    int is_explicit = explicit_profile != NULL && *explicit_profile != '\0';
    const char *profile = kmsre_profile_name(explicit_profile);
    struct kmsre_creds_source *src = NULL;
    enum kmsre_status st = KMSRE_ERR_NO_CREDENTIALS;

    if (is_explicit && !kmsre_profile_exists(env->sc, profile))
        return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                          "profile \"%s\" not found in the shared config or "
                          "credentials file",
                          profile);
    if (!is_explicit)
        st = try_source(env, "environment", kmsre_creds_env_source(), out, err);
    if (st == KMSRE_ERR_NO_CREDENTIALS && !is_explicit) {
        st = web_identity_env(profile, &src, err);
        if (st == KMSRE_OK)
            st = try_source(env, "web identity", src, out, err);
        else if (st == KMSRE_ERR_NO_CREDENTIALS) {
            kmsre_trace(env->trace, "credentials: web identity skipped: %s",
                        kmsre_err_text(err));
            kmsre_err_clear(err);
        }
    }
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = try_profile(env, profile, out, err);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = try_source(env, "container", kmsre_creds_container_source(), out,
                        err);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        st = try_source(env, "instance metadata", kmsre_creds_imds_source(),
                        out, err);
    if (st == KMSRE_ERR_NO_CREDENTIALS)
        return none_found(profile, is_explicit, err);
    return st;
}
