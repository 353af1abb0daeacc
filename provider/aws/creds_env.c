/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials from the environment, and fixed keys (a profile's). */
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds_source.h"
#include "base/strbuf.h"
#include "base/text.h"

enum kmsre_status kmsre_creds_source_get(struct kmsre_creds_source *src,
                                         const struct kmsre_creds_env *env,
                                         struct kmsre_creds *out,
                                         struct kmsre_err *err)
{
    memset(out, 0, sizeof(*out));
    return src->vtable->get(src, env, out, err);
}

void kmsre_creds_source_free(struct kmsre_creds_source *src)
{
    if (src != NULL)
        src->vtable->destroy(src);
}

/* ---- the environment ---------------------------------------------------- */

static enum kmsre_status env_get(struct kmsre_creds_source *src,
                                 const struct kmsre_creds_env *env,
                                 struct kmsre_creds *out, struct kmsre_err *err)
{
    const char *akid = kmsre_env("AWS_ACCESS_KEY_ID");
    const char *secret = kmsre_env("AWS_SECRET_ACCESS_KEY");
    const char *token = kmsre_env("AWS_SESSION_TOKEN");
    const char *exp = kmsre_env("AWS_CREDENTIAL_EXPIRATION");
    time_t expiration = 0;

    (void)src, (void)env;
    if (akid == NULL || secret == NULL)
        return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                          "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY not set");
    if (token == NULL)
        token = kmsre_env("AWS_SECURITY_TOKEN"); /* the legacy spelling */
    if (exp != NULL && !kmsre_parse_iso8601(exp, &expiration))
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
    if (kmsre_creds_set(out, akid, secret, token, exp != NULL, expiration,
                        "environment variables") != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    return KMSRE_OK;
}

static void plain_destroy(struct kmsre_creds_source *src)
{
    OPENSSL_free(src);
}

static const struct kmsre_creds_source_vtable env_vtable = {
    "environment", env_get, plain_destroy};

struct kmsre_creds_source *kmsre_creds_env_source(void)
{
    struct kmsre_creds_source *src = OPENSSL_zalloc(sizeof(*src));

    if (src != NULL)
        src->vtable = &env_vtable;
    return src;
}

/* ---- fixed keys --------------------------------------------------------- */

struct static_source {
    struct kmsre_creds_source base;
    struct kmsre_creds creds;
};

static enum kmsre_status static_get(struct kmsre_creds_source *src,
                                    const struct kmsre_creds_env *env,
                                    struct kmsre_creds *out,
                                    struct kmsre_err *err)
{
    struct static_source *s = (struct static_source *)src;

    (void)env;
    if (kmsre_creds_copy(out, &s->creds) != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    return KMSRE_OK;
}

static void static_destroy(struct kmsre_creds_source *src)
{
    struct static_source *s = (struct static_source *)src;

    kmsre_creds_clear(&s->creds);
    OPENSSL_free(s);
}

static const struct kmsre_creds_source_vtable static_vtable = {
    "static keys", static_get, static_destroy};

struct kmsre_creds_source *kmsre_creds_static_source(const char *akid,
                                                     const char *secret,
                                                     const char *token,
                                                     const char *label)
{
    struct static_source *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.vtable = &static_vtable;
    if (kmsre_creds_set(&s->creds, akid, secret, token, 0, 0, label) !=
        KMSRE_OK) {
        OPENSSL_free(s);
        return NULL;
    }
    return &s->base;
}
