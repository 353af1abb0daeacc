/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption contexts: the JSON form (checked more strictly than json-c
 * alone would: unique keys, string values without NUL) and the AWS CLI's
 * shorthand (awscli/shorthand.py), both into an ordered string map. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include "base/text.h"
#include "kms/context.h"
#include "kms/json_input.h"

#define NO_POS ((size_t)-1)
#define NO_CP UINT32_MAX

/* ---- the map ------------------------------------------------------------ */

const char *kmsre_context_get(const struct kmsre_context *ctx, const char *key)
{
    size_t i;

    for (i = 0; i < ctx->n; i++)
        if (strcmp(ctx->pairs[i].key, key) == 0)
            return ctx->pairs[i].value;
    return NULL;
}

void kmsre_context_clear(struct kmsre_context *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n; i++) {
        OPENSSL_free(ctx->pairs[i].key);
        OPENSSL_free(ctx->pairs[i].value);
    }
    OPENSSL_free(ctx->pairs);
    memset(ctx, 0, sizeof(*ctx));
}

static enum kmsre_status ctx_add(struct kmsre_context *ctx, const char *key,
                                 size_t klen, const char *value, size_t vlen,
                                 struct kmsre_err *err)
{
    struct kmsre_context_pair *grown, *p;

    grown = OPENSSL_realloc(ctx->pairs, (ctx->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    ctx->pairs = grown;
    p = &ctx->pairs[ctx->n];
    p->key = kmsre_strndup(key, klen);
    p->value = kmsre_strndup(value, vlen);
    if (p->key == NULL || p->value == NULL) {
        OPENSSL_free(p->key);
        OPENSSL_free(p->value);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    ctx->n++;
    return KMSRE_OK;
}

enum kmsre_status kmsre_context_copy(struct kmsre_context *dst,
                                     const struct kmsre_context *src)
{
    struct kmsre_context c = {src->present, 0, NULL};
    enum kmsre_status rc = KMSRE_OK;
    size_t i;

    for (i = 0; rc == KMSRE_OK && i < src->n; i++)
        rc = ctx_add(&c, src->pairs[i].key, strlen(src->pairs[i].key),
                     src->pairs[i].value, strlen(src->pairs[i].value), NULL);
    if (rc != KMSRE_OK) {
        kmsre_context_clear(&c);
        return rc;
    }
    *dst = c;
    return KMSRE_OK;
}

/* A checked JSON object (string values, unique keys) as pairs. */
static enum kmsre_status ctx_from_object(struct json_object *map,
                                         struct kmsre_context *out,
                                         struct kmsre_err *err)
{
    enum kmsre_status rc = KMSRE_OK;

    json_object_object_foreach(map, key, val)
    {
        if (rc == KMSRE_OK)
            rc = ctx_add(out, key, strlen(key), json_object_get_string(val),
                         (size_t)json_object_get_string_len(val), err);
    }
    return rc;
}

static int in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
    return c >= lo && c <= hi;
}

/* ---- encryption context: JSON form ---- */

static enum kmsre_status ctx_check_json_values(struct json_object *map,
                                               struct kmsre_err *err)
{
    struct kmsre_quoted f;

    json_object_object_foreach(map, key, val)
    {
        if (!json_object_is_type(val, json_type_string)) {
            kmsre_fail(err, KMSRE_ERR_INVALID,
                       "bad encryption context: the value of key \"%s\" is %s, "
                       "not a string (KMS encryption context values are "
                       "strings: put it in quotes)",
                       kmsre_quote_str(&f, key), kmsre_json_kind(val));
            return KMSRE_ERR_INVALID;
        }
        if (kmsre_json_has_nul(val)) {
            kmsre_fail(err, KMSRE_ERR_INVALID,
                       "bad encryption context: the value of key \"%s\" "
                       "contains a NUL character",
                       kmsre_quote_str(&f, key));
            return KMSRE_ERR_INVALID;
        }
    }
    return KMSRE_OK;
}

/* End of the JSON string token starting at the quote at pos. */
static size_t json_string_end(const char *s, size_t len, size_t pos)
{
    for (pos++; pos < len && s[pos] != '"'; pos++) {
        if (s[pos] == '\\')
            pos++;
    }
    return pos + 1;
}

static enum kmsre_status ctx_check_json_key(const char *tok, size_t n,
                                            struct json_object *seen,
                                            struct kmsre_err *err)
{
    struct json_object *key = NULL;
    enum kmsre_status rc;
    struct kmsre_quoted f;

    rc = kmsre_json_parse_strict(tok, n, &key, "encryption context", err);
    if (rc != KMSRE_OK)
        return rc;
    if (kmsre_json_has_nul(key)) {
        kmsre_fail(
            err, KMSRE_ERR_INVALID,
            "bad encryption context: key \"%s\" contains a NUL character",
            kmsre_quote(&f, tok + 1, n - 2));
        rc = KMSRE_ERR_INVALID;
    } else if (json_object_object_get_ex(seen, json_object_get_string(key),
                                         NULL)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad encryption context: key \"%s\" appears twice",
                   kmsre_quote_str(&f, json_object_get_string(key)));
        rc = KMSRE_ERR_INVALID;
    } else if (json_object_object_add(seen, json_object_get_string(key),
                                      NULL) != 0) {
        rc = KMSRE_ERR_NOMEM;
    }
    json_object_put(key);
    return rc;
}

/* json-c keeps the last of two equal keys (and cuts a key at an escaped
 * NUL) without telling, so the keys are read again from the text. Values
 * are known to be strings here, so the object is flat and its string
 * tokens alternate key, value. */
static enum kmsre_status ctx_check_json_keys(const char *text, size_t len,
                                             struct kmsre_err *err)
{
    struct json_object *seen = json_object_new_object();
    enum kmsre_status rc = KMSRE_OK;
    size_t pos = 0, end, index = 0;

    if (seen == NULL)
        return KMSRE_ERR_NOMEM;
    for (; pos < len && rc == KMSRE_OK; pos++) {
        if (text[pos] != '"')
            continue;
        end = json_string_end(text, len, pos);
        if (index++ % 2 == 0)
            rc = ctx_check_json_key(text + pos, end - pos, seen, err);
        pos = end - 1;
    }
    json_object_put(seen);
    return rc;
}

static enum kmsre_status ctx_parse_json(const char *text, size_t len,
                                        struct kmsre_context *out,
                                        struct kmsre_err *err)
{
    struct json_object *map = NULL;
    enum kmsre_status rc;

    rc = kmsre_json_parse_strict(text, len, &map, "encryption context", err);
    if (rc != KMSRE_OK)
        return rc;
    if (!json_object_is_type(map, json_type_object)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad encryption context: expected a JSON object "
                   "({\"key\":\"value\"}), got %s",
                   kmsre_json_kind(map));
        rc = KMSRE_ERR_INVALID;
    }
    if (rc == KMSRE_OK)
        rc = ctx_check_json_values(map, err);
    if (rc == KMSRE_OK)
        rc = ctx_check_json_keys(text, len, err);
    if (rc == KMSRE_OK)
        rc = ctx_from_object(map, out, err);
    json_object_put(map);
    return rc;
}

/* ---- encryption context: AWS CLI shorthand (awscli/shorthand.py) ---- */

struct sh {
    const char *s;
    size_t len;
    size_t pos;
    char *key; /* scratch for the current key, len + 1 bytes */
    char *val; /* scratch for the current value, len + 1 bytes */
    size_t vlen;
    struct kmsre_err *err;
};

static int sh_is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("-_.#/:", c));
}

/* The CLI's _START_WORD, _FIRST_FOLLOW_CHARS and _SECOND_FOLLOW_CHARS.
 * Its ranges end at U+FFFF; code points above are accepted here too. */
static int sh_is_start(uint32_t c)
{
    return c == '!' || in_range(c, '#', '&') || in_range(c, '(', '+') ||
           in_range(c, '-', '<') || in_range(c, '>', 'Z') ||
           in_range(c, '\\', 'z') || c >= '|';
}

static int sh_is_first_follow(uint32_t c)
{
    return kmsre_is_py_space(c) || c == '!' || in_range(c, '#', '&') ||
           in_range(c, '(', '+') || in_range(c, '-', '\\') ||
           in_range(c, '^', '|') || c >= '~';
}

static int sh_is_second_follow(uint32_t c)
{
    return kmsre_is_py_space(c) || c == '!' || in_range(c, '#', '&') ||
           in_range(c, '(', '+') || in_range(c, '-', '<') || c >= '>';
}

static uint32_t sh_cp_at(const struct sh *p, size_t pos, size_t *n)
{
    uint32_t cp = NO_CP;

    *n =
        kmsre_utf8_decode((const unsigned char *)p->s + pos, p->len - pos, &cp);
    return *n == 0 ? NO_CP : cp;
}

static int sh_escaped_comma_at(const struct sh *p, size_t pos)
{
    return pos + 1 < p->len && p->s[pos] == '\\' && p->s[pos + 1] == ',';
}

/* Where the regex '(?:\\Q|[^Q])*Q' ends a value quoted with Q: at the first
 * Q not preceded by a backslash, or, when there is none, at the last
 * escaped one (the regex backtracks to it). */
static size_t sh_find_close(const struct sh *p, size_t open)
{
    char q = p->s[open];
    size_t i = open + 1, last_pair = NO_POS;

    while (i < p->len) {
        if (p->s[i] == '\\' && i + 1 < p->len && p->s[i + 1] == q) {
            last_pair = i;
            i += 2;
        } else if (p->s[i] == q) {
            return i;
        } else {
            i++;
        }
    }
    return last_pair == NO_POS ? NO_POS : last_pair + 1;
}

/* End of what the CLI would take as a second list item at pos, or NO_POS
 * when nothing matches there. */
static size_t sh_second_value_end(const struct sh *p, size_t pos)
{
    size_t n, close;
    uint32_t cp;
    int first = 1;

    if (p->s[pos] == '\'' || p->s[pos] == '"') {
        close = sh_find_close(p, pos);
        return close == NO_POS ? NO_POS : close + 1;
    }
    while (pos < p->len) {
        if (sh_escaped_comma_at(p, pos)) {
            pos += 2, first = 0;
            continue;
        }
        cp = sh_cp_at(p, pos, &n);
        if (n == 0 || (first ? !sh_is_start(cp) : !sh_is_second_follow(cp)))
            break;
        pos += n, first = 0;
    }
    return first ? NO_POS : pos;
}

/* At a ',' after a value: the CLI turns "k=a,b" into a list when b parses
 * as a value followed by the end or another ','; a string map cannot hold
 * it. Otherwise the ',' starts the next pair. */
static enum kmsre_status sh_check_not_list(struct sh *p)
{
    size_t start = kmsre_skip_blanks(p->s, p->len, p->pos + 1), end, after;
    struct kmsre_quoted fk, fv;

    if (start == p->len) {
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: it ends with a comma");
        return KMSRE_ERR_INVALID;
    }
    end = sh_second_value_end(p, start);
    /* The CLI backtracks to the last ',' before where it failed, so in
     * "a=b,,c=d" it skips the first comma. */
    if (end == NO_POS && p->s[start] == ',')
        p->pos = start;
    if (end == NO_POS)
        return KMSRE_OK;
    after = kmsre_skip_blanks(p->s, p->len, end);
    if (after < p->len && p->s[after] != ',')
        return KMSRE_OK;
    kmsre_fail(p->err, KMSRE_ERR_INVALID,
               "bad encryption context: \"%s\" after key \"%s\" has no '=', so "
               "the AWS CLI reads it as a second value (a list), which an "
               "encryption context cannot hold (write \\, for a comma inside a "
               "value, or quote the value)",
               kmsre_quote(&fv, p->s + start, end - start),
               kmsre_quote_str(&fk, p->key));
    return KMSRE_ERR_INVALID;
}

static enum kmsre_status sh_finish_value(struct sh *p, int quoted)
{
    struct kmsre_quoted fk, fc;
    size_t n;

    p->pos = kmsre_skip_blanks(p->s, p->len, p->pos);
    if (p->pos == p->len)
        return KMSRE_OK;
    if (p->s[p->pos] == ',')
        return sh_check_not_list(p);
    sh_cp_at(p, p->pos, &n);
    kmsre_fail(
        p->err, KMSRE_ERR_INVALID,
        "bad encryption context: unexpected \"%s\" %s of key \"%s\" (the "
        "AWS CLI shorthand does not allow it there; quote the value or "
        "use JSON)",
        kmsre_quote(&fc, p->s + p->pos, n ? n : 1),
        quoted ? "after the quoted value" : "in the value",
        kmsre_quote_str(&fk, p->key));
    return KMSRE_ERR_INVALID;
}

/* Copies the quoted text and undoes the CLI's two replace() calls, in the
 * same order: \Q -> Q, then \\ -> \. */
static void sh_unescape_quoted(struct sh *p, size_t from, size_t to, char q)
{
    size_t i, o = 0, w = 0;

    for (i = from; i < to; i++) {
        if (p->s[i] == '\\' && i + 1 < to && p->s[i + 1] == q)
            i++;
        p->val[o++] = p->s[i];
    }
    for (i = 0; i < o; i++) {
        if (p->val[i] == '\\' && i + 1 < o && p->val[i + 1] == '\\')
            i++;
        p->val[w++] = p->val[i];
    }
    p->vlen = w;
}

static enum kmsre_status sh_parse_quoted(struct sh *p)
{
    size_t close = sh_find_close(p, p->pos);
    struct kmsre_quoted f;

    if (close == NO_POS) {
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: the value of key \"%s\" opens a %c "
                   "quote that is never closed",
                   kmsre_quote_str(&f, p->key), p->s[p->pos]);
        return KMSRE_ERR_INVALID;
    }
    sh_unescape_quoted(p, p->pos + 1, close, p->s[p->pos]);
    p->pos = close + 1;
    return sh_finish_value(p, 1);
}

/* A value runs to the first character the CLI's regex stops at; "\,"
 * stands for a comma and trailing white space is dropped. */
static enum kmsre_status sh_parse_unquoted(struct sh *p)
{
    size_t keep = 0, n;
    uint32_t cp;

    p->vlen = 0;
    while (p->pos < p->len) {
        if (sh_escaped_comma_at(p, p->pos)) {
            p->val[p->vlen++] = ',';
            keep = p->vlen;
            p->pos += 2;
            continue;
        }
        cp = sh_cp_at(p, p->pos, &n);
        if (n == 0 ||
            (p->vlen == 0 ? !sh_is_start(cp) : !sh_is_first_follow(cp)))
            break;
        memcpy(p->val + p->vlen, p->s + p->pos, n);
        p->vlen += n;
        p->pos += n;
        if (!kmsre_is_py_space(cp))
            keep = p->vlen;
    }
    p->vlen = keep;
    return sh_finish_value(p, 0);
}

static enum kmsre_status sh_parse_value(struct sh *p)
{
    char c = p->pos < p->len ? p->s[p->pos] : '\0';
    struct kmsre_quoted f;

    p->vlen = 0;
    if (c == '\0')
        return KMSRE_OK;
    if (c == '[' || c == '{') {
        kmsre_fail(
            p->err, KMSRE_ERR_INVALID,
            "bad encryption context: the value of key \"%s\" starts with "
            "'%c', which the AWS CLI shorthand reads as a %s (quote the "
            "value or use JSON)",
            kmsre_quote_str(&f, p->key), c, c == '[' ? "list" : "nested map");
        return KMSRE_ERR_INVALID;
    }
    if (c == '\'' || c == '"')
        return sh_parse_quoted(p);
    return sh_parse_unquoted(p);
}

static enum kmsre_status sh_bad_key(struct sh *p, size_t start)
{
    size_t end = start;
    struct kmsre_quoted f;

    while (end < p->len && p->s[end] != '=' && p->s[end] != ',')
        end += sh_escaped_comma_at(p, end) ? 2 : 1;
    if (end == start)
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: empty item at offset %zu "
                   "(expected key=value)",
                   start);
    else if (end < p->len && p->s[end] == '=')
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: key \"%s\" has a character the AWS "
                   "CLI shorthand does not allow (keys may use A-Z a-z 0-9 "
                   "- _ . # / :; use JSON for other keys)",
                   kmsre_quote(&f, p->s + start, end - start));
    else
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: \"%s\" is not key=value",
                   kmsre_quote(&f, p->s + start, end - start));
    return KMSRE_ERR_INVALID;
}

/* key, blanks, '=', blanks; leaves the key in p->key. */
static enum kmsre_status sh_parse_key(struct sh *p)
{
    size_t start = p->pos, klen;

    while (p->pos < p->len && sh_is_key_char(p->s[p->pos]))
        p->pos++;
    klen = p->pos - start;
    p->pos = kmsre_skip_blanks(p->s, p->len, p->pos);
    if (p->pos < p->len && p->s[p->pos] == '@') {
        kmsre_fail(
            p->err, KMSRE_ERR_INVALID,
            "bad encryption context: key@=file values are not supported");
        return KMSRE_ERR_INVALID;
    }
    if (p->pos == p->len || p->s[p->pos] != '=')
        return sh_bad_key(p, start);
    if (klen == 0) {
        kmsre_fail(p->err, KMSRE_ERR_INVALID,
                   "bad encryption context: empty key at offset %zu", start);
        return KMSRE_ERR_INVALID;
    }
    memcpy(p->key, p->s + start, klen);
    p->key[klen] = '\0';
    p->pos = kmsre_skip_blanks(p->s, p->len, p->pos + 1);
    return KMSRE_OK;
}

static enum kmsre_status sh_store_pair(struct sh *p, struct kmsre_context *map)
{
    struct kmsre_quoted f;

    if (kmsre_context_get(map, p->key) != NULL)
        return kmsre_fail(p->err, KMSRE_ERR_INVALID,
                          "bad encryption context: key \"%s\" appears twice",
                          kmsre_quote_str(&f, p->key));
    return ctx_add(map, p->key, strlen(p->key), p->val, p->vlen, p->err);
}

static enum kmsre_status sh_parse_pairs(struct sh *p, struct kmsre_context *map)
{
    enum kmsre_status rc;

    p->pos = kmsre_skip_blanks(p->s, p->len, 0);
    for (;;) {
        rc = sh_parse_key(p);
        if (rc == KMSRE_OK)
            rc = sh_parse_value(p);
        if (rc == KMSRE_OK)
            rc = sh_store_pair(p, map);
        if (rc != KMSRE_OK || p->pos == p->len)
            return rc;
        /* sh_finish_value stopped at a ',' that starts the next pair */
        p->pos = kmsre_skip_blanks(p->s, p->len, p->pos + 1);
    }
}

static enum kmsre_status ctx_parse_shorthand(const char *text, size_t len,
                                             struct kmsre_context *out,
                                             struct kmsre_err *err)
{
    struct sh p = {text, len, 0, NULL, NULL, 0, err};
    enum kmsre_status rc = KMSRE_ERR_NOMEM;

    if (len > INT_MAX)
        return kmsre_fail(err, KMSRE_ERR_LIMIT,
                          "bad encryption context: too long");
    p.key = OPENSSL_malloc(len + 1);
    p.val = OPENSSL_malloc(len + 1);
    if (p.key != NULL && p.val != NULL)
        rc = sh_parse_pairs(&p, out);
    OPENSSL_free(p.key);
    OPENSSL_free(p.val);
    return rc;
}

enum kmsre_status kmsre_context_parse(const char *text, size_t len,
                                      struct kmsre_context *out,
                                      struct kmsre_err *err)
{
    struct kmsre_context fresh = {1, 0, NULL};
    enum kmsre_status rc;
    size_t first;

    memset(out, 0, sizeof(*out));
    if (text == NULL && len > 0)
        return kmsre_fail(err, KMSRE_ERR_INVALID, "no encryption context");
    rc = kmsre_check_utf8(text, len, "encryption context", err);
    if (rc != KMSRE_OK)
        return rc;
    first = kmsre_skip_blanks(text, len, 0);
    /* Like the CLI: anything that starts with '{' or '[' is JSON. */
    if (first == len)
        rc = KMSRE_OK;
    else if (text[first] == '{' || text[first] == '[')
        rc = ctx_parse_json(text, len, &fresh, err);
    else
        rc = ctx_parse_shorthand(text, len, &fresh, err);
    if (rc != KMSRE_OK) {
        kmsre_context_clear(&fresh);
        return rc == KMSRE_ERR_NOMEM ? kmsre_fail(err, rc, "out of memory")
                                     : rc;
    }
    *out = fresh;
    return KMSRE_OK;
}
