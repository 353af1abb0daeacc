/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one interface of every credential source (environment, static keys,
 * credential_process, STS roles and web identity, SSO, containers, instance
 * metadata). A source depends on this interface and the credential value
 * only; the chain (creds_chain.c) is the one place that combines them,
 * e.g. an assume-role source wrapping the source of its source_profile.
 */
#ifndef KMSRE_CREDS_SOURCE_H
#define KMSRE_CREDS_SOURCE_H

#include <time.h>
#include <openssl/types.h>
#include "aws/creds.h"
#include "aws/profile.h"
#include "aws/sigv4.h"
#include "base/trace.h"
#include "http/http.h"

/* What a source may use while it fetches. */
struct kmsre_creds_env {
    const struct kmsre_http *http;
    const struct kmsre_sigv4_algs *algs;
    const struct kmsre_shared_config *sc; /* the shared files, as read now */
    OSSL_LIB_CTX *libctx;                 /* random bytes */
    const char *region;                   /* of the request (STS) */
    time_t now;
    const struct kmsre_trace *trace;
};

struct kmsre_creds_source;

struct kmsre_creds_source_vtable {
    const char *name; /* for messages and the debug trace */
    /* KMSRE_OK with *out filled; KMSRE_ERR_NO_CREDENTIALS when the source
     * is not configured (err says why, for the trace: the chain goes on);
     * any other status when it is configured and failed (the chain stops
     * with err). */
    enum kmsre_status (*get)(struct kmsre_creds_source *src,
                             const struct kmsre_creds_env *env,
                             struct kmsre_creds *out, struct kmsre_err *err);
    void (*destroy)(struct kmsre_creds_source *src);
};

/* Embedded first in each source's own struct. */
struct kmsre_creds_source {
    const struct kmsre_creds_source_vtable *vtable;
};

enum kmsre_status kmsre_creds_source_get(struct kmsre_creds_source *src,
                                         const struct kmsre_creds_env *env,
                                         struct kmsre_creds *out,
                                         struct kmsre_err *err);
void kmsre_creds_source_free(struct kmsre_creds_source *src);

/* ---- the sources, one file each ---------------------------------------- */

/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or
 * AWS_SECURITY_TOKEN), AWS_CREDENTIAL_EXPIRATION. */
struct kmsre_creds_source *kmsre_creds_env_source(void);

/* Fixed keys (a profile's aws_access_key_id & co). Copies the strings. */
struct kmsre_creds_source *kmsre_creds_static_source(const char *akid,
                                                     const char *secret,
                                                     const char *token,
                                                     const char *label);

/* credential_process: run without a shell, JSON Version 1 on stdout,
 * killed and reaped after timeout_ms (the SDKs allow a minute). */
#define KMSRE_PROCESS_TIMEOUT_MS 60000L
struct kmsre_creds_source *kmsre_creds_process_source(const char *command,
                                                      long timeout_ms);

struct kmsre_assume_role {
    const char *role_arn;
    const char *session_name; /* NULL: a generated one */
    const char *external_id;  /* optional */
    long duration_seconds;    /* 0: STS's default */
};

/* STS AssumeRole signed with what `base` gives (the source takes base).
 * profile: whose endpoint settings reach STS (may be NULL). */
struct kmsre_creds_source *
kmsre_creds_assume_role_source(const struct kmsre_assume_role *role,
                               const char *profile,
                               struct kmsre_creds_source *base);

/* STS AssumeRoleWithWebIdentity with the token read from token_file at
 * every fetch; role->role_arn may be NULL only to report it missing. */
struct kmsre_creds_source *
kmsre_creds_web_identity_source(const char *token_file,
                                const struct kmsre_assume_role *role,
                                const char *profile, const char *label);

/* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI. */
struct kmsre_creds_source *kmsre_creds_container_source(void);

/* EC2 instance metadata, IMDSv2. */
struct kmsre_creds_source *kmsre_creds_imds_source(void);

#endif
