/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/aws/endpoint.c: kmsre_endpoint_parse (URL
 * validation) with invariants on what it accepts, the same URL through
 * kmsre_endpoint_resolve as a configured endpoint, and, when the input is a
 * valid region name, kmsre_region_resolve and the default
 * https://SERVICE.REGION.SUFFIX/ endpoints. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "aws/endpoint.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const vars[] = {"AWS_ENDPOINT_URL_KMS",
                                       "AWS_ENDPOINT_URL_STS",
                                       "AWS_ENDPOINT_URL_SSO",
                                       "AWS_ENDPOINT_URL_SSO_OIDC",
                                       "AWS_ENDPOINT_URL",
                                       "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                       "AWS_USE_FIPS_ENDPOINT",
                                       "AWS_USE_DUALSTACK_ENDPOINT",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       "AWS_PROFILE",
                                       "AWS_CONFIG_FILE",
                                       "AWS_SHARED_CREDENTIALS_FILE"};
    size_t i;

    (void)argc;
    (void)argv;
    /* The resolvers read these; the target must not depend on the shell. */
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static int has_nul(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

/* No control characters, no space, nothing outside printable ASCII. */
static int clean(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static void check_endpoint(const char *url, const struct kmsre_endpoint *ep)
{
    size_t scheme = ep->is_http ? 7 : 8, ulen = strlen(url), hlen;
    const char *auth, *colon;
    char *end;
    long port;

    CHECK(has_nul(ep->url, sizeof(ep->url)));
    CHECK(has_nul(ep->host, sizeof(ep->host)));
    CHECK(has_nul(ep->path, sizeof(ep->path)));
    CHECK(clean(ep->url) && clean(ep->host) && clean(ep->path));
    CHECK(ep->path[0] == '/');
    CHECK(ep->host[0] != '\0' && ep->host[0] != ':');
    CHECK(strncasecmp(ep->url, ep->is_http ? "http://" : "https://", scheme) ==
          0);
    /* No user info, query or fragment. */
    auth = ep->url + scheme;
    CHECK(strcspn(auth, "/") <= strcspn(auth, "@"));
    CHECK(strpbrk(ep->url, "?#%") == NULL);
    /* url is the input, with "/" added when it had no path; path is its
     * tail. */
    CHECK(strncmp(ep->url, url, ulen) == 0);
    CHECK(strcmp(ep->url + ulen, strchr(url + scheme, '/') ? "" : "/") == 0);
    CHECK(strlen(ep->url) >= strlen(ep->path));
    CHECK(strcmp(ep->url + strlen(ep->url) - strlen(ep->path), ep->path) == 0);
    CHECK(strchr(auth, '/') == ep->url + strlen(ep->url) - strlen(ep->path));
    /* Host header: the host, and a port only when it is not the default. */
    hlen = strlen(ep->host);
    CHECK(strncmp(auth, ep->host, hlen) == 0 || strchr(ep->host, ':') != NULL);
    colon = ep->host[0] == '[' ? strchr(ep->host, ']') : ep->host;
    CHECK(colon != NULL);
    colon = strchr(colon, ':');
    if (colon != NULL) {
        port = strtol(colon + 1, &end, 10);
        CHECK(*end == '\0' && port > 0 && port < 65536);
        CHECK(port != (ep->is_http ? 80 : 443));
        CHECK(colon[1] != '0');
    }
}

static void check_failure(enum kmsre_status st, const struct kmsre_err *err,
                          enum kmsre_status want)
{
    CHECK(st == want);
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
}

static void fuzz_url(const char *url)
{
    static const struct kmsre_shared_config empty;
    struct kmsre_endpoint_query q = {.service = "kms",
                                     .cfg_endpoint = url,
                                     .sc = &empty,
                                     .region = "us-east-1"};
    struct kmsre_endpoint ep, ep2;
    struct kmsre_err err = {0}, err2 = {0};
    const char *source = NULL;
    enum kmsre_status st, st2;

    memset(&ep, 0x55, sizeof(ep));
    st = kmsre_endpoint_parse(url, &ep, &err);
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        check_endpoint(url, &ep);
    } else {
        check_failure(st, &err, KMSRE_ERR_INVALID);
    }
    /* An explicit endpoint goes through the same parser. */
    st2 = kmsre_endpoint_resolve(&q, &ep2, &source, &err2);
    CHECK(st2 == st);
    CHECK(source != NULL && strcmp(source, "the provider configuration") == 0);
    if (st == KMSRE_OK)
        CHECK(memcmp(&ep, &ep2, sizeof(ep)) == 0);
    else
        check_failure(st2, &err2, KMSRE_ERR_INVALID);
}

/* The public endpoint of a service in a valid region: "https://" +
 * prefix + "." + region + "." + a partition's DNS suffix + "/". */
static void check_default(const struct kmsre_shared_config *sc,
                          const char *region, const char *service,
                          const char *host_prefix)
{
    struct kmsre_endpoint_query q = {.service = service,
                                     .host_prefix = host_prefix,
                                     .sc = sc,
                                     .profile = "default",
                                     .region = region};
    const char *prefix = host_prefix != NULL ? host_prefix : service;
    size_t plen = strlen(prefix), rlen = strlen(region);
    struct kmsre_endpoint ep;
    struct kmsre_err err = {0};
    const char *source = NULL;

    CHECK(kmsre_endpoint_resolve(&q, &ep, &source, &err) == KMSRE_OK);
    CHECK(err.status == KMSRE_OK);
    CHECK(source != NULL && strcmp(source, "the region") == 0);
    check_endpoint(ep.url, &ep);
    CHECK(strncmp(ep.url, "https://", 8) == 0 && !ep.is_http);
    CHECK(strncmp(ep.host, prefix, plen) == 0 && ep.host[plen] == '.');
    CHECK(strncmp(ep.host + plen + 1, region, rlen) == 0);
    CHECK(ep.host[plen + 1 + rlen] == '.');
    CHECK(strchr(ep.host, ':') == NULL);
    CHECK(strcmp(ep.path, "/") == 0);
}

/* A valid region must always give usable default endpoints. */
static void fuzz_region(const char *region)
{
    static const struct kmsre_shared_config empty;
    char out[KMSRE_REGION_MAX];
    struct kmsre_err err = {0};
    const char *source = NULL;
    enum kmsre_status st;
    int valid = kmsre_region_is_valid(region);

    memset(out, 0x55, sizeof(out));
    st = kmsre_region_resolve(region, NULL, &empty, "default", out, &source,
                              &err);
    CHECK((st == KMSRE_OK) == valid);
    if (!valid) {
        check_failure(st, &err, KMSRE_ERR_INVALID);
        return;
    }
    CHECK(err.status == KMSRE_OK);
    CHECK(strcmp(out, region) == 0);
    CHECK(source != NULL && strcmp(source, "the key") == 0);
    /* The same region from the configuration instead of the key. */
    memset(out, 0x55, sizeof(out));
    CHECK(kmsre_region_resolve(NULL, region, &empty, "default", out, &source,
                               &err) == KMSRE_OK);
    CHECK(strcmp(out, region) == 0);
    check_default(&empty, region, "kms", NULL);
    check_default(&empty, region, "sts", NULL);
    check_default(&empty, region, "sso", "portal.sso");
    check_default(&empty, region, "sso-oidc", "oidc");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url;

    if (size > 4096)
        return 0;
    url = malloc(size + 1);
    if (url == NULL)
        return 0;
    if (size > 0)
        memcpy(url, data, size);
    url[size] = '\0';
    fuzz_url(url);
    fuzz_region(url);
    free(url);
    return 0;
}
