/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON forms a user may give for request members (an encryption
 * context object, a grant-token list): strict parsing and messages. */
#ifndef KMSRE_KMS_JSON_INPUT_H
#define KMSRE_KMS_JSON_INPUT_H

#include <stddef.h>
#include <json-c/json.h>
#include "base/err.h"

/* Strict JSON (RFC 8259, valid UTF-8); "bad <what>: ..." on failure. */
enum kmsre_status kmsre_json_parse_strict(const char *text, size_t len,
                                          struct json_object **out,
                                          const char *what,
                                          struct kmsre_err *err);

/* "a number", "an object", ...: for messages. */
const char *kmsre_json_kind(const struct json_object *obj);

/* Whether a JSON string holds a NUL character. */
int kmsre_json_has_nul(struct json_object *str);

#endif
