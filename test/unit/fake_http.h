/* SPDX-License-Identifier: Apache-2.0 */
/* A fake transport for unit tests: canned answers chosen by method and a
 * piece of the URL, and a record of every request it saw. */
#ifndef KMSRE_FAKE_HTTP_H
#define KMSRE_FAKE_HTTP_H

#include "http/http.h"

#define FAKE_MAX_RULES 16
#define FAKE_MAX_SEEN 32

struct fake_rule {
    const char *method; /* "GET", "PUT", "POST" */
    const char *url_part;
    long status;
    const char *body;
    const char *headers; /* "name: value\n" lines, or NULL */
};

struct fake_seen {
    char method[8];
    char url[1024];
    char headers[4096]; /* "name: value\n" lines */
    char body[8192];
};

struct fake_http {
    struct fake_rule rules[FAKE_MAX_RULES];
    size_t n_rules;
    struct fake_seen seen[FAKE_MAX_SEEN];
    size_t n_seen;
};

/* A kmsre_http whose requests go to f (which must outlive it). */
struct kmsre_http fake_http_transport(struct fake_http *f);

void fake_http_answer(struct fake_http *f, const char *method,
                      const char *url_part, long status, const char *body,
                      const char *headers);

/* How many requests had this method and url piece. */
size_t fake_http_count(const struct fake_http *f, const char *method,
                       const char *url_part);

/* The last request with this url piece, or NULL. */
const struct fake_seen *fake_http_last(const struct fake_http *f,
                                       const char *url_part);

#endif
