/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers for encryption contexts, grant tokens and KMS key references. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "util/parse.h"

#define NO_POS ((size_t)-1)
#define NO_CP UINT32_MAX

/* ---- error messages ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A piece of user input made safe to print: control bytes, stray bytes
 * and quotes escaped, long pieces cut with "...". */
struct frag {
    char s[112];
};

static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

static int frag_put(struct frag *f, size_t *o, const char *piece, size_t n)
{
    if (*o + n + 4 >= sizeof(f->s))
        return 0;
    memcpy(f->s + *o, piece, n);
    *o += n;
    return 1;
}

static size_t frag_put_one(struct frag *f, size_t *o, const unsigned char *s,
                           size_t n)
{
    char esc[8];
    uint32_t cp = 0;
    size_t len = utf8_decode(s, n, &cp);

    if (len > 1 && cp >= 0xa0)
        return frag_put(f, o, (const char *)s, len) ? len : 0;
    if (len == 1 && cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\')
        return frag_put(f, o, (const char *)s, 1);
    if (len == 1 && (cp == '"' || cp == '\\'))
        snprintf(esc, sizeof(esc), "\\%c", (char)cp);
    else
        snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
    return frag_put(f, o, esc, strlen(esc)) ? 1 : 0;
}

static const char *show(struct frag *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0, used;

    while (i < n) {
        used = frag_put_one(f, &o, u + i, n - i);
        if (used == 0) {
            memcpy(f->s + o, "...", 3);
            o += 3;
            break;
        }
        i += used;
    }
    f->s[o] = '\0';
    return f->s;
}

static const char *show_str(struct frag *f, const char *s)
{
    return show(f, s, strlen(s));
}

/* ---- characters ---- */

static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len, i;
    uint32_t c;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min_cp[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static int in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
    return c >= lo && c <= hi;
}

/* Python's str.isspace(), which is what the CLI's regex \s and rstrip()
 * use. */
static int is_py_space(uint32_t c)
{
    return in_range(c, 0x09, 0x0d) || in_range(c, 0x1c, 0x20) || c == 0x85 ||
           c == 0xa0 || c == 0x1680 || in_range(c, 0x2000, 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

static int is_control(uint32_t c)
{
    return c < 0x20 || in_range(c, 0x7f, 0x9f);
}

/* Python's string.whitespace, which the CLI skips around '=' and ','. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static size_t skip_blanks(const char *s, size_t len, size_t pos)
{
    while (pos < len && is_blank(s[pos]))
        pos++;
    return pos;
}

static enum kmsre_status check_utf8(const char *text, size_t len,
                                    const char *what, char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        if (u[i] == 0) {
            set_err(err, errlen, "bad %s: NUL byte at offset %zu", what, i);
            return KMSRE_ERR_INVALID;
        }
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) {
            set_err(err, errlen, "bad %s: not valid UTF-8 at offset %zu", what,
                    i);
            return KMSRE_ERR_INVALID;
        }
        i += n;
    }
    return KMSRE_OK;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = OPENSSL_malloc(n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- strict JSON ---- */

static enum kmsre_status json_parse_strict(const char *text, size_t len,
                                           struct json_object **out,
                                           const char *what, char *err,
                                           size_t errlen)
{
    struct json_tokener *tok;
    enum json_tokener_error jerr;

    if (len > INT_MAX) {
        set_err(err, errlen, "bad %s: too long", what);
        return KMSRE_ERR_LIMIT;
    }
    tok = json_tokener_new();
    if (tok == NULL)
        return KMSRE_ERR_NOMEM;
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *out = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (*out == NULL && jerr == json_tokener_continue)
        set_err(err, errlen, "bad %s: the JSON text ends too early", what);
    else if (*out == NULL)
        set_err(err, errlen, "bad %s: invalid JSON at offset %zu: %s", what,
                json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
    json_tokener_free(tok);
    return *out != NULL ? KMSRE_OK : KMSRE_ERR_INVALID;
}

static const char *json_kind(const struct json_object *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
    case json_type_int:
        return "a number";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    default:
        return "a string";
    }
}

static int has_nul(struct json_object *str)
{
    return (size_t)json_object_get_string_len(str) !=
           strlen(json_object_get_string(str));
}

/* ---- encryption context: JSON form ---- */

static enum kmsre_status ctx_check_json_values(struct json_object *map,
                                               char *err, size_t errlen)
{
    struct frag f;

    json_object_object_foreach(map, key, val)
    {
        if (!json_object_is_type(val, json_type_string)) {
            set_err(err, errlen,
                    "bad encryption context: the value of key \"%s\" is %s, "
                    "not a string (KMS encryption context values are "
                    "strings: put it in quotes)",
                    show_str(&f, key), json_kind(val));
            return KMSRE_ERR_INVALID;
        }
        if (has_nul(val)) {
            set_err(err, errlen,
                    "bad encryption context: the value of key \"%s\" "
                    "contains a NUL character",
                    show_str(&f, key));
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
                                            struct json_object *seen, char *err,
                                            size_t errlen)
{
    struct json_object *key = NULL;
    enum kmsre_status rc;
    struct frag f;

    rc = json_parse_strict(tok, n, &key, "encryption context", err, errlen);
    if (rc != KMSRE_OK)
        return rc;
    if (has_nul(key)) {
        set_err(err, errlen,
                "bad encryption context: key \"%s\" contains a NUL character",
                show(&f, tok + 1, n - 2));
        rc = KMSRE_ERR_INVALID;
    } else if (json_object_object_get_ex(seen, json_object_get_string(key),
                                         NULL)) {
        set_err(err, errlen, "bad encryption context: key \"%s\" appears twice",
                show_str(&f, json_object_get_string(key)));
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
                                             char *err, size_t errlen)
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
            rc = ctx_check_json_key(text + pos, end - pos, seen, err, errlen);
        pos = end - 1;
    }
    json_object_put(seen);
    return rc;
}

static enum kmsre_status ctx_parse_json(const char *text, size_t len,
                                        struct json_object **out, char *err,
                                        size_t errlen)
{
    struct json_object *map = NULL;
    enum kmsre_status rc;

    rc = json_parse_strict(text, len, &map, "encryption context", err, errlen);
    if (rc != KMSRE_OK)
        return rc;
    if (!json_object_is_type(map, json_type_object)) {
        set_err(err, errlen,
                "bad encryption context: expected a JSON object "
                "({\"key\":\"value\"}), got %s",
                json_kind(map));
        rc = KMSRE_ERR_INVALID;
    }
    if (rc == KMSRE_OK)
        rc = ctx_check_json_values(map, err, errlen);
    if (rc == KMSRE_OK)
        rc = ctx_check_json_keys(text, len, err, errlen);
    if (rc != KMSRE_OK) {
        json_object_put(map);
        return rc;
    }
    *out = map;
    return KMSRE_OK;
}

/* ---- encryption context: AWS CLI shorthand (awscli/shorthand.py) ---- */

struct sh {
    const char *s;
    size_t len;
    size_t pos;
    char *key; /* scratch for the current key, len + 1 bytes */
    char *val; /* scratch for the current value, len + 1 bytes */
    size_t vlen;
    char *err;
    size_t errlen;
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
    return is_py_space(c) || c == '!' || in_range(c, '#', '&') ||
           in_range(c, '(', '+') || in_range(c, '-', '\\') ||
           in_range(c, '^', '|') || c >= '~';
}

static int sh_is_second_follow(uint32_t c)
{
    return is_py_space(c) || c == '!' || in_range(c, '#', '&') ||
           in_range(c, '(', '+') || in_range(c, '-', '<') || c >= '>';
}

static uint32_t sh_cp_at(const struct sh *p, size_t pos, size_t *n)
{
    uint32_t cp = NO_CP;

    *n = utf8_decode((const unsigned char *)p->s + pos, p->len - pos, &cp);
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
    size_t start = skip_blanks(p->s, p->len, p->pos + 1), end, after;
    struct frag fk, fv;

    if (start == p->len) {
        set_err(p->err, p->errlen,
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
    after = skip_blanks(p->s, p->len, end);
    if (after < p->len && p->s[after] != ',')
        return KMSRE_OK;
    set_err(p->err, p->errlen,
            "bad encryption context: \"%s\" after key \"%s\" has no '=', so "
            "the AWS CLI reads it as a second value (a list), which an "
            "encryption context cannot hold (write \\, for a comma inside a "
            "value, or quote the value)",
            show(&fv, p->s + start, end - start), show_str(&fk, p->key));
    return KMSRE_ERR_INVALID;
}

static enum kmsre_status sh_finish_value(struct sh *p, int quoted)
{
    struct frag fk, fc;
    size_t n;

    p->pos = skip_blanks(p->s, p->len, p->pos);
    if (p->pos == p->len)
        return KMSRE_OK;
    if (p->s[p->pos] == ',')
        return sh_check_not_list(p);
    sh_cp_at(p, p->pos, &n);
    set_err(p->err, p->errlen,
            "bad encryption context: unexpected \"%s\" %s of key \"%s\" (the "
            "AWS CLI shorthand does not allow it there; quote the value or "
            "use JSON)",
            show(&fc, p->s + p->pos, n ? n : 1),
            quoted ? "after the quoted value" : "in the value",
            show_str(&fk, p->key));
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
    struct frag f;

    if (close == NO_POS) {
        set_err(p->err, p->errlen,
                "bad encryption context: the value of key \"%s\" opens a %c "
                "quote that is never closed",
                show_str(&f, p->key), p->s[p->pos]);
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
        if (!is_py_space(cp))
            keep = p->vlen;
    }
    p->vlen = keep;
    return sh_finish_value(p, 0);
}

static enum kmsre_status sh_parse_value(struct sh *p)
{
    char c = p->pos < p->len ? p->s[p->pos] : '\0';
    struct frag f;

    p->vlen = 0;
    if (c == '\0')
        return KMSRE_OK;
    if (c == '[' || c == '{') {
        set_err(p->err, p->errlen,
                "bad encryption context: the value of key \"%s\" starts with "
                "'%c', which the AWS CLI shorthand reads as a %s (quote the "
                "value or use JSON)",
                show_str(&f, p->key), c, c == '[' ? "list" : "nested map");
        return KMSRE_ERR_INVALID;
    }
    if (c == '\'' || c == '"')
        return sh_parse_quoted(p);
    return sh_parse_unquoted(p);
}

static enum kmsre_status sh_bad_key(struct sh *p, size_t start)
{
    size_t end = start;
    struct frag f;

    while (end < p->len && p->s[end] != '=' && p->s[end] != ',')
        end += sh_escaped_comma_at(p, end) ? 2 : 1;
    if (end == start)
        set_err(p->err, p->errlen,
                "bad encryption context: empty item at offset %zu "
                "(expected key=value)",
                start);
    else if (end < p->len && p->s[end] == '=')
        set_err(p->err, p->errlen,
                "bad encryption context: key \"%s\" has a character the AWS "
                "CLI shorthand does not allow (keys may use A-Z a-z 0-9 "
                "- _ . # / :; use JSON for other keys)",
                show(&f, p->s + start, end - start));
    else
        set_err(p->err, p->errlen,
                "bad encryption context: \"%s\" is not key=value",
                show(&f, p->s + start, end - start));
    return KMSRE_ERR_INVALID;
}

/* key, blanks, '=', blanks; leaves the key in p->key. */
static enum kmsre_status sh_parse_key(struct sh *p)
{
    size_t start = p->pos, klen;

    while (p->pos < p->len && sh_is_key_char(p->s[p->pos]))
        p->pos++;
    klen = p->pos - start;
    p->pos = skip_blanks(p->s, p->len, p->pos);
    if (p->pos < p->len && p->s[p->pos] == '@') {
        set_err(p->err, p->errlen,
                "bad encryption context: key@=file values are not supported");
        return KMSRE_ERR_INVALID;
    }
    if (p->pos == p->len || p->s[p->pos] != '=')
        return sh_bad_key(p, start);
    if (klen == 0) {
        set_err(p->err, p->errlen,
                "bad encryption context: empty key at offset %zu", start);
        return KMSRE_ERR_INVALID;
    }
    memcpy(p->key, p->s + start, klen);
    p->key[klen] = '\0';
    p->pos = skip_blanks(p->s, p->len, p->pos + 1);
    return KMSRE_OK;
}

static enum kmsre_status sh_store_pair(struct sh *p, struct json_object *map)
{
    struct json_object *val;
    struct frag f;

    if (json_object_object_get_ex(map, p->key, NULL)) {
        set_err(p->err, p->errlen,
                "bad encryption context: key \"%s\" appears twice",
                show_str(&f, p->key));
        return KMSRE_ERR_INVALID;
    }
    val = json_object_new_string_len(p->val, (int)p->vlen);
    if (val == NULL)
        return KMSRE_ERR_NOMEM;
    if (json_object_object_add(map, p->key, val) != 0) {
        json_object_put(val);
        return KMSRE_ERR_NOMEM;
    }
    return KMSRE_OK;
}

static enum kmsre_status sh_parse_pairs(struct sh *p, struct json_object *map)
{
    enum kmsre_status rc;

    p->pos = skip_blanks(p->s, p->len, 0);
    for (;;) {
        rc = sh_parse_key(p);
        if (rc == KMSRE_OK)
            rc = sh_parse_value(p);
        if (rc == KMSRE_OK)
            rc = sh_store_pair(p, map);
        if (rc != KMSRE_OK || p->pos == p->len)
            return rc;
        /* sh_finish_value stopped at a ',' that starts the next pair */
        p->pos = skip_blanks(p->s, p->len, p->pos + 1);
    }
}

static enum kmsre_status ctx_parse_shorthand(const char *text, size_t len,
                                             struct json_object **out,
                                             char *err, size_t errlen)
{
    struct sh p = {text, len, 0, NULL, NULL, 0, err, errlen};
    struct json_object *map;
    enum kmsre_status rc = KMSRE_ERR_NOMEM;

    if (len > INT_MAX) {
        set_err(err, errlen, "bad encryption context: too long");
        return KMSRE_ERR_LIMIT;
    }
    map = json_object_new_object();
    p.key = OPENSSL_malloc(len + 1);
    p.val = OPENSSL_malloc(len + 1);
    if (map != NULL && p.key != NULL && p.val != NULL)
        rc = sh_parse_pairs(&p, map);
    OPENSSL_free(p.key);
    OPENSSL_free(p.val);
    if (rc != KMSRE_OK) {
        json_object_put(map);
        return rc;
    }
    *out = map;
    return KMSRE_OK;
}

enum kmsre_status kmsre_context_parse(const char *text, size_t len,
                                      struct json_object **out, char *err,
                                      size_t errlen)
{
    enum kmsre_status rc;
    size_t first;

    set_err(err, errlen, "%s", "");
    if (out == NULL || (text == NULL && len > 0))
        return KMSRE_ERR_INVALID;
    *out = NULL;
    rc = check_utf8(text, len, "encryption context", err, errlen);
    if (rc != KMSRE_OK)
        return rc;
    first = skip_blanks(text, len, 0);
    if (first == len) {
        *out = json_object_new_object();
        return *out != NULL ? KMSRE_OK : KMSRE_ERR_NOMEM;
    }
    /* Like the CLI: anything that starts with '{' or '[' is JSON. */
    if (text[first] == '{' || text[first] == '[')
        return ctx_parse_json(text, len, out, err, errlen);
    return ctx_parse_shorthand(text, len, out, err, errlen);
}

/* ---- grant tokens ---- */

static enum kmsre_status token_check(struct json_object *tok, size_t index,
                                     char *err, size_t errlen)
{
    const unsigned char *s;
    size_t len, i = 0, n, chars = 0;
    uint32_t cp = 0;

    if (!json_object_is_type(tok, json_type_string)) {
        set_err(err, errlen, "bad grant tokens: token %zu is %s, not a string",
                index, json_kind(tok));
        return KMSRE_ERR_INVALID;
    }
    s = (const unsigned char *)json_object_get_string(tok);
    len = (size_t)json_object_get_string_len(tok);
    for (; i < len; i += n, chars++) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n == 0 || is_control(cp)) {
            set_err(err, errlen,
                    "bad grant tokens: token %zu has a control character "
                    "or is not UTF-8",
                    index);
            return KMSRE_ERR_INVALID;
        }
    }
    if (chars == 0) {
        set_err(err, errlen, "bad grant tokens: token %zu is empty", index);
        return KMSRE_ERR_INVALID;
    }
    if (chars > KMS_MAX_GRANT_TOKEN_LEN) {
        set_err(err, errlen,
                "bad grant tokens: token %zu is %zu characters long (KMS "
                "allows at most %d)",
                index, chars, KMS_MAX_GRANT_TOKEN_LEN);
        return KMSRE_ERR_LIMIT;
    }
    return KMSRE_OK;
}

static enum kmsre_status tokens_from_json(const char *text, size_t len,
                                          struct json_object **out, char *err,
                                          size_t errlen)
{
    enum kmsre_status rc;

    rc = json_parse_strict(text, len, out, "grant tokens", err, errlen);
    if (rc == KMSRE_OK && !json_object_is_type(*out, json_type_array)) {
        set_err(err, errlen,
                "bad grant tokens: expected a JSON list of strings, got %s",
                json_kind(*out));
        json_object_put(*out);
        *out = NULL;
        rc = KMSRE_ERR_INVALID;
    }
    return rc;
}

static enum kmsre_status tokens_add_item(struct json_object *arr, const char *s,
                                         size_t from, size_t to)
{
    struct json_object *tok;

    from = skip_blanks(s, to, from);
    while (to > from && is_blank(s[to - 1]))
        to--;
    tok = json_object_new_string_len(s + from, (int)(to - from));
    if (tok == NULL)
        return KMSRE_ERR_NOMEM;
    if (json_object_array_add(arr, tok) != 0) {
        json_object_put(tok);
        return KMSRE_ERR_NOMEM;
    }
    return KMSRE_OK;
}

static enum kmsre_status tokens_from_csv(const char *text, size_t len,
                                         struct json_object **out)
{
    struct json_object *arr = json_object_new_array();
    enum kmsre_status rc = KMSRE_OK;
    size_t start = 0, i;

    if (arr == NULL)
        return KMSRE_ERR_NOMEM;
    for (i = 0; i <= len && rc == KMSRE_OK; i++) {
        if (i == len || text[i] == ',') {
            rc = tokens_add_item(arr, text, start, i);
            start = i + 1;
        }
    }
    if (rc != KMSRE_OK) {
        json_object_put(arr);
        return rc;
    }
    *out = arr;
    return KMSRE_OK;
}

static enum kmsre_status tokens_check_all(struct json_object *fresh,
                                          size_t have, char *err, size_t errlen)
{
    size_t i, n = json_object_array_length(fresh);
    enum kmsre_status rc;

    for (i = 0; i < n; i++) {
        rc = token_check(json_object_array_get_idx(fresh, i), i + 1, err,
                         errlen);
        if (rc != KMSRE_OK)
            return rc;
    }
    if (have + n > KMS_MAX_GRANT_TOKENS) {
        set_err(err, errlen,
                "too many grant tokens: %zu (KMS allows at most %d)", have + n,
                KMS_MAX_GRANT_TOKENS);
        return KMSRE_ERR_LIMIT;
    }
    return KMSRE_OK;
}

/* Appends every item or none. */
static enum kmsre_status tokens_append_all(struct json_object *list,
                                           struct json_object *fresh)
{
    size_t have = json_object_array_length(list);
    size_t i, n = json_object_array_length(fresh);
    struct json_object *tok;

    for (i = 0; i < n; i++) {
        tok = json_object_get(json_object_array_get_idx(fresh, i));
        if (json_object_array_add(list, tok) != 0) {
            json_object_put(tok);
            json_object_array_del_idx(list, have, i);
            return KMSRE_ERR_NOMEM;
        }
    }
    return KMSRE_OK;
}

enum kmsre_status kmsre_grant_tokens_append(struct json_object **list,
                                            const char *text, size_t len,
                                            char *err, size_t errlen)
{
    struct json_object *fresh = NULL;
    enum kmsre_status rc;
    size_t first, have;

    set_err(err, errlen, "%s", "");
    if (list == NULL || (text == NULL && len > 0) ||
        (*list != NULL && !json_object_is_type(*list, json_type_array)))
        return KMSRE_ERR_INVALID;
    if (len > INT_MAX) {
        set_err(err, errlen, "bad grant tokens: too long");
        return KMSRE_ERR_LIMIT;
    }
    have = *list != NULL ? json_object_array_length(*list) : 0;
    rc = check_utf8(text, len, "grant tokens", err, errlen);
    if (rc != KMSRE_OK)
        return rc;
    first = skip_blanks(text, len, 0);
    if (first < len && text[first] == '[')
        rc = tokens_from_json(text, len, &fresh, err, errlen);
    else
        rc = tokens_from_csv(text, len, &fresh);
    if (rc == KMSRE_OK)
        rc = tokens_check_all(fresh, have, err, errlen);
    if (rc == KMSRE_OK && *list == NULL)
        *list = json_object_get(fresh);
    else if (rc == KMSRE_OK)
        rc = tokens_append_all(*list, fresh);
    json_object_put(fresh);
    return rc;
}

/* ---- key references ---- */

static const char *const kms_partitions[] = {
    "aws",       "aws-cn",    "aws-us-gov", "aws-iso",
    "aws-iso-b", "aws-iso-e", "aws-iso-f",  "aws-eusc"};

int kmsre_region_is_valid(const char *region)
{
    size_t i;

    if (region == NULL || region[0] == '\0')
        return 0;
    for (i = 0; region[i] != '\0'; i++) {
        if (i >= 32 ||
            !((region[i] >= 'a' && region[i] <= 'z') ||
              (region[i] >= '0' && region[i] <= '9') || region[i] == '-'))
            return 0;
    }
    return 1;
}

static int profile_is_valid(const char *profile)
{
    size_t i;
    char c;

    for (i = 0; (c = profile[i]) != '\0'; i++) {
        if (i >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || strchr("_.+@-", c)))
            return 0;
    }
    return i > 0;
}

static int all_of(const char *s, size_t n, const char *set)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return 0;
    }
    return 1;
}

static const char HEX_LOWER[] = "0123456789abcdef";
static const char ALIAS_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz0123456789/_-";

static int is_key_id(const char *s)
{
    return strlen(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' &&
           s[23] == '-' && all_of(s, 8, HEX_LOWER) &&
           all_of(s + 9, 4, HEX_LOWER) && all_of(s + 14, 4, HEX_LOWER) &&
           all_of(s + 19, 4, HEX_LOWER) && all_of(s + 24, 12, HEX_LOWER);
}

static int is_mrk_id(const char *s)
{
    return strlen(s) == 36 && strncmp(s, "mrk-", 4) == 0 &&
           all_of(s + 4, 32, HEX_LOWER);
}

static int is_alias_name(const char *s)
{
    size_t n = strlen(s);

    return n > 6 && n <= 256 && strncmp(s, "alias/", 6) == 0 &&
           all_of(s + 6, n - 6, ALIAS_CHARS);
}

/* The id must be something KMS could take: 1..2048 characters of valid
 * UTF-8, none of them white space or control characters. */
static enum kmsre_status check_key_id_text(const char *id, char *err,
                                           size_t errlen)
{
    const unsigned char *u = (const unsigned char *)id;
    size_t i = 0, n, chars = 0, len = id ? strlen(id) : 0;
    uint32_t cp = 0;

    if (len == 0) {
        set_err(err, errlen, "bad key id: it is empty");
        return KMSRE_ERR_INVALID;
    }
    for (; i < len; i += n, chars++) {
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0 || is_control(cp) || is_py_space(cp)) {
            set_err(err, errlen,
                    "bad key id: white space, a control character or invalid "
                    "UTF-8 at offset %zu",
                    i);
            return KMSRE_ERR_INVALID;
        }
    }
    if (chars > KMS_MAX_KEY_ID_LEN) {
        set_err(err, errlen,
                "bad key id: %zu characters long (KMS allows at most %d)",
                chars, KMS_MAX_KEY_ID_LEN);
        return KMSRE_ERR_LIMIT;
    }
    return KMSRE_OK;
}

/* The six ':'-separated fields of an ARN; the resource keeps any further
 * ':'. */
struct arn_fields {
    const char *f[6];
    size_t n[6];
};

static int arn_split(const char *arn, struct arn_fields *a)
{
    const char *p = arn, *colon;
    int i;

    for (i = 0; i < 5; i++) {
        colon = strchr(p, ':');
        if (colon == NULL)
            return 0;
        a->f[i] = p;
        a->n[i] = (size_t)(colon - p);
        p = colon + 1;
    }
    a->f[5] = p;
    a->n[5] = strlen(p);
    return 1;
}

static int arn_partition_known(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(kms_partitions) / sizeof(kms_partitions[0]); i++) {
        if (strlen(kms_partitions[i]) == n &&
            strncmp(kms_partitions[i], s, n) == 0)
            return 1;
    }
    return 0;
}

static int field_is(const struct arn_fields *a, int i, const char *want)
{
    return a->n[i] == strlen(want) && strncmp(a->f[i], want, a->n[i]) == 0;
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);

    return n > pn && strncmp(s, prefix, pn) == 0;
}

static int region_field_is_valid(const char *s, size_t n)
{
    return n >= 1 && n <= 32 &&
           all_of(s, n, "abcdefghijklmnopqrstuvwxyz0123456789-");
}

static enum kmsre_status arn_check(const struct arn_fields *a, char *err,
                                   size_t errlen)
{
    struct frag f;

    if (!arn_partition_known(a->f[1], a->n[1]))
        set_err(err, errlen,
                "bad key ARN: unknown partition \"%s\" (expected aws, aws-cn, "
                "aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or "
                "aws-eusc)",
                show(&f, a->f[1], a->n[1]));
    else if (!field_is(a, 2, "kms"))
        set_err(err, errlen, "bad key ARN: service \"%s\" is not kms",
                show(&f, a->f[2], a->n[2]));
    else if (!region_field_is_valid(a->f[3], a->n[3]))
        set_err(err, errlen,
                "bad key ARN: region \"%s\" is not a region (1-32 lower-case "
                "letters, digits or '-')",
                show(&f, a->f[3], a->n[3]));
    else if (a->n[4] != 12 || !all_of(a->f[4], 12, "0123456789"))
        set_err(err, errlen, "bad key ARN: account \"%s\" is not 12 digits",
                show(&f, a->f[4], a->n[4]));
    else if (!has_prefix(a->f[5], a->n[5], "key/") &&
             !has_prefix(a->f[5], a->n[5], "alias/"))
        set_err(err, errlen,
                "bad key ARN: resource \"%s\" is not key/ID or alias/NAME",
                show(&f, a->f[5], a->n[5]));
    else
        return KMSRE_OK;
    return KMSRE_ERR_INVALID;
}

static enum kmsre_status arn_parse(const char *id, struct kms_key_ref *ref,
                                   char *err, size_t errlen)
{
    struct arn_fields a;
    enum kmsre_status rc;

    if (!arn_split(id, &a)) {
        set_err(err, errlen,
                "bad key ARN: expected "
                "arn:PARTITION:kms:REGION:ACCOUNT:key/ID or .../alias/NAME");
        return KMSRE_ERR_INVALID;
    }
    rc = arn_check(&a, err, errlen);
    if (rc != KMSRE_OK)
        return rc;
    ref->form = has_prefix(a.f[5], a.n[5], "key/") ? KMS_KEY_FORM_KEY_ARN
                                                   : KMS_KEY_FORM_ALIAS_ARN;
    ref->partition = dup_n(a.f[1], a.n[1]);
    ref->region = dup_n(a.f[3], a.n[3]);
    ref->account = dup_n(a.f[4], a.n[4]);
    if (!ref->partition || !ref->region || !ref->account)
        return KMSRE_ERR_NOMEM;
    return KMSRE_OK;
}

static enum kmsre_status key_ref_classify(const char *id,
                                          struct kms_key_ref *ref, char *err,
                                          size_t errlen)
{
    if (strncmp(id, "arn:", 4) == 0)
        return arn_parse(id, ref, err, errlen);
    if (is_key_id(id))
        ref->form = KMS_KEY_FORM_KEY_ID;
    else if (is_mrk_id(id))
        ref->form = KMS_KEY_FORM_MRK_ID;
    else if (is_alias_name(id))
        ref->form = KMS_KEY_FORM_ALIAS_NAME;
    else
        ref->form = KMS_KEY_FORM_OTHER;
    return KMSRE_OK;
}

/* out is overwritten, not freed: clear it first when reusing it. */
enum kmsre_status kms_key_ref_parse_id(const char *id, struct kms_key_ref *out,
                                       char *err, size_t errlen)
{
    struct kms_key_ref ref = {0};
    enum kmsre_status rc;

    set_err(err, errlen, "%s", "");
    if (out == NULL)
        return KMSRE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    rc = check_key_id_text(id, err, errlen);
    if (rc == KMSRE_OK)
        rc = key_ref_classify(id, &ref, err, errlen);
    if (rc == KMSRE_OK && (ref.key_id = dup_n(id, strlen(id))) == NULL)
        rc = KMSRE_ERR_NOMEM;
    if (rc != KMSRE_OK) {
        kms_key_ref_clear(&ref);
        return rc;
    }
    *out = ref;
    return KMSRE_OK;
}

/* ---- kms: URIs ---- */

struct uri_query {
    char *region;
    char *profile;
};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX; a malformed escape or a decoded NUL leaves *out NULL. */
static enum kmsre_status percent_decode(const char *s, size_t n, char **out)
{
    char *d = OPENSSL_malloc(n + 1);
    size_t i, o = 0;
    int hi, lo;

    *out = NULL;
    if (d == NULL)
        return KMSRE_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[o++] = s[i];
            continue;
        }
        hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
        lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            OPENSSL_free(d);
            return KMSRE_ERR_INVALID;
        }
        d[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    return KMSRE_OK;
}

static enum kmsre_status uri_check_param(const char *name, const char *value,
                                         char *err, size_t errlen)
{
    struct frag f;

    if (strcmp(name, "region") == 0 && !kmsre_region_is_valid(value)) {
        set_err(err, errlen,
                "bad kms: URI: region \"%s\" is not valid (1-32 lower-case "
                "letters, digits or '-')",
                show_str(&f, value));
        return KMSRE_ERR_INVALID;
    }
    if (strcmp(name, "profile") == 0 && !profile_is_valid(value)) {
        set_err(err, errlen,
                "bad kms: URI: profile \"%s\" is not valid (1-64 characters "
                "from A-Z a-z 0-9 _ . + @ -)",
                show_str(&f, value));
        return KMSRE_ERR_INVALID;
    }
    return KMSRE_OK;
}

static char **uri_query_slot(struct uri_query *q, const char *name, size_t n)
{
    if (n == 6 && strncmp(name, "region", 6) == 0)
        return &q->region;
    if (n == 7 && strncmp(name, "profile", 7) == 0)
        return &q->profile;
    return NULL;
}

static enum kmsre_status uri_parse_param(const char *seg, size_t n,
                                         struct uri_query *q, char *err,
                                         size_t errlen)
{
    const char *eq = memchr(seg, '=', n);
    size_t nlen = eq ? (size_t)(eq - seg) : n;
    char **slot = uri_query_slot(q, seg, nlen);
    const char *name = slot == &q->region ? "region" : "profile";
    enum kmsre_status rc;
    struct frag f;

    if (slot == NULL) {
        set_err(err, errlen,
                "bad kms: URI: unknown query parameter \"%s\" (only region "
                "and profile are allowed)",
                show(&f, seg, nlen));
        return KMSRE_ERR_INVALID;
    }
    if (*slot != NULL) {
        set_err(err, errlen, "bad kms: URI: %s is given twice", name);
        return KMSRE_ERR_INVALID;
    }
    if (eq == NULL || eq + 1 == seg + n) {
        set_err(err, errlen, "bad kms: URI: %s needs a value (%s=VALUE)", name,
                name);
        return KMSRE_ERR_INVALID;
    }
    rc = percent_decode(eq + 1, n - nlen - 1, slot);
    if (rc == KMSRE_ERR_INVALID)
        set_err(err, errlen,
                "bad kms: URI: %s has a malformed %%XX escape or a %%00", name);
    if (rc != KMSRE_OK)
        return rc;
    return uri_check_param(name, *slot, err, errlen);
}

static enum kmsre_status uri_parse_query(const char *query, struct uri_query *q,
                                         char *err, size_t errlen)
{
    const char *amp;
    size_t n;
    enum kmsre_status rc;

    for (;;) {
        amp = strchr(query, '&');
        n = amp ? (size_t)(amp - query) : strlen(query);
        if (n == 0) {
            set_err(err, errlen,
                    "bad kms: URI: empty query parameter (stray '?' or '&')");
            return KMSRE_ERR_INVALID;
        }
        rc = uri_parse_param(query, n, q, err, errlen);
        if (rc != KMSRE_OK || amp == NULL)
            return rc;
        query = amp + 1;
    }
}

/* The key ARN names the region the key lives in; a different ?region=
 * would send the request to a region where the key does not exist. */
static enum kmsre_status uri_apply_query(struct kms_key_ref *ref,
                                         struct uri_query *q, char *err,
                                         size_t errlen)
{
    struct frag fa, fq;

    if (ref->region && q->region && strcmp(ref->region, q->region) != 0) {
        set_err(err, errlen,
                "bad kms: URI: the ARN is in region %s but the query says "
                "region=%s (KMS keys are regional; drop ?region= or make "
                "them agree)",
                show_str(&fa, ref->region), show_str(&fq, q->region));
        return KMSRE_ERR_INVALID;
    }
    if (ref->region == NULL) {
        ref->region = q->region;
        q->region = NULL;
    }
    ref->profile = q->profile;
    q->profile = NULL;
    return KMSRE_OK;
}

static int has_kms_scheme(const char *uri)
{
    return (uri[0] == 'k' || uri[0] == 'K') &&
           (uri[1] == 'm' || uri[1] == 'M') &&
           (uri[2] == 's' || uri[2] == 'S') && uri[3] == ':';
}

static enum kmsre_status uri_parse_id(const char *rest, size_t n,
                                      struct kms_key_ref *ref, char *err,
                                      size_t errlen)
{
    char *id;
    enum kmsre_status rc;

    if (n == 0) {
        set_err(err, errlen, "bad kms: URI: no key id after \"kms:\"");
        return KMSRE_ERR_INVALID;
    }
    id = dup_n(rest, n);
    if (id == NULL)
        return KMSRE_ERR_NOMEM;
    rc = kms_key_ref_parse_id(id, ref, err, errlen);
    OPENSSL_free(id);
    return rc;
}

enum kmsre_status kms_key_ref_parse_uri(const char *uri,
                                        struct kms_key_ref *out, char *err,
                                        size_t errlen)
{
    struct kms_key_ref ref = {0};
    struct uri_query q = {NULL, NULL};
    const char *rest, *qmark;
    enum kmsre_status rc;

    set_err(err, errlen, "%s", "");
    if (out == NULL)
        return KMSRE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (uri == NULL || !has_kms_scheme(uri)) {
        set_err(err, errlen, "bad kms: URI: it does not start with \"kms:\"");
        return KMSRE_ERR_INVALID;
    }
    rest = strncmp(uri + 4, "//", 2) == 0 ? uri + 6 : uri + 4;
    qmark = strchr(rest, '?');
    rc = uri_parse_id(rest, qmark ? (size_t)(qmark - rest) : strlen(rest), &ref,
                      err, errlen);
    if (rc == KMSRE_OK && qmark != NULL)
        rc = uri_parse_query(qmark + 1, &q, err, errlen);
    if (rc == KMSRE_OK)
        rc = uri_apply_query(&ref, &q, err, errlen);
    OPENSSL_free(q.region);
    OPENSSL_free(q.profile);
    if (rc != KMSRE_OK) {
        kms_key_ref_clear(&ref);
        return rc;
    }
    *out = ref;
    return KMSRE_OK;
}

/* ---- lifetime ---- */

void kms_key_ref_clear(struct kms_key_ref *ref)
{
    if (ref == NULL)
        return;
    OPENSSL_free(ref->key_id);
    OPENSSL_free(ref->region);
    OPENSSL_free(ref->profile);
    OPENSSL_free(ref->partition);
    OPENSSL_free(ref->account);
    memset(ref, 0, sizeof(*ref));
    ref->form = KMS_KEY_FORM_OTHER;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = src != NULL ? dup_n(src, strlen(src)) : NULL;
    return src == NULL || *dst != NULL;
}

/* dst is overwritten, not freed. */
enum kmsre_status kms_key_ref_copy(struct kms_key_ref *dst,
                                   const struct kms_key_ref *src)
{
    struct kms_key_ref ref = {0};

    if (dst == NULL || src == NULL)
        return KMSRE_ERR_INVALID;
    ref.form = src->form;
    if (!dup_opt(&ref.key_id, src->key_id) ||
        !dup_opt(&ref.region, src->region) ||
        !dup_opt(&ref.profile, src->profile) ||
        !dup_opt(&ref.partition, src->partition) ||
        !dup_opt(&ref.account, src->account)) {
        kms_key_ref_clear(&ref);
        memset(dst, 0, sizeof(*dst));
        return KMSRE_ERR_NOMEM;
    }
    *dst = ref;
    return KMSRE_OK;
}
