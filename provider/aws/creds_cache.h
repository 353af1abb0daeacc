/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials shared by every thread of a client, refreshed ahead of their
 * expiration by one thread while the others keep using the current ones. */
#ifndef KMSRE_CREDS_CACHE_H
#define KMSRE_CREDS_CACHE_H

#include <pthread.h>
#include <time.h>
#include "aws/creds.h"

#define AWS_CREDS_REFRESH_MARGIN 300 /* seconds before Expiration */
#define AWS_CREDS_RETRY_REFRESH 10   /* after a failed refresh */

/* One set of credentials, immutable once published, plus the SigV4
 * signing key derived from it (cached per day). Reference counted: a
 * request holds it while it signs, even across a refresh. */
struct aws_identity {
    int refs; /* guarded by the cache lock */
    struct aws_creds creds;
    time_t refresh_at; /* 0: never */
    pthread_mutex_t key_lock;
    char key_date[9];
    unsigned char signing_key[SIGV4_KEY_LEN];
};

typedef enum kmsre_status (*aws_creds_fetch_fn)(void *arg,
                                                struct aws_creds *out,
                                                char *why, size_t whylen);

struct aws_creds_cache {
    pthread_mutex_t lock;
    pthread_cond_t refreshed;
    struct aws_identity *current;
    int refreshing;
    aws_creds_fetch_fn fetch;
    void *arg;
    time_t (*clock)(void);
};

void aws_creds_cache_init(struct aws_creds_cache *cache,
                          aws_creds_fetch_fn fetch, void *arg,
                          time_t (*clock)(void));
void aws_creds_cache_clear(struct aws_creds_cache *cache);

/* The current identity, fetched or refreshed first when due. A failed
 * refresh keeps the old credentials while they are still valid. */
enum kmsre_status aws_creds_cache_get(struct aws_creds_cache *cache,
                                      struct aws_identity **out, char *why,
                                      size_t whylen);
void aws_creds_cache_put(struct aws_creds_cache *cache,
                         struct aws_identity *id);

/* Makes the next get fetch anew (after KMS said the token expired). */
void aws_creds_cache_expire(struct aws_creds_cache *cache,
                            const struct aws_identity *id);

/* When to refresh credentials that expire at exp, obtained at now: five
 * minutes ahead, or half-way through a shorter life. */
time_t aws_creds_refresh_at(time_t now, time_t exp);

#endif
