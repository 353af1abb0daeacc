/* SPDX-License-Identifier: Apache-2.0 */
/* The ReEncrypt codec: the request body byte for byte, the answer and the
 * error document as botocore reads them, and the limits against the KMS
 * API model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "kms/key_ref.h"
#include "kms/reencrypt.h"
#include "kmsreencrypt.h"
#include "test.h"

static int parses(const char *body, struct kmsre_reencrypt_answer *r)
{
    return kmsre_reencrypt_decode(body, strlen(body), r, NULL) == KMSRE_OK;
}

static void test_response(void)
{
    struct kmsre_reencrypt_answer r;

    test_check(
        parses("{\"CiphertextBlob\":\"AQIDBA==\",\"KeyId\":\"arn:k\","
               "\"SourceKeyId\":\"arn:s\",\"SourceEncryptionAlgorithm\":"
               "\"SYMMETRIC_DEFAULT\",\"DestinationEncryptionAlgorithm\":"
               "\"RSAES_OAEP_SHA_1\",\"SourceKeyMaterialId\":\"ab\","
               "\"Future\":{\"x\":[1]}}",
               &r) &&
            r.ciphertext_len == 4 && r.ciphertext[3] == 4 &&
            strcmp(r.key_id, "arn:k") == 0 &&
            strcmp(r.source_key_id, "arn:s") == 0 &&
            strcmp(r.destination_algorithm, "RSAES_OAEP_SHA_1") == 0,
        "response: all members, unknown ones ignored");
    kmsre_reencrypt_answer_clear(&r);
    test_check(parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"}", &r) &&
                   r.ciphertext_len == 2 && r.source_key_id == NULL,
               "response: padding decoded, optional members absent");
    kmsre_reencrypt_answer_clear(&r);
    test_check(!parses("{\"KeyId\":\"k\"}", &r), "response: no CiphertextBlob");
    test_check(!parses("{\"CiphertextBlob\":\"AQ\",\"KeyId\":\"k\"}", &r),
               "response: base64 of bad length");
    test_check(!parses("{\"CiphertextBlob\":\"A*==\",\"KeyId\":\"k\"}", &r),
               "response: not base64");
    test_check(!parses("{\"CiphertextBlob\":5,\"KeyId\":\"k\"}", &r),
               "response: wrong type");
    test_check(!parses("{\"CiphertextBlob\":\"AQI=\"}", &r),
               "response: no KeyId");
    test_check(!parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"} x", &r),
               "response: trailing garbage");
    test_check(!parses("[1]", &r), "response: not an object");
    test_check(!parses("<html>", &r), "response: not JSON");
    test_check(!parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"", &r),
               "response: truncated");
}

static void test_errors(void)
{
    struct kmsre_kms_error e;
    const char *b = "{\"__type\":\"com.amazonaws.kms#NotFoundException\","
                    "\"message\":\"Key 'x' does not exist\"}";

    kmsre_kms_error_parse(400, NULL, b, strlen(b), &e);
    test_check(strcmp(e.type, "NotFoundException") == 0 &&
                   strcmp(e.message, "Key 'x' does not exist") == 0 &&
                   e.http_status == 400,
               "error: namespace stripped, message kept");
    b = "{\"__type\":\"ThrottlingException:http://internal\","
        "\"Message\":\"slow\\ndown\"}";
    kmsre_kms_error_parse(400, NULL, b, strlen(b), &e);
    test_check(
        strcmp(e.type, "ThrottlingException") == 0 &&
            strcmp(e.message, "slow down") == 0,
        "error: suffix stripped, Message spelling, control chars removed");
    b = "{\"__type\":\"a#b#CodeX:extra#y\"}";
    kmsre_kms_error_parse(400, NULL, b, strlen(b), &e);
    test_check(strcmp(e.type, "CodeX") == 0,
               "error: cut at the first ':', then after the last '#'");
    kmsre_kms_error_parse(403, "AccessDeniedException", "{}", 2, &e);
    test_check(strcmp(e.type, "AccessDeniedException") == 0,
               "error: X-Amzn-ErrorType header wins");
    kmsre_kms_error_parse(502, NULL, "Bad Gateway", 11, &e);
    test_check(e.type[0] == '\0' && strcmp(e.message, "Bad Gateway") == 0,
               "error: non-JSON body kept as message");
}

static void test_request(void)
{
    unsigned char blob[] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct kmsre_reencrypt_request req = {0};
    char *body = NULL;
    size_t len = 0;

    kmsre_context_parse("purpose=test", 12, &req.destination_context, NULL);
    req.source_key_id = OPENSSL_strdup("arn:aws:kms:us-east-1:111122223333:"
                                       "key/1234abcd-12ab-34cd-56ef-"
                                       "1234567890ab");
    test_check(
        kmsre_reencrypt_encode(&req, blob, sizeof(blob), "alias/ExampleAlias",
                               &body, &len) == KMSRE_OK &&
            strcmp(body, "{\"CiphertextBlob\":\"AQIDBAUGBwg=\",\"SourceKeyId\":"
                         "\"arn:aws:kms:us-east-1:111122223333:key/"
                         "1234abcd-12ab-34cd-56ef-1234567890ab\","
                         "\"DestinationKeyId\":\"alias/ExampleAlias\","
                         "\"DestinationEncryptionContext\":{\"purpose\":"
                         "\"test\"}}") == 0 &&
            len == strlen(body),
        "request: the worked example's body, byte for byte");
    OPENSSL_free(body);
    req.dry_run = 1;
    req.ignore_ciphertext = 1;
    kmsre_grant_tokens_append(&req.grant_tokens, "g1,g2", 5, NULL);
    kmsre_context_parse("{}", 2, &req.source_context, NULL);
    test_check(
        kmsre_reencrypt_encode(&req, NULL, 0, "k", &body, &len) == KMSRE_OK &&
            strstr(body, "\"DryRun\":true") != NULL &&
            strstr(body, "\"DryRunModifiers\":[\"IGNORE_CIPHERTEXT\"]") !=
                NULL &&
            strstr(body, "\"GrantTokens\":[\"g1\",\"g2\"]") != NULL &&
            strstr(body, "\"SourceEncryptionContext\":{}") != NULL &&
            strstr(body, "CiphertextBlob") == NULL,
        "request: DryRun, modifiers, grant tokens, an empty context "
        "that was set, no blob");
    OPENSSL_free(body);
    kmsre_reencrypt_request_clear(&req);
}

/* The constants and the algorithm list, against the KMS API model
 * (botocore's service-2.json, vendored in test/vectors). */
static struct json_object *shape(struct json_object *model, const char *name)
{
    struct json_object *shapes, *s = NULL;

    json_object_object_get_ex(model, "shapes", &shapes);
    json_object_object_get_ex(shapes, name, &s);
    return s;
}

static long shape_max(struct json_object *model, const char *name)
{
    struct json_object *max;

    return json_object_object_get_ex(shape(model, name), "max", &max)
               ? (long)json_object_get_int64(max)
               : -1;
}

static void test_model(const char *path)
{
    struct json_object *model = json_object_from_file(path), *e = NULL;
    size_t i, n;
    int all = 1;

    if (!test_check(model != NULL, "the KMS API model reads (%s)", path))
        return;
    test_check(shape_max(model, "CiphertextType") == KMSRE_MAX_CIPHERTEXT,
               "CiphertextType max is KMSRE_MAX_CIPHERTEXT (%d)",
               KMSRE_MAX_CIPHERTEXT);
    test_check(shape_max(model, "GrantTokenList") == KMSRE_MAX_GRANT_TOKENS,
               "GrantTokenList max is %d", KMSRE_MAX_GRANT_TOKENS);
    test_check(shape_max(model, "GrantTokenType") == KMSRE_MAX_GRANT_TOKEN_LEN,
               "GrantTokenType max is %d", KMSRE_MAX_GRANT_TOKEN_LEN);
    test_check(shape_max(model, "KeyIdType") == KMSRE_MAX_KEY_ID_LEN,
               "KeyIdType max is %d", KMSRE_MAX_KEY_ID_LEN);
    json_object_object_get_ex(shape(model, "EncryptionAlgorithmSpec"), "enum",
                              &e);
    n = e != NULL ? json_object_array_length(e) : 0;
    for (i = 0; i < n; i++)
        all &= kmsre_algorithm_is_known(
            json_object_get_string(json_object_array_get_idx(e, i)));
    test_check(n > 0 && all && !kmsre_algorithm_is_known("AES_999"),
               "every EncryptionAlgorithmSpec of the model is known (%zu)", n);
    json_object_put(model);
}

int main(int argc, char **argv)
{
    test_response();
    test_errors();
    test_request();
    if (argc > 1)
        test_model(argv[1]);
    return test_summary();
}
