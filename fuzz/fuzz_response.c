/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/kms/kms_reencrypt.c:
 *
 *  1. kms_reencrypt_parse on the whole input (a 2xx ReEncrypt answer); when
 *     it succeeds, the parsed fields are fed to kms_reencrypt_build and the
 *     request is checked as in 3.
 *  2. kms_error_parse on the whole input (an error document), then again
 *     with an X-Amzn-ErrorType header taken from the input's first line and
 *     the rest as the body, and once with no body at all.
 *  3. A round trip: the input split at its first nine '\n' gives the request
 *     fields (see split_request below); the JSON that kms_reencrypt_build
 *     writes is parsed back with json-c and compared member by member, and
 *     the CiphertextBlob is decoded again by kms_reencrypt_parse.
 *
 * Every parse and build also runs a second time with one OpenSSL allocation
 * failing (alloc_fail.h), to check the out-of-memory paths.
 *
 * Build with -DFUZZ_ERROR_TYPE_ORACLE to also compare the error type with
 * the rule of botocore/smithy-rs (KMS-PROTOCOL.md 2.1: cut at the first ':',
 * then keep what follows the last '#'). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "kms/kms_reencrypt.h"
#include "util/parse.h"
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

/* A copy of n bytes with no terminating NUL: ASan catches a read past n. */
static char *copy_exact(const uint8_t *d, size_t n)
{
    char *p = malloc(n ? n : 1);

    if (p != NULL && n > 0)
        memcpy(p, d, n);
    return p;
}

/* A NUL-terminated copy (C strings stop at an embedded NUL). */
static char *copy_cstr(const uint8_t *d, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        if (n > 0)
            memcpy(p, d, n);
        p[n] = '\0';
    }
    return p;
}

static int has_nul(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int resp_is_empty(const struct kms_reencrypt_resp *r)
{
    return r->ciphertext == NULL && r->ciphertext_len == 0 &&
           r->source_key_id == NULL && r->key_id == NULL &&
           r->source_algorithm == NULL && r->destination_algorithm == NULL;
}

/* Same rule as kms_reencrypt.c's parse_object: one whole JSON object. */
static struct json_object *parse_whole(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o;

    if (tok == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, text, (int)len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != len ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* ---- 1. success answers ------------------------------------------------ */

static enum kmsre_status parse_answer(const char *text, size_t len,
                                      struct kms_reencrypt_resp *resp)
{
    char why[128];
    enum kmsre_status st;

    memset(why, 0x55, sizeof(why));
    st = kms_reencrypt_parse(text, len, resp, why, sizeof(why));
    if (st == KMSRE_OK) {
        CHECK(resp->ciphertext != NULL);
        CHECK(resp->ciphertext_len >= 1 &&
              resp->ciphertext_len <= KMS_MAX_CIPHERTEXT);
        CHECK(resp->key_id != NULL);
    } else {
        CHECK(st == KMSRE_ERR_RESPONSE || st == KMSRE_ERR_NOMEM);
        CHECK(resp_is_empty(resp));
        if (st == KMSRE_ERR_RESPONSE)
            CHECK(has_nul(why, sizeof(why)) && why[0] != '\0');
    }
    return st;
}

static void round_trip(const struct kms_reencrypt_req *req, size_t seed);

static void fuzz_answer(const uint8_t *data, size_t size, size_t seed)
{
    struct kms_reencrypt_resp resp, again;
    struct kms_reencrypt_req req;
    char *text = copy_exact(data, size);
    enum kmsre_status st, st2;
    size_t allocs;

    if (text == NULL)
        return;
    fuzz_alloc_reset(0);
    st = parse_answer(text, size, &resp);
    CHECK(st != KMSRE_ERR_NOMEM);
    allocs = fuzz_alloc_count;

    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        st2 = parse_answer(text, size, &again);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK) {
            CHECK(again.ciphertext_len == resp.ciphertext_len &&
                  memcmp(again.ciphertext, resp.ciphertext,
                         resp.ciphertext_len) == 0);
            CHECK(same_str(again.key_id, resp.key_id));
        }
        kms_reencrypt_resp_clear(&again);
    }

    if (st == KMSRE_OK) {
        /* The answer's fields make a plausible request for the round trip. */
        memset(&req, 0, sizeof(req));
        req.ciphertext = resp.ciphertext;
        req.ciphertext_len = resp.ciphertext_len;
        req.source_key_id = resp.source_key_id;
        req.destination_key_id = resp.key_id;
        req.source_algorithm = resp.source_algorithm;
        req.destination_algorithm = resp.destination_algorithm;
        round_trip(&req, seed);
    }
    kms_reencrypt_resp_clear(&resp);
    CHECK(resp_is_empty(&resp));
    free(text);
}

/* ---- 2. error documents ------------------------------------------------ */

#ifdef FUZZ_ERROR_TYPE_ORACLE
static const char *member_str(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (o != NULL && json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* KMS-PROTOCOL.md 2.1 (botocore BaseJSONParser._do_error_parse, smithy-rs
 * sanitize_error_code): cut everything from the first ':', then keep what
 * follows the last '#'; at most 127 bytes, control characters as spaces. */
static void expected_type(const char *header, const char *body, size_t len,
                          char out[128])
{
    struct json_object *o = body != NULL ? parse_whole(body, len) : NULL;
    const char *type = NULL, *hash;
    char cut[1024];
    size_t n, i;

    if (header != NULL && *header != '\0')
        type = header;
    if (type == NULL)
        type = member_str(o, "code");
    if (type == NULL)
        type = member_str(o, "__type");
    out[0] = '\0';
    if (type != NULL) {
        n = strcspn(type, ":");
        if (n >= sizeof(cut))
            n = sizeof(cut) - 1;
        memcpy(cut, type, n);
        cut[n] = '\0';
        hash = strrchr(cut, '#');
        snprintf(out, 128, "%s", hash != NULL ? hash + 1 : cut);
        for (i = 0; out[i] != '\0'; i++)
            if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
                out[i] = ' ';
    }
    json_object_put(o);
}
#endif

static void check_error(long status, const char *header, const char *body,
                        size_t len)
{
    struct kms_error err;

    memset(&err, 0x55, sizeof(err));
    err.request_id[0] = '\0'; /* kms_error_parse leaves it to the caller */
    kms_error_parse(status, header, body, len, &err);
    CHECK(err.http_status == status);
    CHECK(has_nul(err.type, sizeof(err.type)));
    CHECK(has_nul(err.message, sizeof(err.message)));
    CHECK(printable(err.type) && printable(err.message));
    CHECK(strchr(err.type, ':') == NULL);
    if (header != NULL && *header != '\0' && strpbrk(header, "#:") == NULL &&
        strlen(header) < sizeof(err.type) && printable(header))
        CHECK(strcmp(err.type, header) == 0);
    /* A body that is not a JSON object is kept as the message, shortened. */
    if (body != NULL && len > 0 && (unsigned char)body[0] >= 0x20 &&
        body[0] != 0x7f) {
        struct json_object *o = parse_whole(body, len);

        if (o == NULL)
            CHECK(err.message[0] == body[0]);
        json_object_put(o);
    }
#ifdef FUZZ_ERROR_TYPE_ORACLE
    {
        char want[128];

        expected_type(header, body, len, want);
        if (strcmp(want, err.type) != 0) {
            fprintf(stderr, "error type \"%s\", expected \"%s\"\n", err.type,
                    want);
            abort();
        }
    }
#endif
}

static void fuzz_error(const uint8_t *data, size_t size)
{
    long status = 400 + (size > 0 ? data[0] % 200 : 0);
    const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
    char *body = copy_exact(data, size), *header, *rest;
    size_t hlen;

    if (body == NULL)
        return;
    check_error(status, NULL, body, size);
    free(body);
    if (nl != NULL) {
        hlen = (size_t)(nl - data);
        header = copy_cstr(data, hlen);
        rest = copy_exact(nl + 1, size - hlen - 1);
        if (header != NULL && rest != NULL) {
            check_error(status, header, rest, size - hlen - 1);
            check_error(status, header, NULL, 0);
        }
        free(header);
        free(rest);
    }
}

/* ---- 3. request round trip --------------------------------------------- */

static void check_member_str(struct json_object *o, const char *name,
                             const char *want, int *count)
{
    struct json_object *v;
    int present = json_object_object_get_ex(o, name, &v);

    CHECK(present == (want != NULL));
    if (!present)
        return;
    (*count)++;
    CHECK(json_object_is_type(v, json_type_string));
    CHECK((size_t)json_object_get_string_len(v) == strlen(want));
    CHECK(strcmp(json_object_get_string(v), want) == 0);
}

static void check_member_obj(struct json_object *o, const char *name,
                             struct json_object *want, int *count)
{
    struct json_object *v;
    int present = json_object_object_get_ex(o, name, &v);

    CHECK(present == (want != NULL));
    if (!present)
        return;
    (*count)++;
    CHECK(json_object_equal(v, want));
}

/* The CiphertextBlob must decode to the bytes that went in: add a KeyId
 * and hand the request back to kms_reencrypt_parse as if it were an answer
 * (the other members have the same names in both). */
static void check_blob(struct json_object *o,
                       const struct kms_reencrypt_req *req)
{
    struct kms_reencrypt_resp resp;
    const char *text;
    size_t len;
    enum kmsre_status st;

    json_object_object_add(o, "KeyId", json_object_new_string("k"));
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    CHECK(text != NULL);
    st = parse_answer(text, len, &resp);
    if (req->ciphertext_len == 0) {
        CHECK(st == KMSRE_ERR_RESPONSE);
    } else if (req->ciphertext_len > KMS_MAX_CIPHERTEXT) {
        CHECK(st == KMSRE_ERR_RESPONSE);
    } else {
        CHECK(st == KMSRE_OK);
        CHECK(resp.ciphertext_len == req->ciphertext_len);
        CHECK(memcmp(resp.ciphertext, req->ciphertext, req->ciphertext_len) ==
              0);
        CHECK(same_str(resp.source_key_id, req->source_key_id));
        CHECK(same_str(resp.source_algorithm, req->source_algorithm));
        CHECK(same_str(resp.destination_algorithm, req->destination_algorithm));
    }
    kms_reencrypt_resp_clear(&resp);
}

static void round_trip(const struct kms_reencrypt_req *req, size_t seed)
{
    struct json_object *o, *v;
    char *body = NULL;
    size_t len = 0, allocs;
    int count = 0;
    enum kmsre_status st;

    fuzz_alloc_reset(0);
    st = kms_reencrypt_build(req, &body, &len);
    allocs = fuzz_alloc_count;
    CHECK(st == KMSRE_OK && body != NULL);
    CHECK(body[len] == '\0' && strlen(body) == len);

    o = parse_whole(body, len);
    CHECK(o != NULL);
    if (json_object_object_get_ex(o, "CiphertextBlob", &v)) {
        CHECK(req->ciphertext_len > 0);
        CHECK(json_object_is_type(v, json_type_string));
        CHECK((size_t)json_object_get_string_len(v) ==
              4 * ((req->ciphertext_len + 2) / 3));
        count++;
    } else {
        CHECK(req->ciphertext == NULL || req->ciphertext_len == 0);
    }
    check_member_str(o, "SourceKeyId", req->source_key_id, &count);
    check_member_str(o, "DestinationKeyId", req->destination_key_id, &count);
    check_member_str(o, "SourceEncryptionAlgorithm", req->source_algorithm,
                     &count);
    check_member_str(o, "DestinationEncryptionAlgorithm",
                     req->destination_algorithm, &count);
    check_member_obj(o, "SourceEncryptionContext", req->source_context, &count);
    check_member_obj(o, "DestinationEncryptionContext",
                     req->destination_context, &count);
    check_member_obj(o, "GrantTokens", req->grant_tokens, &count);
    check_member_obj(o, "DryRunModifiers", req->dry_run_modifiers, &count);
    if (json_object_object_get_ex(o, "DryRun", &v)) {
        CHECK(req->dry_run);
        CHECK(json_object_is_type(v, json_type_boolean) &&
              json_object_get_boolean(v));
        count++;
    } else {
        CHECK(!req->dry_run);
    }
    CHECK(json_object_object_length(o) == count); /* nothing else, no nulls */
    check_blob(o, req);
    json_object_put(o);
    OPENSSL_clear_free(body, len + 1);

    /* Again with one of build's OpenSSL allocations failing. */
    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        body = NULL;
        st = kms_reencrypt_build(req, &body, &len);
        CHECK(st == KMSRE_OK || st == KMSRE_ERR_NOMEM);
        CHECK(st != KMSRE_OK || !fuzz_alloc_failed());
        CHECK((st == KMSRE_OK) == (body != NULL));
        fuzz_alloc_reset(0);
        if (body != NULL)
            OPENSSL_clear_free(body, len + 1);
    }
    fuzz_alloc_reset(0);
}

/* Input split at its first nine '\n' (an empty field is left out):
 *   0 flags: bit 0 of the first byte sets DryRun
 *   1 SourceKeyId            2 DestinationKeyId
 *   3 SourceEncryptionAlgorithm   4 DestinationEncryptionAlgorithm
 *   5 SourceEncryptionContext, 6 DestinationEncryptionContext: JSON or
 *     shorthand, through kmsre_context_parse (left out if it fails)
 *   7 GrantTokens through kmsre_grant_tokens_append
 *   8 DryRunModifiers, comma-separated
 *   9 the rest: CiphertextBlob bytes */
#define NFIELDS 9

static struct json_object *split_list(const char *s)
{
    struct json_object *a = json_object_new_array();
    const char *c;

    while (a != NULL) {
        c = strchr(s, ',');
        json_object_array_add(a, json_object_new_string_len(
                                     s, c ? (int)(c - s) : (int)strlen(s)));
        if (c == NULL)
            break;
        s = c + 1;
    }
    return a;
}

static void fuzz_request(const uint8_t *data, size_t size, size_t seed)
{
    char *field[NFIELDS] = {0};
    const uint8_t *p = data, *end = data + size, *nl;
    struct kms_reencrypt_req req;
    char err[96];
    int i;

    memset(&req, 0, sizeof(req));
    for (i = 0; i < NFIELDS && p <= end; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        if (nl > p)
            field[i] = copy_cstr(p, (size_t)(nl - p));
        p = nl + 1;
    }
    if (i < NFIELDS)
        goto done; /* too few fields: not a request, only the parsers ran */
    req.dry_run = field[0] != NULL && (field[0][0] & 1);
    req.source_key_id = field[1];
    req.destination_key_id = field[2];
    req.source_algorithm = field[3];
    req.destination_algorithm = field[4];
    if (field[5] != NULL &&
        kmsre_context_parse(field[5], strlen(field[5]), &req.source_context,
                            err, sizeof(err)) != KMSRE_OK)
        req.source_context = NULL;
    if (field[6] != NULL && kmsre_context_parse(field[6], strlen(field[6]),
                                                &req.destination_context, err,
                                                sizeof(err)) != KMSRE_OK)
        req.destination_context = NULL;
    if (field[7] != NULL &&
        kmsre_grant_tokens_append(&req.grant_tokens, field[7], strlen(field[7]),
                                  err, sizeof(err)) != KMSRE_OK) {
        json_object_put(req.grant_tokens);
        req.grant_tokens = NULL;
    }
    if (field[8] != NULL)
        req.dry_run_modifiers = split_list(field[8]);
    if (p < end) {
        req.ciphertext = p;
        req.ciphertext_len = (size_t)(end - p);
    }
    round_trip(&req, seed);
    json_object_put(req.source_context);
    json_object_put(req.destination_context);
    json_object_put(req.grant_tokens);
    json_object_put(req.dry_run_modifiers);
done:
    for (i = 0; i < NFIELDS; i++)
        free(field[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t seed;

    if (size > 64 * 1024)
        return 0;
    seed = fuzz_input_hash(data, size);
    fuzz_answer(data, size, seed);
    fuzz_error(data, size);
    fuzz_request(data, size, seed);
    return 0;
}
