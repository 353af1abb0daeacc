/* SPDX-License-Identifier: Apache-2.0 */
/* IAM Identity Center (SSO) profiles: the token `aws sso login` cached,
 * refreshed through SSO-OIDC when it is about to expire, exchanged for
 * role credentials at the SSO portal. */
#ifndef KMSRE_CREDS_SSO_H
#define KMSRE_CREDS_SSO_H

#include <time.h>
#include "aws/creds_source.h"
#include "aws/endpoint.h"

/* Refresh a token when less than this is left (botocore's window). */
#define KMSRE_SSO_REFRESH_WINDOW 900

/* The cached token file (~/.aws/sso/cache/<sha1>.json). */
struct kmsre_sso_token {
    char *access_token;
    time_t expires_at;
    char *refresh_token; /* the session form only; NULL when absent */
    char *client_id;
    char *client_secret;
    int has_registration_expiry;
    time_t registration_expires_at;
};

/* Parses the file's text; a text that is not such a JSON object gives
 * KMSRE_ERR_INVALID with what is wrong in err. */
enum kmsre_status kmsre_sso_token_parse(const char *text, size_t len,
                                        struct kmsre_sso_token *out,
                                        struct kmsre_err *err);
void kmsre_sso_token_clear(struct kmsre_sso_token *token);

/* Whether a refresh is due and possible at now. */
int kmsre_sso_token_should_refresh(const struct kmsre_sso_token *token,
                                   time_t now);

/* What an SSO profile says (copies). session is NULL in the legacy form. */
struct kmsre_sso_settings {
    char *profile;
    char *session;
    char *start_url;
    char *region;
    char *account_id;
    char *role_name;
};

/* The cached token, refreshed and written back first when that is due and
 * possible; an error naming `aws sso login` when there is no valid one. */
enum kmsre_status kmsre_sso_token_current(const struct kmsre_creds_env *env,
                                          const struct kmsre_sso_settings *s,
                                          struct kmsre_sso_token *t,
                                          struct kmsre_err *err);

/* "SSO session \"NAME\" has no valid token <what>: run aws sso login ..." */
enum kmsre_status kmsre_sso_login_advice(const struct kmsre_sso_settings *s,
                                         const char *what,
                                         struct kmsre_err *err);

/* The endpoint of "sso" (the portal) or "sso-oidc" in the SSO region. */
enum kmsre_status kmsre_sso_endpoint(const struct kmsre_creds_env *env,
                                     const struct kmsre_sso_settings *s,
                                     const char *service, const char *prefix,
                                     struct kmsre_endpoint *ep,
                                     struct kmsre_err *err);

/* Whether the profile is an SSO profile (sso_session or sso_start_url). */
int kmsre_sso_profile_configured(const struct kmsre_shared_config *sc,
                                 const char *profile);

/* The source for such a profile; a profile whose settings are incomplete
 * gives KMSRE_ERR_CREDENTIALS saying what is missing. */
enum kmsre_status kmsre_creds_sso_source_for_profile(
    const struct kmsre_shared_config *sc, const char *profile,
    struct kmsre_creds_source **out, struct kmsre_err *err);

#endif
