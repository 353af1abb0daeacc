/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fork() safety for state that threads share.
 *
 * Every mutex of the provider is a kmsre_mutex. Before fork() the forking
 * thread takes all of them, oldest first (no other thread is then inside
 * a critical section); the parent releases them afterwards, and so does
 * the child's only thread, the copy of the one that took them (plain
 * mutexes: unlocking is all it takes, and ThreadSanitizer sees the thread
 * that locked them unlock them). A child thus never inherits a lock held
 * by a thread that does not exist there.
 *
 * None of them is held across I/O, so fork() waits microseconds at most.
 * None is held while another is taken: libcurl's share locks (one per
 * kind of data) were never seen nested with libcurl 7.88, and should a
 * libcurl hold SHARE while taking DNS, that is the order they are made
 * and taken in. Nor is one held while a kmsre_mutex or a hook is made or
 * destroyed: that takes the registry's lock, which fork() takes before
 * all the others (ThreadSanitizer's lock-order check in
 * integration.hostile would report it).
 *
 * A kmsre_fork_hook runs in the child right after fork(), before anything
 * else, for state the child must not use as it is: connections the parent
 * owns, a refresh another thread was doing. Hooks must be async-signal-safe
 * (no allocation, no locks): mark state stale, dup2(), re-initialise.
 *
 * Our mutexes are not the only locks a thread can hold. A KMS call runs
 * TLS handshakes, random-number generation and algorithm fetches inside
 * OpenSSL and libcurl, whose locks nobody re-initialises in a child: a
 * child forked while another thread held OpenSSL's DRBG lock blocks on it
 * for ever. So every KMS call runs inside the fork barrier
 * (kmsre_fork_barrier_enter/leave), and fork() first waits until no other
 * thread is inside it; new calls wait for the fork. The wait is bounded by
 * the calls' own timeouts; a call leaves the barrier while it sleeps
 * between attempts.
 */
#ifndef KMSRE_BASE_FORK_H
#define KMSRE_BASE_FORK_H

#include <pthread.h>

struct kmsre_mutex {
    pthread_mutex_t m;
    struct kmsre_mutex *next, *prev; /* the registry's list */
};

/* 1 on success. */
int kmsre_mutex_init(struct kmsre_mutex *mx);
void kmsre_mutex_destroy(struct kmsre_mutex *mx);
void kmsre_mutex_lock(struct kmsre_mutex *mx);
void kmsre_mutex_unlock(struct kmsre_mutex *mx);

struct kmsre_fork_hook {
    void (*child)(void *arg);
    void *arg;
    struct kmsre_fork_hook *next, *prev;
};

/* Around work that may hold OpenSSL's or libcurl's locks (a KMS call).
 * Nested calls in one thread count once. */
void kmsre_fork_barrier_enter(void);
void kmsre_fork_barrier_leave(void);
/* For a wait inside such work that holds no lock (a backoff sleep): out of
 * the barrier if this thread is in it once; 1 if so. step_in undoes it. */
int kmsre_fork_barrier_step_out(void);
void kmsre_fork_barrier_step_in(int stepped_out);

void kmsre_fork_hook_add(struct kmsre_fork_hook *hook, void (*child)(void *),
                         void *arg);
void kmsre_fork_hook_remove(struct kmsre_fork_hook *hook);

#endif
