/* SPDX-License-Identifier: Apache-2.0 */
/* ReEncrypt request serialisation, answer and error-document parsing. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "kms/kms_reencrypt.h"

static const char *const known_algorithms[] = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};

int kms_algorithm_is_known(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(known_algorithms) / sizeof(known_algorithms[0]); i++)
        if (strcmp(name, known_algorithms[i]) == 0)
            return 1;
    return 0;
}

/* Standard base64 with padding, no line breaks, as KMS blobs travel. */
static char *base64_encode(const unsigned char *in, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;
    char *out;

    if (len > (size_t)(INT_MAX / 2))
        return NULL;
    out = OPENSSL_malloc(outlen);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

static enum kmsre_status base64_decode(const char *in, size_t len,
                                       unsigned char **out, size_t *outlen)
{
    unsigned char *buf;
    size_t pad = 0;
    int n;

    if (len == 0 || len % 4 != 0 || len > (size_t)(INT_MAX / 2))
        return KMSRE_ERR_RESPONSE;
    buf = OPENSSL_malloc(len / 4 * 3 + 1);
    if (buf == NULL)
        return KMSRE_ERR_NOMEM;
    /* EVP_DecodeBlock keeps the zero bytes that padding stands for. */
    n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0) {
        OPENSSL_free(buf);
        return KMSRE_ERR_RESPONSE;
    }
    if (in[len - 1] == '=')
        pad++;
    if (in[len - 2] == '=')
        pad++;
    *out = buf;
    *outlen = (size_t)n - pad;
    return KMSRE_OK;
}

static int add_string(struct json_object *o, const char *name, const char *v)
{
    struct json_object *s;

    if (v == NULL)
        return 1;
    s = json_object_new_string(v);
    return s != NULL && json_object_object_add(o, name, s) == 0;
}

/* Adds a borrowed json-c value under name (a new reference). */
static int add_borrowed(struct json_object *o, const char *name,
                        struct json_object *v)
{
    if (v == NULL)
        return 1;
    if (json_object_object_add(o, name, json_object_get(v)) != 0) {
        json_object_put(v);
        return 0;
    }
    return 1;
}

static int add_ciphertext(struct json_object *o,
                          const struct kms_reencrypt_req *req)
{
    struct json_object *s;
    char *b64;

    if (req->ciphertext == NULL || req->ciphertext_len == 0)
        return 1;
    b64 = base64_encode(req->ciphertext, req->ciphertext_len);
    if (b64 == NULL)
        return 0;
    s = json_object_new_string(b64);
    OPENSSL_free(b64);
    return s != NULL && json_object_object_add(o, "CiphertextBlob", s) == 0;
}

static int fill_request(struct json_object *o,
                        const struct kms_reencrypt_req *req)
{
    return add_ciphertext(o, req) &&
           add_borrowed(o, "SourceEncryptionContext", req->source_context) &&
           add_string(o, "SourceKeyId", req->source_key_id) &&
           add_string(o, "DestinationKeyId", req->destination_key_id) &&
           add_borrowed(o, "DestinationEncryptionContext",
                        req->destination_context) &&
           add_string(o, "SourceEncryptionAlgorithm", req->source_algorithm) &&
           add_string(o, "DestinationEncryptionAlgorithm",
                      req->destination_algorithm) &&
           add_borrowed(o, "GrantTokens", req->grant_tokens) &&
           (!req->dry_run ||
            json_object_object_add(o, "DryRun", json_object_new_boolean(1)) ==
                0) &&
           add_borrowed(o, "DryRunModifiers", req->dry_run_modifiers);
}

enum kmsre_status kms_reencrypt_build(const struct kms_reencrypt_req *req,
                                      char **body, size_t *body_len)
{
    struct json_object *o = json_object_new_object();
    enum kmsre_status st = KMSRE_ERR_NOMEM;
    const char *text;
    size_t len;

    if (o != NULL && fill_request(o, req)) {
        text = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (text != NULL && (*body = OPENSSL_memdup(text, len + 1)) != NULL) {
            *body_len = len;
            st = KMSRE_OK;
        }
    }
    json_object_put(o); /* json-c's copy of the text dies with it */
    return st;
}

static enum kmsre_status take_string(struct json_object *o, const char *name,
                                     char **out, int required, char *why,
                                     size_t whylen)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, name, &v) ||
        json_object_is_type(v, json_type_null)) {
        if (required)
            snprintf(why, whylen, "answer has no %s", name);
        return required ? KMSRE_ERR_RESPONSE : KMSRE_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(why, whylen, "%s in the answer is not a string", name);
        return KMSRE_ERR_RESPONSE;
    }
    *out = OPENSSL_strdup(json_object_get_string(v));
    return *out == NULL ? KMSRE_ERR_NOMEM : KMSRE_OK;
}

static enum kmsre_status take_blob(struct json_object *o,
                                   struct kms_reencrypt_resp *resp, char *why,
                                   size_t whylen)
{
    struct json_object *v;
    enum kmsre_status st;

    if (!json_object_object_get_ex(o, "CiphertextBlob", &v) ||
        !json_object_is_type(v, json_type_string)) {
        snprintf(why, whylen, "answer has no CiphertextBlob string");
        return KMSRE_ERR_RESPONSE;
    }
    st = base64_decode(json_object_get_string(v),
                       (size_t)json_object_get_string_len(v), &resp->ciphertext,
                       &resp->ciphertext_len);
    if (st == KMSRE_ERR_RESPONSE)
        snprintf(why, whylen, "CiphertextBlob in the answer is not base64");
    else if (st == KMSRE_OK && (resp->ciphertext_len == 0 ||
                                resp->ciphertext_len > KMS_MAX_CIPHERTEXT)) {
        snprintf(why, whylen, "CiphertextBlob in the answer has %zu bytes",
                 resp->ciphertext_len);
        st = KMSRE_ERR_RESPONSE;
    }
    return st;
}

static struct json_object *parse_object(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = NULL;

    if (tok == NULL || len > (size_t)INT_MAX)
        goto end;
    o = json_tokener_parse_ex(tok, body, (int)len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != len ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
end:
    json_tokener_free(tok);
    return o;
}

enum kmsre_status kms_reencrypt_parse(const char *body, size_t len,
                                      struct kms_reencrypt_resp *resp,
                                      char *why, size_t whylen)
{
    struct json_object *o = parse_object(body, len);
    enum kmsre_status st;

    memset(resp, 0, sizeof(*resp));
    if (o == NULL) {
        snprintf(why, whylen, "answer is not a JSON object");
        return KMSRE_ERR_RESPONSE;
    }
    st = take_blob(o, resp, why, whylen);
    if (st == KMSRE_OK)
        st = take_string(o, "KeyId", &resp->key_id, 1, why, whylen);
    if (st == KMSRE_OK)
        st =
            take_string(o, "SourceKeyId", &resp->source_key_id, 0, why, whylen);
    if (st == KMSRE_OK)
        st = take_string(o, "SourceEncryptionAlgorithm",
                         &resp->source_algorithm, 0, why, whylen);
    if (st == KMSRE_OK)
        st = take_string(o, "DestinationEncryptionAlgorithm",
                         &resp->destination_algorithm, 0, why, whylen);
    json_object_put(o);
    if (st != KMSRE_OK)
        kms_reencrypt_resp_clear(resp);
    return st;
}

void kms_reencrypt_resp_clear(struct kms_reencrypt_resp *resp)
{
    OPENSSL_free(resp->ciphertext);
    OPENSSL_free(resp->source_key_id);
    OPENSSL_free(resp->key_id);
    OPENSSL_free(resp->source_algorithm);
    OPENSSL_free(resp->destination_algorithm);
    memset(resp, 0, sizeof(*resp));
}

/* "com.amazonaws.kms#NotFoundException:http://..." -> "NotFoundException",
 * as botocore and smithy-rs sanitise error codes: cut at the first ':',
 * then keep what follows the last '#'. */
static void sanitize_error_type(const char *in, char *out, size_t outlen)
{
    size_t n = strcspn(in, ":"), i;

    for (i = n; i > 0; i--)
        if (in[i - 1] == '#') {
            in += i;
            n -= i;
            break;
        }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* Copies text, replacing control characters so nothing a server sends can
 * forge extra lines in a log or the error queue. */
static void copy_printable(char *dst, size_t dstlen, const char *src,
                           size_t len)
{
    size_t i;

    if (len >= dstlen)
        len = dstlen - 1;
    for (i = 0; i < len; i++)
        dst[i] =
            ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
    dst[len] = '\0';
}

static const char *member_string(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (o != NULL && json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

void kms_error_parse(long status, const char *header_type, const char *body,
                     size_t len, struct kms_error *err)
{
    struct json_object *o = body != NULL ? parse_object(body, len) : NULL;
    const char *type = NULL, *msg;

    err->http_status = status;
    err->type[0] = err->message[0] = '\0';
    if (header_type != NULL && *header_type != '\0')
        type = header_type;
    if (type == NULL)
        type = member_string(o, "code");
    if (type == NULL)
        type = member_string(o, "__type");
    if (type != NULL) {
        char clean[sizeof(err->type)];

        sanitize_error_type(type, clean, sizeof(clean));
        copy_printable(err->type, sizeof(err->type), clean, strlen(clean));
    }
    msg = member_string(o, "message");
    if (msg == NULL)
        msg = member_string(o, "Message");
    if (msg != NULL)
        copy_printable(err->message, sizeof(err->message), msg, strlen(msg));
    else if (o == NULL && body != NULL)
        copy_printable(err->message, sizeof(err->message), body, len);
    json_object_put(o);
}
