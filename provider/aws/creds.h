/* SPDX-License-Identifier: Apache-2.0 */
/* AWS credentials and the chain of places they come from, in the AWS SDKs'
 * default order. On failure the message names the source (and, when none
 * is configured, every source tried); it never holds a secret. */
#ifndef KMSRE_CREDS_H
#define KMSRE_CREDS_H

#include <stddef.h>
#include <time.h>
#include "aws/profile.h"
#include "aws/sigv4.h"
#include "http/http.h"

struct aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    time_t expiration;   /* 0: does not expire */
    const char *source;  /* static text: where they came from */
};

/* What the network sources need. */
struct aws_chain_ctx {
    const struct aws_shared_config *sc;
    const struct kmsre_http *http;
    const struct sigv4_algs *algs;
    const char *region; /* for STS */
    time_t now;
};

/* The chain:
 *  1. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN), unless a
 *     profile was named explicitly (cnf or key URI);
 *  2. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (STS, also not with an
 *     explicit profile);
 *  3. the profile: role_arn (with web_identity_token_file, source_profile
 *     or credential_source), static keys, credential_process;
 *  4. ECS/EKS container credentials;
 *  5. EC2 instance metadata (IMDSv2).
 * A source that is configured but fails ends the chain with its error. */
enum kmsre_status aws_creds_resolve(const struct aws_chain_ctx *cx,
                                    const char *explicit_profile,
                                    struct aws_creds *out, char *why,
                                    size_t whylen);

enum kmsre_status aws_creds_set(struct aws_creds *out, const char *akid,
                                const char *secret, const char *token,
                                time_t expiration, const char *source);
enum kmsre_status aws_creds_copy(struct aws_creds *dst,
                                 const struct aws_creds *src);

/* Frees and wipes. */
void aws_creds_clear(struct aws_creds *creds);

/* ---- the sources (one file each) ------------------------------------ */

/* credential_process: the command runs without a shell; its stdout is the
 * JSON of the SDKs' process protocol (Version 1). */
enum kmsre_status aws_creds_from_process(const char *command,
                                         struct aws_creds *out, char *why,
                                         size_t whylen);

struct aws_assume_role {
    const char *role_arn;
    const char *session_name; /* NULL: a generated one */
    const char *external_id;  /* optional */
    long duration_seconds;    /* 0: STS's default */
};

/* STS AssumeRole, signed with source. */
enum kmsre_status aws_sts_assume_role(const struct aws_chain_ctx *cx,
                                      const char *profile,
                                      const struct aws_creds *source,
                                      const struct aws_assume_role *role,
                                      struct aws_creds *out, char *why,
                                      size_t whylen);

/* STS AssumeRoleWithWebIdentity with the token read from token_file. */
enum kmsre_status
aws_sts_web_identity(const struct aws_chain_ctx *cx, const char *profile,
                     const char *token_file, const struct aws_assume_role *role,
                     struct aws_creds *out, char *why, size_t whylen);

/* Container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 * _FULL_URI); KMSRE_ERR_NO_CREDENTIALS when neither is set. */
enum kmsre_status aws_creds_from_container(const struct aws_chain_ctx *cx,
                                           struct aws_creds *out, char *why,
                                           size_t whylen);

/* EC2 instance metadata, IMDSv2; KMSRE_ERR_NO_CREDENTIALS when disabled or
 * when nothing answers within a second. */
enum kmsre_status aws_creds_from_imds(const struct aws_chain_ctx *cx,
                                      struct aws_creds *out, char *why,
                                      size_t whylen);

/* ---- shared parsing (fuzzed) ---------------------------------------- */

/* {"AccessKeyId","SecretAccessKey",<token_member>,"Expiration"}. */
enum kmsre_status aws_creds_parse_json(const char *body, size_t len,
                                       const char *token_member,
                                       const char *source,
                                       struct aws_creds *out, char *why,
                                       size_t whylen);

/* STS's XML answer: .../Credentials/{AccessKeyId,SecretAccessKey,
 * SessionToken,Expiration}; an error document gives KMSRE_ERR_SERVICE with
 * its Code and Message in why. */
enum kmsre_status aws_sts_parse(const char *xml, size_t len, const char *source,
                                struct aws_creds *out, char *why,
                                size_t whylen);

/* 2026-01-01T00:00:00Z, with optional fraction and Z or +hh:mm. */
int aws_parse_iso8601(const char *text, time_t *out);

#endif
