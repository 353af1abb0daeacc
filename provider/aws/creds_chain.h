/* SPDX-License-Identifier: Apache-2.0 */
/* The credential chain: the one place that combines the sources. */
#ifndef KMSRE_CREDS_CHAIN_H
#define KMSRE_CREDS_CHAIN_H

#include "aws/creds_source.h"

/*
 * In order, the first source that is configured wins:
 *  1. environment variables, unless a profile was named explicitly (cnf
 *     or key URI);
 *  2. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (STS), likewise;
 *  3. the profile (explicit, else AWS_PROFILE, else "default"): role_arn
 *     (with web_identity_token_file, source_profile or credential_source),
 *     IAM Identity Center (sso_session or sso_start_url), static keys of
 *     the credentials file, credential_process, static keys of the config
 *     file;
 *  4. ECS/EKS container credentials;
 *  5. EC2 instance metadata (IMDSv2).
 * A source that is configured but fails ends the chain with its error;
 * with none configured the message names every source tried. Each source
 * tried is one line of the debug trace.
 */
enum kmsre_status kmsre_creds_resolve(const struct kmsre_creds_env *env,
                                      const char *explicit_profile,
                                      struct kmsre_creds *out,
                                      struct kmsre_err *err);

#endif
