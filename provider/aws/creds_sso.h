/* SPDX-License-Identifier: Apache-2.0 */
/* IAM Identity Center (SSO) profiles: the token `aws sso login` cached,
 * refreshed through SSO-OIDC when it is about to expire, exchanged for
 * role credentials at the SSO portal. */
#ifndef KMSRE_CREDS_SSO_H
#define KMSRE_CREDS_SSO_H

#include <time.h>
#include "aws/creds_source.h"

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

/* Whether the profile is an SSO profile (sso_session or sso_start_url). */
int kmsre_sso_profile_configured(const struct kmsre_shared_config *sc,
                                 const char *profile);

/* The source for such a profile; a profile whose settings are incomplete
 * gives KMSRE_ERR_CREDENTIALS saying what is missing. */
enum kmsre_status kmsre_creds_sso_source_for_profile(
    const struct kmsre_shared_config *sc, const char *profile,
    struct kmsre_creds_source **out, struct kmsre_err *err);

#endif
