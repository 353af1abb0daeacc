/* SPDX-License-Identifier: Apache-2.0 */
/* The AWS shared config and credentials files, and what a profile says. */
#ifndef KMSRE_PROFILE_H
#define KMSRE_PROFILE_H

#include "aws/ini.h"

struct kmsre_shared_config {
    struct kmsre_ini config;      /* AWS_CONFIG_FILE or ~/.aws/config */
    struct kmsre_ini credentials; /* AWS_SHARED_CREDENTIALS_FILE or
                                     ~/.aws/credentials */
};

enum kmsre_status kmsre_shared_config_load(struct kmsre_shared_config *sc);
void kmsre_shared_config_clear(struct kmsre_shared_config *sc);

/* explicit (cnf or key URI) wins, then AWS_PROFILE, then "default". */
const char *kmsre_profile_name(const char *explicit_profile);

/* A setting of the profile in the config file ("[profile NAME]", or
 * "[default]"); NULL when absent or empty. */
const char *kmsre_profile_setting(const struct kmsre_shared_config *sc,
                                  const char *profile, const char *key);

/* A credential key: the credentials file wins over the config file. */
const char *kmsre_profile_credential(const struct kmsre_shared_config *sc,
                                     const char *profile, const char *key);

/* A key of another kind of section of the config file, such as
 * "[sso-session NAME]" (kind "sso-session") or "[services NAME]". */
const char *kmsre_config_section_setting(const struct kmsre_shared_config *sc,
                                         const char *kind, const char *name,
                                         const char *key);

/* Whether the profile appears in either file. */
int kmsre_profile_exists(const struct kmsre_shared_config *sc,
                         const char *profile);

#endif
