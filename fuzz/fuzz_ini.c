/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/aws/ini.c (aws_ini_parse, aws_ini_get,
 * aws_ini_clear) and the profile lookups of provider/aws/profile.c on the
 * result, used as both the config and the credentials file. The parse runs
 * a second time with one OpenSSL allocation failing (alloc_fail.h). */
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
static void check_entries(const struct aws_ini *ini, int strict)
{
    const struct aws_ini_entry *e;
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
        /* aws_ini_get gives the last value of the pair. */
        want = e->value;
        for (j = i + 1; j < ini->n; j++)
            if (strcmp(ini->entries[j].section, e->section) == 0 &&
                strcmp(ini->entries[j].key, e->key) == 0)
                want = ini->entries[j].value;
        got = aws_ini_get(ini, e->section, e->key);
        CHECK(got == want);
    }
}

static void lookups(const struct aws_ini *ini)
{
    static const char *const profiles[] = {"default", "x", "dev", ""};
    static const char *const keys[] = {"region",
                                       "aws_access_key_id",
                                       "aws_secret_access_key",
                                       "aws_session_token",
                                       "endpoint_url",
                                       "s3.max_concurrent_requests",
                                       "services"};
    struct aws_shared_config sc;
    const char *v;
    size_t p, k;

    sc.config = *ini;
    sc.credentials = *ini;
    for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        (void)aws_profile_exists(&sc, profiles[p]);
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            v = aws_ini_get(ini, profiles[p], keys[k]);
            CHECK(v == NULL || strchr(v, '\n') == NULL);
            v = aws_profile_setting(&sc, profiles[p], keys[k]);
            CHECK(v == NULL || strchr(v, '\n') == NULL);
            v = aws_profile_credential(&sc, profiles[p], keys[k]);
            CHECK(v == NULL || strchr(v, '\n') == NULL);
        }
    }
    /* Profiles named by the file itself. */
    for (k = 0; k < ini->n && k < 4; k++) {
        const char *s = ini->entries[k].section;

        if (strncmp(s, "profile ", 8) == 0)
            s += 8;
        CHECK(aws_profile_exists(&sc, ini->entries[k].section));
        (void)aws_profile_exists(&sc, s);
        v = aws_profile_credential(&sc, s, ini->entries[k].key);
        CHECK(v != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_ini ini, again;
    enum kmsre_status st;
    size_t allocs;
    char *text;

    if (size > 256 * 1024)
        return 0;
    /* No terminating NUL: reads past size are caught. */
    text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    if (size > 0)
        memcpy(text, data, size);

    fuzz_alloc_reset(0);
    st = aws_ini_parse(text, size, &ini);
    allocs = fuzz_alloc_count;
    CHECK(st == KMSRE_OK);
    check_entries(&ini, memchr(text, '\0', size) == NULL);
    lookups(&ini);

    /* Again with allocation number 1 + (size + first byte) % allocs failing:
     * either all of it or nothing, and nothing leaks. */
    if (allocs > 0 &&
        fuzz_alloc_reset(1 + (size + (size ? data[0] : 0)) % allocs)) {
        st = aws_ini_parse(text, size, &again);
        fuzz_alloc_reset(0);
        CHECK(st == KMSRE_OK || st == KMSRE_ERR_NOMEM);
        if (st == KMSRE_OK) {
            CHECK(again.n == ini.n);
        } else {
            CHECK(again.n == 0 && again.entries == NULL);
        }
        aws_ini_clear(&again);
    }

    aws_ini_clear(&ini);
    CHECK(ini.n == 0 && ini.entries == NULL);
    free(text);
    return 0;
}
