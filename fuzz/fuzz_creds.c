/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the credential answers: STS XML (AssumeRole, web identity, error
 * documents; kmsre_sts_parse in provider/aws/creds_sts.c), the JSON of
 * credential_process, ECS and IMDS (kmsre_creds_parse_json in creds.c),
 * and ISO 8601 times (kmsre_parse_iso8601). The first byte picks the
 * parser. Credentials that parse have a key id and a secret (and, from
 * STS, a session token and an expiry); a failed parse leaves nothing
 * behind. The credential parses run a second time with one OpenSSL
 * allocation failing (alloc_fail.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds.h"
#include "aws/creds_sts.h"
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

static const char SOURCE[] = "fuzz";

static int creds_empty(const struct kmsre_creds *c)
{
    return c->access_key_id == NULL && c->secret_access_key == NULL &&
           c->session_token == NULL && c->expires == 0 && c->expiration == 0;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_creds(const struct kmsre_creds *a, const struct kmsre_creds *b)
{
    return same_str(a->access_key_id, b->access_key_id) &&
           same_str(a->secret_access_key, b->secret_access_key) &&
           same_str(a->session_token, b->session_token) &&
           a->expires == b->expires && a->expiration == b->expiration;
}

static void check_creds(const struct kmsre_creds *c, int sts)
{
    struct kmsre_creds copy;

    CHECK(c->access_key_id != NULL && c->secret_access_key != NULL);
    CHECK(*c->access_key_id != '\0' && *c->secret_access_key != '\0');
    CHECK(c->session_token == NULL || *c->session_token != '\0');
    CHECK(c->source == SOURCE);
    CHECK(c->expires || c->expiration == 0);
    if (sts)
        CHECK(c->session_token != NULL && c->expires);
    fuzz_alloc_reset(0);
    if (kmsre_creds_copy(&copy, c) == KMSRE_OK) {
        CHECK(same_creds(&copy, c));
        kmsre_creds_clear(&copy);
    }
}

static void check_failure(enum kmsre_status st, const struct kmsre_err *err,
                          const struct kmsre_creds *c, int sts)
{
    CHECK(st == KMSRE_ERR_RESPONSE || st == KMSRE_ERR_NOMEM ||
          (sts && st == KMSRE_ERR_SERVICE));
    CHECK(creds_empty(c));
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
}

static enum kmsre_status parse(int sts, const char *text, size_t len,
                               struct kmsre_creds *c, struct kmsre_err *err)
{
    memset(c, 0, sizeof(*c));
    if (sts)
        return kmsre_sts_parse(text, len, SOURCE, c, err);
    return kmsre_creds_parse_json(text, len, "Token", SOURCE, c, err);
}

static void fuzz_creds(int sts, const char *text, size_t len, uint32_t seed)
{
    struct kmsre_creds c, again;
    struct kmsre_err err = {0}, err2 = {0};
    enum kmsre_status st, st2;
    size_t allocs;

    fuzz_alloc_reset(0);
    st = parse(sts, text, len, &c, &err);
    allocs = fuzz_alloc_count;
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        check_creds(&c, sts);
    } else {
        CHECK(st != KMSRE_ERR_NOMEM);
        check_failure(st, &err, &c, sts);
    }
    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        st2 = parse(sts, text, len, &again, &err2);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK)
            CHECK(same_creds(&again, &c));
        else
            check_failure(st2, &err2, &again, sts);
        kmsre_creds_clear(&again);
    }
    fuzz_alloc_reset(0);
    kmsre_creds_clear(&c);
    CHECK(creds_empty(&c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    time_t t;

    if (size < 1 || size > 256 * 1024)
        return 0;
    /* The parsers take a length; the NUL after it is for the time parser,
     * which reads a C string. */
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        fuzz_creds(1, text, size - 1, fuzz_input_hash(data, size));
        break;
    case 1:
        fuzz_creds(0, text, size - 1, fuzz_input_hash(data, size));
        break;
    default:
        (void)kmsre_parse_iso8601(text, &t);
        break;
    }
    free(text);
    return 0;
}
