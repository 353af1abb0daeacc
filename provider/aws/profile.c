/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles of the AWS shared config and credentials files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/profile.h"
#include "base/text.h"

static enum kmsre_status load_file(const char *env, const char *home_rel,
                                   struct kmsre_ini *out)
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
    return kmsre_ini_load(path, out);
}

enum kmsre_status kmsre_shared_config_load(struct kmsre_shared_config *sc)
{
    enum kmsre_status st;

    memset(sc, 0, sizeof(*sc));
    st = load_file("AWS_CONFIG_FILE", ".aws/config", &sc->config);
    if (st == KMSRE_OK)
        st = load_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials",
                       &sc->credentials);
    if (st != KMSRE_OK)
        kmsre_shared_config_clear(sc);
    return st;
}

void kmsre_shared_config_clear(struct kmsre_shared_config *sc)
{
    kmsre_ini_clear(&sc->config);
    kmsre_ini_clear(&sc->credentials);
}

const char *kmsre_profile_name(const char *explicit_profile)
{
    const char *env = kmsre_env("AWS_PROFILE");

    if (explicit_profile != NULL && *explicit_profile != '\0')
        return explicit_profile;
    return env != NULL ? env : "default";
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

static const char *nonempty(const char *v)
{
    return v != NULL && *v != '\0' ? v : NULL;
}

const char *kmsre_profile_setting(const struct kmsre_shared_config *sc,
                                  const char *profile, const char *key)
{
    char buf[300];
    const char *section = config_section(profile, buf, sizeof(buf));
    const char *v;

    if (section == NULL)
        return NULL;
    v = kmsre_ini_get(&sc->config, section, key);
    /* The SDKs also accept "[profile default]". */
    if (v == NULL && strcmp(profile, "default") == 0)
        v = kmsre_ini_get(&sc->config, "profile default", key);
    return nonempty(v);
}

const char *kmsre_profile_credential(const struct kmsre_shared_config *sc,
                                     const char *profile, const char *key)
{
    const char *v = nonempty(kmsre_ini_get(&sc->credentials, profile, key));

    return v != NULL ? v : kmsre_profile_setting(sc, profile, key);
}

const char *kmsre_config_section_setting(const struct kmsre_shared_config *sc,
                                         const char *kind, const char *name,
                                         const char *key)
{
    char section[300];

    if ((size_t)snprintf(section, sizeof(section), "%s %s", kind, name) >=
        sizeof(section))
        return NULL;
    return nonempty(kmsre_ini_get(&sc->config, section, key));
}

static int ini_has_section(const struct kmsre_ini *ini, const char *section)
{
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->entries[i].section, section) == 0)
            return 1;
    return 0;
}

int kmsre_profile_exists(const struct kmsre_shared_config *sc,
                         const char *profile)
{
    char buf[300];
    const char *section = config_section(profile, buf, sizeof(buf));

    return ini_has_section(&sc->credentials, profile) ||
           (section != NULL && ini_has_section(&sc->config, section));
}
