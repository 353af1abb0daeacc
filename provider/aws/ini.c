/* SPDX-License-Identifier: Apache-2.0 */
/* A small reader for the AWS shared config and credentials files. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/ini.h"

#define INI_MAX_FILE (1024 * 1024)

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trims [*start, *end) in place. */
static void trim(const char **start, const char **end)
{
    while (*start < *end && is_blank(**start))
        (*start)++;
    while (*end > *start && is_blank((*end)[-1]))
        (*end)--;
}

static enum kmsre_status add_entry(struct kmsre_ini *ini, const char *section,
                                   const char *key, size_t klen,
                                   const char *value, size_t vlen)
{
    struct kmsre_ini_entry *grown, *e;

    grown = OPENSSL_realloc(ini->entries, (ini->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return KMSRE_ERR_NOMEM;
    ini->entries = grown;
    e = &ini->entries[ini->n];
    e->section = OPENSSL_strdup(section);
    e->key = OPENSSL_strndup(key, klen);
    e->value = OPENSSL_strndup(value, vlen);
    if (e->section == NULL || e->key == NULL || e->value == NULL) {
        OPENSSL_free(e->section);
        OPENSSL_free(e->key);
        /* strndup stops at a NUL: wipe what was allocated, not vlen */
        if (e->value != NULL)
            OPENSSL_clear_free(e->value, strlen(e->value));
        return KMSRE_ERR_NOMEM;
    }
    ini->n++;
    return KMSRE_OK;
}

struct ini_cursor {
    char section[256];
    char parent[128]; /* key whose empty value opened a nested block */
    int have_section;
};

static void read_section(struct ini_cursor *cur, const char *s, const char *e)
{
    const char *close = memchr(s, ']', (size_t)(e - s));
    size_t n;

    cur->have_section = 0;
    cur->parent[0] = '\0';
    if (close == NULL)
        return;
    s++;
    trim(&s, &close);
    n = (size_t)(close - s);
    if (n == 0 || n >= sizeof(cur->section))
        return;
    memcpy(cur->section, s, n);
    cur->section[n] = '\0';
    cur->have_section = 1;
}

static enum kmsre_status read_pair(struct kmsre_ini *ini,
                                   struct ini_cursor *cur, const char *s,
                                   const char *e, int nested)
{
    const char *eq = memchr(s, '=', (size_t)(e - s)), *ks = s, *ke, *vs, *ve;
    char key[256];
    size_t klen;

    if (eq == NULL || !cur->have_section)
        return KMSRE_OK;
    ke = eq;
    vs = eq + 1;
    ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    klen = (size_t)(ke - ks);
    if (klen == 0 || klen >= sizeof(cur->parent))
        return KMSRE_OK;
    if (!nested) {
        /* "key =" with nothing after it may open a nested block. */
        memcpy(cur->parent, ks, klen);
        cur->parent[vs == ve ? klen : 0] = '\0';
        return add_entry(ini, cur->section, ks, klen, vs, (size_t)(ve - vs));
    }
    if (cur->parent[0] == '\0')
        return KMSRE_OK;
    klen = (size_t)snprintf(key, sizeof(key), "%s.%.*s", cur->parent, (int)klen,
                            ks);
    if (klen >= sizeof(key))
        return KMSRE_OK;
    return add_entry(ini, cur->section, key, klen, vs, (size_t)(ve - vs));
}

static enum kmsre_status read_line(struct kmsre_ini *ini,
                                   struct ini_cursor *cur, const char *s,
                                   const char *e)
{
    int nested = s < e && is_blank(*s);

    trim(&s, &e);
    if (s == e || *s == '#' || *s == ';')
        return KMSRE_OK;
    if (*s == '[') {
        read_section(cur, s, e);
        return KMSRE_OK;
    }
    return read_pair(ini, cur, s, e, nested);
}

enum kmsre_status kmsre_ini_parse(const char *text, size_t len,
                                  struct kmsre_ini *out)
{
    struct ini_cursor cur = {"", "", 0};
    const char *p = text, *end = text + len, *nl;
    enum kmsre_status st = KMSRE_OK;

    memset(out, 0, sizeof(*out));
    while (p < end && st == KMSRE_OK) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        st = read_line(out, &cur, p, nl);
        p = nl + 1;
    }
    if (st != KMSRE_OK)
        kmsre_ini_clear(out);
    return st;
}

enum kmsre_status kmsre_ini_load(const char *path, struct kmsre_ini *out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    enum kmsre_status st;

    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return KMSRE_OK;
    buf = OPENSSL_malloc(INI_MAX_FILE);
    if (buf == NULL) {
        fclose(f);
        return KMSRE_ERR_NOMEM;
    }
    n = fread(buf, 1, INI_MAX_FILE, f);
    st = ferror(f) ? KMSRE_ERR_IO : kmsre_ini_parse(buf, n, out);
    fclose(f);
    OPENSSL_clear_free(buf, INI_MAX_FILE);
    return st;
}

const char *kmsre_ini_get(const struct kmsre_ini *ini, const char *section,
                          const char *key)
{
    const char *found = NULL;
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->entries[i].section, section) == 0 &&
            strcmp(ini->entries[i].key, key) == 0)
            found = ini->entries[i].value;
    return found;
}

void kmsre_ini_clear(struct kmsre_ini *ini)
{
    size_t i;

    for (i = 0; i < ini->n; i++) {
        OPENSSL_free(ini->entries[i].section);
        OPENSSL_free(ini->entries[i].key);
        OPENSSL_clear_free(ini->entries[i].value,
                           strlen(ini->entries[i].value));
    }
    OPENSSL_free(ini->entries);
    memset(ini, 0, sizeof(*ini));
}
