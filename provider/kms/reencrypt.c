/* SPDX-License-Identifier: Apache-2.0 */
/* ReEncrypt request serialisation, answer and error-document parsing. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "base/text.h"
#include "kms/reencrypt.h"
#include "kmsreencrypt.h"

static const char *const known_algorithms[] = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};

int kmsre_algorithm_is_known(const char *name)
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
    if (s != NULL && json_object_object_add(o, name, s) == 0)
        return 1;
    json_object_put(s);
    return 0;
}

static int add_member(struct json_object *o, const char *name,
                      struct json_object *v)
{
    if (v != NULL && json_object_object_add(o, name, v) == 0)
        return 1;
    json_object_put(v);
    return 0;
}

static int add_context(struct json_object *o, const char *name,
                       const struct kmsre_context *ctx)
{
    struct json_object *map;
    size_t i;

    if (!ctx->present)
        return 1;
    map = json_object_new_object();
    for (i = 0; map != NULL && i < ctx->n; i++)
        if (!add_string(map, ctx->pairs[i].key, ctx->pairs[i].value)) {
            json_object_put(map);
            map = NULL;
        }
    return add_member(o, name, map);
}

static int add_string_list(struct json_object *o, const char *name,
                           const char *const *items, size_t n)
{
    struct json_object *arr, *s;
    size_t i;

    if (n == 0)
        return 1;
    arr = json_object_new_array();
    for (i = 0; arr != NULL && i < n; i++) {
        s = json_object_new_string(items[i]);
        if (s == NULL || json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            json_object_put(arr);
            arr = NULL;
        }
    }
    return add_member(o, name, arr);
}

static int add_ciphertext(struct json_object *o, const unsigned char *in,
                          size_t inlen)
{
    struct json_object *s;
    char *b64;

    if (inlen == 0)
        return 1;
    b64 = base64_encode(in, inlen);
    if (b64 == NULL)
        return 0;
    s = json_object_new_string(b64);
    OPENSSL_free(b64);
    return add_member(o, "CiphertextBlob", s);
}

static int fill_request(struct json_object *o,
                        const struct kmsre_reencrypt_request *req,
                        const unsigned char *in, size_t inlen,
                        const char *destination_key_id)
{
    static const char *const ignore[] = {"IGNORE_CIPHERTEXT"};

    return add_ciphertext(o, in, inlen) &&
           add_context(o, "SourceEncryptionContext", &req->source_context) &&
           add_string(o, "SourceKeyId", req->source_key_id) &&
           add_string(o, "DestinationKeyId", destination_key_id) &&
           add_context(o, "DestinationEncryptionContext",
                       &req->destination_context) &&
           add_string(o, "SourceEncryptionAlgorithm", req->source_algorithm) &&
           add_string(o, "DestinationEncryptionAlgorithm",
                      req->destination_algorithm) &&
           add_string_list(o, "GrantTokens",
                           (const char *const *)req->grant_tokens.tokens,
                           req->grant_tokens.n) &&
           (!req->dry_run ||
            add_member(o, "DryRun", json_object_new_boolean(1))) &&
           (!req->ignore_ciphertext ||
            add_string_list(o, "DryRunModifiers", ignore, 1));
}

enum kmsre_status kmsre_reencrypt_encode(
    const struct kmsre_reencrypt_request *req, const unsigned char *in,
    size_t inlen, const char *destination_key_id, char **body, size_t *body_len)
{
    struct json_object *o = json_object_new_object();
    enum kmsre_status st = KMSRE_ERR_NOMEM;
    const char *text;
    size_t len;

    if (o != NULL && fill_request(o, req, in, inlen, destination_key_id)) {
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
                                     char **out, int required,
                                     struct kmsre_err *err)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, name, &v) ||
        json_object_is_type(v, json_type_null))
        return required ? kmsre_fail(err, KMSRE_ERR_RESPONSE,
                                     "answer has no %s", name)
                        : KMSRE_OK;
    if (!json_object_is_type(v, json_type_string))
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "%s in the answer is not a string", name);
    *out = OPENSSL_strdup(json_object_get_string(v));
    return *out == NULL ? kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory")
                        : KMSRE_OK;
}

static enum kmsre_status take_blob(struct json_object *o,
                                   struct kmsre_reencrypt_answer *a,
                                   struct kmsre_err *err)
{
    struct json_object *v;
    enum kmsre_status st;

    if (!json_object_object_get_ex(o, "CiphertextBlob", &v) ||
        !json_object_is_type(v, json_type_string))
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "answer has no CiphertextBlob string");
    st = base64_decode(json_object_get_string(v),
                       (size_t)json_object_get_string_len(v), &a->ciphertext,
                       &a->ciphertext_len);
    if (st == KMSRE_ERR_RESPONSE)
        return kmsre_fail(err, st,
                          "CiphertextBlob in the answer is not base64");
    if (st == KMSRE_OK &&
        (a->ciphertext_len == 0 || a->ciphertext_len > KMSRE_MAX_CIPHERTEXT))
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "CiphertextBlob in the answer has %zu bytes",
                          a->ciphertext_len);
    return st == KMSRE_ERR_NOMEM ? kmsre_fail(err, st, "out of memory") : st;
}

static struct json_object *parse_object(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = NULL;

    if (tok == NULL || body == NULL || len > (size_t)INT_MAX)
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

enum kmsre_status kmsre_reencrypt_decode(const char *body, size_t len,
                                         struct kmsre_reencrypt_answer *a,
                                         struct kmsre_err *err)
{
    struct json_object *o = parse_object(body, len);
    enum kmsre_status st;

    memset(a, 0, sizeof(*a));
    if (o == NULL)
        return kmsre_fail(err, KMSRE_ERR_RESPONSE,
                          "answer is not a JSON object");
    st = take_blob(o, a, err);
    if (st == KMSRE_OK)
        st = take_string(o, "KeyId", &a->key_id, 1, err);
    if (st == KMSRE_OK)
        st = take_string(o, "SourceKeyId", &a->source_key_id, 0, err);
    if (st == KMSRE_OK)
        st = take_string(o, "SourceEncryptionAlgorithm", &a->source_algorithm,
                         0, err);
    if (st == KMSRE_OK)
        st = take_string(o, "DestinationEncryptionAlgorithm",
                         &a->destination_algorithm, 0, err);
    json_object_put(o);
    if (st != KMSRE_OK)
        kmsre_reencrypt_answer_clear(a);
    return st;
}

void kmsre_reencrypt_answer_clear(struct kmsre_reencrypt_answer *a)
{
    OPENSSL_free(a->ciphertext);
    OPENSSL_free(a->source_key_id);
    OPENSSL_free(a->key_id);
    OPENSSL_free(a->source_algorithm);
    OPENSSL_free(a->destination_algorithm);
    memset(a, 0, sizeof(*a));
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
    kmsre_copy_printable(out, outlen, in, n);
}

static const char *member_string(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (o != NULL && json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

void kmsre_kms_error_parse(long status, const char *header_type,
                           const char *body, size_t len,
                           struct kmsre_kms_error *out)
{
    struct json_object *o = parse_object(body, len);
    const char *type = NULL, *msg;

    out->http_status = status;
    out->type[0] = out->message[0] = '\0';
    if (header_type != NULL && *header_type != '\0')
        type = header_type;
    if (type == NULL)
        type = member_string(o, "code");
    if (type == NULL)
        type = member_string(o, "__type");
    if (type != NULL)
        sanitize_error_type(type, out->type, sizeof(out->type));
    msg = member_string(o, "message");
    if (msg == NULL)
        msg = member_string(o, "Message");
    if (msg != NULL)
        kmsre_copy_printable(out->message, sizeof(out->message), msg,
                             strlen(msg));
    else if (o == NULL && body != NULL)
        kmsre_copy_printable(out->message, sizeof(out->message), body, len);
    json_object_put(o);
}

/* ---- the request, owned by the operation context ------------------------ */

static int dup_opt(char **dst, const char *src)
{
    *dst = src != NULL ? OPENSSL_strdup(src) : NULL;
    return src == NULL || *dst != NULL;
}

enum kmsre_status
kmsre_reencrypt_request_copy(struct kmsre_reencrypt_request *dst,
                             const struct kmsre_reencrypt_request *src)
{
    struct kmsre_reencrypt_request c = {0};

    c.dry_run = src->dry_run;
    c.ignore_ciphertext = src->ignore_ciphertext;
    if (!dup_opt(&c.source_key_id, src->source_key_id) ||
        !dup_opt(&c.destination_key_id, src->destination_key_id) ||
        !dup_opt(&c.source_algorithm, src->source_algorithm) ||
        !dup_opt(&c.destination_algorithm, src->destination_algorithm) ||
        kmsre_context_copy(&c.source_context, &src->source_context) !=
            KMSRE_OK ||
        kmsre_context_copy(&c.destination_context, &src->destination_context) !=
            KMSRE_OK ||
        kmsre_grant_tokens_copy(&c.grant_tokens, &src->grant_tokens) !=
            KMSRE_OK) {
        kmsre_reencrypt_request_clear(&c);
        return KMSRE_ERR_NOMEM;
    }
    *dst = c;
    return KMSRE_OK;
}

void kmsre_reencrypt_request_clear(struct kmsre_reencrypt_request *req)
{
    OPENSSL_free(req->source_key_id);
    OPENSSL_free(req->destination_key_id);
    OPENSSL_free(req->source_algorithm);
    OPENSSL_free(req->destination_algorithm);
    kmsre_context_clear(&req->source_context);
    kmsre_context_clear(&req->destination_context);
    kmsre_grant_tokens_clear(&req->grant_tokens);
    memset(req, 0, sizeof(*req));
}
