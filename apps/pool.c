/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: the worker pool.
 *
 * The main thread reads records into a window of at most W records (so
 * memory stays flat whatever the input), workers (each with its own
 * EVP_PKEY_CTX on the one shared key) call ReEncrypt, a writer thread
 * takes the finished records in reading order: line i of the output
 * answers line i of the input whatever the concurrency.
 *
 * A record that fails with a throttling error after the provider's own
 * retries goes back, with backoff, into a queue ordered by due time that
 * workers serve before new records: it is never dropped.
 *
 * --rate is a smooth token bucket shared by all workers (virtual
 * scheduling: request k may start at t0 + k/R, with one request of
 * tolerance); the provider's internal retries are charged after the fact,
 * so the long-run rate of requests sent, retries included, stays <= R.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "rotate.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WORKER_STACK (2u << 20)
#else
#define WORKER_STACK (256u << 10)
#endif

#define REQUEUE_BASE 0.2 /* s: first record-level backoff */
#define REQUEUE_CAP 20.0 /* s */
#define SYNC_EVERY 1.0   /* s: output/journal made durable at least this */

static struct pool {
    struct pool_io *io;
    pthread_mutex_t lock;
    pthread_cond_t work_cv, done_cv, space_cv;
    /* new records, FIFO */
    struct record *head, *tail;
    /* re-queued records, a min-heap by due time */
    struct record **heap;
    size_t heap_n, heap_cap;
    /* the window of records read and not yet written */
    struct record **window;
    uint64_t wsize, next_seq, next_write;
    int eof, aborted;
    /* rate limit */
    pthread_mutex_t rl_lock;
    double interval, tat;
} P;

/* ---- rate limit -------------------------------------------------------- */

static void sleep_until(double t)
{
    double d = t - now_mono();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void rate_acquire(void)
{
    double now, start;

    if (P.interval <= 0)
        return;
    pthread_mutex_lock(&P.rl_lock);
    now = now_mono();
    if (P.tat < now)
        P.tat = now;
    start = P.tat - P.interval; /* one request of tolerance */
    P.tat += P.interval;
    pthread_mutex_unlock(&P.rl_lock);
    sleep_until(start);
}

/* The provider retried inside one call: those requests count too. */
static void rate_charge(int extra)
{
    if (P.interval <= 0 || extra <= 0)
        return;
    pthread_mutex_lock(&P.rl_lock);
    if (P.tat < now_mono())
        P.tat = now_mono();
    P.tat += P.interval * extra;
    pthread_mutex_unlock(&P.rl_lock);
}

/* ---- queues (under P.lock) ----------------------------------------------- */

static void heap_push(struct record *r)
{
    size_t i;

    if (P.heap_n == P.heap_cap) {
        size_t cap = P.heap_cap ? P.heap_cap * 2 : 64;
        struct record **h = realloc(P.heap, cap * sizeof(*h));

        if (h == NULL)
            die_oom();
        P.heap = h;
        P.heap_cap = cap;
    }
    i = P.heap_n++;
    while (i > 0 && P.heap[(i - 1) / 2]->due > r->due) {
        P.heap[i] = P.heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    P.heap[i] = r;
}

static struct record *heap_pop(void)
{
    struct record *top = P.heap[0], *last = P.heap[--P.heap_n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= P.heap_n)
            break;
        if (c + 1 < P.heap_n && P.heap[c + 1]->due < P.heap[c]->due)
            c++;
        if (P.heap[c]->due >= last->due)
            break;
        P.heap[i] = P.heap[c];
        i = c;
    }
    if (P.heap_n > 0)
        P.heap[i] = last;
    return top;
}

static void timed_wait(pthread_cond_t *cv, double seconds)
{
    struct timespec ts;
    double t;

    clock_gettime(CLOCK_REALTIME, &ts);
    t = (double)ts.tv_nsec / 1e9 + seconds;
    ts.tv_sec += (time_t)t;
    ts.tv_nsec = (long)((t - floor(t)) * 1e9);
    pthread_cond_timedwait(cv, &P.lock, &ts);
}

/* The next record for a worker, or NULL when there is no more work. */
static struct record *take_work(void)
{
    struct record *r = NULL;

    pthread_mutex_lock(&P.lock);
    for (;;) {
        double now = now_mono();

        if (P.aborted)
            break;
        if (P.heap_n > 0 && P.heap[0]->due <= now) {
            r = heap_pop();
            break;
        }
        if (P.head != NULL) {
            r = P.head;
            P.head = r->next;
            if (P.head == NULL)
                P.tail = NULL;
            r->next = NULL;
            break;
        }
        if (P.eof && P.heap_n == 0)
            break;
        if (P.heap_n > 0)
            timed_wait(&P.work_cv, P.heap[0]->due - now + 0.001);
        else
            pthread_cond_wait(&P.work_cv, &P.lock);
    }
    pthread_mutex_unlock(&P.lock);
    return r;
}

static void finish(struct record *r)
{
    pthread_mutex_lock(&P.lock);
    r->done = 1;
    pthread_cond_signal(&P.done_cv);
    pthread_mutex_unlock(&P.lock);
}

static void requeue(struct record *r, unsigned int *seed)
{
    double base = REQUEUE_BASE * ldexp(1.0, r->requeues < 8 ? r->requeues : 8);

    if (base > REQUEUE_CAP)
        base = REQUEUE_CAP;
    r->requeues++;
    r->due = now_mono() + base * (0.5 + 0.5 * rand_r(seed) / RAND_MAX);
    pthread_mutex_lock(&g_stats.lock);
    g_stats.requeues++;
    pthread_mutex_unlock(&g_stats.lock);
    pthread_mutex_lock(&P.lock);
    heap_push(r);
    pthread_cond_broadcast(&P.work_cv); /* timed waiters: a new due time */
    pthread_mutex_unlock(&P.lock);
}

/* ---- workers ------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct kms_worker *w = arg;
    const struct options *o = P.io->o;
    unsigned int seed = (unsigned int)(uintptr_t)arg ^ (unsigned int)getpid();
    struct record *r;

    while ((r = take_work()) != NULL) {
        enum kms_result res;

        rate_acquire();
        res = kms_reencrypt(w, r);
        rate_charge(r->attempts - 1);
        pthread_mutex_lock(&g_stats.lock);
        g_stats.attempts += (uint64_t)(r->attempts > 0 ? r->attempts : 0);
        g_stats.throttles += (uint64_t)(r->throttles > 0 ? r->throttles : 0);
        pthread_mutex_unlock(&g_stats.lock);
        if (res == KMS_THROTTLED) {
            if (o->max_requeues < 0 || r->requeues < o->max_requeues) {
                requeue(r, &seed);
                continue;
            }
            r->outcome = OUT_FAILED;
        } else if (res == KMS_OK) {
            r->outcome = OUT_MOVED;
            if (o->mode == MODE_FILES && !files_write(o, r))
                r->outcome = OUT_FAILED;
        } else if (res == KMS_WOULD_MOVE) {
            r->outcome = OUT_WOULD_MOVE;
        } else {
            r->outcome = OUT_FAILED;
        }
        finish(r);
    }
    kms_worker_free(w);
    return NULL;
}

/* ---- the writer ---------------------------------------------------------- */

struct writer_state {
    uint64_t written; /* records of the output (skipped ones included) */
    uint64_t offset;  /* bytes of the output */
    double last_sync;
    int dirty;
};

static int make_durable(struct writer_state *ws)
{
    struct pool_io *io = P.io;

    if (io->out != NULL) {
        if (fflush(io->out) != 0) {
            msg("cannot write the output: %s", strerror(errno));
            return 0;
        }
        if (io->o->journal != NULL) {
            if (fsync(io->out_fd) != 0 && errno != EINVAL) {
                msg("cannot sync the output: %s", strerror(errno));
                return 0;
            }
            if (!journal_add_records(ws->written, ws->offset))
                return 0;
        }
    }
    if (!journal_sync())
        return 0;
    ws->dirty = 0;
    ws->last_sync = now_mono();
    return 1;
}

static void count_outcome(struct record *r)
{
    pthread_mutex_lock(&g_stats.lock);
    g_stats.done++;
    switch (r->outcome) {
    case OUT_MOVED:
        g_stats.moved++;
        break;
    case OUT_WOULD_MOVE:
        g_stats.would_move++;
        break;
    case OUT_PASS:
        g_stats.passed++;
        break;
    default:
        g_stats.failed++;
        break;
    }
    pthread_mutex_unlock(&g_stats.lock);
    if (r->outcome == OUT_FAILED) {
        stats_failure_type(r->error_type[0] ? r->error_type : "Error");
        errors_report(r);
    }
}

/* One finished record, in reading order. 0: the run must stop. */
static int emit(struct writer_state *ws, struct record *r)
{
    struct pool_io *io = P.io;
    const struct options *o = io->o;

    count_outcome(r);
    if (o->mode == MODE_FILES) {
        if (r->outcome == OUT_MOVED && o->journal != NULL) {
            if (!journal_add_file(r->path, &r->st))
                return 0;
            ws->dirty = 1;
        }
        return 1;
    }
    if (io->out == NULL)
        return 1;
    if (!records_write(o, io->out, r)) {
        msg("cannot write the output: %s", strerror(errno));
        return 0;
    }
    ws->written++;
    if (o->journal != NULL)
        ws->offset = (uint64_t)ftello(io->out);
    ws->dirty = 1;
    return 1;
}

static void *writer_main(void *arg)
{
    struct writer_state *ws = arg;
    int ok = 1;

    pthread_mutex_lock(&P.lock);
    while (ok) {
        struct record *r = NULL;

        if (P.next_write < P.next_seq) {
            r = P.window[P.next_write % P.wsize];
            if (r != NULL && !r->done)
                r = NULL;
        }
        if (r != NULL) {
            P.window[P.next_write % P.wsize] = NULL;
            P.next_write++;
            /* The reader sleeps on a full window; wake it once half of it
             * is free, not for every record. */
            if (P.next_seq - P.next_write == P.wsize / 2)
                pthread_cond_signal(&P.space_cv);
            pthread_mutex_unlock(&P.lock);
            ok = emit(ws, r);
            records_release(r);
            if (ok && ws->dirty && now_mono() - ws->last_sync >= SYNC_EVERY)
                ok = make_durable(ws);
            pthread_mutex_lock(&P.lock);
            continue;
        }
        if (P.eof && P.next_write == P.next_seq)
            break;
        if (ws->dirty) {
            pthread_mutex_unlock(&P.lock);
            ok = make_durable(ws);
            pthread_mutex_lock(&P.lock);
            continue;
        }
        timed_wait(&P.done_cv, SYNC_EVERY);
    }
    if (!ok) {
        P.aborted = 1;
        pthread_cond_broadcast(&P.work_cv);
        pthread_cond_broadcast(&P.space_cv);
    }
    pthread_mutex_unlock(&P.lock);
    if (ok && ws->dirty)
        ok = make_durable(ws);
    return ok ? ws : NULL;
}

/* ---- the reader (main thread) -------------------------------------------- */

static int next_record(struct record **r)
{
    if (P.io->fw != NULL)
        return files_next(P.io->fw, r);
    return records_next(P.io->rr, r);
}

/*
 * Resume (record modes): whether r is already in the output. With a
 * journal, the first resume.records records are; without, the records
 * whose last line is among the output's first resume.lines complete lines
 * (a record's output has as many lines as its input).
 */
static uint64_t resumed_lines; /* input lines of the records skipped */
static uint64_t resumed_records;
static int cut_done;

static int skipping(struct pool_io *io, const struct record *r)
{
    if (cut_done || io->o->mode == MODE_FILES)
        return 0;
    if (!io->resume.by_lines) {
        if (resumed_lines < io->resume.records) {
            resumed_lines++;
            return 1;
        }
        return 0;
    }
    if (r->last_line <= io->resume.lines) {
        resumed_lines = r->last_line;
        resumed_records++;
        return 1;
    }
    return 0;
}

/* Once the first record to do is known: cut the output after the last
 * whole record it holds. 0 on an error. */
static int resume_cut(struct pool_io *io, struct writer_state *ws)
{
    if (cut_done)
        return 1;
    cut_done = 1;
    if (io->o->mode == MODE_FILES || io->out == NULL || !io->resume.by_lines)
        return 1;
    if (!output_truncate_lines(io->out, resumed_lines, &ws->offset))
        return 0;
    ws->written = resumed_records;
    return 1;
}

/* Puts a record in the window; 0 when the run was aborted. */
static int admit(struct record *r)
{
    pthread_mutex_lock(&P.lock);
    while (!P.aborted && P.next_seq - P.next_write >= P.wsize)
        pthread_cond_wait(&P.space_cv, &P.lock);
    if (P.aborted) {
        pthread_mutex_unlock(&P.lock);
        records_release(r);
        return 0;
    }
    r->seq = P.next_seq++;
    P.window[r->seq % P.wsize] = r;
    if (r->outcome == OUT_PASS || r->outcome == OUT_FAILED) {
        r->done = 1; /* nothing to ask KMS */
        pthread_cond_signal(&P.done_cv);
    } else {
        r->next = NULL;
        if (P.tail != NULL)
            P.tail->next = r;
        else
            P.head = r;
        P.tail = r;
        pthread_cond_signal(&P.work_cv);
    }
    pthread_mutex_unlock(&P.lock);
    return 1;
}

static pthread_t *start_workers(int *started)
{
    const struct options *o = P.io->o;
    pthread_t *tids = xcalloc((size_t)o->jobs, sizeof(*tids));
    pthread_attr_t attr;
    int i;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    *started = 0;
    for (i = 0; i < o->jobs; i++) {
        struct kms_worker *w = kms_worker_new(P.io->kms);
        int err;

        if (w == NULL) {
            msg("worker %d: cannot make an EVP_PKEY_CTX", i);
            break;
        }
        if ((err = pthread_create(&tids[i], &attr, worker_main, w)) != 0) {
            msg("worker %d: cannot start a thread (%s); going on with %d", i,
                strerror(err), *started);
            kms_worker_free(w);
            break;
        }
        (*started)++;
    }
    pthread_attr_destroy(&attr);
    return tids;
}

int pool_run(struct pool_io *io)
{
    const struct options *o = io->o;
    struct writer_state ws = {0};
    pthread_t writer, *tids;
    int started, i, rc;
    void *wret = NULL;
    struct record *r;

    memset(&P, 0, sizeof(P));
    P.io = io;
    pthread_mutex_init(&P.lock, NULL);
    pthread_mutex_init(&P.rl_lock, NULL);
    pthread_cond_init(&P.work_cv, NULL);
    pthread_cond_init(&P.done_cv, NULL);
    pthread_cond_init(&P.space_cv, NULL);
    P.interval = o->rate > 0 ? 1.0 / o->rate : 0;
    P.wsize = (uint64_t)o->jobs * 4 + 256;
    P.window = xcalloc((size_t)P.wsize, sizeof(*P.window));
    ws.written = io->resume.by_lines ? 0 : io->resume.records;
    ws.offset = io->resume.offset;
    ws.last_sync = now_mono();

    tids = start_workers(&started);
    if (started == 0) {
        free(tids);
        free(P.window);
        return -1;
    }
    if (pthread_create(&writer, NULL, writer_main, &ws) != 0) {
        msg("cannot start the writer thread");
        exit(EXIT_ABORTED);
    }
    while ((rc = next_record(&r)) > 0) {
        if (skipping(io, r)) {
            pthread_mutex_lock(&g_stats.lock);
            g_stats.skipped += r->outcome != OUT_PASS;
            pthread_mutex_unlock(&g_stats.lock);
            records_release(r);
            continue;
        }
        if (!resume_cut(io, &ws) || !admit(r))
            break;
    }
    if (rc == 0 && !resume_cut(io, &ws))
        rc = -1;
    pthread_mutex_lock(&P.lock);
    P.eof = 1;
    if (rc < 0) /* a read error: what was read is still finished */
        io->read_error = 1;
    pthread_cond_broadcast(&P.work_cv);
    pthread_cond_broadcast(&P.done_cv);
    pthread_mutex_unlock(&P.lock);
    for (i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_join(writer, &wret);
    free(tids);
    /* After an abort: what was read and not written. Records in the FIFO
     * are in the window too. */
    for (i = 0; (uint64_t)i < P.wsize; i++)
        records_release(P.window[i]);
    free(P.window);
    free(P.heap);
    return wret != NULL && !P.aborted ? 0 : -1;
}
