/* SPDX-License-Identifier: Apache-2.0 */
/* The AWS configuration layer: the shared files' INI dialect, endpoint
 * URLs and their resolution for every partition and switch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/endpoint.h"
#include "aws/ini.h"
#include "test.h"

static enum kmsre_status resolve(const char *service, const char *cfg,
                                 const struct kmsre_shared_config *sc,
                                 const char *profile, const char *region,
                                 struct kmsre_endpoint *ep)
{
    struct kmsre_endpoint_query q = {service, NULL, cfg, sc, profile, region};

    return kmsre_endpoint_resolve(&q, ep, NULL, NULL);
}

static void test_ini(void)
{
    const char *text = "[default]\nregion = eu-west-1 \n# c\n"
                       "[profile dev]\naws_access_key_id=AKID\n"
                       "s3 =\n  max_concurrent_requests = 2\n"
                       "region=us-east-2\nbroken line\n[bad\nx=y\n";
    struct kmsre_ini ini;
    const char *v;

    test_check(kmsre_ini_parse(text, strlen(text), &ini) == KMSRE_OK,
               "ini: parses");
    v = kmsre_ini_get(&ini, "default", "region");
    test_check(v != NULL && strcmp(v, "eu-west-1") == 0, "ini: value trimmed");
    v = kmsre_ini_get(&ini, "profile dev", "s3.max_concurrent_requests");
    test_check(v != NULL && strcmp(v, "2") == 0, "ini: nested key");
    v = kmsre_ini_get(&ini, "profile dev", "region");
    test_check(v != NULL && strcmp(v, "us-east-2") == 0, "ini: after nested");
    test_check(kmsre_ini_get(&ini, "bad", "x") == NULL,
               "ini: keys under a broken section header are dropped");
    kmsre_ini_clear(&ini);
}

static void test_endpoint(void)
{
    struct kmsre_endpoint ep;

    test_check(kmsre_endpoint_parse("https://localhost:4443", &ep, NULL) ==
                       KMSRE_OK &&
                   strcmp(ep.host, "localhost:4443") == 0 &&
                   strcmp(ep.path, "/") == 0 &&
                   strcmp(ep.url, "https://localhost:4443/") == 0,
               "endpoint: port kept in Host");
    test_check(kmsre_endpoint_parse("https://kms.eu-west-1.amazonaws.com:443/",
                                    &ep, NULL) == KMSRE_OK &&
                   strcmp(ep.host, "kms.eu-west-1.amazonaws.com") == 0,
               "endpoint: default port left out of Host");
    test_check(kmsre_endpoint_parse("http://[::1]:8080/kms", &ep, NULL) ==
                       KMSRE_OK &&
                   ep.is_http && strcmp(ep.host, "[::1]:8080") == 0 &&
                   strcmp(ep.path, "/kms") == 0,
               "endpoint: IPv6, http, path");
    test_check(kmsre_endpoint_parse("https://a b", &ep, NULL) != KMSRE_OK,
               "endpoint: space refused");
    test_check(kmsre_endpoint_parse("https://h\r\nX: y", &ep, NULL) != KMSRE_OK,
               "endpoint: header injection refused");
    test_check(kmsre_endpoint_parse("https://user@h", &ep, NULL) != KMSRE_OK,
               "endpoint: user info refused");
    test_check(kmsre_endpoint_parse("https://h:99999", &ep, NULL) != KMSRE_OK,
               "endpoint: bad port refused");
    test_check(kmsre_endpoint_parse("https://h:\t4", &ep, NULL) != KMSRE_OK &&
                   kmsre_endpoint_parse("https://h:+4", &ep, NULL) != KMSRE_OK,
               "endpoint: port is digits only");
    test_check(kmsre_endpoint_parse("https://h/?a=b", &ep, NULL) != KMSRE_OK,
               "endpoint: query refused");
    test_check(kmsre_endpoint_parse("ftp://h", &ep, NULL) != KMSRE_OK,
               "endpoint: other schemes refused");
    test_check(kmsre_endpoint_parse("https://a[b]c", &ep, NULL) != KMSRE_OK &&
                   kmsre_endpoint_parse("https://[]", &ep, NULL) != KMSRE_OK &&
                   kmsre_endpoint_parse("https://]:5", &ep, NULL) != KMSRE_OK &&
                   kmsre_endpoint_parse("https://[x]", &ep, NULL) != KMSRE_OK,
               "endpoint: brackets only around an IPv6 address");
}

static void test_partitions(void)
{
    struct kmsre_shared_config sc = {{0}, {0}};
    struct kmsre_endpoint ep;

    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_KMS");
    test_check(resolve("kms", NULL, &sc, "default", "cn-north-1", &ep) ==
                       KMSRE_OK &&
                   strcmp(ep.host, "kms.cn-north-1.amazonaws.com.cn") == 0,
               "endpoint: China partition");
    test_check(resolve("kms", NULL, &sc, "default", "us-gov-west-1", &ep) ==
                       KMSRE_OK &&
                   strcmp(ep.url, "https://kms.us-gov-west-1.amazonaws.com/") ==
                       0,
               "endpoint: GovCloud");
    setenv("AWS_ENDPOINT_URL", "https://generic:1", 1);
    setenv("AWS_ENDPOINT_URL_KMS", "https://kms-only:2", 1);
    test_check(resolve("kms", NULL, &sc, "default", "us-east-1", &ep) ==
                       KMSRE_OK &&
                   strcmp(ep.host, "kms-only:2") == 0,
               "endpoint: AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL");
    test_check(resolve("kms", "https://cnf:3", &sc, "default", "us-east-1",
                       &ep) == KMSRE_OK &&
                   strcmp(ep.host, "cnf:3") == 0,
               "endpoint: configuration over the environment");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_KMS");
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    test_check(resolve("kms", NULL, &sc, "default", "us-gov-west-1", &ep) ==
                       KMSRE_OK &&
                   strcmp(ep.host, "kms-fips.us-gov-west-1.amazonaws.com") == 0,
               "endpoint: FIPS");
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
    test_check(resolve("sts", NULL, &sc, "default", "eu-west-1", &ep) ==
                       KMSRE_OK &&
                   strcmp(ep.host, "sts.eu-west-1.api.aws") == 0,
               "endpoint: dual-stack, another service");
    unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

static void test_services_section(void)
{
    const char *text = "[profile p]\nservices = local\n"
                       "[services local]\nsso_oidc =\n"
                       "  endpoint_url = https://oidc.local:1\n"
                       "kms =\n  endpoint_url = https://kms.local:2\n";
    struct kmsre_shared_config sc = {{0}, {0}};
    struct kmsre_endpoint_query q = {"sso-oidc", "oidc", NULL,
                                     &sc,        "p",    "eu-west-1"};
    struct kmsre_endpoint ep;
    const char *from = NULL;

    kmsre_ini_parse(text, strlen(text), &sc.config);
    test_check(kmsre_endpoint_resolve(&q, &ep, &from, NULL) == KMSRE_OK &&
                   strcmp(ep.host, "oidc.local:1") == 0,
               "services section: sso-oidc reads sso_oidc");
    q.service = "kms";
    q.host_prefix = NULL;
    test_check(kmsre_endpoint_resolve(&q, &ep, &from, NULL) == KMSRE_OK &&
                   strcmp(ep.host, "kms.local:2") == 0 &&
                   strstr(from, "services") != NULL,
               "services section: kms, and the trace says where from");
    q.service = "sso";
    q.host_prefix = "portal.sso";
    test_check(kmsre_endpoint_resolve(&q, &ep, &from, NULL) == KMSRE_OK &&
                   strcmp(ep.host, "portal.sso.eu-west-1.amazonaws.com") == 0,
               "SSO portal's public endpoint");
    setenv("AWS_ENDPOINT_URL_SSO", "https://sso.env:3", 1);
    test_check(kmsre_endpoint_resolve(&q, &ep, &from, NULL) == KMSRE_OK &&
                   strcmp(ep.host, "sso.env:3") == 0,
               "AWS_ENDPOINT_URL_SSO");
    unsetenv("AWS_ENDPOINT_URL_SSO");
    kmsre_shared_config_clear(&sc);
}

int main(void)
{
    unsetenv("AWS_ENDPOINT_URL_SSO");
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    test_ini();
    test_endpoint();
    test_partitions();
    test_services_section();
    return test_summary();
}
