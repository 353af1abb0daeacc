/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials shared by every thread of a KMS session, refreshed ahead of
 * their expiration by one thread while the others keep signing with the
 * current ones, each set with its SigV4 signing key for the session's
 * region and service (derived once a day).
 */
#ifndef KMSRE_CREDS_CACHE_H
#define KMSRE_CREDS_CACHE_H

#include <pthread.h>
#include <time.h>
#include "aws/creds.h"
#include "aws/sigv4.h"
#include "base/fork.h"

#define KMSRE_CREDS_REFRESH_MARGIN 300 /* seconds before Expiration */
#define KMSRE_CREDS_RETRY_REFRESH 10   /* seconds after a failed refresh */

/* One set of credentials and its signing key, immutable once published.
 * Reference counted: a request holds it while it signs, even across a
 * refresh. */
struct kmsre_identity {
    int refs; /* guarded by the cache's lock */
    struct kmsre_creds creds;
    time_t refresh_at;          /* 0: never */
    struct kmsre_sigv4_key key; /* empty when the cache has no algs */
};

typedef enum kmsre_status (*kmsre_creds_fetch_fn)(void *arg,
                                                  struct kmsre_creds *out,
                                                  struct kmsre_err *err);
typedef time_t (*kmsre_clock_fn)(void);

struct kmsre_creds_cache {
    struct kmsre_mutex lock;
    pthread_cond_t refreshed;
    struct kmsre_fork_hook fork_hook;
    struct kmsre_identity *current;
    int refreshing;
    kmsre_creds_fetch_fn fetch;
    void *arg;
    kmsre_clock_fn clock;
    /* The signing scope; algs NULL: identities carry no key (tests). */
    const struct kmsre_sigv4_algs *algs;
    char region[64];
    char service[32];
};

/* 1 on success. */
int kmsre_creds_cache_init(struct kmsre_creds_cache *cache,
                           kmsre_creds_fetch_fn fetch, void *arg,
                           kmsre_clock_fn clock,
                           const struct kmsre_sigv4_algs *algs,
                           const char *region, const char *service);
void kmsre_creds_cache_clear(struct kmsre_creds_cache *cache);

/* The current identity, fetched or refreshed first when due, with a key
 * for today. A failed refresh keeps the old credentials while they are
 * still valid (and tries again KMSRE_CREDS_RETRY_REFRESH seconds later). */
enum kmsre_status kmsre_creds_cache_get(struct kmsre_creds_cache *cache,
                                        struct kmsre_identity **out,
                                        struct kmsre_err *err);
void kmsre_creds_cache_put(struct kmsre_creds_cache *cache,
                           struct kmsre_identity *id);

/* Makes the next get fetch anew (after KMS said the token expired). */
void kmsre_creds_cache_expire(struct kmsre_creds_cache *cache,
                              const struct kmsre_identity *id);

/* When to refresh credentials obtained at now: never for long-term ones;
 * five minutes ahead of Expiration, or half-way through a shorter life. */
time_t kmsre_creds_refresh_at(time_t now, const struct kmsre_creds *creds);

#endif
