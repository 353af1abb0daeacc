/* SPDX-License-Identifier: Apache-2.0 */
/* Region and endpoint resolution for KMS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "aws/endpoint.h"
#include "base/text.h"

int kmsre_region_is_valid(const char *region)
{
    size_t i;

    if (region == NULL || region[0] == '\0')
        return 0;
    for (i = 0; region[i] != '\0'; i++) {
        if (i >= 32 ||
            !((region[i] >= 'a' && region[i] <= 'z') ||
              (region[i] >= '0' && region[i] <= '9') || region[i] == '-'))
            return 0;
    }
    return 1;
}

static enum kmsre_status use_region(const char *region, const char *from,
                                    char out[KMSRE_REGION_MAX],
                                    const char **source, struct kmsre_err *err)
{
    if (!kmsre_region_is_valid(region))
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "region from %s is not a valid AWS region", from);
    snprintf(out, KMSRE_REGION_MAX, "%s", region);
    if (source != NULL)
        *source = from;
    return KMSRE_OK;
}

enum kmsre_status
kmsre_region_resolve(const char *key_region, const char *cfg_region,
                     const struct kmsre_shared_config *sc, const char *profile,
                     char out[KMSRE_REGION_MAX], const char **source,
                     struct kmsre_err *err)
{
    const char *v;

    if (key_region != NULL)
        return use_region(key_region, "the key", out, source, err);
    if (cfg_region != NULL)
        return use_region(cfg_region, "the provider configuration", out, source,
                          err);
    if ((v = kmsre_env("AWS_REGION")) != NULL)
        return use_region(v, "AWS_REGION", out, source, err);
    if ((v = kmsre_env("AWS_DEFAULT_REGION")) != NULL)
        return use_region(v, "AWS_DEFAULT_REGION", out, source, err);
    if ((v = kmsre_profile_setting(sc, profile, "region")) != NULL)
        return use_region(v, "the profile's region", out, source, err);
    return kmsre_fail(err, KMSRE_ERR_NO_REGION,
                      "no region: use a key ARN, the provider's region "
                      "setting, AWS_REGION, AWS_DEFAULT_REGION or the "
                      "profile's region");
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

enum kmsre_status kmsre_endpoint_parse(const char *url,
                                       struct kmsre_endpoint *out,
                                       struct kmsre_err *err)
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
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "endpoint must start with https://");
    }
    slash = strchr(auth, '/');
    alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
    plen = slash != NULL ? strlen(slash) : 0;
    if (alen == 0 || !split_authority(auth, alen, &hostlen, &port) ||
        !host_ok(auth, hostlen) ||
        (plen > 0 && !span_ok(slash, plen, path_char_ok)) ||
        alen + 8 >= sizeof(out->host) || plen + 2 >= sizeof(out->path) ||
        strlen(url) >= sizeof(out->url)) {
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "endpoint is not a plain URL "
                          "(scheme://host[:port][/path], no query, user "
                          "info or white space)");
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

/* An environment switch, else the profile's setting of the same name. */
static int flag(const char *env, const struct kmsre_shared_config *sc,
                const char *profile, const char *key)
{
    const char *v = kmsre_env(env);
    int on = 0;

    if (v == NULL)
        v = kmsre_profile_setting(sc, profile, key);
    return kmsre_parse_bool(v, &on) && on;
}

/* AWS_ENDPOINT_URL_<SVC>: upper case, '-' and ' ' as '_'. */
static void service_env_name(const char *service, char *buf, size_t len)
{
    size_t i, n = (size_t)snprintf(buf, len, "AWS_ENDPOINT_URL_");

    for (i = 0; service[i] != '\0' && n + 1 < len; i++, n++)
        buf[n] = service[i] == '-' || service[i] == ' '
                     ? '_'
                     : (char)toupper((unsigned char)service[i]);
    buf[n < len ? n : len - 1] = '\0';
}

/* "<svc>.endpoint_url" of a services section: lower case, '-' as '_'
 * ("sso-oidc" is "sso_oidc"). */
static void services_key(const char *service, char *buf, size_t len)
{
    size_t i;

    snprintf(buf, len, "%s.endpoint_url", service);
    for (i = 0; buf[i] != '\0' && buf[i] != '.'; i++)
        buf[i] = buf[i] == '-' ? '_' : (char)tolower((unsigned char)buf[i]);
}

/* AWS_ENDPOINT_URL_<SVC>, AWS_ENDPOINT_URL, the profile's services section,
 * the profile's endpoint_url; unless configured endpoints are ignored. */
static const char *configured_url(const struct kmsre_endpoint_query *q,
                                  const char **source)
{
    char buf[96], key[64];
    const char *v, *services;

    if (flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", q->sc, q->profile,
             "ignore_configured_endpoint_urls"))
        return NULL;
    service_env_name(q->service, buf, sizeof(buf));
    if ((v = kmsre_env(buf)) != NULL) {
        *source = "AWS_ENDPOINT_URL_<SERVICE>";
        return v;
    }
    *source = "AWS_ENDPOINT_URL";
    if ((v = kmsre_env("AWS_ENDPOINT_URL")) != NULL)
        return v;
    services = kmsre_profile_setting(q->sc, q->profile, "services");
    services_key(q->service, key, sizeof(key));
    *source = "the profile's services section";
    if (services != NULL && (v = kmsre_config_section_setting(
                                 q->sc, "services", services, key)) != NULL)
        return v;
    *source = "the profile's endpoint_url";
    return kmsre_profile_setting(q->sc, q->profile, "endpoint_url");
}

enum kmsre_status kmsre_endpoint_resolve(const struct kmsre_endpoint_query *q,
                                         struct kmsre_endpoint *out,
                                         const char **source,
                                         struct kmsre_err *err)
{
    const struct partition *p = partition_of(q->region);
    const char *url = q->cfg_endpoint, *from = "the provider configuration";
    struct kmsre_endpoint_query named = *q;
    int fips, dualstack;
    char buf[256];

    named.profile = kmsre_profile_name(q->profile);
    q = &named;

    if (url == NULL)
        url = configured_url(q, &from);
    if (url == NULL) {
        fips = flag("AWS_USE_FIPS_ENDPOINT", q->sc, q->profile,
                    "use_fips_endpoint");
        dualstack = flag("AWS_USE_DUALSTACK_ENDPOINT", q->sc, q->profile,
                         "use_dualstack_endpoint");
        snprintf(buf, sizeof(buf), "https://%s%s.%s.%s",
                 q->host_prefix != NULL ? q->host_prefix : q->service,
                 fips ? "-fips" : "", q->region,
                 dualstack ? p->dualstack_suffix : p->suffix);
        url = buf;
        from = fips || dualstack ? "the region (FIPS/dual-stack switches)"
                                 : "the region";
    }
    if (source != NULL)
        *source = from;
    return kmsre_endpoint_parse(url, out, err);
}
