/* SPDX-License-Identifier: Apache-2.0 */
/* EC2 instance metadata credentials, IMDSv2: a session token by PUT, then
 * the role name, then the role's credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "aws/endpoint.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TIMEOUT_MS 1000 /* a laptop without IMDS must not wait long */
#define IMDS_TOKEN_TTL "21600"
#define ROLE_PATH "/latest/meta-data/iam/security-credentials/"

struct imds {
    const struct aws_chain_ctx *cx;
    char base[512];
    char host[300];
    char token[1024]; /* empty: IMDSv1 */
};

static int env_true(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && strcasecmp(v, "true") == 0;
}

/* GET or PUT path; the answer body in resp. */
static enum kmsre_status imds_call(struct imds *m, const char *method,
                                   const char *path,
                                   struct kmsre_http_response *resp)
{
    char url[1024];
    struct kmsre_http_header h[2] = {{"Host", m->host}, {NULL, NULL}};
    struct kmsre_http_request req = {method, url, h, 1,
                                     "",     0,   1, IMDS_TIMEOUT_MS};

    snprintf(url, sizeof(url), "%s%s", m->base, path);
    if (strcmp(method, "PUT") == 0) {
        h[1].name = "X-aws-ec2-metadata-token-ttl-seconds";
        h[1].value = IMDS_TOKEN_TTL;
        req.n_headers = 2;
    } else if (m->token[0] != '\0') {
        h[1].name = "X-aws-ec2-metadata-token";
        h[1].value = m->token;
        req.n_headers = 2;
    }
    memset(resp, 0, sizeof(*resp));
    return kmsre_http_send(m->cx->http, &req, resp);
}

/* KMSRE_ERR_NO_CREDENTIALS when nothing answers: not on EC2. */
static enum kmsre_status get_token(struct imds *m, char *why, size_t whylen)
{
    struct kmsre_http_response resp;
    enum kmsre_status st = imds_call(m, "PUT", "/latest/api/token", &resp);

    if (st != KMSRE_OK)
        st = KMSRE_ERR_NO_CREDENTIALS;
    else if (resp.status == 200 && resp.body_len > 0 &&
             resp.body_len < sizeof(m->token) &&
             strpbrk(resp.body, "\r\n") == NULL)
        memcpy(m->token, resp.body, resp.body_len + 1);
    else if ((resp.status == 403 || resp.status == 404 || resp.status == 405) &&
             !env_true("AWS_EC2_METADATA_V1_DISABLED"))
        m->token[0] = '\0'; /* IMDSv1 fallback, as the SDKs allow */
    else {
        snprintf(why, whylen,
                 "EC2 instance metadata: no session token (HTTP %ld)",
                 resp.status);
        st = KMSRE_ERR_CREDENTIALS;
    }
    kmsre_http_response_clear(&resp);
    return st;
}

static enum kmsre_status get_role(struct imds *m, char *role, size_t rolelen,
                                  char *why, size_t whylen)
{
    struct kmsre_http_response resp;
    enum kmsre_status st = imds_call(m, "GET", ROLE_PATH, &resp);
    size_t n;

    if (st == KMSRE_OK && resp.status == 200 && resp.body_len > 0) {
        n = strcspn(resp.body, "\r\n");
        if (n > 0 && n < rolelen &&
            strspn(resp.body, "ABCDEFGHIJKLMNOPQRSTUV"
                              "WXYZabcdefghijklmnopqr"
                              "stuvwxyz0123456789+=,."
                              "@_-") == n) {
            memcpy(role, resp.body, n);
            role[n] = '\0';
            kmsre_http_response_clear(&resp);
            return KMSRE_OK;
        }
    }
    snprintf(why, whylen,
             "EC2 instance metadata: no instance role (HTTP %ld%s%s)",
             resp.status, st != KMSRE_OK ? ", " : "",
             st != KMSRE_OK ? resp.error : "");
    kmsre_http_response_clear(&resp);
    return KMSRE_ERR_CREDENTIALS;
}

static enum kmsre_status get_creds(struct imds *m, const char *role,
                                   struct aws_creds *out, char *why,
                                   size_t whylen)
{
    struct kmsre_http_response resp;
    char path[512];
    enum kmsre_status st;

    snprintf(path, sizeof(path), "%s%s", ROLE_PATH, role);
    st = imds_call(m, "GET", path, &resp);
    if (st != KMSRE_OK || resp.status != 200) {
        snprintf(why, whylen,
                 "EC2 instance metadata: role credentials: HTTP %ld",
                 resp.status);
        st = KMSRE_ERR_CREDENTIALS;
    } else {
        st = aws_creds_parse_json(resp.body, resp.body_len, "Token",
                                  "EC2 instance metadata", out, why, whylen);
        if (st == KMSRE_ERR_RESPONSE)
            st = KMSRE_ERR_CREDENTIALS;
    }
    if (resp.body != NULL)
        OPENSSL_cleanse(resp.body, resp.body_len);
    kmsre_http_response_clear(&resp);
    return st;
}

static enum kmsre_status imds_base(struct imds *m, char *why, size_t whylen)
{
    const char *v = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    struct aws_endpoint ep;

    if (v == NULL || *v == '\0')
        v = mode != NULL && strcasecmp(mode, "IPv6") == 0
                ? "http://[fd00:ec2::254]"
                : IMDS_DEFAULT;
    if (aws_endpoint_parse(v, &ep, why, whylen) != KMSRE_OK) {
        snprintf(why, whylen,
                 "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a valid URL");
        return KMSRE_ERR_CREDENTIALS;
    }
    snprintf(m->host, sizeof(m->host), "%s", ep.host);
    /* ep.url ends in "/" (or the path); paths below start with "/". */
    snprintf(m->base, sizeof(m->base), "%.*s", (int)(strlen(ep.url) - 1),
             ep.url);
    return KMSRE_OK;
}

enum kmsre_status aws_creds_from_imds(const struct aws_chain_ctx *cx,
                                      struct aws_creds *out, char *why,
                                      size_t whylen)
{
    struct imds m = {cx, "", "", ""};
    char role[256];
    enum kmsre_status st;

    if (env_true("AWS_EC2_METADATA_DISABLED"))
        return KMSRE_ERR_NO_CREDENTIALS;
    st = imds_base(&m, why, whylen);
    if (st == KMSRE_OK)
        st = get_token(&m, why, whylen);
    if (st == KMSRE_OK)
        st = get_role(&m, role, sizeof(role), why, whylen);
    if (st == KMSRE_OK)
        st = get_creds(&m, role, out, why, whylen);
    OPENSSL_cleanse(m.token, sizeof(m.token));
    return st;
}
