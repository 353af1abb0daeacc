/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kmsre_context_parse (provider/kms/context.c), JSON
 * and CLI shorthand. On success the pairs must be a string map that KMS
 * could take: unique keys, no NUL inside a key or value, text the strict
 * JSON reader accepts (for the JSON form), and a round trip through JSON
 * and kmsre_context_parse gives the same pairs in the same order;
 * kmsre_context_get and kmsre_context_copy agree with them. On failure the
 * result is empty and err says why. The parse runs a second time with one
 * OpenSSL allocation failing (alloc_fail.h): all or nothing, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "base/text.h"
#include "kms/context.h"
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

static int ctx_is_empty(const struct kmsre_context *c)
{
    return c->present == 0 && c->n == 0 && c->pairs == NULL;
}

static void check_failure(enum kmsre_status st, const struct kmsre_err *err,
                          const struct kmsre_context *c)
{
    CHECK(st == KMSRE_ERR_INVALID || st == KMSRE_ERR_LIMIT ||
          st == KMSRE_ERR_NOMEM);
    CHECK(ctx_is_empty(c));
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No two pairs with the same key (sorted copy of the key pointers). */
static void check_unique(const struct kmsre_context *c)
{
    const char **keys;
    size_t i;

    if (c->n < 2)
        return;
    keys = malloc(c->n * sizeof(*keys));
    CHECK(keys != NULL);
    for (i = 0; i < c->n; i++)
        keys[i] = c->pairs[i].key;
    qsort(keys, c->n, sizeof(*keys), cmp_key);
    for (i = 1; i < c->n; i++)
        CHECK(strcmp(keys[i - 1], keys[i]) != 0);
    free(keys);
}

static int same_pairs(const struct kmsre_context *a,
                      const struct kmsre_context *b)
{
    size_t i;

    if (a->present != b->present || a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->pairs[i].key, b->pairs[i].key) != 0 ||
            strcmp(a->pairs[i].value, b->pairs[i].value) != 0)
            return 0;
    return 1;
}

/* The pairs as a JSON object, read back: what a request body would carry
 * must parse to the same pairs in the same order. */
static void check_round_trip(const struct kmsre_context *c)
{
    struct json_object *o = json_object_new_object();
    struct kmsre_context again;
    struct kmsre_err err = {0};
    const char *text;
    size_t i, len;

    CHECK(o != NULL);
    for (i = 0; i < c->n; i++)
        CHECK(json_object_object_add(
                  o, c->pairs[i].key,
                  json_object_new_string(c->pairs[i].value)) == 0);
    CHECK((size_t)json_object_object_length(o) == c->n);
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    CHECK(text != NULL);
    CHECK(kmsre_context_parse(text, len, &again, &err) == KMSRE_OK);
    CHECK(err.status == KMSRE_OK);
    CHECK(same_pairs(c, &again));
    kmsre_context_clear(&again);
    json_object_put(o);
}

/* A text that starts with '{' or '[' is JSON: on success the whole text
 * must be one strict JSON object (nothing after it), and the pairs are its
 * members in order, each value whole (json-c keeps a string's length, so a
 * value cut at an escaped NUL would show). */
static void check_json_form(const char *text, size_t size,
                            const struct kmsre_context *c)
{
    size_t first = kmsre_skip_blanks(text, size, 0), i = 0;
    struct json_tokener *tok;
    struct json_object *o;

    if (first == size || (text[first] != '{' && text[first] != '['))
        return;
    tok = json_tokener_new();
    CHECK(tok != NULL);
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, text, (int)size);
    CHECK(o != NULL && json_object_is_type(o, json_type_object));
    CHECK(json_tokener_get_error(tok) == json_tokener_success);
    CHECK(kmsre_skip_blanks(text, size, json_tokener_get_parse_end(tok)) ==
          size);
    CHECK((size_t)json_object_object_length(o) == c->n);
    json_object_object_foreach(o, key, val)
    {
        CHECK(i < c->n && strcmp(key, c->pairs[i].key) == 0);
        CHECK(json_object_is_type(val, json_type_string));
        CHECK((size_t)json_object_get_string_len(val) ==
              strlen(c->pairs[i].value));
        CHECK(strcmp(json_object_get_string(val), c->pairs[i].value) == 0);
        i++;
    }
    json_object_put(o);
    json_tokener_free(tok);
}

static void check_success(const char *text, size_t size,
                          const struct kmsre_context *c)
{
    struct kmsre_context copy;
    size_t i;

    CHECK(c->present == 1);
    CHECK(c->n == 0 || c->pairs != NULL);
    /* kmsre_check_utf8: no NUL byte in an accepted text. */
    CHECK(memchr(text, '\0', size) == NULL);
    for (i = 0; i < c->n; i++) {
        CHECK(c->pairs[i].key != NULL && c->pairs[i].value != NULL);
        CHECK(kmsre_context_get(c, c->pairs[i].key) == c->pairs[i].value);
    }
    check_unique(c);
    check_json_form(text, size, c);
    check_round_trip(c);
    if (kmsre_context_copy(&copy, c) == KMSRE_OK) {
        CHECK(same_pairs(c, &copy));
        kmsre_context_clear(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmsre_context ctx, again;
    struct kmsre_err err = {0};
    enum kmsre_status st, st2;
    size_t allocs;
    char *text;

    if (size > 64 * 1024)
        return 0;
    text = fuzz_unterminated_copy(data, size);
    if (text == NULL)
        return 0;

    memset(&ctx, 0x55, sizeof(ctx));
    fuzz_alloc_reset(0);
    st = kmsre_context_parse(text, size, &ctx, &err);
    allocs = fuzz_alloc_count;
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        check_success(text, size, &ctx);
    } else {
        CHECK(st != KMSRE_ERR_NOMEM);
        check_failure(st, &err, &ctx);
    }

    /* Again with allocation 1 + hash % allocs failing. */
    if (allocs > 0 &&
        fuzz_alloc_reset(1 + fuzz_input_hash(data, size) % allocs)) {
        struct kmsre_err err2 = {0};

        memset(&again, 0x55, sizeof(again));
        st2 = kmsre_context_parse(text, size, &again, &err2);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK)
            CHECK(same_pairs(&ctx, &again));
        else
            check_failure(st2, &err2, &again);
        kmsre_context_clear(&again);
    }

    kmsre_context_clear(&ctx);
    CHECK(ctx_is_empty(&ctx));
    free(text);
    return 0;
}
