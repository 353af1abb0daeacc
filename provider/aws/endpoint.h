/* SPDX-License-Identifier: Apache-2.0 */
/* Regions and service endpoints, as the AWS SDKs resolve them. */
#ifndef KMSRE_ENDPOINT_H
#define KMSRE_ENDPOINT_H

#include <stddef.h>
#include "aws/profile.h"

#define KMSRE_REGION_MAX 33

struct kmsre_endpoint {
    char url[1024]; /* scheme://host[:port]/path, what the transport gets */
    char host[300]; /* Host header: host, plus :port unless the default */
    char path[512]; /* request path, "/" for KMS */
    int is_http;    /* plain http: only for a configured endpoint */
};

/* ^[a-z0-9-]{1,32}$: nothing that could change a host name or a header. */
int kmsre_region_is_valid(const char *region);

/* key_region (from the key's ARN or URI) wins, then cfg_region (the
 * provider's configuration), AWS_REGION, AWS_DEFAULT_REGION and the
 * profile's region. *source (may be NULL) tells which one it was. */
enum kmsre_status
kmsre_region_resolve(const char *key_region, const char *cfg_region,
                     const struct kmsre_shared_config *sc, const char *profile,
                     char out[KMSRE_REGION_MAX], const char **source,
                     struct kmsre_err *err);

/* The endpoint of a service ("kms", "sts", "sso", "sso-oidc"):
 * cfg_endpoint, then AWS_ENDPOINT_URL_<SERVICE> (upper case, '-' as '_'),
 * AWS_ENDPOINT_URL, the profile's services section and endpoint_url (none
 * of these when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
 * ignore_configured_endpoint_urls is true), else the service's public
 * endpoint in the region's partition (host_prefix, e.g. "portal.sso",
 * replaces the service name there), honouring AWS_USE_FIPS_ENDPOINT /
 * use_fips_endpoint and AWS_USE_DUALSTACK_ENDPOINT /
 * use_dualstack_endpoint. */
struct kmsre_endpoint_query {
    const char *service;
    const char *host_prefix; /* NULL: the service name */
    const char *cfg_endpoint;
    const struct kmsre_shared_config *sc;
    const char *profile;
    const char *region;
};

enum kmsre_status kmsre_endpoint_resolve(const struct kmsre_endpoint_query *q,
                                         struct kmsre_endpoint *out,
                                         const char **source,
                                         struct kmsre_err *err);

/* Parses and checks an endpoint URL (no user info, query, fragment, white
 * space or control characters). */
enum kmsre_status kmsre_endpoint_parse(const char *url,
                                       struct kmsre_endpoint *out,
                                       struct kmsre_err *err);

#endif
