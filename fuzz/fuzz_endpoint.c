/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/aws/endpoint.c: aws_endpoint_parse (URL
 * validation) with invariants on what it accepts, the same URL through
 * aws_kms_endpoint_resolve, and, when the input is a valid region name,
 * aws_region_resolve and the default https://kms.REGION.SUFFIX/ endpoint. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "aws/endpoint.h"
#include "util/parse.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The resolvers read these; the target must not depend on the shell. */
    unsetenv("AWS_ENDPOINT_URL_KMS");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
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

static void check_endpoint(const char *url, const struct aws_endpoint *ep)
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

static void fuzz_url(const char *url)
{
    struct aws_endpoint ep, ep2;
    char why[160];
    enum kmsre_status st, st2;

    memset(why, 0x55, sizeof(why));
    st = aws_endpoint_parse(url, &ep, why, sizeof(why));
    if (st == KMSRE_OK) {
        check_endpoint(url, &ep);
    } else {
        CHECK(st == KMSRE_ERR_INVALID);
        CHECK(has_nul(why, sizeof(why)) && why[0] != '\0');
    }
    /* An explicit endpoint goes through the same parser. */
    st2 = aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", url, NULL,
                               "default", "us-east-1", &ep2, why, sizeof(why));
    CHECK(st2 == st);
    if (st == KMSRE_OK)
        CHECK(memcmp(&ep, &ep2, sizeof(ep)) == 0);
}

/* A valid region must always give a usable default endpoint. */
static void fuzz_region(const char *region)
{
    struct aws_shared_config sc;
    struct aws_endpoint ep;
    char out[AWS_REGION_MAX], why[160];
    enum kmsre_status st;
    int valid = kmsre_region_is_valid(region);

    memset(&sc, 0, sizeof(sc));
    st =
        aws_region_resolve(region, NULL, &sc, "default", out, why, sizeof(why));
    CHECK((st == KMSRE_OK) == valid);
    if (!valid) {
        CHECK(has_nul(why, sizeof(why)));
        return;
    }
    CHECK(strcmp(out, region) == 0);
    st = aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", NULL, &sc,
                              "default", region, &ep, why, sizeof(why));
    CHECK(st == KMSRE_OK);
    check_endpoint(ep.url, &ep);
    CHECK(strncmp(ep.url, "https://kms.", 12) == 0 && !ep.is_http);
    CHECK(strncmp(ep.host + 4, region, strlen(region)) == 0);
    CHECK(strcmp(ep.path, "/") == 0);
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
