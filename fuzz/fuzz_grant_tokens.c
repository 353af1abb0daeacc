/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kmsre_grant_tokens_append (provider/kms/
 * grant_tokens.c); a newline in the input splits it into two appends to
 * the same list. A failed append leaves the list as it was; the list never
 * holds more than KMSRE_MAX_GRANT_TOKENS tokens, each 1..8192 characters of
 * UTF-8 without control characters; kmsre_grant_tokens_copy gives the same
 * tokens. Each append runs a second time on a copy of the list with one
 * OpenSSL allocation failing (alloc_fail.h): all or nothing, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/text.h"
#include "kms/grant_tokens.h"
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

static void check_token(const char *t)
{
    size_t i = 0, n, chars = 0, len;
    uint32_t cp = 0;

    CHECK(t != NULL);
    len = strlen(t);
    for (; i < len; i += n, chars++) {
        n = kmsre_utf8_decode((const unsigned char *)t + i, len - i, &cp);
        CHECK(n > 0 && !kmsre_is_control(cp));
    }
    CHECK(chars >= 1 && chars <= KMSRE_MAX_GRANT_TOKEN_LEN);
}

static void check_list(const struct kmsre_grant_tokens *list)
{
    size_t i;

    CHECK(list->n <= KMSRE_MAX_GRANT_TOKENS);
    for (i = 0; i < list->n; i++)
        check_token(list->tokens[i]);
}

static int same_list(const struct kmsre_grant_tokens *a,
                     const struct kmsre_grant_tokens *b)
{
    size_t i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->tokens[i], b->tokens[i]) != 0)
            return 0;
    return 1;
}

static void check_status(enum kmsre_status st, const struct kmsre_err *err)
{
    if (st == KMSRE_OK) {
        CHECK(err->status == KMSRE_OK);
        return;
    }
    CHECK(st == KMSRE_ERR_INVALID || st == KMSRE_ERR_LIMIT ||
          st == KMSRE_ERR_NOMEM);
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
}

static void append(struct kmsre_grant_tokens *list, const char *text,
                   size_t len, uint32_t seed)
{
    struct kmsre_grant_tokens before, again;
    struct kmsre_err err = {0}, err2 = {0};
    enum kmsre_status st, st2;
    size_t i, allocs;

    fuzz_alloc_reset(0);
    CHECK(kmsre_grant_tokens_copy(&before, list) == KMSRE_OK);
    CHECK(same_list(&before, list));

    fuzz_alloc_reset(0);
    st = kmsre_grant_tokens_append(list, text, len, &err);
    allocs = fuzz_alloc_count;
    CHECK(st != KMSRE_ERR_NOMEM);
    check_status(st, &err);
    check_list(list);
    if (st == KMSRE_OK) {
        /* Appended: what was there is still there, in front. */
        CHECK(list->n >= before.n);
        for (i = 0; i < before.n; i++)
            CHECK(strcmp(list->tokens[i], before.tokens[i]) == 0);
    } else {
        CHECK(same_list(&before, list));
    }

    /* The same append to a copy of the list as it was, with allocation
     * 1 + seed % allocs failing. */
    if (allocs > 0) {
        fuzz_alloc_reset(0);
        CHECK(kmsre_grant_tokens_copy(&again, &before) == KMSRE_OK);
        if (fuzz_alloc_reset(1 + seed % allocs)) {
            st2 = kmsre_grant_tokens_append(&again, text, len, &err2);
            fuzz_alloc_reset(0);
            CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
            check_status(st2, &err2);
            CHECK(same_list(&again, st2 == KMSRE_OK ? list : &before));
        }
        fuzz_alloc_reset(0);
        kmsre_grant_tokens_clear(&again);
        CHECK(again.n == 0);
    }
    kmsre_grant_tokens_clear(&before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmsre_grant_tokens list = {0}, copy;
    uint32_t seed = fuzz_input_hash(data, size);
    char *text;
    const char *nl;

    if (size > 128 * 1024)
        return 0;
    text = fuzz_unterminated_copy(data, size);
    if (text == NULL)
        return 0;
    nl = memchr(text, '\n', size);
    if (nl == NULL) {
        append(&list, text, size, seed);
    } else {
        append(&list, text, (size_t)(nl - text), seed);
        append(&list, nl + 1, size - (size_t)(nl - text) - 1, seed >> 8);
    }
    fuzz_alloc_reset(0);
    if (kmsre_grant_tokens_copy(&copy, &list) == KMSRE_OK) {
        CHECK(same_list(&copy, &list));
        kmsre_grant_tokens_clear(&copy);
    }
    kmsre_grant_tokens_clear(&list);
    CHECK(list.n == 0);
    free(text);
    return 0;
}
