/* SPDX-License-Identifier: Apache-2.0 */
/* KMS key references: the four key-id forms, ARNs checked field by field,
 * and the store's kms: URIs with their ?region=&profile= query. */
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/endpoint.h"
#include "base/text.h"
#include "kms/key_ref.h"

static const char *const kms_partitions[] = {
    "aws",       "aws-cn",    "aws-us-gov", "aws-iso",
    "aws-iso-b", "aws-iso-e", "aws-iso-f",  "aws-eusc"};

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
static enum kmsre_status check_key_id_text(const char *id,
                                           struct kmsre_err *err)
{
    const unsigned char *u = (const unsigned char *)id;
    size_t i = 0, n, chars = 0, len = id ? strlen(id) : 0;
    uint32_t cp = 0;

    if (len == 0) {
        kmsre_fail(err, KMSRE_ERR_INVALID, "bad key id: it is empty");
        return KMSRE_ERR_INVALID;
    }
    for (; i < len; i += n, chars++) {
        n = kmsre_utf8_decode(u + i, len - i, &cp);
        if (n == 0 || kmsre_is_control(cp) || kmsre_is_py_space(cp)) {
            kmsre_fail(
                err, KMSRE_ERR_INVALID,
                "bad key id: white space, a control character or invalid "
                "UTF-8 at offset %zu",
                i);
            return KMSRE_ERR_INVALID;
        }
    }
    if (chars > KMSRE_MAX_KEY_ID_LEN) {
        kmsre_fail(err, KMSRE_ERR_LIMIT,
                   "bad key id: %zu characters long (KMS allows at most %d)",
                   chars, KMSRE_MAX_KEY_ID_LEN);
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

static enum kmsre_status arn_check(const struct arn_fields *a,
                                   struct kmsre_err *err)
{
    struct kmsre_quoted f;

    if (!arn_partition_known(a->f[1], a->n[1]))
        kmsre_fail(
            err, KMSRE_ERR_INVALID,
            "bad key ARN: unknown partition \"%s\" (expected aws, aws-cn, "
            "aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or "
            "aws-eusc)",
            kmsre_quote(&f, a->f[1], a->n[1]));
    else if (!field_is(a, 2, "kms"))
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad key ARN: service \"%s\" is not kms",
                   kmsre_quote(&f, a->f[2], a->n[2]));
    else if (!region_field_is_valid(a->f[3], a->n[3]))
        kmsre_fail(
            err, KMSRE_ERR_INVALID,
            "bad key ARN: region \"%s\" is not a region (1-32 lower-case "
            "letters, digits or '-')",
            kmsre_quote(&f, a->f[3], a->n[3]));
    else if (a->n[4] != 12 || !all_of(a->f[4], 12, "0123456789"))
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad key ARN: account \"%s\" is not 12 digits",
                   kmsre_quote(&f, a->f[4], a->n[4]));
    else if (!has_prefix(a->f[5], a->n[5], "key/") &&
             !has_prefix(a->f[5], a->n[5], "alias/"))
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad key ARN: resource \"%s\" is not key/ID or alias/NAME",
                   kmsre_quote(&f, a->f[5], a->n[5]));
    else
        return KMSRE_OK;
    return KMSRE_ERR_INVALID;
}

static enum kmsre_status arn_parse(const char *id, struct kmsre_key_ref *ref,
                                   struct kmsre_err *err)
{
    struct arn_fields a;
    enum kmsre_status rc;

    if (!arn_split(id, &a)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad key ARN: expected "
                   "arn:PARTITION:kms:REGION:ACCOUNT:key/ID or .../alias/NAME");
        return KMSRE_ERR_INVALID;
    }
    rc = arn_check(&a, err);
    if (rc != KMSRE_OK)
        return rc;
    ref->form = has_prefix(a.f[5], a.n[5], "key/") ? KMSRE_KEY_FORM_KEY_ARN
                                                   : KMSRE_KEY_FORM_ALIAS_ARN;
    ref->partition = kmsre_strndup(a.f[1], a.n[1]);
    ref->region = kmsre_strndup(a.f[3], a.n[3]);
    ref->account = kmsre_strndup(a.f[4], a.n[4]);
    if (!ref->partition || !ref->region || !ref->account)
        return KMSRE_ERR_NOMEM;
    return KMSRE_OK;
}

static enum kmsre_status key_ref_classify(const char *id,
                                          struct kmsre_key_ref *ref,
                                          struct kmsre_err *err)
{
    if (strncmp(id, "arn:", 4) == 0)
        return arn_parse(id, ref, err);
    if (is_key_id(id))
        ref->form = KMSRE_KEY_FORM_KEY_ID;
    else if (is_mrk_id(id))
        ref->form = KMSRE_KEY_FORM_MRK_ID;
    else if (is_alias_name(id))
        ref->form = KMSRE_KEY_FORM_ALIAS_NAME;
    else
        ref->form = KMSRE_KEY_FORM_OTHER;
    return KMSRE_OK;
}

/* out is overwritten, not freed: clear it first when reusing it. */
enum kmsre_status kmsre_key_ref_parse_id(const char *id,
                                         struct kmsre_key_ref *out,
                                         struct kmsre_err *err)
{
    struct kmsre_key_ref ref = {0};
    enum kmsre_status rc;

    if (out == NULL)
        return KMSRE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    rc = check_key_id_text(id, err);
    if (rc == KMSRE_OK)
        rc = key_ref_classify(id, &ref, err);
    if (rc == KMSRE_OK && (ref.key_id = kmsre_strndup(id, strlen(id))) == NULL)
        rc = KMSRE_ERR_NOMEM;
    if (rc != KMSRE_OK) {
        kmsre_key_ref_clear(&ref);
        return rc == KMSRE_ERR_NOMEM ? kmsre_fail(err, rc, "out of memory")
                                     : rc;
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
                                         struct kmsre_err *err)
{
    struct kmsre_quoted f;

    if (strcmp(name, "region") == 0 && !kmsre_region_is_valid(value)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: region \"%s\" is not valid (1-32 lower-case "
                   "letters, digits or '-')",
                   kmsre_quote_str(&f, value));
        return KMSRE_ERR_INVALID;
    }
    if (strcmp(name, "profile") == 0 && !profile_is_valid(value)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: profile \"%s\" is not valid (1-64 characters "
                   "from A-Z a-z 0-9 _ . + @ -)",
                   kmsre_quote_str(&f, value));
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
                                         struct uri_query *q,
                                         struct kmsre_err *err)
{
    const char *eq = memchr(seg, '=', n);
    size_t nlen = eq ? (size_t)(eq - seg) : n;
    char **slot = uri_query_slot(q, seg, nlen);
    const char *name = slot == &q->region ? "region" : "profile";
    enum kmsre_status rc;
    struct kmsre_quoted f;

    if (slot == NULL) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: unknown query parameter \"%s\" (only region "
                   "and profile are allowed)",
                   kmsre_quote(&f, seg, nlen));
        return KMSRE_ERR_INVALID;
    }
    if (*slot != NULL) {
        kmsre_fail(err, KMSRE_ERR_INVALID, "bad kms: URI: %s is given twice",
                   name);
        return KMSRE_ERR_INVALID;
    }
    if (eq == NULL || eq + 1 == seg + n) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: %s needs a value (%s=VALUE)", name, name);
        return KMSRE_ERR_INVALID;
    }
    rc = percent_decode(eq + 1, n - nlen - 1, slot);
    if (rc == KMSRE_ERR_INVALID)
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: %s has a malformed %%XX escape or a %%00",
                   name);
    if (rc != KMSRE_OK)
        return rc;
    return uri_check_param(name, *slot, err);
}

static enum kmsre_status uri_parse_query(const char *query, struct uri_query *q,
                                         struct kmsre_err *err)
{
    const char *amp;
    size_t n;
    enum kmsre_status rc;

    for (;;) {
        amp = strchr(query, '&');
        n = amp ? (size_t)(amp - query) : strlen(query);
        if (n == 0) {
            kmsre_fail(
                err, KMSRE_ERR_INVALID,
                "bad kms: URI: empty query parameter (stray '?' or '&')");
            return KMSRE_ERR_INVALID;
        }
        rc = uri_parse_param(query, n, q, err);
        if (rc != KMSRE_OK || amp == NULL)
            return rc;
        query = amp + 1;
    }
}

/* The key ARN names the region the key lives in; a different ?region=
 * would send the request to a region where the key does not exist. */
static enum kmsre_status uri_apply_query(struct kmsre_key_ref *ref,
                                         struct uri_query *q,
                                         struct kmsre_err *err)
{
    struct kmsre_quoted fa, fq;

    if (ref->region && q->region && strcmp(ref->region, q->region) != 0) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: the ARN is in region %s but the query says "
                   "region=%s (KMS keys are regional; drop ?region= or make "
                   "them agree)",
                   kmsre_quote_str(&fa, ref->region),
                   kmsre_quote_str(&fq, q->region));
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
                                      struct kmsre_key_ref *ref,
                                      struct kmsre_err *err)
{
    char *id;
    enum kmsre_status rc;

    if (n == 0) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: no key id after \"kms:\"");
        return KMSRE_ERR_INVALID;
    }
    id = kmsre_strndup(rest, n);
    if (id == NULL)
        return KMSRE_ERR_NOMEM;
    rc = kmsre_key_ref_parse_id(id, ref, err);
    OPENSSL_free(id);
    return rc;
}

enum kmsre_status kmsre_key_ref_parse_uri(const char *uri,
                                          struct kmsre_key_ref *out,
                                          struct kmsre_err *err)
{
    struct kmsre_key_ref ref = {0};
    struct uri_query q = {NULL, NULL};
    const char *rest, *qmark;
    enum kmsre_status rc;

    if (out == NULL)
        return KMSRE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (uri == NULL || !has_kms_scheme(uri)) {
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad kms: URI: it does not start with \"kms:\"");
        return KMSRE_ERR_INVALID;
    }
    rest = strncmp(uri + 4, "//", 2) == 0 ? uri + 6 : uri + 4;
    qmark = strchr(rest, '?');
    rc = uri_parse_id(rest, qmark ? (size_t)(qmark - rest) : strlen(rest), &ref,
                      err);
    if (rc == KMSRE_OK && qmark != NULL)
        rc = uri_parse_query(qmark + 1, &q, err);
    if (rc == KMSRE_OK)
        rc = uri_apply_query(&ref, &q, err);
    OPENSSL_free(q.region);
    OPENSSL_free(q.profile);
    if (rc != KMSRE_OK) {
        kmsre_key_ref_clear(&ref);
        return rc == KMSRE_ERR_NOMEM ? kmsre_fail(err, rc, "out of memory")
                                     : rc;
    }
    *out = ref;
    return KMSRE_OK;
}

/* ---- lifetime ---- */

void kmsre_key_ref_clear(struct kmsre_key_ref *ref)
{
    if (ref == NULL)
        return;
    OPENSSL_free(ref->key_id);
    OPENSSL_free(ref->region);
    OPENSSL_free(ref->profile);
    OPENSSL_free(ref->partition);
    OPENSSL_free(ref->account);
    memset(ref, 0, sizeof(*ref));
    ref->form = KMSRE_KEY_FORM_OTHER;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = src != NULL ? kmsre_strndup(src, strlen(src)) : NULL;
    return src == NULL || *dst != NULL;
}

/* dst is overwritten, not freed. */
enum kmsre_status kmsre_key_ref_copy(struct kmsre_key_ref *dst,
                                     const struct kmsre_key_ref *src)
{
    struct kmsre_key_ref ref = {0};

    if (dst == NULL || src == NULL)
        return KMSRE_ERR_INVALID;
    ref.form = src->form;
    if (!dup_opt(&ref.key_id, src->key_id) ||
        !dup_opt(&ref.region, src->region) ||
        !dup_opt(&ref.profile, src->profile) ||
        !dup_opt(&ref.partition, src->partition) ||
        !dup_opt(&ref.account, src->account)) {
        kmsre_key_ref_clear(&ref);
        memset(dst, 0, sizeof(*dst));
        return KMSRE_ERR_NOMEM;
    }
    *dst = ref;
    return KMSRE_OK;
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int kmsre_key_ref_equal(const struct kmsre_key_ref *a,
                        const struct kmsre_key_ref *b)
{
    return a->key_id != NULL && same_text(a->key_id, b->key_id) &&
           same_text(a->region, b->region) && same_text(a->profile, b->profile);
}
