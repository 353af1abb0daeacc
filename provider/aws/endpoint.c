/* SPDX-License-Identifier: Apache-2.0 */
/* Region and endpoint resolution for KMS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "aws/endpoint.h"
#include "util/parse.h"

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

static enum kmsre_status use_region(const char *region, const char *source,
                                    char out[AWS_REGION_MAX], char *why,
                                    size_t whylen)
{
    if (!kmsre_region_is_valid(region)) {
        snprintf(why, whylen, "region from %s is not a valid AWS region",
                 source);
        return KMSRE_ERR_INVALID;
    }
    snprintf(out, AWS_REGION_MAX, "%s", region);
    return KMSRE_OK;
}

enum kmsre_status
aws_region_resolve(const char *key_region, const char *cfg_region,
                   const struct aws_shared_config *sc, const char *profile,
                   char out[AWS_REGION_MAX], char *why, size_t whylen)
{
    const char *v;

    if (key_region != NULL)
        return use_region(key_region, "the key", out, why, whylen);
    if (cfg_region != NULL)
        return use_region(cfg_region, "the provider configuration", out, why,
                          whylen);
    if ((v = nonempty_env("AWS_REGION")) != NULL)
        return use_region(v, "AWS_REGION", out, why, whylen);
    if ((v = nonempty_env("AWS_DEFAULT_REGION")) != NULL)
        return use_region(v, "AWS_DEFAULT_REGION", out, why, whylen);
    v = aws_profile_setting(sc, profile, "region");
    if (v != NULL && *v != '\0')
        return use_region(v, "the profile", out, why, whylen);
    snprintf(why, whylen,
             "no region: use a key ARN, the provider's region setting, "
             "AWS_REGION, AWS_DEFAULT_REGION or the profile's region");
    return KMSRE_ERR_NO_REGION;
}

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int digit_ok(char c)
{
    return c >= '0' && c <= '9';
}

static int v6_char_ok(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           (c >= '0' && c <= '9') || c == ':' || c == '.';
}

static int path_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && c != '?' && c != '#' && c != '%';
}

static int span_ok(const char *s, size_t n, int (*ok)(char))
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!ok(s[i]))
            return 0;
    return 1;
}

/* A DNS name or IPv4 address, or "[IPv6]". */
static int host_ok(const char *h, size_t n)
{
    if (n >= 3 && h[0] == '[' && h[n - 1] == ']')
        return span_ok(h + 1, n - 2, v6_char_ok);
    return n > 0 && span_ok(h, n, name_char_ok);
}

/* Splits "host[:port]" (or "[v6][:port]") and checks the port. */
static int split_authority(const char *a, size_t n, size_t *hostlen, long *port)
{
    const char *colon = NULL, *p;
    char *end;

    if (a[0] == '[') {
        p = memchr(a, ']', n);
        if (p == NULL)
            return 0;
        if ((size_t)(p - a) + 1 < n)
            colon = p + 1;
    } else {
        colon = memchr(a, ':', n);
    }
    *hostlen = colon != NULL ? (size_t)(colon - a) : n;
    *port = 0;
    if (colon == NULL)
        return *hostlen > 0;
    if (*colon != ':' || (size_t)(colon - a) + 1 >= n ||
        !span_ok(colon + 1, n - (size_t)(colon - a) - 1, digit_ok))
        return 0;
    *port = strtol(colon + 1, &end, 10);
    return end == a + n && *port > 0 && *port < 65536 && *hostlen > 0;
}

enum kmsre_status aws_endpoint_parse(const char *url, struct aws_endpoint *out,
                                     char *why, size_t whylen)
{
    const char *auth, *slash;
    size_t alen, hostlen, plen;
    long port, default_port;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "https://", 8) == 0) {
        auth = url + 8;
        default_port = 443;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        auth = url + 7;
        default_port = 80;
        out->is_http = 1;
    } else {
        snprintf(why, whylen, "endpoint must start with https://");
        return KMSRE_ERR_INVALID;
    }
    slash = strchr(auth, '/');
    alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
    plen = slash != NULL ? strlen(slash) : 0;
    if (alen == 0 || !split_authority(auth, alen, &hostlen, &port) ||
        !host_ok(auth, hostlen) ||
        (plen > 0 && !span_ok(slash, plen, path_char_ok)) ||
        alen + 8 >= sizeof(out->host) || plen + 2 >= sizeof(out->path) ||
        strlen(url) >= sizeof(out->url)) {
        snprintf(why, whylen,
                 "endpoint is not a plain URL (scheme://host[:port][/path], "
                 "no query, user info or white space)");
        return KMSRE_ERR_INVALID;
    }
    if (port == 0 || port == default_port)
        snprintf(out->host, sizeof(out->host), "%.*s", (int)hostlen, auth);
    else
        snprintf(out->host, sizeof(out->host), "%.*s:%ld", (int)hostlen, auth,
                 port);
    snprintf(out->path, sizeof(out->path), "%s", plen > 0 ? slash : "/");
    snprintf(out->url, sizeof(out->url), "%s%s", url, plen > 0 ? "" : "/");
    return KMSRE_OK;
}

struct partition {
    const char *prefix; /* region prefix; "" for the aws partition */
    const char *suffix;
    const char *dualstack_suffix;
};

static const struct partition partitions[] = {
    {"cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
    {"us-isob-", "sc2s.sgov.gov", "sc2s.sgov.gov"},
    {"us-iso-", "c2s.ic.gov", "c2s.ic.gov"},
    {"eu-isoe-", "cloud.adc-e.uk", "cloud.adc-e.uk"},
    {"us-isof-", "csp.hci.ic.gov", "csp.hci.ic.gov"},
    {"eusc-", "amazonaws.eu", "amazonaws.eu"},
    {"", "amazonaws.com", "api.aws"}, /* aws and aws-us-gov */
};

static const struct partition *partition_of(const char *region)
{
    size_t i;

    for (i = 0; i + 1 < sizeof(partitions) / sizeof(partitions[0]); i++)
        if (strncmp(region, partitions[i].prefix,
                    strlen(partitions[i].prefix)) == 0)
            return &partitions[i];
    return &partitions[i];
}

static int is_true(const char *v)
{
    return v != NULL && strcasecmp(v, "true") == 0;
}

/* An environment switch, else the profile's setting of the same name. */
static int flag(const char *env, const struct aws_shared_config *sc,
                const char *profile, const char *key)
{
    const char *v = nonempty_env(env);

    return v != NULL ? is_true(v)
                     : is_true(aws_profile_setting(sc, profile, key));
}

/* AWS_ENDPOINT_URL_<SVC>, AWS_ENDPOINT_URL, the profile's services section,
 * the profile's endpoint_url; unless configured endpoints are ignored. */
static const char *configured_url(const char *service, const char *svc_env,
                                  const struct aws_shared_config *sc,
                                  const char *profile)
{
    const char *v, *services;
    char section[300], key[64];

    if (flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", sc, profile,
             "ignore_configured_endpoint_urls"))
        return NULL;
    if ((v = nonempty_env(svc_env)) != NULL ||
        (v = nonempty_env("AWS_ENDPOINT_URL")) != NULL)
        return v;
    services = aws_profile_setting(sc, profile, "services");
    if (services != NULL && *services != '\0') {
        snprintf(section, sizeof(section), "services %s", services);
        snprintf(key, sizeof(key), "%s.endpoint_url", service);
        v = aws_ini_get(&sc->config, section, key);
        if (v != NULL && *v != '\0')
            return v;
    }
    v = aws_profile_setting(sc, profile, "endpoint_url");
    return v != NULL && *v != '\0' ? v : NULL;
}

enum kmsre_status aws_endpoint_resolve(const char *service, const char *svc_env,
                                       const char *cfg_endpoint,
                                       const struct aws_shared_config *sc,
                                       const char *profile, const char *region,
                                       struct aws_endpoint *out, char *why,
                                       size_t whylen)
{
    const char *url = cfg_endpoint;
    const struct partition *p = partition_of(region);
    int fips, dualstack;
    char buf[256];

    if (url == NULL)
        url = configured_url(service, svc_env, sc, profile);
    if (url != NULL)
        return aws_endpoint_parse(url, out, why, whylen);
    fips = flag("AWS_USE_FIPS_ENDPOINT", sc, profile, "use_fips_endpoint");
    dualstack = flag("AWS_USE_DUALSTACK_ENDPOINT", sc, profile,
                     "use_dualstack_endpoint");
    snprintf(buf, sizeof(buf), "https://%s%s.%s.%s", service,
             fips ? "-fips" : "", region,
             dualstack ? p->dualstack_suffix : p->suffix);
    return aws_endpoint_parse(buf, out, why, whylen);
}
