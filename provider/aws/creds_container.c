/* SPDX-License-Identifier: Apache-2.0 */
/* ECS and EKS container credentials: a local HTTP endpoint named by
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "aws/endpoint.h"

#define ECS_HOST "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define AUTH_MAX 16384

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

/* Plain http only to the hosts the SDKs allow: loopback and the container
 * agent's link-local addresses. */
static int http_host_allowed(const char *host)
{
    static const char *const allowed[] = {"localhost", "169.254.170.2",
                                          "169.254.170.23", "[fd00:ec2::23]",
                                          "[::1]"};
    char name[300];
    size_t i;

    snprintf(name, sizeof(name), "%s", host);
    if (name[0] != '[' && strchr(name, ':') != NULL)
        *strchr(name, ':') = '\0';
    else if (name[0] == '[' && strstr(name, "]:") != NULL)
        strstr(name, "]:")[1] = '\0';
    if (strncmp(name, "127.", 4) == 0)
        return 1;
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcasecmp(name, allowed[i]) == 0)
            return 1;
    return 0;
}

static enum kmsre_status container_url(struct aws_endpoint *ep, char *why,
                                       size_t whylen)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[1024];

    if (rel == NULL && full == NULL)
        return KMSRE_ERR_NO_CREDENTIALS;
    if (rel != NULL)
        snprintf(url, sizeof(url), "%s%s%s", ECS_HOST, *rel == '/' ? "" : "/",
                 rel);
    else
        snprintf(url, sizeof(url), "%s", full);
    if (aws_endpoint_parse(url, ep, why, whylen) != KMSRE_OK) {
        snprintf(why, whylen, "container credentials: the URI is not valid");
        return KMSRE_ERR_CREDENTIALS;
    }
    if (ep->is_http && rel == NULL && !http_host_allowed(ep->host)) {
        snprintf(why, whylen,
                 "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
                 "must be https, or http to a loopback or container-agent "
                 "address");
        return KMSRE_ERR_CREDENTIALS;
    }
    return KMSRE_OK;
}

/* The token file wins (it is re-read at every refresh), then the token. */
static char *authorization(char *why, size_t whylen, int *failed)
{
    const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *buf = NULL;
    size_t n = 0;
    FILE *fp;

    *failed = 0;
    if (file != NULL) {
        fp = fopen(file, "rb");
        buf = OPENSSL_zalloc(AUTH_MAX + 1);
        if (fp != NULL && buf != NULL)
            n = fread(buf, 1, AUTH_MAX, fp);
        if (fp != NULL)
            fclose(fp);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
    } else if (token != NULL) {
        buf = OPENSSL_strdup(token);
        n = buf != NULL ? strlen(buf) : 0;
    } else {
        return NULL;
    }
    if (buf == NULL || n == 0 || strpbrk(buf, "\r\n") != NULL) {
        snprintf(why, whylen,
                 "container credentials: the authorization "
                 "token is missing, unreadable or has a line "
                 "break");
        *failed = 1;
        if (buf != NULL)
            OPENSSL_clear_free(buf, strlen(buf));
        return NULL;
    }
    return buf;
}

static enum kmsre_status fetch(const struct aws_chain_ctx *cx,
                               const struct aws_endpoint *ep, const char *auth,
                               struct aws_creds *out, char *why, size_t whylen)
{
    struct kmsre_http_header h[3] = {{"Host", ep->host},
                                     {"Accept", "application/json"},
                                     {"Authorization", auth}};
    struct kmsre_http_request req = {
        "GET", ep->url, h,           auth != NULL ? 3 : 2,
        NULL,  0,       ep->is_http, CONTAINER_TIMEOUT_MS};
    struct kmsre_http_response resp = {0};
    enum kmsre_status st;

    st = kmsre_http_send(cx->http, &req, &resp);
    if (st != KMSRE_OK)
        snprintf(why, whylen, "container credentials: %s: %s", ep->url,
                 resp.error);
    else if (resp.status != 200) {
        snprintf(why, whylen, "container credentials: %s answered HTTP %ld",
                 ep->url, resp.status);
        st = KMSRE_ERR_CREDENTIALS;
    } else {
        st = aws_creds_parse_json(resp.body, resp.body_len, "Token",
                                  "container credentials", out, why, whylen);
    }
    if (resp.body != NULL)
        OPENSSL_cleanse(resp.body, resp.body_len);
    kmsre_http_response_clear(&resp);
    return st == KMSRE_OK || st == KMSRE_ERR_NOMEM ? st : KMSRE_ERR_CREDENTIALS;
}

enum kmsre_status aws_creds_from_container(const struct aws_chain_ctx *cx,
                                           struct aws_creds *out, char *why,
                                           size_t whylen)
{
    struct aws_endpoint ep;
    enum kmsre_status st = container_url(&ep, why, whylen);
    char *auth;
    int failed;

    if (st != KMSRE_OK)
        return st;
    auth = authorization(why, whylen, &failed);
    if (failed)
        return KMSRE_ERR_CREDENTIALS;
    st = fetch(cx, &ep, auth, out, why, whylen);
    if (auth != NULL)
        OPENSSL_clear_free(auth, strlen(auth));
    return st;
}
