/* SPDX-License-Identifier: Apache-2.0 */
/* Region and KMS endpoint resolution, as the AWS SDKs order them. */
#ifndef KMSRE_ENDPOINT_H
#define KMSRE_ENDPOINT_H

#include <stddef.h>
#include "aws/profile.h"

#define AWS_REGION_MAX 33

struct aws_endpoint {
    char url[1024]; /* scheme://host[:port]/path, what curl is given */
    char host[300]; /* Host header: host, plus :port unless the default */
    char path[512]; /* request path, "/" for KMS */
    int is_http;    /* plain http: only for an explicit endpoint */
};

/* key_region (from the key's ARN or URI) wins, then the cnf region,
 * AWS_REGION, AWS_DEFAULT_REGION and the profile's region. */
enum kmsre_status
aws_region_resolve(const char *key_region, const char *cfg_region,
                   const struct aws_shared_config *sc, const char *profile,
                   char out[AWS_REGION_MAX], char *why, size_t whylen);

/* The endpoint of an AWS service ("kms", "sts"): cfg_endpoint, then the
 * service's variable (svc_env, e.g. AWS_ENDPOINT_URL_KMS), AWS_ENDPOINT_URL,
 * the profile's services section and endpoint_url (none of these when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls is
 * true), else https://SERVICE[-fips].REGION.<partition suffix>, with
 * AWS_USE_FIPS_ENDPOINT / use_fips_endpoint and AWS_USE_DUALSTACK_ENDPOINT /
 * use_dualstack_endpoint. */
enum kmsre_status aws_endpoint_resolve(const char *service, const char *svc_env,
                                       const char *cfg_endpoint,
                                       const struct aws_shared_config *sc,
                                       const char *profile, const char *region,
                                       struct aws_endpoint *out, char *why,
                                       size_t whylen);

/* Parses and validates an endpoint URL (no user info, query, fragment,
 * white space or control characters). */
enum kmsre_status aws_endpoint_parse(const char *url, struct aws_endpoint *out,
                                     char *why, size_t whylen);

#endif
