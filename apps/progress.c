/* SPDX-License-Identifier: Apache-2.0 */
/* kms-rotate: the progress line, --errors and the final summary. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "rotate.h"

struct stats g_stats;

void stats_init(void)
{
    memset(&g_stats, 0, sizeof(g_stats));
    pthread_mutex_init(&g_stats.lock, NULL);
    g_stats.start = now_mono();
}

void stats_failure_type(const char *type)
{
    size_t i;

    pthread_mutex_lock(&g_stats.lock);
    for (i = 0; i < g_stats.n_types; i++)
        if (strcmp(g_stats.by_type[i].type, type) == 0)
            break;
    if (i == g_stats.n_types) {
        struct type_count *t =
            realloc(g_stats.by_type, (i + 1) * sizeof(*g_stats.by_type));

        if (t == NULL)
            die_oom();
        g_stats.by_type = t;
        snprintf(t[i].type, sizeof(t[i].type), "%s", type);
        t[i].n = 0;
        g_stats.n_types++;
    }
    g_stats.by_type[i].n++;
    pthread_mutex_unlock(&g_stats.lock);
}

/* ---- --errors and the line per failure ----------------------------------- */

static FILE *errors_file;
static const struct options *opts;
static pthread_mutex_t errors_lock = PTHREAD_MUTEX_INITIALIZER;

int errors_open(const char *path)
{
    if (path == NULL)
        return 1;
    errors_file = fopen(path, "w");
    if (errors_file == NULL) {
        msg("--errors %s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

void errors_report(const struct record *r)
{
    char where[64];

    pthread_mutex_lock(&errors_lock);
    if (errors_file != NULL) {
        fputs("{", errors_file);
        if (r->path != NULL) {
            fputs("\"path\":", errors_file);
            json_fputs(errors_file, r->path);
        } else {
            fprintf(errors_file, "\"line\":%llu",
                    (unsigned long long)r->lineno);
        }
        fputs(",\"error_type\":", errors_file);
        json_fputs(errors_file, r->error_type);
        fputs(",\"message\":", errors_file);
        json_fputs(errors_file, r->error_msg);
        fputs(",\"request_id\":", errors_file);
        json_fputs(errors_file, r->request_id);
        fprintf(errors_file, ",\"attempts\":%d,\"throttles\":%d}\n",
                r->attempts, r->throttles);
        fflush(errors_file);
    }
    if (opts == NULL || !opts->quiet) {
        if (r->path == NULL)
            snprintf(where, sizeof(where),
                     "line %llu: ", (unsigned long long)r->lineno);
        else
            where[0] = '\0';
        if (r->request_id[0] != '\0')
            msg("%s%s%s%s: %s (request id %s); left unchanged",
                r->path ? r->path : "", r->path ? ": " : "", where,
                r->error_type, r->error_msg, r->request_id);
        else if (r->path != NULL &&
                 strncmp(r->error_msg, r->path, strlen(r->path)) == 0)
            msg("%s: %s; left unchanged", r->error_type, r->error_msg);
        else
            msg("%s%s%s%s: %s; left unchanged", r->path ? r->path : "",
                r->path ? ": " : "", where, r->error_type, r->error_msg);
    }
    pthread_mutex_unlock(&errors_lock);
}

void errors_close(void)
{
    if (errors_file != NULL && fclose(errors_file) != 0)
        msg("--errors: %s", strerror(errno));
    errors_file = NULL;
}

/* ---- the progress line -----------------------------------------------------
 */

#define RATE_WINDOW 5 /* seconds of history for "rate now" */

static pthread_t progress_tid;
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv = PTHREAD_COND_INITIALIZER;
static int progress_on, progress_stop_flag, progress_tty;

static void fmt_duration(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 100)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 6000)
        snprintf(buf, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, n, "%.0fh%02.0fm", floor(s / 3600),
                 floor(fmod(s, 3600) / 60));
}

static void print_progress(double *hist_t, uint64_t *hist_n, int *hist_i)
{
    struct stats s;
    double now = now_mono(), el, avg, cur, eta = NAN, dt;
    uint64_t finished;
    char total[64], etab[32];
    int old;

    pthread_mutex_lock(&g_stats.lock);
    s = g_stats;
    pthread_mutex_unlock(&g_stats.lock);
    finished = s.done - s.passed;
    el = now - s.start;
    avg = el > 0 ? (double)finished / el : 0;
    old = (*hist_i + 1) % RATE_WINDOW;
    dt = now - hist_t[old];
    cur =
        hist_t[old] > 0 && dt > 0 ? (double)(finished - hist_n[old]) / dt : avg;
    *hist_i = (*hist_i + 1) % RATE_WINDOW;
    hist_t[*hist_i] = now;
    hist_n[*hist_i] = finished;
    if (s.total_known) {
        uint64_t left =
            s.total > finished + s.skipped ? s.total - finished - s.skipped : 0;

        snprintf(
            total, sizeof(total), "/%llu (%.1f%%)", (unsigned long long)s.total,
            s.total ? 100.0 * (double)(finished + s.skipped) / (double)s.total
                    : 100.0);
        if (cur > 0)
            eta = (double)left / cur;
    } else if (s.bytes_total > 0) {
        double frac = (double)s.bytes_read / (double)s.bytes_total;

        snprintf(total, sizeof(total), " (%.1f%% of the input)", 100.0 * frac);
        if (frac > 0 && frac <= 1)
            eta = el * (1 - frac) / frac;
    } else {
        total[0] = '\0';
    }
    fmt_duration(etab, sizeof(etab), eta);
    flockfile(stderr);
    fprintf(stderr,
            "%skms-rotate: %llu%s done, %.0f/s now, %.0f/s avg, ETA %s, "
            "failed %llu, throttles %llu, re-queued %llu%s",
            progress_tty ? "\r\033[K" : "",
            (unsigned long long)(finished + s.skipped), total, cur, avg, etab,
            (unsigned long long)s.failed, (unsigned long long)s.throttles,
            (unsigned long long)s.requeues, progress_tty ? "" : "\n");
    fflush(stderr);
    funlockfile(stderr);
}

static void *progress_main(void *arg)
{
    double hist_t[RATE_WINDOW] = {0};
    uint64_t hist_n[RATE_WINDOW] = {0};
    int hist_i = 0;
    struct timespec ts;

    (void)arg;
    pthread_mutex_lock(&progress_lock);
    while (!progress_stop_flag) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&progress_cv, &progress_lock, &ts);
        if (progress_stop_flag)
            break;
        pthread_mutex_unlock(&progress_lock);
        print_progress(hist_t, hist_n, &hist_i);
        pthread_mutex_lock(&progress_lock);
    }
    pthread_mutex_unlock(&progress_lock);
    if (progress_tty)
        fputs("\r\033[K", stderr);
    return NULL;
}

int progress_start(const struct options *o)
{
    opts = o;
    progress_tty = isatty(STDERR_FILENO);
    if (o->progress == 0 || (o->progress < 0 && !progress_tty))
        return 1;
    if (pthread_create(&progress_tid, NULL, progress_main, NULL) != 0)
        return 0;
    progress_on = 1;
    return 1;
}

void progress_stop(void)
{
    if (!progress_on)
        return;
    pthread_mutex_lock(&progress_lock);
    progress_stop_flag = 1;
    pthread_cond_signal(&progress_cv);
    pthread_mutex_unlock(&progress_lock);
    pthread_join(progress_tid, NULL);
    progress_on = 0;
}

/* ---- the summary -----------------------------------------------------------
 */

void summary_print(const struct options *o)
{
    double el = now_mono() - g_stats.start;
    uint64_t handled = g_stats.moved + g_stats.would_move;
    size_t i;

    flockfile(stderr);
    fprintf(stderr, "kms-rotate: %s %llu, failed %llu",
            o->dry_run ? "would move" : "moved", (unsigned long long)handled,
            (unsigned long long)g_stats.failed);
    if (g_stats.n_types > 0) {
        fputs(" (", stderr);
        for (i = 0; i < g_stats.n_types; i++)
            fprintf(stderr, "%s%s %llu", i ? ", " : "", g_stats.by_type[i].type,
                    (unsigned long long)g_stats.by_type[i].n);
        fputs(")", stderr);
    }
    fprintf(stderr,
            ", skipped %llu (%s), passed through %llu; %.2f s, %.1f "
            "records/s; %llu requests, %llu throttled, %llu re-queued",
            (unsigned long long)g_stats.skipped,
            o->mode == MODE_FILES ? "journal" : "already in the output",
            (unsigned long long)g_stats.passed, el,
            el > 0 ? (double)(handled + g_stats.failed) / el : 0.0,
            (unsigned long long)g_stats.attempts,
            (unsigned long long)g_stats.throttles,
            (unsigned long long)g_stats.requeues);
    if (g_stats.stale_tmp_removed > 0)
        fprintf(stderr, "; removed %llu stale temporary files",
                (unsigned long long)g_stats.stale_tmp_removed);
    fputc('\n', stderr);
    funlockfile(stderr);
    free(g_stats.by_type);
    g_stats.by_type = NULL;
}
