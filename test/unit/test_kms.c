/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the KMS request/response codec, the shared-file reader and
 * endpoint resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/endpoint.h"
#include "aws/ini.h"
#include "kms/kms_reencrypt.h"

static int passed, failed;

static void check(int cond, const char *what)
{
    if (cond) {
        passed++;
        printf("ok - %s\n", what);
    } else {
        failed++;
        printf("not ok - %s\n", what);
    }
}

static int parses(const char *body, struct kms_reencrypt_resp *r)
{
    char why[256];

    return kms_reencrypt_parse(body, strlen(body), r, why, sizeof(why)) ==
           KMSRE_OK;
}

static void test_response(void)
{
    struct kms_reencrypt_resp r;

    check(parses("{\"CiphertextBlob\":\"AQIDBA==\",\"KeyId\":\"arn:k\","
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
    kms_reencrypt_resp_clear(&r);
    check(parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"}", &r) &&
              r.ciphertext_len == 2 && r.source_key_id == NULL,
          "response: padding decoded, optional members absent");
    kms_reencrypt_resp_clear(&r);
    check(!parses("{\"KeyId\":\"k\"}", &r), "response: no CiphertextBlob");
    check(!parses("{\"CiphertextBlob\":\"AQ\",\"KeyId\":\"k\"}", &r),
          "response: base64 of bad length");
    check(!parses("{\"CiphertextBlob\":\"A*==\",\"KeyId\":\"k\"}", &r),
          "response: not base64");
    check(!parses("{\"CiphertextBlob\":5,\"KeyId\":\"k\"}", &r),
          "response: wrong type");
    check(!parses("{\"CiphertextBlob\":\"AQI=\"}", &r), "response: no KeyId");
    check(!parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"} x", &r),
          "response: trailing garbage");
    check(!parses("[1]", &r), "response: not an object");
    check(!parses("<html>", &r), "response: not JSON");
    check(!parses("{\"CiphertextBlob\":\"AQI=\",\"KeyId\":\"k\"", &r),
          "response: truncated");
}

static void test_errors(void)
{
    struct kms_error e;
    const char *b = "{\"__type\":\"com.amazonaws.kms#NotFoundException\","
                    "\"message\":\"Key 'x' does not exist\"}";

    kms_error_parse(400, NULL, b, strlen(b), &e);
    check(strcmp(e.type, "NotFoundException") == 0 &&
              strcmp(e.message, "Key 'x' does not exist") == 0 &&
              e.http_status == 400,
          "error: namespace stripped, message kept");
    b = "{\"__type\":\"ThrottlingException:http://internal\","
        "\"Message\":\"slow\\ndown\"}";
    kms_error_parse(400, NULL, b, strlen(b), &e);
    check(strcmp(e.type, "ThrottlingException") == 0 &&
              strcmp(e.message, "slow down") == 0,
          "error: suffix stripped, Message spelling, control chars removed");
    b = "{\"__type\":\"a#b#CodeX:extra#y\"}";
    kms_error_parse(400, NULL, b, strlen(b), &e);
    check(strcmp(e.type, "CodeX") == 0,
          "error: cut at the first ':', then after the last '#'");
    kms_error_parse(403, "AccessDeniedException", "{}", 2, &e);
    check(strcmp(e.type, "AccessDeniedException") == 0,
          "error: X-Amzn-ErrorType header wins");
    kms_error_parse(502, NULL, "Bad Gateway", 11, &e);
    check(e.type[0] == '\0' && strcmp(e.message, "Bad Gateway") == 0,
          "error: non-JSON body kept as message");
}

static void test_request(void)
{
    struct json_object *ctx = json_object_new_object();
    unsigned char blob[] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct kms_reencrypt_req req = {0};
    char *body = NULL;
    size_t len = 0;

    json_object_object_add(ctx, "purpose", json_object_new_string("test"));
    req.ciphertext = blob;
    req.ciphertext_len = sizeof(blob);
    req.source_key_id = "arn:aws:kms:us-east-1:111122223333:key/"
                        "1234abcd-12ab-34cd-56ef-1234567890ab";
    req.destination_key_id = "alias/ExampleAlias";
    req.destination_context = ctx;
    check(kms_reencrypt_build(&req, &body, &len) == KMSRE_OK &&
              strcmp(body,
                     "{\"CiphertextBlob\":\"AQIDBAUGBwg=\",\"SourceKeyId\":"
                     "\"arn:aws:kms:us-east-1:111122223333:key/"
                     "1234abcd-12ab-34cd-56ef-1234567890ab\","
                     "\"DestinationKeyId\":\"alias/ExampleAlias\","
                     "\"DestinationEncryptionContext\":{\"purpose\":"
                     "\"test\"}}") == 0 &&
              len == strlen(body),
          "request: the worked example's body, byte for byte");
    OPENSSL_free(body);
    req.dry_run = 1;
    check(kms_reencrypt_build(&req, &body, &len) == KMSRE_OK &&
              strstr(body, "\"DryRun\":true") != NULL,
          "request: DryRun");
    OPENSSL_free(body);
    json_object_put(ctx);
}

static void test_ini(void)
{
    const char *text = "[default]\nregion = eu-west-1 \n# c\n"
                       "[profile dev]\naws_access_key_id=AKID\n"
                       "s3 =\n  max_concurrent_requests = 2\n"
                       "region=us-east-2\nbroken line\n[bad\nx=y\n";
    struct aws_ini ini;
    const char *v;

    check(aws_ini_parse(text, strlen(text), &ini) == KMSRE_OK, "ini: parses");
    v = aws_ini_get(&ini, "default", "region");
    check(v != NULL && strcmp(v, "eu-west-1") == 0, "ini: value trimmed");
    v = aws_ini_get(&ini, "profile dev", "s3.max_concurrent_requests");
    check(v != NULL && strcmp(v, "2") == 0, "ini: nested key");
    v = aws_ini_get(&ini, "profile dev", "region");
    check(v != NULL && strcmp(v, "us-east-2") == 0, "ini: after nested");
    check(aws_ini_get(&ini, "bad", "x") == NULL,
          "ini: keys under a broken section header are dropped");
    aws_ini_clear(&ini);
}

static void test_endpoint(void)
{
    struct aws_endpoint ep;
    char why[256];

    check(aws_endpoint_parse("https://localhost:4443", &ep, why, sizeof(why)) ==
                  KMSRE_OK &&
              strcmp(ep.host, "localhost:4443") == 0 &&
              strcmp(ep.path, "/") == 0 &&
              strcmp(ep.url, "https://localhost:4443/") == 0,
          "endpoint: port kept in Host");
    check(aws_endpoint_parse("https://kms.eu-west-1.amazonaws.com:443/", &ep,
                             why, sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "kms.eu-west-1.amazonaws.com") == 0,
          "endpoint: default port left out of Host");
    check(aws_endpoint_parse("http://[::1]:8080/kms", &ep, why, sizeof(why)) ==
                  KMSRE_OK &&
              ep.is_http && strcmp(ep.host, "[::1]:8080") == 0 &&
              strcmp(ep.path, "/kms") == 0,
          "endpoint: IPv6, http, path");
    check(aws_endpoint_parse("https://a b", &ep, why, sizeof(why)) != KMSRE_OK,
          "endpoint: space refused");
    check(aws_endpoint_parse("https://h\r\nX: y", &ep, why, sizeof(why)) !=
              KMSRE_OK,
          "endpoint: header injection refused");
    check(aws_endpoint_parse("https://user@h", &ep, why, sizeof(why)) !=
              KMSRE_OK,
          "endpoint: user info refused");
    check(aws_endpoint_parse("https://h:99999", &ep, why, sizeof(why)) !=
              KMSRE_OK,
          "endpoint: bad port refused");
    check(aws_endpoint_parse("https://h:\t4", &ep, why, sizeof(why)) !=
                  KMSRE_OK &&
              aws_endpoint_parse("https://h:+4", &ep, why, sizeof(why)) !=
                  KMSRE_OK,
          "endpoint: port is digits only");
    check(aws_endpoint_parse("https://h/?a=b", &ep, why, sizeof(why)) !=
              KMSRE_OK,
          "endpoint: query refused");
    check(aws_endpoint_parse("ftp://h", &ep, why, sizeof(why)) != KMSRE_OK,
          "endpoint: other schemes refused");
    check(aws_endpoint_parse("https://a[b]c", &ep, why, sizeof(why)) !=
                  KMSRE_OK &&
              aws_endpoint_parse("https://[]", &ep, why, sizeof(why)) !=
                  KMSRE_OK &&
              aws_endpoint_parse("https://]:5", &ep, why, sizeof(why)) !=
                  KMSRE_OK &&
              aws_endpoint_parse("https://[x]", &ep, why, sizeof(why)) !=
                  KMSRE_OK,
          "endpoint: brackets only around an IPv6 address");
}

static void test_partitions(void)
{
    struct aws_shared_config sc = {{0}, {0}};
    struct aws_endpoint ep;
    char why[256];

    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_KMS");
    check(aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", NULL, &sc,
                               "default", "cn-north-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "kms.cn-north-1.amazonaws.com.cn") == 0,
          "endpoint: China partition");
    check(aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", NULL, &sc,
                               "default", "us-gov-west-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.url, "https://kms.us-gov-west-1.amazonaws.com/") == 0,
          "endpoint: GovCloud");
    setenv("AWS_ENDPOINT_URL", "https://generic:1", 1);
    setenv("AWS_ENDPOINT_URL_KMS", "https://kms-only:2", 1);
    check(aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", NULL, &sc,
                               "default", "us-east-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "kms-only:2") == 0,
          "endpoint: AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL");
    check(aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", "https://cnf:3",
                               &sc, "default", "us-east-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "cnf:3") == 0,
          "endpoint: configuration over the environment");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_KMS");
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    check(aws_endpoint_resolve("kms", "AWS_ENDPOINT_URL_KMS", NULL, &sc,
                               "default", "us-gov-west-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "kms-fips.us-gov-west-1.amazonaws.com") == 0,
          "endpoint: FIPS");
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
    check(aws_endpoint_resolve("sts", "AWS_ENDPOINT_URL_STS", NULL, &sc,
                               "default", "eu-west-1", &ep, why,
                               sizeof(why)) == KMSRE_OK &&
              strcmp(ep.host, "sts.eu-west-1.api.aws") == 0,
          "endpoint: dual-stack, another service");
    unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

int main(void)
{
    test_response();
    test_errors();
    test_request();
    test_ini();
    test_endpoint();
    test_partitions();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
