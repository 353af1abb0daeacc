/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/kms/key_ref.c: kmsre_key_ref_parse_uri,
 * kmsre_key_ref_parse_id, kmsre_key_ref_copy and kmsre_key_ref_equal. A
 * reference that parses has a key id and only valid regions and profiles;
 * its copy is equal to it; "kms:" + an id parses exactly when the id does,
 * to the same reference. A failed parse leaves nothing behind. Each parse
 * runs a second time with one OpenSSL allocation failing (alloc_fail.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "aws/endpoint.h"
#include "kms/key_ref.h"
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

typedef enum kmsre_status (*parse_fn)(const char *, struct kmsre_key_ref *,
                                      struct kmsre_err *);

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_ref(const struct kmsre_key_ref *a,
                    const struct kmsre_key_ref *b)
{
    return same_str(a->key_id, b->key_id) && same_str(a->region, b->region) &&
           same_str(a->profile, b->profile) &&
           same_str(a->partition, b->partition) &&
           same_str(a->account, b->account) && a->form == b->form;
}

static int ref_is_empty(const struct kmsre_key_ref *r)
{
    return r->key_id == NULL && r->region == NULL && r->profile == NULL &&
           r->partition == NULL && r->account == NULL &&
           r->form == KMSRE_KEY_FORM_OTHER;
}

static int profile_ok(const char *p)
{
    size_t n = strlen(p);

    return n >= 1 && n <= 64 &&
           strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_.+@-") == n;
}

static void check_ref(const struct kmsre_key_ref *ref, int from_uri)
{
    struct kmsre_key_ref copy;
    int arn = ref->form == KMSRE_KEY_FORM_KEY_ARN ||
              ref->form == KMSRE_KEY_FORM_ALIAS_ARN;

    CHECK(ref->key_id != NULL && ref->key_id[0] != '\0');
    CHECK(strpbrk(ref->key_id, " \t\r\n") == NULL);
    CHECK(ref->region == NULL || kmsre_region_is_valid(ref->region));
    CHECK(ref->profile == NULL || (from_uri && profile_ok(ref->profile)));
    /* Partition, account and (for an id) region come from an ARN only. */
    CHECK(arn == (ref->partition != NULL));
    CHECK(arn == (ref->account != NULL));
    CHECK(from_uri || arn == (ref->region != NULL));
    if (arn) {
        CHECK(strncmp(ref->key_id, "arn:", 4) == 0);
        CHECK(strlen(ref->account) == 12 &&
              strspn(ref->account, "0123456789") == 12);
    }
    if (ref->form == KMSRE_KEY_FORM_KEY_ID ||
        ref->form == KMSRE_KEY_FORM_MRK_ID)
        CHECK(strlen(ref->key_id) == 36);
    if (ref->form == KMSRE_KEY_FORM_ALIAS_NAME)
        CHECK(strncmp(ref->key_id, "alias/", 6) == 0);
    CHECK(kmsre_key_ref_equal(ref, ref));

    fuzz_alloc_reset(0);
    if (kmsre_key_ref_copy(&copy, ref) == KMSRE_OK) {
        CHECK(same_ref(&copy, ref));
        CHECK(kmsre_key_ref_equal(&copy, ref) &&
              kmsre_key_ref_equal(ref, &copy));
        kmsre_key_ref_clear(&copy);
    }
}

static void check_failure(enum kmsre_status st, const struct kmsre_err *err,
                          const struct kmsre_key_ref *ref)
{
    CHECK(st == KMSRE_ERR_INVALID || st == KMSRE_ERR_LIMIT ||
          st == KMSRE_ERR_NOMEM);
    CHECK(ref_is_empty(ref));
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
}

/* One parse, checked; again with allocation 1 + seed % allocs failing. The
 * result stays in *ref (cleared by the caller). */
static enum kmsre_status parse(parse_fn fn, const char *text, int from_uri,
                               uint32_t seed, struct kmsre_key_ref *ref)
{
    struct kmsre_err err = {0}, err2 = {0};
    struct kmsre_key_ref again;
    enum kmsre_status st, st2;
    size_t allocs;

    memset(ref, 0x55, sizeof(*ref));
    fuzz_alloc_reset(0);
    st = fn(text, ref, &err);
    allocs = fuzz_alloc_count;
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        check_ref(ref, from_uri);
    } else {
        CHECK(st != KMSRE_ERR_NOMEM);
        check_failure(st, &err, ref);
    }
    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        memset(&again, 0x55, sizeof(again));
        st2 = fn(text, &again, &err2);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK)
            CHECK(same_ref(&again, ref));
        else
            check_failure(st2, &err2, &again);
        kmsre_key_ref_clear(&again);
    }
    fuzz_alloc_reset(0);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmsre_key_ref ref, id_ref;
    uint32_t seed = fuzz_input_hash(data, size);
    enum kmsre_status st_uri, st_id;
    char *text;
    size_t len;

    if (size > 16 * 1024)
        return 0;
    /* "kms:" in front, so the same bytes are also a URI with that id. */
    text = malloc(size + 5);
    if (text == NULL)
        return 0;
    memcpy(text, "kms:", 4);
    if (size > 0)
        memcpy(text + 4, data, size);
    text[size + 4] = '\0';
    len = strlen(text + 4);

    /* The input itself as a URI. */
    (void)parse(kmsre_key_ref_parse_uri, text + 4, 1, seed, &ref);
    kmsre_key_ref_clear(&ref);
    CHECK(ref_is_empty(&ref));

    /* The input as an id, and "kms:" + the input as a URI: when the id has
     * no query and does not start with "//", both say the same. */
    st_id = parse(kmsre_key_ref_parse_id, text + 4, 0, seed, &id_ref);
    if (memchr(text + 4, '?', len) == NULL && strncmp(text + 4, "//", 2) != 0) {
        st_uri = parse(kmsre_key_ref_parse_uri, text, 1, seed >> 8, &ref);
        CHECK(st_uri == st_id);
        if (st_id == KMSRE_OK) {
            CHECK(same_ref(&ref, &id_ref));
            CHECK(kmsre_key_ref_equal(&ref, &id_ref));
        }
        kmsre_key_ref_clear(&ref);
    }
    kmsre_key_ref_clear(&id_ref);
    free(text);
    return 0;
}
