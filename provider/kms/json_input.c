/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON for user input, through json-c. */
#include <limits.h>
#include <string.h>
#include "kms/json_input.h"

enum kmsre_status kmsre_json_parse_strict(const char *text, size_t len,
                                          struct json_object **out,
                                          const char *what,
                                          struct kmsre_err *err)
{
    struct json_tokener *tok;
    enum json_tokener_error jerr;

    if (len > INT_MAX)
        return kmsre_fail(err, KMSRE_ERR_LIMIT, "bad %s: too long", what);
    tok = json_tokener_new();
    if (tok == NULL)
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *out = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (*out == NULL && jerr == json_tokener_continue)
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad %s: the JSON text ends too early", what);
    else if (*out == NULL)
        kmsre_fail(err, KMSRE_ERR_INVALID,
                   "bad %s: invalid JSON at offset %zu: %s", what,
                   json_tokener_get_parse_end(tok),
                   json_tokener_error_desc(jerr));
    json_tokener_free(tok);
    return *out != NULL ? KMSRE_OK : KMSRE_ERR_INVALID;
}

const char *kmsre_json_kind(const struct json_object *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
    case json_type_int:
        return "a number";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    default:
        return "a string";
    }
}

int kmsre_json_has_nul(struct json_object *str)
{
    return (size_t)json_object_get_string_len(str) !=
           strlen(json_object_get_string(str));
}
