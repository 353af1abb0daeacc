/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for provider/kms/reencrypt.c:
 *
 *  1. kmsre_reencrypt_decode on the whole input (a 2xx ReEncrypt answer);
 *     when it succeeds, the decoded fields are fed to
 *     kmsre_reencrypt_encode and the request is checked as in 3.
 *  2. kmsre_kms_error_parse on the whole input (an error document), then
 *     again with an X-Amzn-ErrorType header taken from the input's first
 *     line and the rest as the body, and once with no body at all.
 *  3. A round trip: the input split at its first nine '\n' gives the request
 *     fields (see fuzz_request below); the JSON that kmsre_reencrypt_encode
 *     writes is parsed back with json-c and compared member by member, and
 *     the CiphertextBlob is decoded again by kmsre_reencrypt_decode.
 *
 * Every decode and encode also runs a second time with one OpenSSL
 * allocation failing (alloc_fail.h), to check the out-of-memory paths.
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
#include "kms/context.h"
#include "kms/grant_tokens.h"
#include "kms/reencrypt.h"
#include "kmsreencrypt.h"
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

static int answer_is_empty(const struct kmsre_reencrypt_answer *r)
{
    return r->ciphertext == NULL && r->ciphertext_len == 0 &&
           r->source_key_id == NULL && r->key_id == NULL &&
           r->source_algorithm == NULL && r->destination_algorithm == NULL;
}

/* Same rule as reencrypt.c's parse_object: one whole JSON object. */
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
                                      struct kmsre_reencrypt_answer *a)
{
    struct kmsre_err err = {0};
    enum kmsre_status st;

    memset(a, 0x55, sizeof(*a));
    st = kmsre_reencrypt_decode(text, len, a, &err);
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        CHECK(a->ciphertext != NULL);
        CHECK(a->ciphertext_len >= 1 &&
              a->ciphertext_len <= KMSRE_MAX_CIPHERTEXT);
        CHECK(a->key_id != NULL);
    } else {
        CHECK(st == KMSRE_ERR_RESPONSE || st == KMSRE_ERR_NOMEM);
        CHECK(answer_is_empty(a));
        CHECK(err.status == st);
        CHECK(has_nul(err.msg, sizeof(err.msg)) && err.msg[0] != '\0');
    }
    return st;
}

static void round_trip(const struct kmsre_reencrypt_request *req,
                       const unsigned char *in, size_t inlen,
                       const char *destination_key_id, size_t seed);

static void fuzz_answer(const uint8_t *data, size_t size, size_t seed)
{
    struct kmsre_reencrypt_answer a, again;
    struct kmsre_reencrypt_request req;
    char *text = copy_exact(data, size);
    enum kmsre_status st, st2;
    size_t allocs;

    if (text == NULL)
        return;
    fuzz_alloc_reset(0);
    st = parse_answer(text, size, &a);
    CHECK(st != KMSRE_ERR_NOMEM);
    allocs = fuzz_alloc_count;

    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        st2 = parse_answer(text, size, &again);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK) {
            CHECK(again.ciphertext_len == a.ciphertext_len &&
                  memcmp(again.ciphertext, a.ciphertext, a.ciphertext_len) ==
                      0);
            CHECK(same_str(again.key_id, a.key_id));
            CHECK(same_str(again.source_key_id, a.source_key_id));
            CHECK(same_str(again.source_algorithm, a.source_algorithm));
            CHECK(
                same_str(again.destination_algorithm, a.destination_algorithm));
        }
        kmsre_reencrypt_answer_clear(&again);
    }

    if (st == KMSRE_OK) {
        /* The answer's fields make a plausible request for the round trip
         * (borrowed: the request is not cleared). */
        memset(&req, 0, sizeof(req));
        req.source_key_id = a.source_key_id;
        req.source_algorithm = a.source_algorithm;
        req.destination_algorithm = a.destination_algorithm;
        round_trip(&req, a.ciphertext, a.ciphertext_len, a.key_id, seed);
    }
    kmsre_reencrypt_answer_clear(&a);
    CHECK(answer_is_empty(&a));
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
    struct kmsre_kms_error err;

    memset(&err, 0x55, sizeof(err));
    kmsre_kms_error_parse(status, header, body, len, &err);
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

/* An encryption context is sent when it was set, even empty: an object
 * with its pairs, in order, nothing else. */
static void check_member_context(struct json_object *o, const char *name,
                                 const struct kmsre_context *want, int *count)
{
    struct json_object *v;
    int present = json_object_object_get_ex(o, name, &v);
    size_t i = 0;

    CHECK(present == want->present);
    if (!present)
        return;
    (*count)++;
    CHECK(json_object_is_type(v, json_type_object));
    CHECK((size_t)json_object_object_length(v) == want->n);
    json_object_object_foreach(v, key, val)
    {
        CHECK(i < want->n && strcmp(key, want->pairs[i].key) == 0);
        CHECK(json_object_is_type(val, json_type_string));
        CHECK((size_t)json_object_get_string_len(val) ==
              strlen(want->pairs[i].value));
        CHECK(strcmp(json_object_get_string(val), want->pairs[i].value) == 0);
        i++;
    }
}

/* A list of strings, left out when empty. */
static void check_member_list(struct json_object *o, const char *name,
                              const char *const *want, size_t n, int *count)
{
    struct json_object *v, *s;
    int present = json_object_object_get_ex(o, name, &v);
    size_t i;

    CHECK(present == (n > 0));
    if (!present)
        return;
    (*count)++;
    CHECK(json_object_is_type(v, json_type_array));
    CHECK(json_object_array_length(v) == n);
    for (i = 0; i < n; i++) {
        s = json_object_array_get_idx(v, i);
        CHECK(json_object_is_type(s, json_type_string));
        CHECK((size_t)json_object_get_string_len(s) == strlen(want[i]));
        CHECK(strcmp(json_object_get_string(s), want[i]) == 0);
    }
}

/* The CiphertextBlob must decode to the bytes that went in: add a KeyId
 * and hand the request back to kmsre_reencrypt_decode as if it were an
 * answer (the other members have the same names in both). */
static void check_blob(struct json_object *o,
                       const struct kmsre_reencrypt_request *req,
                       const unsigned char *in, size_t inlen)
{
    struct kmsre_reencrypt_answer a;
    const char *text;
    size_t len;
    enum kmsre_status st;

    json_object_object_add(o, "KeyId", json_object_new_string("k"));
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    CHECK(text != NULL);
    st = parse_answer(text, len, &a);
    if (inlen == 0 || inlen > KMSRE_MAX_CIPHERTEXT) {
        CHECK(st == KMSRE_ERR_RESPONSE);
    } else {
        CHECK(st == KMSRE_OK);
        CHECK(a.ciphertext_len == inlen);
        CHECK(memcmp(a.ciphertext, in, inlen) == 0);
        CHECK(same_str(a.key_id, "k"));
        CHECK(same_str(a.source_key_id, req->source_key_id));
        CHECK(same_str(a.source_algorithm, req->source_algorithm));
        CHECK(same_str(a.destination_algorithm, req->destination_algorithm));
    }
    kmsre_reencrypt_answer_clear(&a);
}

static void round_trip(const struct kmsre_reencrypt_request *req,
                       const unsigned char *in, size_t inlen,
                       const char *destination_key_id, size_t seed)
{
    static const char *const ignore[] = {"IGNORE_CIPHERTEXT"};
    struct kmsre_reencrypt_request copy;
    struct json_object *o, *v;
    char *body = NULL, *body2 = NULL;
    size_t len = 0, len2 = 0, allocs;
    int count = 0;
    enum kmsre_status st;

    fuzz_alloc_reset(0);
    st =
        kmsre_reencrypt_encode(req, in, inlen, destination_key_id, &body, &len);
    allocs = fuzz_alloc_count;
    CHECK(st == KMSRE_OK && body != NULL);
    CHECK(body[len] == '\0' && strlen(body) == len);

    o = parse_whole(body, len);
    CHECK(o != NULL);
    if (json_object_object_get_ex(o, "CiphertextBlob", &v)) {
        CHECK(inlen > 0);
        CHECK(json_object_is_type(v, json_type_string));
        CHECK((size_t)json_object_get_string_len(v) == 4 * ((inlen + 2) / 3));
        count++;
    } else {
        CHECK(inlen == 0);
    }
    check_member_str(o, "SourceKeyId", req->source_key_id, &count);
    /* The argument, not the request's member, names the destination. */
    check_member_str(o, "DestinationKeyId", destination_key_id, &count);
    check_member_str(o, "SourceEncryptionAlgorithm", req->source_algorithm,
                     &count);
    check_member_str(o, "DestinationEncryptionAlgorithm",
                     req->destination_algorithm, &count);
    check_member_context(o, "SourceEncryptionContext", &req->source_context,
                         &count);
    check_member_context(o, "DestinationEncryptionContext",
                         &req->destination_context, &count);
    check_member_list(o, "GrantTokens",
                      (const char *const *)req->grant_tokens.tokens,
                      req->grant_tokens.n, &count);
    check_member_list(o, "DryRunModifiers", ignore,
                      req->ignore_ciphertext ? 1 : 0, &count);
    if (json_object_object_get_ex(o, "DryRun", &v)) {
        CHECK(req->dry_run);
        CHECK(json_object_is_type(v, json_type_boolean) &&
              json_object_get_boolean(v));
        count++;
    } else {
        CHECK(!req->dry_run);
    }
    CHECK(json_object_object_length(o) == count); /* nothing else, no nulls */
    check_blob(o, req, in, inlen);
    json_object_put(o);

    /* A copy of the request (what dupctx makes) says the same. */
    fuzz_alloc_reset(0);
    if (kmsre_reencrypt_request_copy(&copy, req) == KMSRE_OK) {
        CHECK(kmsre_reencrypt_encode(&copy, in, inlen, destination_key_id,
                                     &body2, &len2) == KMSRE_OK);
        CHECK(len2 == len && memcmp(body2, body, len + 1) == 0);
        OPENSSL_clear_free(body2, len2 + 1);
        kmsre_reencrypt_request_clear(&copy);
    }
    OPENSSL_clear_free(body, len + 1);

    /* Again with one of encode's OpenSSL allocations failing. */
    if (allocs > 0 && fuzz_alloc_reset(1 + seed % allocs)) {
        body = NULL;
        st = kmsre_reencrypt_encode(req, in, inlen, destination_key_id, &body,
                                    &len);
        CHECK(st == KMSRE_OK || st == KMSRE_ERR_NOMEM);
        CHECK(st != KMSRE_OK || !fuzz_alloc_failed());
        CHECK((st == KMSRE_OK) == (body != NULL));
        fuzz_alloc_reset(0);
        if (body != NULL)
            OPENSSL_clear_free(body, len + 1);
    }
    /* And the copy, with one of its allocations failing. */
    fuzz_alloc_reset(0);
    if (kmsre_reencrypt_request_copy(&copy, req) == KMSRE_OK) {
        allocs = fuzz_alloc_count;
        kmsre_reencrypt_request_clear(&copy);
        if (allocs > 0 && fuzz_alloc_reset(1 + (seed >> 8) % allocs)) {
            st = kmsre_reencrypt_request_copy(&copy, req);
            fuzz_alloc_reset(0);
            CHECK(st == KMSRE_ERR_NOMEM);
        }
    }
    fuzz_alloc_reset(0);
}

/* Input split at its first nine '\n' (an empty field is left out):
 *   0 flags: bit 0 of the first byte sets DryRun
 *   1 SourceKeyId            2 DestinationKeyId (encode's argument)
 *   3 SourceEncryptionAlgorithm   4 DestinationEncryptionAlgorithm
 *   5 SourceEncryptionContext, 6 DestinationEncryptionContext: JSON or
 *     shorthand, through kmsre_context_parse (left out if it fails)
 *   7 GrantTokens through kmsre_grant_tokens_append (none if it fails)
 *   8 DryRunModifiers: any text sets IGNORE_CIPHERTEXT
 *   9 the rest: CiphertextBlob bytes */
#define NFIELDS 9

static void fuzz_request(const uint8_t *data, size_t size, size_t seed)
{
    char *field[NFIELDS] = {0};
    char req_destination[] = "fuzz:request-destination";
    const uint8_t *p = data, *end = data + size, *nl;
    struct kmsre_reencrypt_request req;
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
    /* encode takes the destination as an argument; this one must not show */
    req.destination_key_id = req_destination;
    req.source_algorithm = field[3];
    req.destination_algorithm = field[4];
    if (field[5] != NULL)
        (void)kmsre_context_parse(field[5], strlen(field[5]),
                                  &req.source_context, NULL);
    if (field[6] != NULL)
        (void)kmsre_context_parse(field[6], strlen(field[6]),
                                  &req.destination_context, NULL);
    if (field[7] != NULL)
        (void)kmsre_grant_tokens_append(&req.grant_tokens, field[7],
                                        strlen(field[7]), NULL);
    req.ignore_ciphertext = field[8] != NULL;
    round_trip(&req, p < end ? p : NULL, p < end ? (size_t)(end - p) : 0,
               field[2], seed);
    kmsre_context_clear(&req.source_context);
    kmsre_context_clear(&req.destination_context);
    kmsre_grant_tokens_clear(&req.grant_tokens);
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
