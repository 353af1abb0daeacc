/* SPDX-License-Identifier: Apache-2.0 */
/* ECS and EKS Pod Identity container credentials: a local HTTP endpoint
 * named by AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws/creds_source.h"
#include "aws/endpoint.h"
#include "base/strbuf.h"
#include "base/text.h"

#define ECS_HOST "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define AUTH_MAX 16384

/* The host of an endpoint's Host value, without port or brackets. */
static void bare_host(const char *host, char *out, size_t len)
{
    const char *end;

    if (host[0] == '[') {
        end = strchr(host, ']');
        snprintf(out, len, "%.*s", end != NULL ? (int)(end - host - 1) : 0,
                 host + 1);
        return;
    }
    end = strchr(host, ':');
    snprintf(out, len, "%.*s", end != NULL ? (int)(end - host) : (int)len,
             host);
}

/* A literal loopback address: 127.0.0.0/8 or ::1 (not a name that only
 * looks like one, such as 127.0.0.1.example.com). */
static int is_loopback_literal(const char *h)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, h, a) == 1)
        return a[0] == 127;
    return inet_pton(AF_INET6, h, a) == 1 &&
           memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
}

/* Plain http only where botocore allows it: a literal loopback address,
 * or exactly one of the container agents' addresses or "localhost". */
static int http_host_allowed(const char *host)
{
    static const char *const allowed[] = {"169.254.170.2", "169.254.170.23",
                                          "fd00:ec2::23", "localhost"};
    char h[300];
    size_t i;

    bare_host(host, h, sizeof(h));
    if (is_loopback_literal(h))
        return 1;
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcasecmp(h, allowed[i]) == 0)
            return 1;
    return 0;
}

static enum kmsre_status container_url(struct kmsre_endpoint *ep,
                                       struct kmsre_err *err)
{
    const char *rel = kmsre_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = kmsre_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    struct kmsre_err perr = {0};
    char url[1024];

    if (rel == NULL && full == NULL)
        return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                          "_FULL_URI not set");
    if (rel != NULL)
        snprintf(url, sizeof(url), "%s%s%s", ECS_HOST, *rel == '/' ? "" : "/",
                 rel);
    else
        snprintf(url, sizeof(url), "%s", full);
    if (kmsre_endpoint_parse(url, ep, &perr) != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS, "the URI is not valid");
    if (ep->is_http && rel == NULL && !http_host_allowed(ep->host))
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, "
                          "or http to a loopback address, 169.254.170.2, "
                          "169.254.170.23, fd00:ec2::23 or localhost");
    return KMSRE_OK;
}

static char *read_token_file(const char *path)
{
    char *buf = OPENSSL_zalloc(AUTH_MAX + 1);
    FILE *fp = fopen(path, "rb");
    size_t n = 0;

    if (fp != NULL && buf != NULL)
        n = fread(buf, 1, AUTH_MAX, fp);
    if (fp != NULL)
        fclose(fp);
    while (buf != NULL && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (buf != NULL && n == 0) {
        OPENSSL_clear_free(buf, AUTH_MAX + 1);
        buf = NULL;
    }
    return buf;
}

/* The token file wins (it is re-read at every refresh), then the token.
 * *auth stays NULL when neither is set. */
static enum kmsre_status authorization(char **auth, struct kmsre_err *err)
{
    const char *file = kmsre_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = kmsre_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");

    *auth = NULL;
    if (file == NULL && token == NULL)
        return KMSRE_OK;
    *auth = file != NULL ? read_token_file(file) : OPENSSL_strdup(token);
    if (*auth != NULL && strpbrk(*auth, "\r\n") == NULL)
        return KMSRE_OK;
    kmsre_free_secret(auth);
    return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                      "the authorization token is missing, unreadable or has "
                      "a line break");
}

static enum kmsre_status fetch(const struct kmsre_creds_env *env,
                               const struct kmsre_endpoint *ep,
                               const char *auth, struct kmsre_creds *out,
                               struct kmsre_err *err)
{
    struct kmsre_http_header h[3] = {{"Host", ep->host},
                                     {"Accept", "application/json"},
                                     {"Authorization", auth}};
    struct kmsre_http_request req = {
        "GET", ep->url, h,           auth != NULL ? 3 : 2,
        NULL,  0,       ep->is_http, CONTAINER_TIMEOUT_MS};
    struct kmsre_http_response resp;
    enum kmsre_status st;

    st = kmsre_http_send(env->http, &req, &resp, err);
    if (st != KMSRE_OK)
        kmsre_err_prefix(err, "%s", ep->url);
    else if (resp.status != 200)
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS, "%s answered HTTP %ld",
                        ep->url, resp.status);
    else
        st = kmsre_creds_parse_json(resp.body, resp.body_len, "Token",
                                    "container credentials", out, err);
    kmsre_http_response_clear(&resp); /* wipes the body */
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

static enum kmsre_status container_get(struct kmsre_creds_source *src,
                                       const struct kmsre_creds_env *env,
                                       struct kmsre_creds *out,
                                       struct kmsre_err *err)
{
    struct kmsre_endpoint ep;
    enum kmsre_status st;
    char *auth = NULL;

    (void)src;
    st = container_url(&ep, err);
    if (st == KMSRE_OK)
        st = authorization(&auth, err);
    if (st == KMSRE_OK)
        st = fetch(env, &ep, auth, out, err);
    kmsre_free_secret(&auth);
    if (st != KMSRE_ERR_NO_CREDENTIALS)
        kmsre_err_prefix(err, "container credentials");
    return st;
}

static void container_destroy(struct kmsre_creds_source *src)
{
    OPENSSL_free(src);
}

static const struct kmsre_creds_source_vtable container_vtable = {
    "container credentials", container_get, container_destroy};

struct kmsre_creds_source *kmsre_creds_container_source(void)
{
    struct kmsre_creds_source *src = OPENSSL_zalloc(sizeof(*src));

    if (src != NULL)
        src->vtable = &container_vtable;
    return src;
}
