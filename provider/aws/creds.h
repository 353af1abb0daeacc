/* SPDX-License-Identifier: Apache-2.0 */
/* AWS credentials: the value every source produces, and the parsers the
 * sources share (the credential JSON of containers, instance metadata and
 * credential_process; ISO 8601 times). Pure: no I/O. */
#ifndef KMSRE_CREDS_H
#define KMSRE_CREDS_H

#include <stddef.h>
#include <time.h>
#include "base/err.h"

struct kmsre_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    int expires;         /* 0: long-term, never refreshed */
    time_t expiration;   /* when expires: the instant they stop working */
    const char *source;  /* static text: where they came from */
};

/* Copies the strings; token may be NULL or "". expiration is used only
 * when expires is set. */
enum kmsre_status kmsre_creds_set(struct kmsre_creds *out, const char *akid,
                                  const char *secret, const char *token,
                                  int expires, time_t expiration,
                                  const char *source);
enum kmsre_status kmsre_creds_copy(struct kmsre_creds *dst,
                                   const struct kmsre_creds *src);
/* Frees and wipes. */
void kmsre_creds_clear(struct kmsre_creds *creds);

/* Whether they still work at `now` (an Expiration in the past, even
 * 1970-01-01, means expired). */
int kmsre_creds_valid_at(const struct kmsre_creds *creds, time_t now);

/* {"AccessKeyId","SecretAccessKey",<token_member>,"Expiration"}: the JSON
 * of container credentials, instance metadata and credential_process. */
enum kmsre_status kmsre_creds_parse_json(const char *body, size_t len,
                                         const char *token_member,
                                         const char *source,
                                         struct kmsre_creds *out,
                                         struct kmsre_err *err);

/* A JSON object that holds secrets, parsed so that neither json-c's
 * buffers nor the object keep them after kmsre_json_free_secret. NULL
 * when the text is not a JSON object. */
struct json_object;
struct json_object *kmsre_json_parse_secret(const char *body, size_t len);
void kmsre_json_free_secret(struct json_object *o);

/* 2026-01-01T00:00:00Z, with optional fraction and Z or +hh:mm. */
int kmsre_parse_iso8601(const char *text, time_t *out);

#endif
