/* SPDX-License-Identifier: Apache-2.0 */
/* Grant tokens: both spellings, the per-token rules and the limit of ten,
 * all or nothing per setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kms/grant_tokens.h"
#include "test.h"

/* ---- grant tokens ---- */

static char *repeat_char(char c, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* The list as a JSON array, for comparing with expectations. */
static const char *list_text(const struct kmsre_grant_tokens *list)
{
    static char buf[200000];
    size_t i, o = 0;

    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[");
    for (i = 0; i < list->n; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\"",
                              i > 0 ? "," : "", list->tokens[i]);
    snprintf(buf + o, sizeof(buf) - o, "]");
    return buf;
}

static void grant_step(struct kmsre_grant_tokens *list, const char *desc,
                       const char *text, enum kmsre_status want_rc,
                       const char *want)
{
    struct kmsre_err err = {0};
    enum kmsre_status rc;

    rc = kmsre_grant_tokens_append(list, text, strlen(text), &err);
    if (want_rc == KMSRE_OK) {
        test_expect_str(rc == KMSRE_OK ? list_text(list) : kmsre_err_text(&err),
                        want, "%s", desc);
        return;
    }
    test_check(rc == want_rc, "%s: status %s", desc, kmsre_status_name(rc));
    test_expect_contains(kmsre_err_text(&err), want, "  ... message");
}

static void test_grant_tokens_basic(void)
{
    struct kmsre_grant_tokens list = {0};

    grant_step(&list, "comma list", "t1, t2 ,t3", KMSRE_OK,
               "[\"t1\",\"t2\",\"t3\"]");
    grant_step(&list, "JSON list appended", " [\"t4\", \"t5\"] ", KMSRE_OK,
               "[\"t1\",\"t2\",\"t3\",\"t4\",\"t5\"]");
    grant_step(&list, "empty JSON list appends nothing", "[]", KMSRE_OK,
               "[\"t1\",\"t2\",\"t3\",\"t4\",\"t5\"]");
    grant_step(&list, "empty token in a comma list", "t6,,t7",
               KMSRE_ERR_INVALID, "token 2 is empty");
    grant_step(&list, "empty text", "", KMSRE_ERR_INVALID, "token 1 is empty");
    grant_step(&list, "empty JSON string", "[\"\"]", KMSRE_ERR_INVALID,
               "token 1 is empty");
    grant_step(&list, "JSON non-string item", "[\"a\",1]", KMSRE_ERR_INVALID,
               "token 2 is a number");
    kmsre_grant_tokens_clear(&list);
}

static void test_grant_tokens_bad(void)
{
    struct kmsre_grant_tokens list = {0};

    grant_step(&list, "JSON trailing garbage", "[\"a\"] x", KMSRE_ERR_INVALID,
               "invalid JSON");
    grant_step(&list, "JSON nested list", "[[\"a\"]]", KMSRE_ERR_INVALID,
               "token 1 is an array");
    grant_step(&list, "control character", "a\tb", KMSRE_ERR_INVALID,
               "control character");
    grant_step(&list, "JSON escaped control character", "[\"a\\u0001\"]",
               KMSRE_ERR_INVALID, "control character");
    grant_step(&list, "invalid UTF-8", "a\xff", KMSRE_ERR_INVALID,
               "not valid UTF-8");
    test_check(list.n == 0, "failed appends leave the list empty");
    kmsre_grant_tokens_clear(&list);
}

static void test_grant_tokens_length(void)
{
    struct kmsre_grant_tokens list = {0};
    char *max = repeat_char('g', KMSRE_MAX_GRANT_TOKEN_LEN);
    char *over = repeat_char('g', KMSRE_MAX_GRANT_TOKEN_LEN + 1);
    struct kmsre_err err = {0};
    enum kmsre_status rc;

    rc = kmsre_grant_tokens_append(&list, max, strlen(max), &err);
    test_check(rc == KMSRE_OK, "8192-char token accepted");
    rc = kmsre_grant_tokens_append(&list, over, strlen(over), &err);
    test_check(rc == KMSRE_ERR_LIMIT, "8193-char token refused");
    test_expect_contains(
        kmsre_err_text(&err),
        "token 1 is 8193 characters long (KMS allows at most 8192)",
        "  ... message");
    test_check(list.n == 1, "list unchanged after the long token");
    kmsre_grant_tokens_clear(&list);
    free(max);
    free(over);
}

static void test_grant_tokens_limit(void)
{
    struct kmsre_grant_tokens list = {0};

    grant_step(&list, "11 tokens at once refused", "1,2,3,4,5,6,7,8,9,10,11",
               KMSRE_ERR_LIMIT,
               "too many grant tokens: 11 (KMS allows at most 10)");
    grant_step(&list, "10 tokens at once accepted", "1,2,3,4,5,6,7,8,9,10",
               KMSRE_OK,
               "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
               "\"9\",\"10\"]");
    grant_step(&list, "an 11th token refused", "x", KMSRE_ERR_LIMIT,
               "too many grant tokens: 11");
    kmsre_grant_tokens_clear(&list);
    grant_step(&list, "repeated appends: 4", "a,b,c,d", KMSRE_OK,
               "[\"a\",\"b\",\"c\",\"d\"]");
    grant_step(&list, "repeated appends: 8", "[\"e\",\"f\",\"g\",\"h\"]",
               KMSRE_OK, "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]");
    grant_step(&list, "repeated appends: 11 refused", "i,j,k", KMSRE_ERR_LIMIT,
               "too many grant tokens: 11 (KMS allows at most 10)");
    test_expect_str(list_text(&list),
                    "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]",
                    "list unchanged after the refused append");
    grant_step(&list, "repeated appends: 10 accepted", "i,j", KMSRE_OK,
               "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]");
    kmsre_grant_tokens_clear(&list);
}

static void test_grant_tokens_copy(void)
{
    struct kmsre_grant_tokens list = {0}, copy;

    grant_step(&list, "two tokens", "a,b", KMSRE_OK, "[\"a\",\"b\"]");
    test_check(kmsre_grant_tokens_copy(&copy, &list) == KMSRE_OK &&
                   copy.n == 2 && strcmp(copy.tokens[1], "b") == 0 &&
                   copy.tokens[1] != list.tokens[1],
               "a copy holds its own tokens");
    kmsre_grant_tokens_clear(&list);
    kmsre_grant_tokens_clear(&copy);
    test_check(copy.n == 0, "cleared");
}

int main(void)
{
    test_grant_tokens_basic();
    test_grant_tokens_bad();
    test_grant_tokens_length();
    test_grant_tokens_limit();
    test_grant_tokens_copy();
    return test_summary();
}
