/* SPDX-License-Identifier: Apache-2.0 */
/* EC2 instance metadata credentials, IMDSv2: a session token by PUT, then
 * the role name, then the role's credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws/creds_source.h"
#include "aws/endpoint.h"
#include "base/text.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TIMEOUT_MS 1000 /* a laptop without IMDS must not wait long */
#define IMDS_TOKEN_TTL "21600"
#define ROLE_PATH "/latest/meta-data/iam/security-credentials/"

struct imds {
    const struct kmsre_creds_env *env;
    char base[512];
    char host[300];
    char token[1024]; /* empty: IMDSv1 */
};

/* GET or PUT path; the answer body in resp. */
static enum kmsre_status imds_call(struct imds *m, const char *method,
                                   const char *path,
                                   struct kmsre_http_response *resp,
                                   struct kmsre_err *err)
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
    return kmsre_http_send(m->env->http, &req, resp, err);
}

/* KMSRE_ERR_NO_CREDENTIALS when nothing answers: not on EC2. */
static enum kmsre_status get_token(struct imds *m, struct kmsre_err *err)
{
    struct kmsre_http_response resp;
    struct kmsre_err terr = {0};
    enum kmsre_status st =
        imds_call(m, "PUT", "/latest/api/token", &resp, &terr);

    if (st != KMSRE_OK)
        st = kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                        "nothing answers at %s (%s)", m->base,
                        kmsre_err_text(&terr));
    else if (resp.status == 200 && resp.body_len > 0 &&
             resp.body_len < sizeof(m->token) &&
             strpbrk(resp.body, "\r\n") == NULL)
        memcpy(m->token, resp.body, resp.body_len + 1);
    else if ((resp.status == 403 || resp.status == 404 || resp.status == 405) &&
             !kmsre_env_true("AWS_EC2_METADATA_V1_DISABLED"))
        m->token[0] = '\0'; /* IMDSv1 fallback, as the SDKs allow */
    else
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "no session token (HTTP %ld)", resp.status);
    kmsre_http_response_clear(&resp);
    return st;
}

static enum kmsre_status get_role(struct imds *m, char *role, size_t rolelen,
                                  struct kmsre_err *err)
{
    struct kmsre_http_response resp;
    struct kmsre_err terr = {0};
    enum kmsre_status st = imds_call(m, "GET", ROLE_PATH, &resp, &terr);
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
    kmsre_fail(err, KMSRE_ERR_CREDENTIALS, "no instance role (HTTP %ld%s%s)",
               resp.status, st != KMSRE_OK ? ", " : "",
               st != KMSRE_OK ? kmsre_err_text(&terr) : "");
    kmsre_http_response_clear(&resp);
    return KMSRE_ERR_CREDENTIALS;
}

static enum kmsre_status get_creds(struct imds *m, const char *role,
                                   struct kmsre_creds *out,
                                   struct kmsre_err *err)
{
    struct kmsre_http_response resp;
    struct kmsre_err terr = {0};
    char path[512];
    enum kmsre_status st;

    snprintf(path, sizeof(path), "%s%s", ROLE_PATH, role);
    st = imds_call(m, "GET", path, &resp, &terr);
    if (st != KMSRE_OK || resp.status != 200)
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "role credentials: HTTP %ld", resp.status);
    else
        st = kmsre_creds_parse_json(resp.body, resp.body_len, "Token",
                                    "EC2 instance metadata", out, err);
    kmsre_http_response_clear(&resp); /* wipes the body */
    return st == KMSRE_ERR_RESPONSE ? KMSRE_ERR_CREDENTIALS : st;
}

static enum kmsre_status imds_base(struct imds *m, struct kmsre_err *err)
{
    const char *v = kmsre_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = kmsre_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    struct kmsre_err perr = {0};
    struct kmsre_endpoint ep;

    if (v == NULL)
        v = mode != NULL && strcasecmp(mode, "IPv6") == 0
                ? "http://[fd00:ec2::254]"
                : IMDS_DEFAULT;
    if (kmsre_endpoint_parse(v, &ep, &perr) != KMSRE_OK)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a valid "
                          "URL");
    snprintf(m->host, sizeof(m->host), "%s", ep.host);
    /* ep.url ends in "/" (or the path); paths below start with "/". */
    snprintf(m->base, sizeof(m->base), "%.*s", (int)(strlen(ep.url) - 1),
             ep.url);
    return KMSRE_OK;
}

static enum kmsre_status imds_get(struct kmsre_creds_source *src,
                                  const struct kmsre_creds_env *env,
                                  struct kmsre_creds *out,
                                  struct kmsre_err *err)
{
    struct imds m = {env, "", "", ""};
    char role[256];
    enum kmsre_status st;

    (void)src;
    if (kmsre_env_true("AWS_EC2_METADATA_DISABLED"))
        return kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS,
                          "AWS_EC2_METADATA_DISABLED is true");
    st = imds_base(&m, err);
    if (st == KMSRE_OK)
        st = get_token(&m, err);
    if (st == KMSRE_OK)
        st = get_role(&m, role, sizeof(role), err);
    if (st == KMSRE_OK)
        st = get_creds(&m, role, out, err);
    OPENSSL_cleanse(m.token, sizeof(m.token));
    if (st != KMSRE_OK && st != KMSRE_ERR_NO_CREDENTIALS)
        kmsre_err_prefix(err, "EC2 instance metadata");
    return st;
}

static void imds_destroy(struct kmsre_creds_source *src)
{
    OPENSSL_free(src);
}

static const struct kmsre_creds_source_vtable imds_vtable = {
    "EC2 instance metadata", imds_get, imds_destroy};

struct kmsre_creds_source *kmsre_creds_imds_source(void)
{
    struct kmsre_creds_source *src = OPENSSL_zalloc(sizeof(*src));

    if (src != NULL)
        src->vtable = &imds_vtable;
    return src;
}
