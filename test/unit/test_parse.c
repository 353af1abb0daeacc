/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven tests of the context, grant-token and key-reference parsers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define LEN_STRLEN ((size_t)-1)

static int passed, failed;

static void report(int ok, const char *desc, const char *got, const char *want)
{
    if (ok) {
        passed++;
        printf("ok - %s\n", desc);
        return;
    }
    failed++;
    printf("not ok - %s\n", desc);
    printf("#   got:      %s\n#   expected: %s\n", got ? got : "(null)",
           want ? want : "(null)");
}

static const char *status_name(enum kmsre_status rc)
{
    static const char *const names[] = {
        "OK", "NOMEM",     "INVALID",  "LIMIT",   "CRYPTO",
        "IO", "TRANSPORT", "RESPONSE", "SERVICE", "NO_CREDENTIALS"};

    return (size_t)rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "?";
}

/* want_text is the expected JSON on success, else a piece of err. */
static void check_result(const char *desc, enum kmsre_status rc,
                         enum kmsre_status want_rc, const char *got_text,
                         const char *want_text)
{
    char got[512], want[512];
    int ok;

    snprintf(got, sizeof(got), "%s %s", status_name(rc), got_text);
    snprintf(want, sizeof(want), "%s %s%s", status_name(want_rc),
             want_rc == KMSRE_OK ? "" : "...", want_text);
    if (want_rc == KMSRE_OK)
        ok = rc == KMSRE_OK && strcmp(got_text, want_text) == 0;
    else
        ok = rc == want_rc && strstr(got_text, want_text) != NULL;
    report(ok, desc, got, want);
}

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

static void test_context_case(const struct ctx_case *c)
{
    size_t len = c->len == LEN_STRLEN ? strlen(c->text) : c->len;
    struct json_object *obj = (struct json_object *)&obj;
    char err[256] = "unset";
    enum kmsre_status rc;

    rc = kmsre_context_parse(c->text, len, &obj, err, sizeof(err));
    check_result(
        c->desc, rc, c->rc,
        rc == KMSRE_OK ? json_object_to_json_string_ext(obj, JSON_FLAGS) : err,
        c->want);
    if (rc != KMSRE_OK)
        report(obj == NULL, "  ... and *out is NULL on failure", "non-NULL",
               "NULL");
    json_object_put(rc == KMSRE_OK ? obj : NULL);
}

static void test_context_misc(void)
{
    struct json_object *obj = NULL;
    char err[8];
    enum kmsre_status rc;

    rc = kmsre_context_parse("a b=c", 5, &obj, err, sizeof(err));
    report(rc == KMSRE_ERR_INVALID && strlen(err) == sizeof(err) - 1,
           "short err buffer is cut and NUL-terminated", err, "7 chars");
    rc = kmsre_context_parse("a b=c", 5, &obj, NULL, 0);
    report(rc == KMSRE_ERR_INVALID, "NULL err buffer tolerated",
           status_name(rc), "INVALID");
    rc = kmsre_context_parse(NULL, 0, &obj, NULL, 0);
    report(rc == KMSRE_OK && json_object_object_length(obj) == 0,
           "NULL text with len 0 is an empty map", status_name(rc), "OK");
    json_object_put(obj);
}

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

static const char *list_text(struct json_object *list)
{
    return list ? json_object_to_json_string_ext(list, JSON_FLAGS) : "null";
}

static void grant_step(struct json_object **list, const char *desc,
                       const char *text, enum kmsre_status want_rc,
                       const char *want)
{
    char err[256] = "unset";
    enum kmsre_status rc;

    rc = kmsre_grant_tokens_append(list, text, strlen(text), err, sizeof(err));
    check_result(desc, rc, want_rc, rc == KMSRE_OK ? list_text(*list) : err,
                 want);
}

static void test_grant_tokens_basic(void)
{
    struct json_object *list = NULL;

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
    json_object_put(list);
}

static void test_grant_tokens_bad(void)
{
    struct json_object *list = NULL;

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
    report(list == NULL, "failed appends leave a NULL list NULL",
           list_text(list), "null");
    json_object_put(list);
}

static void test_grant_tokens_length(void)
{
    struct json_object *list = NULL;
    char *max = repeat_char('g', KMS_MAX_GRANT_TOKEN_LEN);
    char *over = repeat_char('g', KMS_MAX_GRANT_TOKEN_LEN + 1);
    char err[256];
    enum kmsre_status rc;

    rc = kmsre_grant_tokens_append(&list, max, strlen(max), err, sizeof(err));
    check_result("8192-char token accepted", rc, KMSRE_OK, rc ? err : "", "");
    rc = kmsre_grant_tokens_append(&list, over, strlen(over), err, sizeof(err));
    check_result("8193-char token refused", rc, KMSRE_ERR_LIMIT, err,
                 "token 1 is 8193 characters long (KMS allows at most 8192)");
    report(json_object_array_length(list) == 1,
           "list unchanged after the long token", list_text(list), "1 item");
    json_object_put(list);
    free(max);
    free(over);
}

static void test_grant_tokens_limit(void)
{
    struct json_object *list = NULL;

    grant_step(&list, "11 tokens at once refused", "1,2,3,4,5,6,7,8,9,10,11",
               KMSRE_ERR_LIMIT,
               "too many grant tokens: 11 (KMS allows at most 10)");
    grant_step(&list, "10 tokens at once accepted", "1,2,3,4,5,6,7,8,9,10",
               KMSRE_OK,
               "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
               "\"9\",\"10\"]");
    grant_step(&list, "an 11th token refused", "x", KMSRE_ERR_LIMIT,
               "too many grant tokens: 11");
    json_object_put(list);
    list = NULL;
    grant_step(&list, "repeated appends: 4", "a,b,c,d", KMSRE_OK,
               "[\"a\",\"b\",\"c\",\"d\"]");
    grant_step(&list, "repeated appends: 8", "[\"e\",\"f\",\"g\",\"h\"]",
               KMSRE_OK, "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]");
    grant_step(&list, "repeated appends: 11 refused", "i,j,k", KMSRE_ERR_LIMIT,
               "too many grant tokens: 11 (KMS allows at most 10)");
    report(strcmp(list_text(list),
                  "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]") == 0,
           "list unchanged after the refused append", list_text(list),
           "8 items a..h");
    grant_step(&list, "repeated appends: 10 accepted", "i,j", KMSRE_OK,
               "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]");
    json_object_put(list);
}

static void test_grant_tokens_not_array(void)
{
    struct json_object *list = json_object_new_object();
    char err[64];
    enum kmsre_status rc;

    rc = kmsre_grant_tokens_append(&list, "a", 1, err, sizeof(err));
    report(rc == KMSRE_ERR_INVALID, "existing list that is not an array",
           status_name(rc), "INVALID");
    json_object_put(list);
}

/* ---- key references ---- */

struct key_case {
    const char *desc;
    const char *text;
    int uri;
    enum kmsre_status rc;
    enum kms_key_form form;
    const char *key_id; /* on failure: a piece of err */
    const char *region;
    const char *profile;
    const char *partition;
    const char *account;
};

#define KID "1234abcd-12ab-34cd-56ef-1234567890ab"
#define MRK "mrk-1234abcd12ab34cd56ef1234567890ab"
#define ARN_E2 "arn:aws:kms:us-east-2:111122223333:"
#define BAD(d, t, u, rc, msg)                                                  \
    {                                                                          \
        d, t, u, rc, KMS_KEY_FORM_OTHER, msg, NULL, NULL, NULL, NULL           \
    }

static const struct key_case key_cases[] = {
    {"key id", KID, 0, KMSRE_OK, KMS_KEY_FORM_KEY_ID, KID, NULL, NULL, NULL,
     NULL},
    {"mrk id", MRK, 0, KMSRE_OK, KMS_KEY_FORM_MRK_ID, MRK, NULL, NULL, NULL,
     NULL},
    {"key ARN", ARN_E2 "key/" KID, 0, KMSRE_OK, KMS_KEY_FORM_KEY_ARN,
     ARN_E2 "key/" KID, "us-east-2", NULL, "aws", "111122223333"},
    {"mrk key ARN", ARN_E2 "key/" MRK, 0, KMSRE_OK, KMS_KEY_FORM_KEY_ARN,
     ARN_E2 "key/" MRK, "us-east-2", NULL, "aws", "111122223333"},
    {"alias name", "alias/ExampleAlias", 0, KMSRE_OK, KMS_KEY_FORM_ALIAS_NAME,
     "alias/ExampleAlias", NULL, NULL, NULL, NULL},
    {"alias ARN", ARN_E2 "alias/Ex/a_b-c", 0, KMSRE_OK, KMS_KEY_FORM_ALIAS_ARN,
     ARN_E2 "alias/Ex/a_b-c", "us-east-2", NULL, "aws", "111122223333"},
    {"upper-case key id is OTHER", "1234ABCD-12AB-34CD-56EF-1234567890AB", 0,
     KMSRE_OK, KMS_KEY_FORM_OTHER, "1234ABCD-12AB-34CD-56EF-1234567890AB", NULL,
     NULL, NULL, NULL},
    {"short mrk is OTHER", "mrk-1234", 0, KMSRE_OK, KMS_KEY_FORM_OTHER,
     "mrk-1234", NULL, NULL, NULL, NULL},
    {"alias with ':' is OTHER", "alias/a:b", 0, KMSRE_OK, KMS_KEY_FORM_OTHER,
     "alias/a:b", NULL, NULL, NULL, NULL},
    {"bare alias/ is OTHER", "alias/", 0, KMSRE_OK, KMS_KEY_FORM_OTHER,
     "alias/", NULL, NULL, NULL, NULL},
    {"odd printable id is OTHER", "x?y#z", 0, KMSRE_OK, KMS_KEY_FORM_OTHER,
     "x?y#z", NULL, NULL, NULL, NULL},
    {"non-ASCII id is OTHER", "cl\xc3\xa9", 0, KMSRE_OK, KMS_KEY_FORM_OTHER,
     "cl\xc3\xa9", NULL, NULL, NULL, NULL},
    BAD("empty id", "", 0, KMSRE_ERR_INVALID, "empty"),
    BAD("id with a space", "alias/a b", 0, KMSRE_ERR_INVALID,
        "white space, a control character or invalid UTF-8 at offset 7"),
    BAD("id with a newline", "alias/a\n", 0, KMSRE_ERR_INVALID, "offset 7"),
    BAD("id with a tab", "\talias/a", 0, KMSRE_ERR_INVALID, "offset 0"),
    BAD("id with DEL", "a\x7f", 0, KMSRE_ERR_INVALID, "offset 1"),
    BAD("id with a no-break space", "a\xc2\xa0", 0, KMSRE_ERR_INVALID,
        "offset 1"),
    BAD("id with invalid UTF-8", "a\xff", 0, KMSRE_ERR_INVALID, "offset 1"),
    BAD("ARN of another service", "arn:aws:s3:us-east-2:111122223333:key/x", 0,
        KMSRE_ERR_INVALID, "service \"s3\" is not kms"),
    BAD("ARN of unknown partition",
        "arn:aws-mars:kms:us-east-2:111122223333:key/x", 0, KMSRE_ERR_INVALID,
        "unknown partition \"aws-mars\""),
    BAD("ARN with too few fields", "arn:aws:kms:us-east-2:key/x", 0,
        KMSRE_ERR_INVALID, "expected arn:PARTITION:kms:REGION:ACCOUNT"),
    BAD("ARN without region", "arn:aws:kms::111122223333:key/x", 0,
        KMSRE_ERR_INVALID, "region \"\" is not a region"),
    BAD("ARN with upper-case region",
        "arn:aws:kms:US-EAST-2:111122223333:key/x", 0, KMSRE_ERR_INVALID,
        "region \"US-EAST-2\""),
    BAD("ARN with 11-digit account", "arn:aws:kms:us-east-2:11112222333:key/x",
        0, KMSRE_ERR_INVALID, "account \"11112222333\" is not 12 digits"),
    BAD("ARN with letters in account",
        "arn:aws:kms:us-east-2:11112222333a:key/x", 0, KMSRE_ERR_INVALID,
        "is not 12 digits"),
    BAD("ARN with a grant resource", ARN_E2 "grant/x", 0, KMSRE_ERR_INVALID,
        "resource \"grant/x\" is not key/ID or alias/NAME"),
    BAD("ARN with empty key", ARN_E2 "key/", 0, KMSRE_ERR_INVALID,
        "resource \"key/\""),
    BAD("ARN with empty alias", ARN_E2 "alias/", 0, KMSRE_ERR_INVALID,
        "resource \"alias/\""),
    {"kms: URI", "kms:alias/x", 1, KMSRE_OK, KMS_KEY_FORM_ALIAS_NAME, "alias/x",
     NULL, NULL, NULL, NULL},
    {"KMS: URI (scheme case)", "KMS:" KID, 1, KMSRE_OK, KMS_KEY_FORM_KEY_ID,
     KID, NULL, NULL, NULL, NULL},
    {"Kms:// URI", "Kms://" MRK, 1, KMSRE_OK, KMS_KEY_FORM_MRK_ID, MRK, NULL,
     NULL, NULL, NULL},
    {"kms:// URI with ARN", "kms://" ARN_E2 "key/" KID, 1, KMSRE_OK,
     KMS_KEY_FORM_KEY_ARN, ARN_E2 "key/" KID, "us-east-2", NULL, "aws",
     "111122223333"},
    {"query region", "kms:alias/x?region=eu-west-1", 1, KMSRE_OK,
     KMS_KEY_FORM_ALIAS_NAME, "alias/x", "eu-west-1", NULL, NULL, NULL},
    {"query region and profile", "kms://alias/x?region=eu-west-1&profile=dev",
     1, KMSRE_OK, KMS_KEY_FORM_ALIAS_NAME, "alias/x", "eu-west-1", "dev", NULL,
     NULL},
    {"query profile then region", "kms:alias/x?profile=a.b+c@d_e-f&region=r1",
     1, KMSRE_OK, KMS_KEY_FORM_ALIAS_NAME, "alias/x", "r1", "a.b+c@d_e-f", NULL,
     NULL},
    {"percent-decoded query", "kms:alias/x?region=us%2Deast%2d1&profile=m%40e",
     1, KMSRE_OK, KMS_KEY_FORM_ALIAS_NAME, "alias/x", "us-east-1", "m@e", NULL,
     NULL},
    {"ARN region equal to query region",
     "kms:" ARN_E2 "alias/a?region=us-east-2", 1, KMSRE_OK,
     KMS_KEY_FORM_ALIAS_ARN, ARN_E2 "alias/a", "us-east-2", NULL, "aws",
     "111122223333"},
    BAD("ARN region conflicting with query region",
        "kms:" ARN_E2 "key/" KID "?region=us-west-1", 1, KMSRE_ERR_INVALID,
        "ARN is in region us-east-2 but the query says region=us-west-1"),
    BAD("region with CR LF injection (raw)",
        "kms:alias/x?region=us-east-1\r\nX: y", 1, KMSRE_ERR_INVALID,
        "region \"us-east-1\\x0d\\x0aX: y\" is not valid"),
    BAD("region with CR LF injection (encoded)",
        "kms:alias/x?region=us-east-1%0D%0AX:%20y", 1, KMSRE_ERR_INVALID,
        "region \"us-east-1\\x0d\\x0aX: y\" is not valid"),
    BAD("region too long",
        "kms:alias/x?region=abcdefghijabcdefghijabcdefghijabc", 1,
        KMSRE_ERR_INVALID, "is not valid (1-32"),
    BAD("empty region", "kms:alias/x?region=", 1, KMSRE_ERR_INVALID,
        "region needs a value"),
    BAD("profile with a space", "kms:alias/x?profile=a%20b", 1,
        KMSRE_ERR_INVALID, "profile \"a b\" is not valid (1-64 characters"),
    BAD("profile of 65 chars",
        "kms:alias/x?profile="
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        1, KMSRE_ERR_INVALID, "is not valid"),
    BAD("unknown query key", "kms:alias/x?regoin=us-east-1", 1,
        KMSRE_ERR_INVALID, "unknown query parameter \"regoin\""),
    BAD("repeated query key", "kms:alias/x?region=a&region=a", 1,
        KMSRE_ERR_INVALID, "region is given twice"),
    BAD("query key without =", "kms:alias/x?profile", 1, KMSRE_ERR_INVALID,
        "profile needs a value"),
    BAD("stray &", "kms:alias/x?region=a&", 1, KMSRE_ERR_INVALID,
        "empty query parameter"),
    BAD("empty query", "kms:alias/x?", 1, KMSRE_ERR_INVALID,
        "empty query parameter"),
    BAD("bad percent escape", "kms:alias/x?region=a%2", 1, KMSRE_ERR_INVALID,
        "malformed %XX escape"),
    BAD("percent-encoded NUL", "kms:alias/x?profile=a%00b", 1,
        KMSRE_ERR_INVALID, "%00"),
    BAD("empty id in kms:", "kms:", 1, KMSRE_ERR_INVALID, "no key id"),
    BAD("empty id in kms://", "kms://", 1, KMSRE_ERR_INVALID, "no key id"),
    BAD("empty id before query", "kms:?region=us-east-1", 1, KMSRE_ERR_INVALID,
        "no key id"),
    BAD("other scheme", "file:alias/x", 1, KMSRE_ERR_INVALID,
        "does not start with \"kms:\""),
    BAD("scheme only prefix", "km", 1, KMSRE_ERR_INVALID,
        "does not start with \"kms:\""),
    BAD("space in URI id", "kms:alias/a b", 1, KMSRE_ERR_INVALID,
        "white space"),
    BAD("malformed ARN in URI", "kms:arn:aws:kms:us-east-2:1:key/x", 1,
        KMSRE_ERR_INVALID, "not 12 digits"),
};

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_ref(const struct key_case *c, const struct kms_key_ref *r,
                      const char *what)
{
    char got[512], want[512], desc[160];

    snprintf(got, sizeof(got),
             "form=%d id=%s region=%s profile=%s part=%s "
             "acct=%s",
             (int)r->form, r->key_id, r->region ? r->region : "-",
             r->profile ? r->profile : "-", r->partition ? r->partition : "-",
             r->account ? r->account : "-");
    snprintf(want, sizeof(want),
             "form=%d id=%s region=%s profile=%s part=%s "
             "acct=%s",
             (int)c->form, c->key_id, c->region ? c->region : "-",
             c->profile ? c->profile : "-", c->partition ? c->partition : "-",
             c->account ? c->account : "-");
    snprintf(desc, sizeof(desc), "%s%s", c->desc, what);
    report(r->form == c->form && str_eq(r->key_id, c->key_id) &&
               str_eq(r->region, c->region) && str_eq(r->profile, c->profile) &&
               str_eq(r->partition, c->partition) &&
               str_eq(r->account, c->account),
           desc, got, want);
}

static void test_key_case(const struct key_case *c)
{
    struct kms_key_ref ref, copy;
    char err[256] = "unset";
    enum kmsre_status rc;

    rc = c->uri ? kms_key_ref_parse_uri(c->text, &ref, err, sizeof(err))
                : kms_key_ref_parse_id(c->text, &ref, err, sizeof(err));
    if (c->rc != KMSRE_OK || rc != KMSRE_OK) {
        check_result(c->desc, rc, c->rc, rc == KMSRE_OK ? ref.key_id : err,
                     c->key_id);
        report(rc == KMSRE_OK || ref.key_id == NULL,
               "  ... and out is cleared on failure", ref.key_id, "NULL");
        kms_key_ref_clear(&ref);
        return;
    }
    check_ref(c, &ref, "");
    rc = kms_key_ref_copy(&copy, &ref);
    kms_key_ref_clear(&ref);
    if (rc == KMSRE_OK)
        check_ref(c, &copy, " (deep copy)");
    kms_key_ref_clear(&copy);
}

static void test_key_partitions(void)
{
    static const char *const parts[] = {"aws",       "aws-cn",    "aws-us-gov",
                                        "aws-iso",   "aws-iso-b", "aws-iso-e",
                                        "aws-iso-f", "aws-eusc"};
    struct kms_key_ref ref;
    char arn[128], desc[64], err[256];
    enum kmsre_status rc;
    size_t i;

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        snprintf(arn, sizeof(arn), "arn:%s:kms:xx-west-9:123456789012:key/k",
                 parts[i]);
        snprintf(desc, sizeof(desc), "partition %s", parts[i]);
        rc = kms_key_ref_parse_id(arn, &ref, err, sizeof(err));
        report(rc == KMSRE_OK && ref.form == KMS_KEY_FORM_KEY_ARN &&
                   str_eq(ref.partition, parts[i]) &&
                   str_eq(ref.region, "xx-west-9"),
               desc, rc == KMSRE_OK ? ref.partition : err, parts[i]);
        kms_key_ref_clear(&ref);
    }
}

static void test_key_limits(void)
{
    char *id = repeat_char('k', KMS_MAX_KEY_ID_LEN + 1);
    struct kms_key_ref ref;
    char err[256] = "";
    enum kmsre_status rc;

    rc = kms_key_ref_parse_id(id, &ref, err, sizeof(err));
    check_result("2049-char id refused", rc, KMSRE_ERR_LIMIT, err,
                 "2049 characters long (KMS allows at most 2048)");
    id[KMS_MAX_KEY_ID_LEN] = '\0';
    rc = kms_key_ref_parse_id(id, &ref, err, sizeof(err));
    report(rc == KMSRE_OK && ref.form == KMS_KEY_FORM_OTHER,
           "2048-char id accepted as OTHER", status_name(rc), "OK");
    kms_key_ref_clear(&ref);
    rc = kms_key_ref_parse_id(NULL, &ref, err, sizeof(err));
    report(rc == KMSRE_ERR_INVALID, "NULL id refused", status_name(rc),
           "INVALID");
    kms_key_ref_clear(NULL);
    report(1, "kms_key_ref_clear(NULL) is a no-op", "", "");
    free(id);
}

static void test_regions(void)
{
    static const struct {
        const char *region;
        int valid;
    } cases[] = {{"us-east-1", 1},
                 {"cn-north-1", 1},
                 {"us-gov-west-1", 1},
                 {"a", 1},
                 {"abcdefghijabcdefghijabcdefghijab", 1},
                 {"abcdefghijabcdefghijabcdefghijabc", 0},
                 {"", 0},
                 {"US-EAST-1", 0},
                 {"us_east_1", 0},
                 {"us-east-1.evil.com", 0},
                 {"us-east-1\r\nX: y", 0},
                 {NULL, 0}};
    char desc[96];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(desc, sizeof(desc), "region_is_valid(%s)",
                 cases[i].region ? cases[i].region : "NULL");
        desc[strcspn(desc, "\r\n")] = '\0';
        report(kmsre_region_is_valid(cases[i].region) == cases[i].valid, desc,
               cases[i].valid ? "invalid" : "valid",
               cases[i].valid ? "valid" : "invalid");
    }
}

int main(void)
{
    size_t i;

    for (i = 0; i < sizeof(ctx_cases) / sizeof(ctx_cases[0]); i++)
        test_context_case(&ctx_cases[i]);
    test_context_misc();
    test_grant_tokens_basic();
    test_grant_tokens_bad();
    test_grant_tokens_length();
    test_grant_tokens_limit();
    test_grant_tokens_not_array();
    for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
        test_key_case(&key_cases[i]);
    test_key_partitions();
    test_key_limits();
    test_regions();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
