/* SPDX-License-Identifier: Apache-2.0 */
/* STS AssumeRole (SigV4-signed) and AssumeRoleWithWebIdentity (unsigned):
 * the query protocol out, a small XML reader for the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "aws/endpoint.h"

#define TOKEN_FILE_MAX (64 * 1024)
#define FORM_MAX (96 * 1024)

/* ---- the answer ----------------------------------------------------- */

/* The text of the first <name>...</name> inside [from, end), entities
 * decoded, into a new string; NULL if absent. */
static char *xml_text(const char *from, const char *end, const char *name)
{
    char open[64], close[64], *out, *o;
    const char *s, *e;

    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    s = from;
    while (s < end && (s = memchr(s, '<', (size_t)(end - s))) != NULL &&
           ((size_t)(end - s) < strlen(open) ||
            strncmp(s, open, strlen(open)) != 0))
        s++;
    if (s == NULL || s >= end)
        return NULL;
    s += strlen(open);
    for (e = s; e < end && (size_t)(end - e) >= strlen(close) &&
                strncmp(e, close, strlen(close)) != 0;
         e++)
        ;
    if ((size_t)(end - e) < strlen(close))
        return NULL;
    out = o = OPENSSL_malloc((size_t)(e - s) + 1);
    if (out == NULL)
        return NULL;
    while (s < e) {
        static const char *const ent[][2] = {{"&amp;", "&"},
                                             {"&lt;", "<"},
                                             {"&gt;", ">"},
                                             {"&quot;", "\""},
                                             {"&apos;", "'"}};
        size_t i, k = sizeof(ent) / sizeof(ent[0]);

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

static void free_secret(char *s)
{
    if (s != NULL)
        OPENSSL_clear_free(s, strlen(s));
}

static enum kmsre_status sts_error(const char *xml, size_t len,
                                   const char *source, char *why, size_t whylen)
{
    char *code = xml_text(xml, xml + len, "Code");
    char *msg = xml_text(xml, xml + len, "Message");
    char *p;

    for (p = msg; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    snprintf(why, whylen, "%s: STS %s: %.200s", source,
             code != NULL ? code : "error", msg != NULL ? msg : "(no message)");
    OPENSSL_free(code);
    OPENSSL_free(msg);
    return KMSRE_ERR_SERVICE;
}

enum kmsre_status aws_sts_parse(const char *xml, size_t len, const char *source,
                                struct aws_creds *out, char *why, size_t whylen)
{
    const char *end = xml + len, *creds;
    char *akid, *secret, *token, *exp;
    enum kmsre_status st = KMSRE_ERR_RESPONSE;
    time_t expiration = 0;

    creds = strstr(xml, "<Credentials>");
    if (creds == NULL || creds >= end) {
        if (strstr(xml, "<Error>") != NULL)
            return sts_error(xml, len, source, why, whylen);
        snprintf(why, whylen, "%s: the STS answer has no Credentials", source);
        return KMSRE_ERR_RESPONSE;
    }
    akid = xml_text(creds, end, "AccessKeyId");
    secret = xml_text(creds, end, "SecretAccessKey");
    token = xml_text(creds, end, "SessionToken");
    exp = xml_text(creds, end, "Expiration");
    if (akid == NULL || secret == NULL || token == NULL || exp == NULL ||
        *akid == '\0' || *secret == '\0' || *token == '\0' ||
        !aws_parse_iso8601(exp, &expiration))
        snprintf(why, whylen, "%s: the STS answer lacks a credential member",
                 source);
    else
        st = aws_creds_set(out, akid, secret, token, expiration, source);
    OPENSSL_free(akid);
    free_secret(secret);
    free_secret(token);
    OPENSSL_free(exp);
    return st;
}

/* ---- the request ---------------------------------------------------- */

struct form {
    char *buf;
    size_t len;
};

/* Appends "&name=value" (value percent-encoded as SigV4 encodes). */
static int form_add(struct form *f, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = strlen(name) + 2 + 3 * strlen(value);
    char *o;

    if (f->len + need + 1 > FORM_MAX)
        return 0;
    o = f->buf + f->len;
    o += sprintf(o, "%s%s=", f->len > 0 ? "&" : "", name);
    for (; *value != '\0'; value++) {
        unsigned char c = (unsigned char)*value;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    f->len = (size_t)(o - f->buf);
    return 1;
}

static int form_role(struct form *f, const char *action,
                     const struct aws_assume_role *role, time_t now)
{
    char session[64], duration[24];

    snprintf(session, sizeof(session), "kmsreencrypt-%lld", (long long)now);
    snprintf(duration, sizeof(duration), "%ld", role->duration_seconds);
    return form_add(f, "Action", action) &&
           form_add(f, "Version", "2011-06-15") &&
           form_add(f, "RoleArn", role->role_arn) &&
           form_add(f, "RoleSessionName",
                    role->session_name != NULL ? role->session_name
                                               : session) &&
           (role->external_id == NULL ||
            form_add(f, "ExternalId", role->external_id)) &&
           (role->duration_seconds <= 0 ||
            form_add(f, "DurationSeconds", duration));
}

struct sts_call {
    struct aws_endpoint ep;
    char amz_date[17];
    struct sigv4_state sig;
    struct kmsre_http_header headers[6];
    size_t n;
};

static void add_header(struct sts_call *c, const char *name, const char *value)
{
    c->headers[c->n].name = name;
    c->headers[c->n].value = value;
    c->n++;
}

/* Signs with service "sts" in the chain's region; unsigned when source is
 * NULL (web identity). */
static enum kmsre_status sign(const struct aws_chain_ctx *cx,
                              struct sts_call *c,
                              const struct aws_creds *source,
                              const struct form *f)
{
    struct sigv4_header h[4];
    struct sigv4_request r = {
        "POST", c->ep.path, "", h, 0, (const unsigned char *)f->buf, f->len, 1};
    struct sigv4_scope scope = {c->amz_date, cx->region, "sts"};
    unsigned char key[SIGV4_KEY_LEN];
    char date8[9];
    enum kmsre_status st;
    struct tm tm;
    size_t i;

    if (source == NULL)
        return KMSRE_OK;
    gmtime_r(&cx->now, &tm);
    strftime(c->amz_date, sizeof(c->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    add_header(c, "X-Amz-Date", c->amz_date);
    if (source->session_token != NULL)
        add_header(c, "X-Amz-Security-Token", source->session_token);
    for (i = 0; i < c->n; i++) {
        h[i].name = c->headers[i].name;
        h[i].value = c->headers[i].value;
    }
    r.n_headers = c->n;
    memcpy(date8, c->amz_date, 8);
    date8[8] = '\0';
    st = sigv4_derive_key(cx->algs, source->secret_access_key, date8,
                          cx->region, "sts", key);
    if (st == KMSRE_OK)
        st = sigv4_sign(cx->algs, &c->sig, &r, &scope, source->access_key_id,
                        key);
    OPENSSL_cleanse(key, sizeof(key));
    if (st == KMSRE_OK)
        add_header(c, "Authorization", c->sig.authorization);
    return st;
}

static enum kmsre_status sts_call(const struct aws_chain_ctx *cx,
                                  const char *profile, const char *source_name,
                                  const struct aws_creds *source,
                                  const struct form *f, struct aws_creds *out,
                                  char *why, size_t whylen)
{
    struct kmsre_http_request req = {0};
    struct kmsre_http_response resp = {0};
    struct sts_call c = {0};
    enum kmsre_status st;

    st = aws_endpoint_resolve("sts", "AWS_ENDPOINT_URL_STS", NULL, cx->sc,
                              profile, cx->region, &c.ep, why, whylen);
    if (st != KMSRE_OK)
        return KMSRE_ERR_CREDENTIALS;
    add_header(&c, "Content-Type",
               "application/x-www-form-urlencoded; charset=utf-8");
    add_header(&c, "Host", c.ep.host);
    st = sign(cx, &c, source, f);
    if (st == KMSRE_OK) {
        req.url = c.ep.url;
        req.headers = c.headers;
        req.n_headers = c.n;
        req.body = f->buf;
        req.body_len = f->len;
        req.allow_http = c.ep.is_http;
        st = kmsre_http_send(cx->http, &req, &resp);
        if (st != KMSRE_OK)
            snprintf(why, whylen, "%s: STS %s: %s", source_name, c.ep.url,
                     resp.error);
    }
    if (st == KMSRE_OK)
        st = aws_sts_parse(resp.body != NULL ? resp.body : "", resp.body_len,
                           source_name, out, why, whylen);
    sigv4_state_clear(&c.sig);
    kmsre_http_response_clear(&resp);
    return st == KMSRE_OK ? KMSRE_OK : KMSRE_ERR_CREDENTIALS;
}

enum kmsre_status aws_sts_assume_role(const struct aws_chain_ctx *cx,
                                      const char *profile,
                                      const struct aws_creds *source,
                                      const struct aws_assume_role *role,
                                      struct aws_creds *out, char *why,
                                      size_t whylen)
{
    struct form f = {OPENSSL_malloc(FORM_MAX), 0};
    enum kmsre_status st = KMSRE_ERR_NOMEM;

    if (f.buf != NULL && form_role(&f, "AssumeRole", role, cx->now))
        st = sts_call(cx, profile, "assume role (STS AssumeRole)", source, &f,
                      out, why, whylen);
    OPENSSL_free(f.buf);
    return st;
}

/* The token file is read at every refresh: the platform rotates it. */
static char *read_token(const char *path, char *why, size_t whylen)
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
    if (fp == NULL || buf == NULL || n == 0) {
        snprintf(why, whylen, "web identity: cannot read a token from %.200s",
                 path);
        if (buf != NULL)
            OPENSSL_clear_free(buf, TOKEN_FILE_MAX + 1);
        return NULL;
    }
    return buf;
}

enum kmsre_status
aws_sts_web_identity(const struct aws_chain_ctx *cx, const char *profile,
                     const char *token_file, const struct aws_assume_role *role,
                     struct aws_creds *out, char *why, size_t whylen)
{
    char *token = read_token(token_file, why, whylen);
    struct form f = {NULL, 0};
    enum kmsre_status st = KMSRE_ERR_CREDENTIALS;

    if (token == NULL)
        return st;
    f.buf = OPENSSL_malloc(FORM_MAX);
    if (f.buf == NULL)
        st = KMSRE_ERR_NOMEM;
    else if (!form_role(&f, "AssumeRoleWithWebIdentity", role, cx->now) ||
             !form_add(&f, "WebIdentityToken", token))
        snprintf(why, whylen, "web identity: the token is too large");
    else
        st = sts_call(cx, profile, "web identity (STS)", NULL, &f, out, why,
                      whylen);
    OPENSSL_clear_free(token, TOKEN_FILE_MAX + 1);
    if (f.buf != NULL)
        OPENSSL_clear_free(f.buf, FORM_MAX);
    return st;
}
