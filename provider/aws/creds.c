/* SPDX-License-Identifier: Apache-2.0 */
/* The credential value and the parsers the sources share. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <json-c/json.h>
#include "aws/creds.h"
#include "base/strbuf.h"

/* The largest credential document read (real ones are about 1 KiB). */
#define CREDS_JSON_MAX (1 << 20)

static int present(const char *s)
{
    return s != NULL && *s != '\0';
}

enum kmsre_status kmsre_creds_set(struct kmsre_creds *out, const char *akid,
                                  const char *secret, const char *token,
                                  int expires, time_t expiration,
                                  const char *source)
{
    memset(out, 0, sizeof(*out));
    out->expires = expires;
    out->expiration = expires ? expiration : 0;
    out->source = source;
    out->access_key_id = OPENSSL_strdup(akid);
    out->secret_access_key = OPENSSL_strdup(secret);
    if (present(token))
        out->session_token = OPENSSL_strdup(token);
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        (present(token) && out->session_token == NULL)) {
        kmsre_creds_clear(out);
        return KMSRE_ERR_NOMEM;
    }
    return KMSRE_OK;
}

enum kmsre_status kmsre_creds_copy(struct kmsre_creds *dst,
                                   const struct kmsre_creds *src)
{
    return kmsre_creds_set(dst, src->access_key_id, src->secret_access_key,
                           src->session_token, src->expires, src->expiration,
                           src->source);
}

void kmsre_creds_clear(struct kmsre_creds *creds)
{
    kmsre_free_secret(&creds->access_key_id);
    kmsre_free_secret(&creds->secret_access_key);
    kmsre_free_secret(&creds->session_token);
    creds->expires = 0;
    creds->expiration = 0;
}

int kmsre_creds_valid_at(const struct kmsre_creds *creds, time_t now)
{
    return !creds->expires || now < creds->expiration;
}

int kmsre_parse_iso8601(const char *text, time_t *out)
{
    struct tm tm = {0};
    const char *p;
    int n = 0, sign, hh, mm;

    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return 0;
    p = text + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    if (*out == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11))
        return 0;
    /* "UTC": how older AWS CLI v2 releases wrote SSO token expiries. */
    if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0 || strcmp(p, "UTC") == 0)
        return 1;
    if ((*p != '+' && *p != '-') ||
        sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || p[1 + n] != '\0')
        return 0;
    sign = *p == '+' ? -1 : 1;
    *out += sign * (hh * 3600 + mm * 60);
    return 1;
}

static const char *json_member(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* The tokener keeps the strings it read in its own buffer. */
static void wipe_tokener(struct json_tokener *tok)
{
    if (tok != NULL && tok->pb != NULL && tok->pb->buf != NULL)
        OPENSSL_cleanse(tok->pb->buf, (size_t)tok->pb->size);
}

struct json_object *kmsre_json_parse_secret(const char *body, size_t len)
{
    struct json_tokener *tok;
    struct json_object *o = NULL;

    if (body == NULL || len >= CREDS_JSON_MAX)
        return NULL;
    tok = json_tokener_new();
    if (tok != NULL)
        o = json_tokener_parse_ex(tok, body, (int)len);
    wipe_tokener(tok);
    json_tokener_free(tok);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        kmsre_json_free_secret(o);
        o = NULL;
    }
    return o;
}

/* Wipes every string value (nested objects and arrays included). */
static void wipe_strings(struct json_object *v)
{
    size_t i;

    switch (json_object_get_type(v)) {
    case json_type_string:
        OPENSSL_cleanse((char *)json_object_get_string(v),
                        (size_t)json_object_get_string_len(v));
        break;
    case json_type_object: {
        json_object_object_foreach(v, key, member)
        {
            (void)key;
            wipe_strings(member);
        }
        break;
    }
    case json_type_array:
        for (i = 0; i < json_object_array_length(v); i++)
            wipe_strings(json_object_array_get_idx(v, i));
        break;
    default:
        break;
    }
}

void kmsre_json_free_secret(struct json_object *o)
{
    if (o != NULL && json_object_get_type(o) != json_type_null)
        wipe_strings(o);
    json_object_put(o);
}

enum kmsre_status kmsre_creds_parse_json(const char *body, size_t len,
                                         const char *token_member,
                                         const char *source,
                                         struct kmsre_creds *out,
                                         struct kmsre_err *err)
{
    struct json_object *o = kmsre_json_parse_secret(body, len);
    const char *akid = json_member(o, "AccessKeyId");
    const char *secret = json_member(o, "SecretAccessKey");
    const char *exp = json_member(o, "Expiration");
    time_t expiration = 0;
    enum kmsre_status st;

    if (!present(akid) || !present(secret))
        st = kmsre_fail(err, KMSRE_ERR_RESPONSE,
                        "%s: answer has no AccessKeyId and SecretAccessKey",
                        source);
    else if (exp != NULL && !kmsre_parse_iso8601(exp, &expiration))
        st = kmsre_fail(err, KMSRE_ERR_RESPONSE,
                        "%s: Expiration is not an ISO 8601 time", source);
    else
        st = kmsre_creds_set(out, akid, secret, json_member(o, token_member),
                             exp != NULL, expiration, source) == KMSRE_OK
                 ? KMSRE_OK
                 : kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    kmsre_json_free_secret(o);
    return st;
}
