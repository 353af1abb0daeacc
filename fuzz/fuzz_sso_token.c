/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kmsre_sso_token_parse: the IAM Identity Center
 * token that `aws sso login` caches (~/.aws/sso/cache/<sha1>.json), in the
 * session form (accessToken, expiresAt, refreshToken, clientId,
 * clientSecret, registrationExpiresAt) or the legacy one (accessToken and
 * expiresAt only).
 *
 * The input is the file. Its members are also read with json-c here, so a
 * token that parses is compared with them: a non-empty accessToken, the
 * expiresAt time, each optional member exactly when it is a non-empty
 * string. A text that does not parse leaves every member NULL or zero and
 * err says why. kmsre_sso_token_should_refresh is checked around both
 * edges (the 15-minute window before expiresAt and registrationExpiresAt)
 * and is never true without what a refresh needs. The parse runs a second
 * time with one OpenSSL allocation failing (alloc_fail.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "aws/creds.h"
#include "aws/creds_sso.h"
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

static int token_is_empty(const struct kmsre_sso_token *t)
{
    return t->access_token == NULL && t->expires_at == 0 &&
           t->refresh_token == NULL && t->client_id == NULL &&
           t->client_secret == NULL && t->has_registration_expiry == 0 &&
           t->registration_expires_at == 0;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_token(const struct kmsre_sso_token *a,
                      const struct kmsre_sso_token *b)
{
    return same_str(a->access_token, b->access_token) &&
           a->expires_at == b->expires_at &&
           same_str(a->refresh_token, b->refresh_token) &&
           same_str(a->client_id, b->client_id) &&
           same_str(a->client_secret, b->client_secret) &&
           a->has_registration_expiry == b->has_registration_expiry &&
           a->registration_expires_at == b->registration_expires_at;
}

/* The file as json-c reads it (NULL unless a JSON object). */
static struct json_object *read_file(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o;

    CHECK(tok != NULL);
    o = json_tokener_parse_ex(tok, text, (int)len);
    json_tokener_free(tok);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

/* A member that counts: a non-empty string (anything else is absent). */
static const char *member(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (o != NULL && json_object_object_get_ex(o, name, &v) &&
        json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
}

static void check_member(struct json_object *o, const char *name,
                         const char *got)
{
    const char *want = member(o, name);

    /* (up to an escaped NUL, where both C strings end) */
    CHECK(same_str(got, want));
    CHECK(got == NULL || got[0] != '\0');
}

/* should_refresh at a few instants around the two edges. */
static void check_refresh(const struct kmsre_sso_token *t)
{
    int can = t->refresh_token != NULL && t->client_id != NULL &&
              t->client_secret != NULL && t->has_registration_expiry;
    const time_t edge = t->expires_at - KMSRE_SSO_REFRESH_WINDOW;
    const time_t when[] = {edge - 1,
                           edge,
                           edge + 1,
                           t->expires_at - 1,
                           t->expires_at,
                           t->expires_at + 1,
                           t->registration_expires_at - 1,
                           t->registration_expires_at,
                           t->registration_expires_at + 1};
    size_t i;
    int r;

    for (i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
        r = kmsre_sso_token_should_refresh(t, when[i]);
        /* Never without a refresh token, a client registration and its
         * expiry, nor once the registration has expired. */
        if (!can || when[i] >= t->registration_expires_at)
            CHECK(!r);
        /* Never while more than the window is left. */
        if (when[i] <= edge)
            CHECK(!r);
        /* Always inside the window (and after expiry) while possible. */
        if (can && when[i] > edge && when[i] < t->registration_expires_at)
            CHECK(r);
    }
}

static void check_success(const char *text, size_t len,
                          const struct kmsre_sso_token *t)
{
    struct json_object *o = read_file(text, len);
    const char *exp, *reg;
    time_t want;

    CHECK(o != NULL);
    CHECK(t->access_token != NULL && t->access_token[0] != '\0');
    check_member(o, "accessToken", t->access_token);
    exp = member(o, "expiresAt");
    CHECK(exp != NULL && kmsre_parse_iso8601(exp, &want));
    CHECK(t->expires_at == want);
    check_member(o, "refreshToken", t->refresh_token);
    check_member(o, "clientId", t->client_id);
    check_member(o, "clientSecret", t->client_secret);
    reg = member(o, "registrationExpiresAt");
    CHECK(t->has_registration_expiry == (reg != NULL));
    if (reg != NULL) {
        CHECK(kmsre_parse_iso8601(reg, &want));
        CHECK(t->registration_expires_at == want);
    } else {
        CHECK(t->registration_expires_at == 0);
    }
    json_object_put(o);
    check_refresh(t);
}

static void check_failure(enum kmsre_status st, const struct kmsre_err *err,
                          const struct kmsre_sso_token *t)
{
    CHECK(st == KMSRE_ERR_INVALID || st == KMSRE_ERR_NOMEM);
    CHECK(token_is_empty(t));
    CHECK(err->status == st);
    CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    CHECK(err->msg[0] != '\0');
    /* An empty token can never be refreshed. */
    CHECK(!kmsre_sso_token_should_refresh(t, 0));
}

/* Why a file that does not parse was refused: it is not an object, or it
 * lacks the access token or a readable expiresAt, or the registration
 * expiry is there but unreadable. */
static void check_refusal(const char *text, size_t len)
{
    struct json_object *o = read_file(text, len);
    const char *exp = member(o, "expiresAt");
    const char *reg = member(o, "registrationExpiresAt");
    time_t t;

    CHECK(o == NULL || member(o, "accessToken") == NULL || exp == NULL ||
          !kmsre_parse_iso8601(exp, &t) ||
          (reg != NULL && !kmsre_parse_iso8601(reg, &t)));
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmsre_sso_token tok, again;
    struct kmsre_err err = {0}, err2 = {0};
    enum kmsre_status st, st2;
    size_t allocs;
    char *text;

    if (size > 64 * 1024)
        return 0;
    text = fuzz_unterminated_copy(data, size);
    if (text == NULL)
        return 0;

    memset(&tok, 0x55, sizeof(tok));
    fuzz_alloc_reset(0);
    st = kmsre_sso_token_parse(text, size, &tok, &err);
    allocs = fuzz_alloc_count;
    if (st == KMSRE_OK) {
        CHECK(err.status == KMSRE_OK);
        check_success(text, size, &tok);
    } else {
        CHECK(st != KMSRE_ERR_NOMEM);
        check_failure(st, &err, &tok);
        check_refusal(text, size);
    }

    /* Again with allocation 1 + hash % allocs failing: the same token or
     * KMSRE_ERR_NOMEM with nothing left behind. */
    if (allocs > 0 &&
        fuzz_alloc_reset(1 + fuzz_input_hash(data, size) % allocs)) {
        memset(&again, 0x55, sizeof(again));
        st2 = kmsre_sso_token_parse(text, size, &again, &err2);
        fuzz_alloc_reset(0);
        CHECK(st2 == st || st2 == KMSRE_ERR_NOMEM);
        if (st2 == KMSRE_OK)
            CHECK(same_token(&again, &tok));
        else
            check_failure(st2, &err2, &again);
        kmsre_sso_token_clear(&again);
    }

    kmsre_sso_token_clear(&tok);
    CHECK(token_is_empty(&tok));
    free(text);
    return 0;
}
