/* SPDX-License-Identifier: Apache-2.0 */
/* The credential cache: one refresh at a time, old credentials serve while
 * still valid. */
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds_cache.h"

void aws_creds_cache_init(struct aws_creds_cache *cache,
                          aws_creds_fetch_fn fetch, void *arg,
                          time_t (*clock)(void))
{
    memset(cache, 0, sizeof(*cache));
    pthread_mutex_init(&cache->lock, NULL);
    pthread_cond_init(&cache->refreshed, NULL);
    cache->fetch = fetch;
    cache->arg = arg;
    cache->clock = clock;
}

static void identity_free(struct aws_identity *id)
{
    aws_creds_clear(&id->creds);
    OPENSSL_cleanse(id->signing_key, sizeof(id->signing_key));
    pthread_mutex_destroy(&id->key_lock);
    OPENSSL_free(id);
}

/* Drops one reference; the caller holds the cache lock. */
static void release_locked(struct aws_identity *id)
{
    if (id != NULL && --id->refs == 0)
        identity_free(id);
}

void aws_creds_cache_clear(struct aws_creds_cache *cache)
{
    release_locked(cache->current);
    cache->current = NULL;
    pthread_cond_destroy(&cache->refreshed);
    pthread_mutex_destroy(&cache->lock);
}

time_t aws_creds_refresh_at(time_t now, time_t exp)
{
    time_t margin = AWS_CREDS_REFRESH_MARGIN;

    if (exp == 0)
        return 0;
    if (exp - now < 2 * margin)
        margin = (exp - now) / 2;
    return exp - (margin > 0 ? margin : 0);
}

static int usable(const struct aws_identity *id, time_t now)
{
    return id != NULL &&
           (id->creds.expiration == 0 || now < id->creds.expiration);
}

static int fresh(const struct aws_identity *id, time_t now)
{
    return usable(id, now) && (id->refresh_at == 0 || now < id->refresh_at);
}

static enum kmsre_status fetch_identity(struct aws_creds_cache *cache,
                                        struct aws_identity **out, char *why,
                                        size_t whylen)
{
    struct aws_identity *id = OPENSSL_zalloc(sizeof(*id));
    time_t now = cache->clock();
    enum kmsre_status st;

    if (id == NULL)
        return KMSRE_ERR_NOMEM;
    pthread_mutex_init(&id->key_lock, NULL);
    st = cache->fetch(cache->arg, &id->creds, why, whylen);
    if (st != KMSRE_OK) {
        identity_free(id);
        return st;
    }
    id->refs = 1; /* the cache's own reference */
    id->refresh_at = aws_creds_refresh_at(now, id->creds.expiration);
    *out = id;
    return KMSRE_OK;
}

/* Runs the fetch without the lock, so other threads keep signing with the
 * current credentials meanwhile. Called and returns with the lock held. */
static enum kmsre_status refresh_locked(struct aws_creds_cache *cache,
                                        char *why, size_t whylen)
{
    struct aws_identity *id = NULL;
    enum kmsre_status st;

    cache->refreshing = 1;
    pthread_mutex_unlock(&cache->lock);
    st = fetch_identity(cache, &id, why, whylen);
    pthread_mutex_lock(&cache->lock);
    cache->refreshing = 0;
    if (st == KMSRE_OK) {
        release_locked(cache->current);
        cache->current = id;
    }
    pthread_cond_broadcast(&cache->refreshed);
    return st;
}

enum kmsre_status aws_creds_cache_get(struct aws_creds_cache *cache,
                                      struct aws_identity **out, char *why,
                                      size_t whylen)
{
    enum kmsre_status st = KMSRE_OK;
    time_t now;

    pthread_mutex_lock(&cache->lock);
    for (;;) {
        now = cache->clock();
        if (fresh(cache->current, now))
            break;
        if (cache->refreshing) {
            /* Someone else refreshes: use what we have while it is valid. */
            if (usable(cache->current, now))
                break;
            pthread_cond_wait(&cache->refreshed, &cache->lock);
            continue;
        }
        st = refresh_locked(cache, why, whylen);
        now = cache->clock();
        if (st != KMSRE_OK && usable(cache->current, now)) {
            /* Keep serving; try again in a while, not at every request. */
            cache->current->refresh_at = now + AWS_CREDS_RETRY_REFRESH;
            st = KMSRE_OK;
        }
        break;
    }
    if (st == KMSRE_OK && cache->current == NULL)
        st = KMSRE_ERR_NO_CREDENTIALS;
    if (st == KMSRE_OK) {
        cache->current->refs++;
        *out = cache->current;
    }
    pthread_mutex_unlock(&cache->lock);
    return st;
}

void aws_creds_cache_put(struct aws_creds_cache *cache, struct aws_identity *id)
{
    pthread_mutex_lock(&cache->lock);
    release_locked(id);
    pthread_mutex_unlock(&cache->lock);
}

void aws_creds_cache_expire(struct aws_creds_cache *cache,
                            const struct aws_identity *id)
{
    pthread_mutex_lock(&cache->lock);
    if (cache->current == id && id != NULL)
        cache->current->refresh_at = cache->clock() - 1;
    pthread_mutex_unlock(&cache->lock);
}
