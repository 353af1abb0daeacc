/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/aws/ini.c (kmsre_ini_parse, kmsre_ini_get,
 * kmsre_ini_clear) and the profile lookups of provider/aws/profile.c on the
 * result, used as the config file, the credentials file and both: each
 * lookup must give what the entries say (the last value; NULL when absent
 * or empty). The parse runs a second time with one OpenSSL allocation
 * failing (alloc_fail.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/ini.h"
#include "aws/profile.h"
#include "alloc_fail.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_alloc_install();
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int trimmed(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && !is_blank(s[0]) && !is_blank(s[n - 1]);
}

/* strict: the input had no NUL byte (a NUL cuts a name or value short, so
 * trimming and non-emptiness only hold without one). */
static void check_entries(const struct kmsre_ini *ini, int strict)
{
    const struct kmsre_ini_entry *e;
    const char *got, *want;
    size_t i, j;

    CHECK(ini->n == 0 || ini->entries != NULL);
    for (i = 0; i < ini->n; i++) {
        e = &ini->entries[i];
        CHECK(e->section != NULL && e->key != NULL && e->value != NULL);
        CHECK(strlen(e->section) < 256 && strlen(e->key) < 256);
        CHECK(!strict || (trimmed(e->section) && trimmed(e->key)));
        CHECK(strchr(e->section, '\n') == NULL && strchr(e->key, '\n') == NULL);
        CHECK(strchr(e->value, '\n') == NULL);
        CHECK(!strict || e->value[0] == '\0' ||
              (!is_blank(e->value[0]) &&
               !is_blank(e->value[strlen(e->value) - 1])));
        CHECK(e->key[0] != '#' && e->key[0] != ';' && e->key[0] != '[');
        CHECK(strchr(e->key, '=') == NULL);
        /* kmsre_ini_get gives the last value of the pair. */
        want = e->value;
        for (j = i + 1; j < ini->n; j++)
            if (strcmp(ini->entries[j].section, e->section) == 0 &&
                strcmp(ini->entries[j].key, e->key) == 0)
                want = ini->entries[j].value;
        got = kmsre_ini_get(ini, e->section, e->key);
        CHECK(got == want);
    }
}

/* What the profile lookups should give, straight from the entries (not
 * through kmsre_ini_get): the last value of the pair, and NULL for an empty
 * value. */
static const char *last_value(const struct kmsre_ini *ini, const char *section,
                              const char *key)
{
    const char *v = NULL;
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->entries[i].section, section) == 0 &&
            strcmp(ini->entries[i].key, key) == 0)
            v = ini->entries[i].value;
    return v;
}

static const char *nonempty(const char *v)
{
    return v != NULL && *v != '\0' ? v : NULL;
}

/* The config file's "[profile NAME]", or "[default]" (then also
 * "[profile default]"). */
static const char *want_setting(const struct kmsre_ini *config,
                                const char *profile, const char *key)
{
    char section[300];
    const char *v;

    if (strcmp(profile, "default") == 0) {
        v = last_value(config, "default", key);
        if (v == NULL)
            v = last_value(config, "profile default", key);
        return nonempty(v);
    }
    if ((size_t)snprintf(section, sizeof(section), "profile %s", profile) >=
        sizeof(section))
        return NULL;
    return nonempty(last_value(config, section, key));
}

/* The credentials file's "[NAME]" wins over the config file. */
static const char *want_credential(const struct kmsre_ini *config,
                                   const struct kmsre_ini *credentials,
                                   const char *profile, const char *key)
{
    const char *v = nonempty(last_value(credentials, profile, key));

    return v != NULL ? v : want_setting(config, profile, key);
}

static int has_section(const struct kmsre_ini *ini, const char *section)
{
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->entries[i].section, section) == 0)
            return 1;
    return 0;
}

static int want_exists(const struct kmsre_ini *config,
                       const struct kmsre_ini *credentials, const char *profile)
{
    char section[300];

    if (has_section(credentials, profile))
        return 1;
    if (strcmp(profile, "default") == 0)
        return has_section(config, "default");
    return (size_t)snprintf(section, sizeof(section), "profile %s", profile) <
               sizeof(section) &&
           has_section(config, section);
}

static void check_profile(const struct kmsre_shared_config *sc,
                          const char *profile, const char *key)
{
    const char *v;

    v = kmsre_profile_setting(sc, profile, key);
    CHECK(v == want_setting(&sc->config, profile, key));
    CHECK(v == NULL || (*v != '\0' && strchr(v, '\n') == NULL));
    v = kmsre_profile_credential(sc, profile, key);
    CHECK(v == want_credential(&sc->config, &sc->credentials, profile, key));
    CHECK(v == NULL || (*v != '\0' && strchr(v, '\n') == NULL));
}

/* "[sso-session NAME]", "[services NAME]": a kind, a space, a name. */
static void check_section_setting(const struct kmsre_shared_config *sc,
                                  const struct kmsre_ini_entry *e, int config)
{
    const char *sp = strchr(e->section, ' '), *v;
    char kind[256];
    size_t n;

    if (sp == NULL)
        return;
    n = (size_t)(sp - e->section);
    memcpy(kind, e->section, n);
    kind[n] = '\0';
    v = kmsre_config_section_setting(sc, kind, sp + 1, e->key);
    CHECK(v == (config ? nonempty(last_value(&sc->config, e->section, e->key))
                       : NULL));
}

/* The file as the config file (which bit 0), the credentials file (bit 1),
 * or both. */
static void lookups(const struct kmsre_ini *ini, int which)
{
    static const char *const profiles[] = {"default", "x", "dev", ""};
    static const char *const keys[] = {"region",
                                       "aws_access_key_id",
                                       "aws_secret_access_key",
                                       "aws_session_token",
                                       "endpoint_url",
                                       "s3.max_concurrent_requests",
                                       "services",
                                       "sso_session"};
    const struct kmsre_ini none = {NULL, 0};
    struct kmsre_shared_config sc;
    const char *v, *s;
    size_t p, k;

    sc.config = which & 1 ? *ini : none;
    sc.credentials = which & 2 ? *ini : none;
    for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        CHECK(kmsre_profile_exists(&sc, profiles[p]) ==
              want_exists(&sc.config, &sc.credentials, profiles[p]));
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            v = kmsre_ini_get(ini, profiles[p], keys[k]);
            CHECK(v == NULL || strchr(v, '\n') == NULL);
            check_profile(&sc, profiles[p], keys[k]);
        }
    }
    /* Profiles named by the file itself. */
    for (k = 0; k < ini->n && k < 4; k++) {
        s = ini->entries[k].section;
        if (strncmp(s, "profile ", 8) == 0)
            s += 8;
        if (which & 2)
            CHECK(kmsre_profile_exists(&sc, ini->entries[k].section));
        CHECK(kmsre_profile_exists(&sc, s) ==
              want_exists(&sc.config, &sc.credentials, s));
        check_profile(&sc, s, ini->entries[k].key);
        check_profile(&sc, ini->entries[k].section, ini->entries[k].key);
        /* A section of the credentials file with a value for the key
         * always gives it (an empty value counts as none). */
        v = nonempty(last_value(ini, s, ini->entries[k].key));
        if ((which & 2) && v != NULL)
            CHECK(kmsre_profile_credential(&sc, s, ini->entries[k].key) == v);
        check_section_setting(&sc, &ini->entries[k], which & 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmsre_ini ini, again;
    enum kmsre_status st;
    size_t allocs;
    char *text;

    if (size > 256 * 1024)
        return 0;
    text = fuzz_unterminated_copy(data, size);
    if (text == NULL)
        return 0;

    fuzz_alloc_reset(0);
    st = kmsre_ini_parse(text, size, &ini);
    allocs = fuzz_alloc_count;
    CHECK(st == KMSRE_OK);
    check_entries(&ini, memchr(text, '\0', size) == NULL);
    lookups(&ini, 1);
    lookups(&ini, 2);
    lookups(&ini, 3);

    /* Again with allocation number 1 + (size + first byte) % allocs failing:
     * either all of it or nothing, and nothing leaks. */
    if (allocs > 0 &&
        fuzz_alloc_reset(1 + (size + (size ? data[0] : 0)) % allocs)) {
        st = kmsre_ini_parse(text, size, &again);
        fuzz_alloc_reset(0);
        CHECK(st == KMSRE_OK || st == KMSRE_ERR_NOMEM);
        if (st == KMSRE_OK) {
            CHECK(again.n == ini.n);
        } else {
            CHECK(again.n == 0 && again.entries == NULL);
        }
        kmsre_ini_clear(&again);
    }

    kmsre_ini_clear(&ini);
    CHECK(ini.n == 0 && ini.entries == NULL);
    free(text);
    return 0;
}
