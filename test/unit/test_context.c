/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption contexts, both forms: table-driven, against the AWS CLI's
 * behaviour (awscli/shorthand.py) and strict JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "kms/context.h"
#include "test.h"

#define LEN_STRLEN ((size_t)-1)

/* ---- encryption contexts ---- */

struct ctx_case {
    const char *desc;
    const char *text;
    size_t len; /* LEN_STRLEN: strlen(text) */
    enum kmsre_status rc;
    const char *want; /* JSON on success, else part of the message */
};

static const struct ctx_case ctx_cases[] = {
    {"empty text", "", 0, KMSRE_OK, "{}"},
    {"blank text", "  \t ", LEN_STRLEN, KMSRE_OK, "{}"},
    {"one pair", "Department=IT", LEN_STRLEN, KMSRE_OK,
     "{\"Department\":\"IT\"}"},
    {"two pairs keep input order", "b=2,a=1", LEN_STRLEN, KMSRE_OK,
     "{\"b\":\"2\",\"a\":\"1\"}"},
    {"blanks around = and , skipped", "a = 1 ,  b=\t2", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"1\",\"b\":\"2\"}"},
    {"trailing blanks of a value dropped", "a=x y  \t", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x y\"}"},
    {"value keeps inner spaces", "Purpose=Test run now", LEN_STRLEN, KMSRE_OK,
     "{\"Purpose\":\"Test run now\"}"},
    {"= inside a value after its first char", "a=b=c==d", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"b=c==d\"}"},
    {"value starting with = refused", "a==b", LEN_STRLEN, KMSRE_ERR_INVALID,
     "unexpected \"=\" in the value of key \"a\""},
    {"escaped comma", "a=x\\,y,b=z", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x,y\",\"b\":\"z\"}"},
    {"backslash not before a comma kept", "a=x\\y", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x\\\\y\"}"},
    {"empty value", "a=,b=2", LEN_STRLEN, KMSRE_OK, "{\"a\":\"\",\"b\":\"2\"}"},
    {"empty value at end", "a=", LEN_STRLEN, KMSRE_OK, "{\"a\":\"\"}"},
    {"key characters - _ . # / :", "a-b_c.d#e/f:g=1", LEN_STRLEN, KMSRE_OK,
     "{\"a-b_c.d#e/f:g\":\"1\"}"},
    {"single-quoted value verbatim", "a='x, y=z '", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x, y=z \"}"},
    {"double-quoted value verbatim", "a=\" [x]{y} \",b=1", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\" [x]{y} \",\"b\":\"1\"}"},
    {"escaped quote inside quotes", "a='it\\'s'", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"it's\"}"},
    {"escaped double quote inside quotes", "a=\"say \\\"hi\\\"\"", LEN_STRLEN,
     KMSRE_OK, "{\"a\":\"say \\\"hi\\\"\"}"},
    {"double backslash inside quotes", "a='x\\\\y'", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x\\\\y\"}"},
    {"quoted value with blanks after it", "a='x'  ,b=y", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"x\",\"b\":\"y\"}"},
    {"unterminated quote", "a='xyz", LEN_STRLEN, KMSRE_ERR_INVALID,
     "never closed"},
    {"text after a quoted value", "a='x'y", LEN_STRLEN, KMSRE_ERR_INVALID,
     "after the quoted value of key \"a\""},
    {"quote inside an unquoted value", "a=it's", LEN_STRLEN, KMSRE_ERR_INVALID,
     "unexpected \"'\" in the value of key \"a\""},
    {"] after the first char refused like the CLI", "a=x]", LEN_STRLEN,
     KMSRE_ERR_INVALID, "unexpected \"]\""},
    {"value starting with [ is a list", "a=[x]", LEN_STRLEN, KMSRE_ERR_INVALID,
     "reads as a list"},
    {"value starting with { is a map", "a={x=y}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "nested map"},
    {"repeated key", "a=1,b=2,a=3", LEN_STRLEN, KMSRE_ERR_INVALID,
     "key \"a\" appears twice"},
    {"list-like value k=a,b", "k=a,b", LEN_STRLEN, KMSRE_ERR_INVALID,
     "\"b\" after key \"k\" has no '='"},
    {"list-like value in the middle", "k=a,b,c=d", LEN_STRLEN,
     KMSRE_ERR_INVALID, "\"b\" after key \"k\" has no '='"},
    {"list-like quoted second value", "k=a,'b'", LEN_STRLEN, KMSRE_ERR_INVALID,
     "a second value (a list)"},
    {"double comma tolerated like the CLI", "a=b,,c=d", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"b\",\"c\":\"d\"}"},
    {"triple comma refused", "a=b,,,c=d", LEN_STRLEN, KMSRE_ERR_INVALID,
     "empty item"},
    {"trailing comma", "a=b,", LEN_STRLEN, KMSRE_ERR_INVALID,
     "ends with a comma"},
    {"escaped comma before = is not silently dropped", "k=a,b\\,c=d",
     LEN_STRLEN, KMSRE_ERR_INVALID, "key \"b\\\\,c\" has a character"},
    {"key with a space", "a b=c", LEN_STRLEN, KMSRE_ERR_INVALID,
     "key \"a b\" has a character the AWS CLI shorthand does not allow"},
    {"key with a non-key character", "a!b=c", LEN_STRLEN, KMSRE_ERR_INVALID,
     "key \"a!b\" has a character"},
    {"unicode key refused in shorthand", "cl\xc3\xa9=v", LEN_STRLEN,
     KMSRE_ERR_INVALID, "key \"cl\xc3\xa9\" has a character"},
    {"no = at all", "abc", LEN_STRLEN, KMSRE_ERR_INVALID,
     "\"abc\" is not key=value"},
    {"empty key", "=v", LEN_STRLEN, KMSRE_ERR_INVALID, "empty key"},
    {"key@=file refused", "a@=file://x", LEN_STRLEN, KMSRE_ERR_INVALID,
     "not supported"},
    {"unicode value", "a=caf\xc3\xa9 \xe2\x82\xac,b=\xf0\x9f\x98\x80",
     LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"caf\xc3\xa9 \xe2\x82\xac\",\"b\":\"\xf0\x9f\x98\x80\"}"},
    {"non-breaking space trimmed like Python rstrip", "a=x\xc2\xa0", LEN_STRLEN,
     KMSRE_OK, "{\"a\":\"x\"}"},
    {"control character in unquoted value", "a=x\x01y", LEN_STRLEN,
     KMSRE_ERR_INVALID, "unexpected \"\\x01\""},
    {"embedded NUL", "a=x\0y", 5, KMSRE_ERR_INVALID, "NUL byte at offset 3"},
    {"invalid UTF-8", "a=\xc3(", LEN_STRLEN, KMSRE_ERR_INVALID,
     "not valid UTF-8 at offset 2"},
    {"overlong UTF-8", "a=\xc0\xaf", LEN_STRLEN, KMSRE_ERR_INVALID,
     "not valid UTF-8"},
    {"UTF-8 surrogate", "a=\xed\xa0\x80", LEN_STRLEN, KMSRE_ERR_INVALID,
     "not valid UTF-8"},
    {"length honoured (no NUL needed)", "a=1,b=2", 3, KMSRE_OK,
     "{\"a\":\"1\"}"},
    {"JSON object", "{\"Department\":\"IT\",\"Purpose\":\"Test run\"}",
     LEN_STRLEN, KMSRE_OK, "{\"Department\":\"IT\",\"Purpose\":\"Test run\"}"},
    {"JSON with blanks around", "  {\"a\" : \"b\"}  \n", LEN_STRLEN, KMSRE_OK,
     "{\"a\":\"b\"}"},
    {"JSON empty object", "{}", LEN_STRLEN, KMSRE_OK, "{}"},
    {"JSON unicode escapes", "{\"k\":\"\\u00e9\"}", LEN_STRLEN, KMSRE_OK,
     "{\"k\":\"\xc3\xa9\"}"},
    {"JSON number value", "{\"a\":\"b\",\"n\":1}", LEN_STRLEN,
     KMSRE_ERR_INVALID, "value of key \"n\" is a number, not a string"},
    {"JSON boolean value", "{\"t\":true}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "key \"t\" is a boolean"},
    {"JSON null value", "{\"z\":null}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "key \"z\" is null"},
    {"JSON nested object", "{\"o\":{\"x\":\"y\"}}", LEN_STRLEN,
     KMSRE_ERR_INVALID, "key \"o\" is an object"},
    {"JSON array", "[\"a\",\"b\"]", LEN_STRLEN, KMSRE_ERR_INVALID,
     "expected a JSON object"},
    {"JSON trailing garbage", "{\"a\":\"b\"} x", LEN_STRLEN, KMSRE_ERR_INVALID,
     "invalid JSON at offset"},
    {"JSON second object", "{\"a\":\"b\"}{}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "invalid JSON"},
    {"JSON truncated", "{\"a\":\"b\"", LEN_STRLEN, KMSRE_ERR_INVALID,
     "ends too early"},
    {"JSON single quotes", "{'a':'b'}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "invalid JSON"},
    {"JSON trailing comma", "{\"a\":\"b\",}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "invalid JSON"},
    {"JSON duplicate key", "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}", LEN_STRLEN,
     KMSRE_ERR_INVALID, "key \"a\" appears twice"},
    {"JSON duplicate key spelt with an escape",
     "{\"a\":\"1\",\"\\u0061\":\"2\"}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "appears twice"},
    {"JSON key with escaped quote is not a duplicate",
     "{\"a\\\"\":\"1\",\"a\":\"2\"}", LEN_STRLEN, KMSRE_OK,
     "{\"a\\\"\":\"1\",\"a\":\"2\"}"},
    {"JSON NUL escape in value", "{\"a\":\"x\\u0000y\"}", LEN_STRLEN,
     KMSRE_ERR_INVALID, "contains a NUL"},
    {"JSON NUL escape in key", "{\"a\\u0000b\":\"x\"}", LEN_STRLEN,
     KMSRE_ERR_INVALID, "contains a NUL"},
    {"JSON invalid UTF-8", "{\"a\":\"\xff\"}", LEN_STRLEN, KMSRE_ERR_INVALID,
     "not valid UTF-8"},
};

/* The map as compact JSON, in its order, for comparing with the table. */
static char *render(const struct kmsre_context *c)
{
    struct json_object *o = json_object_new_object();
    char *text;
    size_t i;

    for (i = 0; i < c->n; i++)
        json_object_object_add(o, c->pairs[i].key,
                               json_object_new_string(c->pairs[i].value));
    text = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

static void test_context_case(const struct ctx_case *c)
{
    size_t len = c->len == LEN_STRLEN ? strlen(c->text) : c->len;
    struct kmsre_context map = {1, 99, NULL};
    struct kmsre_err err = {0};
    enum kmsre_status rc = kmsre_context_parse(c->text, len, &map, &err);
    char *got;

    if (c->rc == KMSRE_OK) {
        got = rc == KMSRE_OK ? render(&map) : strdup(kmsre_err_text(&err));
        test_expect_str(got, c->want, "%s", c->desc);
        test_check(rc != KMSRE_OK || map.present, "  ... and it is present");
        free(got);
    } else {
        test_check(rc == c->rc, "%s: status %s", c->desc,
                   kmsre_status_name(rc));
        test_expect_contains(kmsre_err_text(&err), c->want, "  ... message");
        test_check(map.n == 0 && map.pairs == NULL && !map.present,
                   "  ... and out is empty on failure");
    }
    kmsre_context_clear(&map);
}

static void test_context_misc(void)
{
    struct kmsre_context map, copy;
    enum kmsre_status rc;

    rc = kmsre_context_parse("a b=c", 5, &map, NULL);
    test_check(rc == KMSRE_ERR_INVALID, "NULL err tolerated");
    rc = kmsre_context_parse(NULL, 0, &map, NULL);
    test_check(rc == KMSRE_OK && map.n == 0 && map.present,
               "NULL text with len 0 is an empty, present map");
    kmsre_context_clear(&map);
    rc = kmsre_context_parse("b=2,a=1", 7, &map, NULL);
    test_check(rc == KMSRE_OK && kmsre_context_copy(&copy, &map) == KMSRE_OK &&
                   copy.n == 2 && strcmp(copy.pairs[1].key, "a") == 0 &&
                   strcmp(kmsre_context_get(&copy, "b"), "2") == 0 &&
                   kmsre_context_get(&copy, "c") == NULL,
               "a copy holds the same pairs in the same order");
    kmsre_context_clear(&map);
    kmsre_context_clear(&copy);
}

int main(void)
{
    size_t i;

    for (i = 0; i < sizeof(ctx_cases) / sizeof(ctx_cases[0]); i++)
        test_context_case(&ctx_cases[i]);
    test_context_misc();
    return test_summary();
}
