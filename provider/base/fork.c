/* SPDX-License-Identifier: Apache-2.0 */
/* The registry of mutexes and child hooks, and the pthread_atfork handlers
 * that keep them consistent across fork(). glibc removes handlers that a
 * shared object registered when that object is unloaded. */
#include <stddef.h>
#include "base/fork.h"

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct kmsre_mutex *mutexes;   /* newest first */
static struct kmsre_fork_hook *hooks; /* newest first */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_handlers(void);

/* The barrier: threads inside a KMS call, and whether a fork() waits. */
static pthread_mutex_t barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t barrier_changed = PTHREAD_COND_INITIALIZER;
static int in_flight;
static int forking; /* fork() calls between close_barrier and their end */
static _Thread_local int barrier_depth; /* this thread's nesting */

void kmsre_fork_barrier_enter(void)
{
    pthread_once(&atfork_once, register_handlers);
    if (barrier_depth++ > 0)
        return;
    pthread_mutex_lock(&barrier_lock);
    while (forking)
        pthread_cond_wait(&barrier_changed, &barrier_lock);
    in_flight++;
    pthread_mutex_unlock(&barrier_lock);
}

void kmsre_fork_barrier_leave(void)
{
    if (--barrier_depth > 0)
        return;
    pthread_mutex_lock(&barrier_lock);
    if (--in_flight == 0)
        pthread_cond_broadcast(&barrier_changed);
    pthread_mutex_unlock(&barrier_lock);
}

int kmsre_fork_barrier_step_out(void)
{
    if (barrier_depth != 1)
        return 0;
    kmsre_fork_barrier_leave();
    return 1;
}

void kmsre_fork_barrier_step_in(int stepped_out)
{
    if (stepped_out)
        kmsre_fork_barrier_enter();
}

/* Waits until no other thread is inside a KMS call, and keeps barrier_lock
 * until the fork is over. The forking thread may be inside one itself (a
 * callback that forks): it then counts itself out, and does not wait for
 * another thread's fork, which would be waiting for it to leave. */
static void close_barrier(void)
{
    int mine = barrier_depth > 0;

    pthread_mutex_lock(&barrier_lock);
    while (forking > 0 && !mine) /* another thread's fork() first */
        pthread_cond_wait(&barrier_changed, &barrier_lock);
    forking++;
    while (in_flight > mine)
        pthread_cond_wait(&barrier_changed, &barrier_lock);
}

static void open_barrier_in_parent(void)
{
    forking--;
    pthread_cond_broadcast(&barrier_changed);
    pthread_mutex_unlock(&barrier_lock);
}

/* The child has one thread: this one, which holds barrier_lock (a plain
 * mutex: it unlocks it as it locked it). Waiters of the condition variable
 * were other threads; it is made anew. */
static void reset_barrier_in_child(void)
{
    pthread_cond_init(&barrier_changed, NULL);
    forking = 0;
    in_flight = barrier_depth > 0;
    pthread_mutex_unlock(&barrier_lock);
}

static struct kmsre_mutex *oldest_mutex(void)
{
    struct kmsre_mutex *mx = mutexes;

    while (mx != NULL && mx->next != NULL)
        mx = mx->next;
    return mx;
}

/* Oldest first: the order the objects were made in. */
static void before_fork(void)
{
    struct kmsre_mutex *mx;

    close_barrier();
    pthread_mutex_lock(&registry);
    for (mx = oldest_mutex(); mx != NULL; mx = mx->prev)
        pthread_mutex_lock(&mx->m);
}

static void in_parent(void)
{
    struct kmsre_mutex *mx;

    for (mx = mutexes; mx != NULL; mx = mx->next)
        pthread_mutex_unlock(&mx->m);
    pthread_mutex_unlock(&registry);
    open_barrier_in_parent();
}

/* The hooks see the state as it was when no one was inside it; then this
 * thread, the child's only one, releases the locks it took before the fork
 * (plain mutexes: the copy of the thread that locked them unlocks them). */
static void in_child(void)
{
    struct kmsre_fork_hook *h;
    struct kmsre_mutex *mx;

    for (h = hooks; h != NULL; h = h->next)
        h->child(h->arg);
    for (mx = mutexes; mx != NULL; mx = mx->next)
        pthread_mutex_unlock(&mx->m);
    pthread_mutex_unlock(&registry);
    reset_barrier_in_child();
}

static void register_handlers(void)
{
    pthread_atfork(before_fork, in_parent, in_child);
}

int kmsre_mutex_init(struct kmsre_mutex *mx)
{
    pthread_once(&atfork_once, register_handlers);
    if (pthread_mutex_init(&mx->m, NULL) != 0)
        return 0;
    pthread_mutex_lock(&registry);
    mx->prev = NULL;
    mx->next = mutexes;
    if (mutexes != NULL)
        mutexes->prev = mx;
    mutexes = mx;
    pthread_mutex_unlock(&registry);
    return 1;
}

void kmsre_mutex_destroy(struct kmsre_mutex *mx)
{
    pthread_mutex_lock(&registry);
    if (mx->prev != NULL)
        mx->prev->next = mx->next;
    else if (mutexes == mx)
        mutexes = mx->next;
    if (mx->next != NULL)
        mx->next->prev = mx->prev;
    mx->next = mx->prev = NULL;
    pthread_mutex_unlock(&registry);
    pthread_mutex_destroy(&mx->m);
}

void kmsre_mutex_lock(struct kmsre_mutex *mx)
{
    pthread_mutex_lock(&mx->m);
}

void kmsre_mutex_unlock(struct kmsre_mutex *mx)
{
    pthread_mutex_unlock(&mx->m);
}

void kmsre_fork_hook_add(struct kmsre_fork_hook *hook, void (*child)(void *),
                         void *arg)
{
    pthread_once(&atfork_once, register_handlers);
    hook->child = child;
    hook->arg = arg;
    pthread_mutex_lock(&registry);
    hook->prev = NULL;
    hook->next = hooks;
    if (hooks != NULL)
        hooks->prev = hook;
    hooks = hook;
    pthread_mutex_unlock(&registry);
}

void kmsre_fork_hook_remove(struct kmsre_fork_hook *hook)
{
    pthread_mutex_lock(&registry);
    if (hook->prev != NULL)
        hook->prev->next = hook->next;
    else if (hooks == hook)
        hooks = hook->next;
    if (hook->next != NULL)
        hook->next->prev = hook->prev;
    hook->next = hook->prev = NULL;
    pthread_mutex_unlock(&registry);
}
