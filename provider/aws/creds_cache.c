/* SPDX-License-Identifier: Apache-2.0 */
/* The credential cache: one refresh at a time, old credentials serve while
 * still valid, a signing key per day. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds_cache.h"

/* In a forked child, no thread is refreshing (the one that was did not
 * come along) and no one waits. */
static void reset_in_child(void *arg)
{
    struct kmsre_creds_cache *cache = arg;

    cache->refreshing = 0;
    pthread_cond_init(&cache->refreshed, NULL);
}

int kmsre_creds_cache_init(struct kmsre_creds_cache *cache,
                           kmsre_creds_fetch_fn fetch, void *arg,
                           kmsre_clock_fn clock,
                           const struct kmsre_sigv4_algs *algs,
                           const char *region, const char *service)
{
    memset(cache, 0, sizeof(*cache));
    if (region != NULL && strlen(region) >= sizeof(cache->region))
        return 0;
    if (service != NULL && strlen(service) >= sizeof(cache->service))
        return 0;
    if (!kmsre_mutex_init(&cache->lock))
        return 0;
    pthread_cond_init(&cache->refreshed, NULL);
    kmsre_fork_hook_add(&cache->fork_hook, reset_in_child, cache);
    cache->fetch = fetch;
    cache->arg = arg;
    cache->clock = clock;
    cache->algs = algs;
    snprintf(cache->region, sizeof(cache->region), "%s",
             region != NULL ? region : "");
    snprintf(cache->service, sizeof(cache->service), "%s",
             service != NULL ? service : "");
    return 1;
}

static void identity_free(struct kmsre_identity *id)
{
    kmsre_creds_clear(&id->creds);
    kmsre_sigv4_key_clear(&id->key);
    OPENSSL_free(id);
}

/* Drops one reference; the caller holds the cache lock. */
static void release_locked(struct kmsre_identity *id)
{
    if (id != NULL && --id->refs == 0)
        identity_free(id);
}

void kmsre_creds_cache_clear(struct kmsre_creds_cache *cache)
{
    release_locked(cache->current);
    cache->current = NULL;
    kmsre_fork_hook_remove(&cache->fork_hook);
    pthread_cond_destroy(&cache->refreshed);
    kmsre_mutex_destroy(&cache->lock);
}

time_t kmsre_creds_refresh_at(time_t now, const struct kmsre_creds *creds)
{
    time_t margin = KMSRE_CREDS_REFRESH_MARGIN, exp = creds->expiration;

    if (!creds->expires)
        return 0;
    if (exp - now < 2 * margin)
        margin = (exp - now) / 2;
    return exp - (margin > 0 ? margin : 0);
}

static int fresh(const struct kmsre_identity *id, time_t now)
{
    return id != NULL && kmsre_creds_valid_at(&id->creds, now) &&
           (id->refresh_at == 0 || now < id->refresh_at);
}

static void today(time_t now, char date8[9])
{
    char amz[KMSRE_AMZ_DATE_LEN + 1];

    kmsre_amz_date(now, amz);
    memcpy(date8, amz, 8);
    date8[8] = '\0';
}

static int key_is_current(const struct kmsre_creds_cache *cache,
                          const struct kmsre_identity *id, time_t now)
{
    char date8[9];

    if (cache->algs == NULL)
        return 1;
    today(now, date8);
    return strcmp(id->key.date8, date8) == 0;
}

/* An identity for creds (taken over), with today's key. */
static enum kmsre_status make_identity(const struct kmsre_creds_cache *cache,
                                       struct kmsre_creds *creds, time_t now,
                                       struct kmsre_identity **out,
                                       struct kmsre_err *err)
{
    struct kmsre_identity *id = OPENSSL_zalloc(sizeof(*id));
    enum kmsre_status st = KMSRE_OK;
    char date8[9];

    if (id == NULL) {
        kmsre_creds_clear(creds);
        return kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    }
    id->creds = *creds;
    memset(creds, 0, sizeof(*creds));
    id->refs = 1; /* the cache's own reference */
    id->refresh_at = kmsre_creds_refresh_at(now, &id->creds);
    today(now, date8);
    if (cache->algs != NULL)
        st = kmsre_sigv4_key_derive(cache->algs, id->creds.secret_access_key,
                                    date8, cache->region, cache->service,
                                    &id->key);
    if (st != KMSRE_OK) {
        identity_free(id);
        return kmsre_fail(err, st, "cannot derive the signing key");
    }
    *out = id;
    return KMSRE_OK;
}

static enum kmsre_status fetch_identity(struct kmsre_creds_cache *cache,
                                        struct kmsre_identity **out,
                                        struct kmsre_err *err)
{
    struct kmsre_creds creds = {0};
    time_t now = cache->clock();
    enum kmsre_status st = cache->fetch(cache->arg, &creds, err);

    if (st != KMSRE_OK)
        return st;
    if (!kmsre_creds_valid_at(&creds, now)) {
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "the credentials from %s expired already (their "
                        "Expiration is in the past)",
                        creds.source != NULL ? creds.source : "the source");
        kmsre_creds_clear(&creds);
        return st;
    }
    return make_identity(cache, &creds, now, out, err);
}

static void publish_locked(struct kmsre_creds_cache *cache,
                           struct kmsre_identity *id)
{
    release_locked(cache->current);
    cache->current = id;
}

/* Runs the fetch without the lock, so other threads keep signing with the
 * current credentials meanwhile. (A fork() waits for the fetch at the fork
 * barrier, not at this lock: base/fork.h.) Called and returns with the
 * lock held. */
static enum kmsre_status refresh_locked(struct kmsre_creds_cache *cache,
                                        struct kmsre_err *err)
{
    struct kmsre_identity *id = NULL;
    enum kmsre_status st;

    cache->refreshing = 1;
    kmsre_mutex_unlock(&cache->lock);
    st = fetch_identity(cache, &id, err);
    kmsre_mutex_lock(&cache->lock);
    cache->refreshing = 0;
    if (st == KMSRE_OK)
        publish_locked(cache, id);
    pthread_cond_broadcast(&cache->refreshed);
    return st;
}

/* Same credentials, a key for the new day. */
static enum kmsre_status new_day_locked(struct kmsre_creds_cache *cache,
                                        time_t now, struct kmsre_err *err)
{
    struct kmsre_creds copy;
    struct kmsre_identity *id = NULL;
    enum kmsre_status st = kmsre_creds_copy(&copy, &cache->current->creds);

    if (st != KMSRE_OK)
        return kmsre_fail(err, st, "out of memory");
    st = make_identity(cache, &copy, now, &id, err);
    if (st == KMSRE_OK) {
        id->refresh_at = cache->current->refresh_at;
        publish_locked(cache, id);
    }
    return st;
}

/* Brings cache->current up to date; called with the lock held. */
static enum kmsre_status update_locked(struct kmsre_creds_cache *cache,
                                       struct kmsre_err *err)
{
    enum kmsre_status st;
    time_t now;

    for (;;) {
        now = cache->clock();
        if (fresh(cache->current, now))
            return key_is_current(cache, cache->current, now)
                       ? KMSRE_OK
                       : new_day_locked(cache, now, err);
        if (!cache->refreshing)
            break;
        /* Someone else refreshes: use what we have while it is valid. */
        if (cache->current != NULL &&
            kmsre_creds_valid_at(&cache->current->creds, now))
            return KMSRE_OK;
        pthread_cond_wait(&cache->refreshed, &cache->lock.m);
    }
    st = refresh_locked(cache, err);
    now = cache->clock();
    if (st != KMSRE_OK && cache->current != NULL &&
        kmsre_creds_valid_at(&cache->current->creds, now)) {
        /* Keep serving; try again in a while, not at every request. */
        kmsre_err_clear(err);
        cache->current->refresh_at = now + KMSRE_CREDS_RETRY_REFRESH;
        st = KMSRE_OK;
    }
    return st;
}

enum kmsre_status kmsre_creds_cache_get(struct kmsre_creds_cache *cache,
                                        struct kmsre_identity **out,
                                        struct kmsre_err *err)
{
    enum kmsre_status st;

    kmsre_mutex_lock(&cache->lock);
    st = update_locked(cache, err);
    if (st == KMSRE_OK && cache->current == NULL)
        st = kmsre_fail(err, KMSRE_ERR_NO_CREDENTIALS, "no credentials");
    if (st == KMSRE_OK) {
        cache->current->refs++;
        *out = cache->current;
    }
    kmsre_mutex_unlock(&cache->lock);
    return st;
}

void kmsre_creds_cache_put(struct kmsre_creds_cache *cache,
                           struct kmsre_identity *id)
{
    kmsre_mutex_lock(&cache->lock);
    release_locked(id);
    kmsre_mutex_unlock(&cache->lock);
}

void kmsre_creds_cache_expire(struct kmsre_creds_cache *cache,
                              const struct kmsre_identity *id)
{
    kmsre_mutex_lock(&cache->lock);
    if (cache->current == id && id != NULL)
        cache->current->refresh_at = cache->clock() - 1;
    kmsre_mutex_unlock(&cache->lock);
}
