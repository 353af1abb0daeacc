/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles of the AWS shared config and credentials files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/profile.h"

static enum kmsre_status load_file(const char *env, const char *home_rel,
                                   struct aws_ini *out)
{
    const char *path = getenv(env), *home;
    char buf[4096];

    if (path == NULL || *path == '\0') {
        home = getenv("HOME");
        if (home == NULL || *home == '\0') {
            memset(out, 0, sizeof(*out));
            return KMSRE_OK;
        }
        if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", home, home_rel) >=
            sizeof(buf))
            return KMSRE_ERR_INVALID;
        path = buf;
    }
    return aws_ini_load(path, out);
}

enum kmsre_status aws_shared_config_load(struct aws_shared_config *sc)
{
    enum kmsre_status st;

    memset(sc, 0, sizeof(*sc));
    st = load_file("AWS_CONFIG_FILE", ".aws/config", &sc->config);
    if (st == KMSRE_OK)
        st = load_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials",
                       &sc->credentials);
    if (st != KMSRE_OK)
        aws_shared_config_clear(sc);
    return st;
}

void aws_shared_config_clear(struct aws_shared_config *sc)
{
    aws_ini_clear(&sc->config);
    aws_ini_clear(&sc->credentials);
}

const char *aws_profile_name(const char *explicit_profile)
{
    const char *env = getenv("AWS_PROFILE");

    if (explicit_profile != NULL && *explicit_profile != '\0')
        return explicit_profile;
    if (env != NULL && *env != '\0')
        return env;
    return "default";
}

/* The config file names profiles "[profile NAME]", except "[default]". */
static const char *config_section(const char *profile, char *buf, size_t len)
{
    if (strcmp(profile, "default") == 0)
        return profile;
    if ((size_t)snprintf(buf, len, "profile %s", profile) >= len)
        return NULL;
    return buf;
}

const char *aws_profile_setting(const struct aws_shared_config *sc,
                                const char *profile, const char *key)
{
    char buf[300];
    const char *section = config_section(profile, buf, sizeof(buf));
    const char *v;

    if (section == NULL)
        return NULL;
    v = aws_ini_get(&sc->config, section, key);
    /* The SDKs also accept "[profile default]". */
    if (v == NULL && strcmp(profile, "default") == 0)
        v = aws_ini_get(&sc->config, "profile default", key);
    return v;
}

const char *aws_profile_credential(const struct aws_shared_config *sc,
                                   const char *profile, const char *key)
{
    const char *v = aws_ini_get(&sc->credentials, profile, key);

    return v != NULL ? v : aws_profile_setting(sc, profile, key);
}

static int ini_has_section(const struct aws_ini *ini, const char *section)
{
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->entries[i].section, section) == 0)
            return 1;
    return 0;
}

int aws_profile_exists(const struct aws_shared_config *sc, const char *profile)
{
    char buf[300];
    const char *section = config_section(profile, buf, sizeof(buf));

    return ini_has_section(&sc->credentials, profile) ||
           (section != NULL && ini_has_section(&sc->config, section));
}
