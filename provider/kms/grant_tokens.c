/* SPDX-License-Identifier: Apache-2.0 */
/* Grant tokens, from the AWS CLI's two spellings to a checked list. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include "base/strbuf.h"
#include "base/text.h"
#include "kms/grant_tokens.h"
#include "kms/json_input.h"

/* The tokens of one setting, before they are checked and appended. */
struct fresh_tokens {
    size_t n;
    char *tokens[KMSRE_MAX_GRANT_TOKENS + 1];
    size_t uncounted; /* beyond what any list may hold: counted only */
};

static void fresh_clear(struct fresh_tokens *f)
{
    while (f->n > 0)
        kmsre_free_secret(&f->tokens[--f->n]);
}

static enum kmsre_status fresh_add(struct fresh_tokens *f, const char *s,
                                   size_t n)
{
    if (f->n == KMSRE_MAX_GRANT_TOKENS + 1) {
        f->uncounted++;
        return KMSRE_OK;
    }
    f->tokens[f->n] = kmsre_strndup(s, n);
    if (f->tokens[f->n] == NULL)
        return KMSRE_ERR_NOMEM;
    f->n++;
    return KMSRE_OK;
}

static enum kmsre_status token_check(const char *s, size_t index,
                                     struct kmsre_err *err)
{
    size_t i = 0, n, chars = 0, len = strlen(s);
    uint32_t cp = 0;

    for (; i < len; i += n, chars++) {
        n = kmsre_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0 || kmsre_is_control(cp))
            return kmsre_fail(err, KMSRE_ERR_INVALID,
                              "bad grant tokens: token %zu has a control "
                              "character or is not UTF-8",
                              index);
    }
    if (chars == 0)
        return kmsre_fail(err, KMSRE_ERR_INVALID,
                          "bad grant tokens: token %zu is empty", index);
    if (chars > KMSRE_MAX_GRANT_TOKEN_LEN)
        return kmsre_fail(err, KMSRE_ERR_LIMIT,
                          "bad grant tokens: token %zu is %zu characters long "
                          "(KMS allows at most %d)",
                          index, chars, KMSRE_MAX_GRANT_TOKEN_LEN);
    return KMSRE_OK;
}

static enum kmsre_status tokens_from_json(const char *text, size_t len,
                                          struct fresh_tokens *f,
                                          struct kmsre_err *err)
{
    struct json_object *arr = NULL, *tok;
    enum kmsre_status rc;
    size_t i, n;

    rc = kmsre_json_parse_strict(text, len, &arr, "grant tokens", err);
    if (rc == KMSRE_OK && !json_object_is_type(arr, json_type_array))
        rc = kmsre_fail(err, KMSRE_ERR_INVALID,
                        "bad grant tokens: expected a JSON list of strings, "
                        "got %s",
                        kmsre_json_kind(arr));
    n = rc == KMSRE_OK ? json_object_array_length(arr) : 0;
    for (i = 0; rc == KMSRE_OK && i < n; i++) {
        tok = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(tok, json_type_string))
            rc = kmsre_fail(err, KMSRE_ERR_INVALID,
                            "bad grant tokens: token %zu is %s, not a string",
                            i + 1, kmsre_json_kind(tok));
        else if (kmsre_json_has_nul(tok))
            rc = kmsre_fail(err, KMSRE_ERR_INVALID,
                            "bad grant tokens: token %zu has a control "
                            "character or is not UTF-8",
                            i + 1);
        else
            rc = fresh_add(f, json_object_get_string(tok),
                           (size_t)json_object_get_string_len(tok));
    }
    json_object_put(arr);
    return rc;
}

/* "t1, t2": split at commas, blanks around each item dropped. */
static enum kmsre_status tokens_from_csv(const char *text, size_t len,
                                         struct fresh_tokens *f)
{
    enum kmsre_status rc = KMSRE_OK;
    size_t start = 0, i, from, to;

    for (i = 0; i <= len && rc == KMSRE_OK; i++) {
        if (i < len && text[i] != ',')
            continue;
        from = kmsre_skip_blanks(text, i, start);
        to = i;
        while (to > from && kmsre_is_blank(text[to - 1]))
            to--;
        rc = fresh_add(f, text + from, to - from);
        start = i + 1;
    }
    return rc;
}

static enum kmsre_status tokens_check_all(const struct fresh_tokens *f,
                                          size_t have, struct kmsre_err *err)
{
    enum kmsre_status rc;
    size_t i;

    for (i = 0; i < f->n; i++) {
        rc = token_check(f->tokens[i], i + 1, err);
        if (rc != KMSRE_OK)
            return rc;
    }
    if (have + f->n + f->uncounted > KMSRE_MAX_GRANT_TOKENS)
        return kmsre_fail(err, KMSRE_ERR_LIMIT,
                          "too many grant tokens: %zu (KMS allows at most %d)",
                          have + f->n + f->uncounted, KMSRE_MAX_GRANT_TOKENS);
    return KMSRE_OK;
}

enum kmsre_status kmsre_grant_tokens_append(struct kmsre_grant_tokens *list,
                                            const char *text, size_t len,
                                            struct kmsre_err *err)
{
    struct fresh_tokens f = {0};
    enum kmsre_status rc;
    size_t first, i;

    if (text == NULL && len > 0)
        return kmsre_fail(err, KMSRE_ERR_INVALID, "no grant tokens");
    if (len > INT_MAX)
        return kmsre_fail(err, KMSRE_ERR_LIMIT, "bad grant tokens: too long");
    rc = kmsre_check_utf8(text, len, "grant tokens", err);
    if (rc != KMSRE_OK)
        return rc;
    first = kmsre_skip_blanks(text, len, 0);
    if (first < len && text[first] == '[')
        rc = tokens_from_json(text, len, &f, err);
    else
        rc = tokens_from_csv(text, len, &f);
    if (rc == KMSRE_OK)
        rc = tokens_check_all(&f, list->n, err);
    for (i = 0; rc == KMSRE_OK && i < f.n; i++) {
        list->tokens[list->n++] = f.tokens[i];
        f.tokens[i] = NULL;
    }
    if (rc == KMSRE_OK)
        f.n = 0;
    fresh_clear(&f);
    if (rc == KMSRE_ERR_NOMEM)
        kmsre_fail(err, rc, "out of memory");
    return rc;
}

enum kmsre_status kmsre_grant_tokens_copy(struct kmsre_grant_tokens *dst,
                                          const struct kmsre_grant_tokens *src)
{
    struct kmsre_grant_tokens c = {0};

    for (c.n = 0; c.n < src->n; c.n++)
        if ((c.tokens[c.n] = OPENSSL_strdup(src->tokens[c.n])) == NULL) {
            kmsre_grant_tokens_clear(&c);
            return KMSRE_ERR_NOMEM;
        }
    *dst = c;
    return KMSRE_OK;
}

void kmsre_grant_tokens_clear(struct kmsre_grant_tokens *list)
{
    while (list->n > 0)
        kmsre_free_secret(&list->tokens[--list->n]);
}
