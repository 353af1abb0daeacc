/* SPDX-License-Identifier: Apache-2.0 */
/* KMS key references: the four id forms, ARNs field by field, kms: URIs
 * with their query, limits, copies and equality. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws/endpoint.h"
#include "kms/key_ref.h"
#include "test.h"

static char *repeat_char(char c, size_t n);

/* ---- key references ---- */

struct key_case {
    const char *desc;
    const char *text;
    int uri;
    enum kmsre_status rc;
    enum kmsre_key_form form;
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
        d, t, u, rc, KMSRE_KEY_FORM_OTHER, msg, NULL, NULL, NULL, NULL         \
    }

static const struct key_case key_cases[] = {
    {"key id", KID, 0, KMSRE_OK, KMSRE_KEY_FORM_KEY_ID, KID, NULL, NULL, NULL,
     NULL},
    {"mrk id", MRK, 0, KMSRE_OK, KMSRE_KEY_FORM_MRK_ID, MRK, NULL, NULL, NULL,
     NULL},
    {"key ARN", ARN_E2 "key/" KID, 0, KMSRE_OK, KMSRE_KEY_FORM_KEY_ARN,
     ARN_E2 "key/" KID, "us-east-2", NULL, "aws", "111122223333"},
    {"mrk key ARN", ARN_E2 "key/" MRK, 0, KMSRE_OK, KMSRE_KEY_FORM_KEY_ARN,
     ARN_E2 "key/" MRK, "us-east-2", NULL, "aws", "111122223333"},
    {"alias name", "alias/ExampleAlias", 0, KMSRE_OK, KMSRE_KEY_FORM_ALIAS_NAME,
     "alias/ExampleAlias", NULL, NULL, NULL, NULL},
    {"alias ARN", ARN_E2 "alias/Ex/a_b-c", 0, KMSRE_OK,
     KMSRE_KEY_FORM_ALIAS_ARN, ARN_E2 "alias/Ex/a_b-c", "us-east-2", NULL,
     "aws", "111122223333"},
    {"upper-case key id is OTHER", "1234ABCD-12AB-34CD-56EF-1234567890AB", 0,
     KMSRE_OK, KMSRE_KEY_FORM_OTHER, "1234ABCD-12AB-34CD-56EF-1234567890AB",
     NULL, NULL, NULL, NULL},
    {"short mrk is OTHER", "mrk-1234", 0, KMSRE_OK, KMSRE_KEY_FORM_OTHER,
     "mrk-1234", NULL, NULL, NULL, NULL},
    {"alias with ':' is OTHER", "alias/a:b", 0, KMSRE_OK, KMSRE_KEY_FORM_OTHER,
     "alias/a:b", NULL, NULL, NULL, NULL},
    {"bare alias/ is OTHER", "alias/", 0, KMSRE_OK, KMSRE_KEY_FORM_OTHER,
     "alias/", NULL, NULL, NULL, NULL},
    {"odd printable id is OTHER", "x?y#z", 0, KMSRE_OK, KMSRE_KEY_FORM_OTHER,
     "x?y#z", NULL, NULL, NULL, NULL},
    {"non-ASCII id is OTHER", "cl\xc3\xa9", 0, KMSRE_OK, KMSRE_KEY_FORM_OTHER,
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
    {"kms: URI", "kms:alias/x", 1, KMSRE_OK, KMSRE_KEY_FORM_ALIAS_NAME,
     "alias/x", NULL, NULL, NULL, NULL},
    {"KMS: URI (scheme case)", "KMS:" KID, 1, KMSRE_OK, KMSRE_KEY_FORM_KEY_ID,
     KID, NULL, NULL, NULL, NULL},
    {"Kms:// URI", "Kms://" MRK, 1, KMSRE_OK, KMSRE_KEY_FORM_MRK_ID, MRK, NULL,
     NULL, NULL, NULL},
    {"kms:// URI with ARN", "kms://" ARN_E2 "key/" KID, 1, KMSRE_OK,
     KMSRE_KEY_FORM_KEY_ARN, ARN_E2 "key/" KID, "us-east-2", NULL, "aws",
     "111122223333"},
    {"query region", "kms:alias/x?region=eu-west-1", 1, KMSRE_OK,
     KMSRE_KEY_FORM_ALIAS_NAME, "alias/x", "eu-west-1", NULL, NULL, NULL},
    {"query region and profile", "kms://alias/x?region=eu-west-1&profile=dev",
     1, KMSRE_OK, KMSRE_KEY_FORM_ALIAS_NAME, "alias/x", "eu-west-1", "dev",
     NULL, NULL},
    {"query profile then region", "kms:alias/x?profile=a.b+c@d_e-f&region=r1",
     1, KMSRE_OK, KMSRE_KEY_FORM_ALIAS_NAME, "alias/x", "r1", "a.b+c@d_e-f",
     NULL, NULL},
    {"percent-decoded query", "kms:alias/x?region=us%2Deast%2d1&profile=m%40e",
     1, KMSRE_OK, KMSRE_KEY_FORM_ALIAS_NAME, "alias/x", "us-east-1", "m@e",
     NULL, NULL},
    {"ARN region equal to query region",
     "kms:" ARN_E2 "alias/a?region=us-east-2", 1, KMSRE_OK,
     KMSRE_KEY_FORM_ALIAS_ARN, ARN_E2 "alias/a", "us-east-2", NULL, "aws",
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

static void check_ref(const struct key_case *c, const struct kmsre_key_ref *r,
                      const char *what)
{
    char got[512], want[512];

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
    test_expect_str(got, want, "%s%s", c->desc, what);
}

static void test_key_case(const struct key_case *c)
{
    struct kmsre_key_ref ref, copy;
    struct kmsre_err err = {0};
    enum kmsre_status rc;

    rc = c->uri ? kmsre_key_ref_parse_uri(c->text, &ref, &err)
                : kmsre_key_ref_parse_id(c->text, &ref, &err);
    if (c->rc != KMSRE_OK || rc != KMSRE_OK) {
        test_check(rc == c->rc, "%s: status %s", c->desc,
                   kmsre_status_name(rc));
        if (rc != KMSRE_OK)
            test_expect_contains(kmsre_err_text(&err), c->key_id,
                                 "  ... message");
        test_check(rc == KMSRE_OK || ref.key_id == NULL,
                   "  ... and out is cleared on failure");
        kmsre_key_ref_clear(&ref);
        return;
    }
    check_ref(c, &ref, "");
    rc = kmsre_key_ref_copy(&copy, &ref);
    kmsre_key_ref_clear(&ref);
    if (rc == KMSRE_OK)
        check_ref(c, &copy, " (deep copy)");
    kmsre_key_ref_clear(&copy);
}

static void test_key_partitions(void)
{
    static const char *const parts[] = {"aws",       "aws-cn",    "aws-us-gov",
                                        "aws-iso",   "aws-iso-b", "aws-iso-e",
                                        "aws-iso-f", "aws-eusc"};
    struct kmsre_key_ref ref;
    char arn[128];
    enum kmsre_status rc;
    size_t i;

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        snprintf(arn, sizeof(arn), "arn:%s:kms:xx-west-9:123456789012:key/k",
                 parts[i]);
        rc = kmsre_key_ref_parse_id(arn, &ref, NULL);
        test_check(rc == KMSRE_OK && ref.form == KMSRE_KEY_FORM_KEY_ARN &&
                       str_eq(ref.partition, parts[i]) &&
                       str_eq(ref.region, "xx-west-9"),
                   "partition %s", parts[i]);
        kmsre_key_ref_clear(&ref);
    }
}

static void test_key_limits(void)
{
    char *id = repeat_char('k', KMSRE_MAX_KEY_ID_LEN + 1);
    struct kmsre_key_ref ref;
    struct kmsre_err err = {0};
    enum kmsre_status rc;

    rc = kmsre_key_ref_parse_id(id, &ref, &err);
    test_check(rc == KMSRE_ERR_LIMIT, "2049-char id refused");
    test_expect_contains(kmsre_err_text(&err),
                         "2049 characters long (KMS allows at most 2048)",
                         "  ... message");
    id[KMSRE_MAX_KEY_ID_LEN] = '\0';
    rc = kmsre_key_ref_parse_id(id, &ref, NULL);
    test_check(rc == KMSRE_OK && ref.form == KMSRE_KEY_FORM_OTHER,
               "2048-char id accepted as OTHER");
    kmsre_key_ref_clear(&ref);
    rc = kmsre_key_ref_parse_id(NULL, &ref, NULL);
    test_check(rc == KMSRE_ERR_INVALID, "NULL id refused");
    kmsre_key_ref_clear(NULL);
    test_check(1, "kmsre_key_ref_clear(NULL) is a no-op");
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
        snprintf(desc, sizeof(desc), "%s",
                 cases[i].region ? cases[i].region : "NULL");
        desc[strcspn(desc, "\r\n")] = '\0';
        test_check(kmsre_region_is_valid(cases[i].region) == cases[i].valid,
                   "region %s is %s", desc,
                   cases[i].valid ? "valid" : "invalid");
    }
}

static void test_key_equality(void)
{
    struct kmsre_key_ref a, b, c, d;

    kmsre_key_ref_parse_uri("kms:alias/x?region=us-east-1", &a, NULL);
    kmsre_key_ref_parse_uri("kms://alias/x?region=us-east-1", &b, NULL);
    kmsre_key_ref_parse_uri("kms:alias/x?region=eu-west-1", &c, NULL);
    kmsre_key_ref_parse_uri("kms:alias/x?region=us-east-1&profile=p", &d, NULL);
    test_check(kmsre_key_ref_equal(&a, &b), "same id and region: equal");
    test_check(!kmsre_key_ref_equal(&a, &c),
               "alias/x in us-east-1 is not alias/x in eu-west-1");
    test_check(!kmsre_key_ref_equal(&a, &d), "another profile: not equal");
    kmsre_key_ref_clear(&a);
    kmsre_key_ref_clear(&b);
    kmsre_key_ref_clear(&c);
    kmsre_key_ref_clear(&d);
}

static char *repeat_char(char c, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

int main(void)
{
    size_t i;

    for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
        test_key_case(&key_cases[i]);
    test_key_partitions();
    test_key_limits();
    test_regions();
    test_key_equality();
    return test_summary();
}
