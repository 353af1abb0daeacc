/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STS: AssumeRole (SigV4-signed with the credentials of a base source) and
 * AssumeRoleWithWebIdentity (unsigned, with a token file re-read at every
 * fetch). The query protocol out, a small reader for the XML answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "aws/creds_source.h"
#include "aws/creds_sts.h"
#include "aws/endpoint.h"
#include "base/strbuf.h"

#define TOKEN_FILE_MAX (64 * 1024)
#define FORM_MAX (96 * 1024)
#define XML_NAME_MAX 48

/* ---- the answer --------------------------------------------------------- */

/* The first <name>...</name> inside [from, end): where its text starts and
 * how long it is; NULL if absent. */
static const char *xml_find(const char *from, const char *end, const char *name,
                            size_t *len)
{
    char open[XML_NAME_MAX + 3], close[XML_NAME_MAX + 4];
    size_t olen, clen;
    const char *s, *e;

    olen = (size_t)snprintf(open, sizeof(open), "<%s>", name);
    clen = (size_t)snprintf(close, sizeof(close), "</%s>", name);
    for (s = from; (size_t)(end - s) >= olen; s++)
        if (memcmp(s, open, olen) == 0)
            break;
    if ((size_t)(end - s) < olen)
        return NULL;
    s += olen;
    for (e = s; (size_t)(end - e) >= clen; e++)
        if (memcmp(e, close, clen) == 0) {
            *len = (size_t)(e - s);
            return s;
        }
    return NULL;
}

/* The element's text with the five predefined entities decoded, in a new
 * string (wiped by the caller: it may be a secret); NULL if absent or when
 * memory runs out (xml_take tells the two apart). */
static char *xml_text(const char *from, const char *end, const char *name)
{
    static const char *const ent[][2] = {{"&amp;", "&"},
                                         {"&lt;", "<"},
                                         {"&gt;", ">"},
                                         {"&quot;", "\""},
                                         {"&apos;", "'"}};
    size_t len = 0, i, k = sizeof(ent) / sizeof(ent[0]);
    const char *s = xml_find(from, end, name, &len), *e;
    char *out, *o;

    if (s == NULL || (out = o = OPENSSL_malloc(len + 1)) == NULL)
        return NULL;
    for (e = s + len; s < e;) {
        for (i = 0; i < k; i++)
            if ((size_t)(e - s) >= strlen(ent[i][0]) &&
                strncmp(s, ent[i][0], strlen(ent[i][0])) == 0)
                break;
        if (i < k) {
            *o++ = ent[i][1][0];
            s += strlen(ent[i][0]);
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* *out: the element's text, or NULL when it is absent. */
static enum kmsre_status xml_take(const char *from, const char *end,
                                  const char *name, char **out)
{
    size_t len;

    *out = xml_text(from, end, name);
    return *out == NULL && xml_find(from, end, name, &len) != NULL
               ? KMSRE_ERR_NOMEM
               : KMSRE_OK;
}

static enum kmsre_status sts_error(const char *xml, size_t len,
                                   const char *source, struct kmsre_err *err)
{
    char *code = xml_text(xml, xml + len, "Code");
    char *msg = xml_text(xml, xml + len, "Message");
    char *p;
    enum kmsre_status st;

    for (p = msg; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    st = kmsre_fail(err, KMSRE_ERR_SERVICE, "%s: STS %s: %.200s", source,
                    code != NULL ? code : "error",
                    msg != NULL ? msg : "(no message)");
    OPENSSL_free(code);
    OPENSSL_free(msg);
    return st;
}

static int present(const char *s)
{
    return s != NULL && *s != '\0';
}

enum kmsre_status kmsre_sts_parse(const char *xml, size_t len,
                                  const char *source, struct kmsre_creds *out,
                                  struct kmsre_err *err)
{
    const char *end = xml + len, *creds;
    char *akid, *secret, *token, *exp;
    enum kmsre_status st;
    time_t expiration = 0;
    size_t clen = 0;

    creds = xml_find(xml, end, "Credentials", &clen);
    if (creds == NULL) {
        if (xml_find(xml, end, "Error", &clen) != NULL)
            return sts_error(xml, len, source, err);
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "%s: the STS answer has no Credentials", source);
    }
    end = creds + clen;
    akid = secret = token = exp = NULL;
    st = xml_take(creds, end, "AccessKeyId", &akid);
    if (st == KMSRE_OK)
        st = xml_take(creds, end, "SecretAccessKey", &secret);
    if (st == KMSRE_OK)
        st = xml_take(creds, end, "SessionToken", &token);
    if (st == KMSRE_OK)
        st = xml_take(creds, end, "Expiration", &exp);
    if (st == KMSRE_OK &&
        (!present(akid) || !present(secret) || !present(token) || exp == NULL ||
         !kmsre_parse_iso8601(exp, &expiration)))
        st = kmsre_fail(err, KMSRE_ERR_RESPONSE,
                        "%s: the STS answer lacks a credential member", source);
    else if (st == KMSRE_OK)
        st = kmsre_creds_set(out, akid, secret, token, 1, expiration, source);
    if (st == KMSRE_ERR_NOMEM)
        kmsre_fail(err, st, "out of memory");
    kmsre_free_secret(&akid);
    kmsre_free_secret(&secret);
    kmsre_free_secret(&token);
    OPENSSL_free(exp);
    return st;
}

/* ---- the request -------------------------------------------------------- */

/* Appends "&name=value", the value percent-encoded as SigV4 encodes. */
static enum kmsre_status form_add(struct kmsre_strbuf *f, const char *name,
                                  const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    enum kmsre_status st = KMSRE_OK;
    const char *parts[] = {f->len > 0 ? "&" : "", name, "=", NULL};

    if (f->len + strlen(name) + 3 * strlen(value) + 2 > FORM_MAX)
        return KMSRE_ERR_LIMIT;
    st = kmsre_strbuf_append_all(f, parts);
    for (; st == KMSRE_OK && *value != '\0'; value++) {
        unsigned char c = (unsigned char)*value;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~')
            st = kmsre_strbuf_append_char(f, (char)c);
        else
            st = kmsre_strbuf_append_mem(f, esc, sizeof(esc));
    }
    return st;
}

/* A session name STS accepts: botocore's "botocore-session-<time>" style,
 * with random digits so that two processes never share one. */
static void session_name(const struct kmsre_creds_env *env, char *buf,
                         size_t len)
{
    unsigned int r = 0;

    if (RAND_bytes_ex(env->libctx, (unsigned char *)&r, sizeof(r), 0) <= 0)
        r = (unsigned int)getpid();
    snprintf(buf, len, "kmsreencrypt-%lld-%u", (long long)env->now,
             r % 1000000u);
}

static enum kmsre_status form_role(struct kmsre_strbuf *f, const char *action,
                                   const struct kmsre_assume_role *role,
                                   const struct kmsre_creds_env *env)
{
    char session[64], duration[24];
    enum kmsre_status st;

    session_name(env, session, sizeof(session));
    snprintf(duration, sizeof(duration), "%ld", role->duration_seconds);
    st = form_add(f, "Action", action);
    if (st == KMSRE_OK)
        st = form_add(f, "Version", "2011-06-15");
    if (st == KMSRE_OK)
        st = form_add(f, "RoleArn", role->role_arn);
    if (st == KMSRE_OK)
        st =
            form_add(f, "RoleSessionName",
                     role->session_name != NULL ? role->session_name : session);
    if (st == KMSRE_OK && role->external_id != NULL)
        st = form_add(f, "ExternalId", role->external_id);
    if (st == KMSRE_OK && role->duration_seconds > 0)
        st = form_add(f, "DurationSeconds", duration);
    return st;
}

/* POST of the form to STS, signed when creds is not NULL. */
static enum kmsre_status
sts_post(const struct kmsre_creds_env *env, const char *profile,
         const struct kmsre_creds *creds, const struct kmsre_strbuf *form,
         struct kmsre_http_response *resp, struct kmsre_err *err)
{
    struct kmsre_endpoint_query q = {"sts",   NULL,    NULL,
                                     env->sc, profile, env->region};
    struct kmsre_http_header h[5];
    struct kmsre_signed_headers sig = {0};
    struct kmsre_http_request req = {0};
    struct kmsre_endpoint ep;
    enum kmsre_status st;
    size_t n = 2, i;

    st = kmsre_endpoint_resolve(&q, &ep, NULL, err);
    if (st != KMSRE_OK)
        return st;
    h[0].name = "Content-Type";
    h[0].value = "application/x-www-form-urlencoded; charset=utf-8";
    h[1].name = "Host";
    h[1].value = ep.host;
    if (creds != NULL) {
        struct kmsre_signing_input in = {
            "POST",    ep.path, "",          h,     2,        form->data,
            form->len, creds,   env->region, "sts", env->now, NULL};

        st = kmsre_sigv4_sign_request(env->algs, &in, &sig, err);
        for (i = 0; st == KMSRE_OK && i < sig.n_headers; i++)
            h[n++] = sig.headers[i];
    }
    if (st == KMSRE_OK) {
        struct kmsre_http_request r = {"POST",     ep.url,    h,          n,
                                       form->data, form->len, ep.is_http, 0};

        req = r;
        st = kmsre_http_send(env->http, &req, resp, err);
        if (st != KMSRE_OK)
            kmsre_err_prefix(err, "STS %s", ep.url);
    }
    kmsre_signed_headers_clear(&sig);
    return st;
}

static enum kmsre_status
sts_call(const struct kmsre_creds_env *env, const char *profile,
         const struct kmsre_creds *creds, const struct kmsre_strbuf *form,
         const char *label, struct kmsre_creds *out, struct kmsre_err *err)
{
    struct kmsre_http_response resp;
    enum kmsre_status st;

    st = sts_post(env, profile, creds, form, &resp, err);
    if (st != KMSRE_OK)
        kmsre_err_prefix(err, "%s", label);
    else
        st = kmsre_sts_parse(resp.body != NULL ? resp.body : "", resp.body_len,
                             label, out, err);
    kmsre_http_response_clear(&resp); /* wipes the credentials in it */
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

/* ---- the role settings, copied ------------------------------------------ */

struct role_copy {
    struct kmsre_assume_role role;
    char *profile;
};

static void role_copy_clear(struct role_copy *c)
{
    OPENSSL_free((char *)c->role.role_arn);
    OPENSSL_free((char *)c->role.session_name);
    OPENSSL_free((char *)c->role.external_id);
    OPENSSL_free(c->profile);
    memset(c, 0, sizeof(*c));
}

static int dup_opt(const char **dst, const char *src)
{
    *dst = src != NULL ? OPENSSL_strdup(src) : NULL;
    return src == NULL || *dst != NULL;
}

static int role_copy_set(struct role_copy *c,
                         const struct kmsre_assume_role *role,
                         const char *profile)
{
    const char *p = NULL;
    int ok = dup_opt(&c->role.role_arn, role->role_arn) &&
             dup_opt(&c->role.session_name, role->session_name) &&
             dup_opt(&c->role.external_id, role->external_id) &&
             dup_opt(&p, profile);

    c->profile = (char *)p;
    c->role.duration_seconds = role->duration_seconds;
    if (!ok)
        role_copy_clear(c);
    return ok;
}

/* ---- AssumeRole --------------------------------------------------------- */

struct assume_role_source {
    struct kmsre_creds_source base;
    struct role_copy r;
    struct kmsre_creds_source *signer; /* owned */
};

static enum kmsre_status assume_role_get(struct kmsre_creds_source *src,
                                         const struct kmsre_creds_env *env,
                                         struct kmsre_creds *out,
                                         struct kmsre_err *err)
{
    struct assume_role_source *s = (struct assume_role_source *)src;
    struct kmsre_strbuf form = {0};
    struct kmsre_creds base = {0};
    enum kmsre_status st;

    st = kmsre_creds_source_get(s->signer, env, &base, err);
    if (st == KMSRE_OK)
        st = form_role(&form, "AssumeRole", &s->r.role, env);
    if (st == KMSRE_OK)
        st = sts_call(env, s->r.profile, &base, &form,
                      "assume role (STS AssumeRole)", out, err);
    kmsre_creds_clear(&base);
    kmsre_strbuf_free(&form);
    return st == KMSRE_ERR_NO_CREDENTIALS ? KMSRE_ERR_CREDENTIALS : st;
}

static void assume_role_destroy(struct kmsre_creds_source *src)
{
    struct assume_role_source *s = (struct assume_role_source *)src;

    kmsre_creds_source_free(s->signer);
    role_copy_clear(&s->r);
    OPENSSL_free(s);
}

static const struct kmsre_creds_source_vtable assume_role_vtable = {
    "assume role", assume_role_get, assume_role_destroy};

struct kmsre_creds_source *
kmsre_creds_assume_role_source(const struct kmsre_assume_role *role,
                               const char *profile,
                               struct kmsre_creds_source *base)
{
    struct assume_role_source *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL || !role_copy_set(&s->r, role, profile)) {
        OPENSSL_free(s);
        kmsre_creds_source_free(base);
        return NULL;
    }
    s->base.vtable = &assume_role_vtable;
    s->signer = base;
    return &s->base;
}

/* ---- AssumeRoleWithWebIdentity ------------------------------------------ */

struct web_identity_source {
    struct kmsre_creds_source base;
    struct role_copy r;
    char *token_file;
    const char *label; /* static text */
};

/* The platform rotates the token file: it is read at every fetch. */
static char *read_token(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = OPENSSL_malloc(TOKEN_FILE_MAX + 1);
    size_t n = 0;

    if (fp != NULL && buf != NULL) {
        n = fread(buf, 1, TOKEN_FILE_MAX, fp);
        while (n > 0 &&
               (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        buf[n] = '\0';
    }
    if (fp != NULL)
        fclose(fp);
    if (buf != NULL && n == 0) {
        OPENSSL_clear_free(buf, TOKEN_FILE_MAX + 1);
        buf = NULL;
    }
    return buf;
}

static enum kmsre_status web_identity_get(struct kmsre_creds_source *src,
                                          const struct kmsre_creds_env *env,
                                          struct kmsre_creds *out,
                                          struct kmsre_err *err)
{
    struct web_identity_source *s = (struct web_identity_source *)src;
    struct kmsre_strbuf form = {0};
    enum kmsre_status st = KMSRE_OK;
    char *token;

    if (s->r.role.role_arn == NULL)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "%s: AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                          "AWS_ROLE_ARN is not",
                          s->label);
    token = read_token(s->token_file);
    if (token == NULL)
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "%s: cannot read a token from %.200s", s->label,
                        s->token_file);
    if (st == KMSRE_OK)
        st = form_role(&form, "AssumeRoleWithWebIdentity", &s->r.role, env);
    if (st == KMSRE_OK)
        st = form_add(&form, "WebIdentityToken", token);
    if (st == KMSRE_ERR_LIMIT)
        kmsre_fail(err, st, "%s: the token is too large", s->label);
    if (st == KMSRE_OK)
        st = sts_call(env, s->r.profile, NULL, &form, "web identity (STS)", out,
                      err);
    if (token != NULL)
        OPENSSL_clear_free(token, TOKEN_FILE_MAX + 1);
    kmsre_strbuf_free(&form);
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

static void web_identity_destroy(struct kmsre_creds_source *src)
{
    struct web_identity_source *s = (struct web_identity_source *)src;

    role_copy_clear(&s->r);
    OPENSSL_free(s->token_file);
    OPENSSL_free(s);
}

static const struct kmsre_creds_source_vtable web_identity_vtable = {
    "web identity", web_identity_get, web_identity_destroy};

struct kmsre_creds_source *
kmsre_creds_web_identity_source(const char *token_file,
                                const struct kmsre_assume_role *role,
                                const char *profile, const char *label)
{
    struct web_identity_source *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.vtable = &web_identity_vtable;
    s->label = label;
    if (!role_copy_set(&s->r, role, profile) ||
        (s->token_file = OPENSSL_strdup(token_file)) == NULL) {
        web_identity_destroy(&s->base);
        return NULL;
    }
    return &s->base;
}
