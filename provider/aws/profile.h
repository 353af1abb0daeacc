/* SPDX-License-Identifier: Apache-2.0 */
/* The AWS shared config and credentials files and profile selection. */
#ifndef KMSRE_PROFILE_H
#define KMSRE_PROFILE_H

#include "aws/ini.h"

struct aws_shared_config {
    struct aws_ini config;      /* AWS_CONFIG_FILE or ~/.aws/config */
    struct aws_ini credentials; /* AWS_SHARED_CREDENTIALS_FILE or
                                   ~/.aws/credentials */
};

enum kmsre_status aws_shared_config_load(struct aws_shared_config *sc);
void aws_shared_config_clear(struct aws_shared_config *sc);

/* explicit (cnf or key URI) wins, then AWS_PROFILE, then "default". */
const char *aws_profile_name(const char *explicit_profile);

/* A setting of the profile in the config file ("[profile NAME]", or
 * "[default]"). */
const char *aws_profile_setting(const struct aws_shared_config *sc,
                                const char *profile, const char *key);

/* A credential key: the credentials file wins over the config file. */
const char *aws_profile_credential(const struct aws_shared_config *sc,
                                   const char *profile, const char *key);

/* Whether the profile appears in either file. */
int aws_profile_exists(const struct aws_shared_config *sc, const char *profile);

#endif
