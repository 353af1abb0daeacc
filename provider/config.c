/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the provider's openssl.cnf section through core_get_params. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "aws/endpoint.h"
#include "base/text.h"
#include "config.h"
#include "kmsreencrypt.h"
#include "kms/retry.h"

enum conf_kind { CONF_STRING, CONF_MILLIS, CONF_ATTEMPTS, CONF_BOOL };

/* One row per cnf key: where its value goes and how it is checked. */
struct conf_key {
    const char *name;
    enum conf_kind kind;
    size_t offset;
};

static const struct conf_key conf_keys[] = {
    {KMSRE_CONF_REGION, CONF_STRING, offsetof(struct kmsre_config, region)},
    {KMSRE_CONF_PROFILE, CONF_STRING, offsetof(struct kmsre_config, profile)},
    {KMSRE_CONF_ENDPOINT, CONF_STRING, offsetof(struct kmsre_config, endpoint)},
    {KMSRE_CONF_CA_BUNDLE, CONF_STRING,
     offsetof(struct kmsre_config, ca_bundle)},
    {KMSRE_CONF_CONNECT_TIMEOUT_MS, CONF_MILLIS,
     offsetof(struct kmsre_config, connect_timeout_ms)},
    {KMSRE_CONF_REQUEST_TIMEOUT_MS, CONF_MILLIS,
     offsetof(struct kmsre_config, request_timeout_ms)},
    {KMSRE_CONF_MAX_ATTEMPTS, CONF_ATTEMPTS,
     offsetof(struct kmsre_config, max_attempts)},
    {KMSRE_CONF_RETRY_MODE, CONF_STRING,
     offsetof(struct kmsre_config, retry_mode)},
    {KMSRE_CONF_DEBUG, CONF_BOOL, offsetof(struct kmsre_config, debug)},
};

#define N_CONF_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int store_value(struct kmsre_config *cfg, const struct conf_key *key,
                       const char *value, char *err, size_t errlen)
{
    void *field = (char *)cfg + key->offset;

    if (key->kind == CONF_MILLIS &&
        !parse_long(value, 1, 3600000, (long *)field)) {
        snprintf(err, errlen,
                 "%s must be a number of milliseconds (1..3600000)", key->name);
        return 0;
    }
    if (key->kind == CONF_ATTEMPTS &&
        !parse_long(value, 1, KMSRE_MAX_ATTEMPTS_LIMIT, (long *)field)) {
        snprintf(err, errlen, "%s must be a number of attempts (1..%d)",
                 key->name, KMSRE_MAX_ATTEMPTS_LIMIT);
        return 0;
    }
    if (key->kind == CONF_BOOL && !kmsre_parse_bool(value, (int *)field)) {
        snprintf(err, errlen, "%s must be true or false", key->name);
        return 0;
    }
    if (key->kind != CONF_STRING)
        return 1;
    if (*value == '\0')
        return 1; /* an empty value means "not configured" */
    *(char **)field = OPENSSL_strdup(value);
    if (*(char **)field == NULL) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    return 1;
}

static int check_config(const struct kmsre_config *cfg, char *err,
                        size_t errlen)
{
    enum kmsre_retry_mode mode;

    if (cfg->retry_mode != NULL &&
        !kmsre_retry_mode_parse(cfg->retry_mode, &mode)) {
        snprintf(err, errlen,
                 "retry-mode must be standard, adaptive or legacy, not "
                 "\"%.32s\"",
                 cfg->retry_mode);
        return 0;
    }
    if (cfg->region != NULL && !kmsre_region_is_valid(cfg->region)) {
        snprintf(err, errlen, "region \"%.64s\" is not a valid AWS region",
                 cfg->region);
        return 0;
    }
    return 1;
}

static int read_values(struct kmsre_config *cfg, const OSSL_CORE_HANDLE *handle,
                       OSSL_FUNC_core_get_params_fn *get_params, char *err,
                       size_t errlen)
{
    const char *values[N_CONF_KEYS] = {NULL};
    OSSL_PARAM params[N_CONF_KEYS + 1];
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = KMSRE_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->request_timeout_ms = KMSRE_DEFAULT_REQUEST_TIMEOUT_MS;
    if (get_params == NULL)
        return 1;
    /* The core hands out pointers to its own strings (UTF8_PTR). */
    for (i = 0; i < N_CONF_KEYS; i++)
        params[i] = OSSL_PARAM_construct_utf8_ptr(conf_keys[i].name,
                                                  (char **)&values[i], 0);
    params[N_CONF_KEYS] = OSSL_PARAM_construct_end();
    if (!get_params(handle, params)) {
        snprintf(err, errlen, "cannot read the provider configuration");
        return 0;
    }
    for (i = 0; i < N_CONF_KEYS; i++) {
        if (values[i] != NULL &&
            !store_value(cfg, &conf_keys[i], values[i], err, errlen))
            return 0;
    }
    return check_config(cfg, err, errlen);
}

void kmsre_config_read(struct kmsre_config *cfg, const OSSL_CORE_HANDLE *handle,
                       OSSL_FUNC_core_get_params_fn *get_params)
{
    char err[sizeof(cfg->error)] = "";

    if (!read_values(cfg, handle, get_params, err, sizeof(err)) &&
        err[0] == '\0')
        snprintf(err, sizeof(err), "cannot read the provider configuration");
    memcpy(cfg->error, err, sizeof(err));
}

void kmsre_config_for_kms(const struct kmsre_config *cfg,
                          struct kmsre_kms_config *out)
{
    out->region = cfg->region;
    out->profile = cfg->profile;
    out->endpoint = cfg->endpoint;
    out->ca_bundle = cfg->ca_bundle;
    out->connect_timeout_ms = cfg->connect_timeout_ms;
    out->request_timeout_ms = cfg->request_timeout_ms;
    out->max_attempts = cfg->max_attempts;
    out->retry_mode = cfg->retry_mode;
    out->debug = cfg->debug;
}

void kmsre_config_clear(struct kmsre_config *cfg)
{
    OPENSSL_free(cfg->region);
    OPENSSL_free(cfg->profile);
    OPENSSL_free(cfg->endpoint);
    OPENSSL_free(cfg->ca_bundle);
    OPENSSL_free(cfg->retry_mode);
    memset(cfg, 0, sizeof(*cfg));
}
