/* SPDX-License-Identifier: Apache-2.0 */
/* kms-rotate: main: set-up, the run, the summary and the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rotate.h"

static FILE *open_input(const struct options *o)
{
    FILE *in = stdin;
    struct stat st;

    if (o->input != NULL && strcmp(o->input, "-") != 0) {
        in = fopen(o->input, "r");
        if (in == NULL) {
            msg("--input %s: %s", o->input, strerror(errno));
            return NULL;
        }
    }
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        g_stats.bytes_total = (uint64_t)st.st_size;
    return in;
}

/* --output FILE, opened for resuming (not truncated here). */
static FILE *open_output(const struct options *o)
{
    int fd = open(o->output, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    FILE *out;

    if (fd < 0) {
        msg("--output %s: %s", o->output, strerror(errno));
        return NULL;
    }
    out = fdopen(fd, "r+");
    if (out == NULL) {
        msg("--output %s: %s", o->output, strerror(errno));
        close(fd);
    }
    return out;
}

static int close_output(const struct options *o, FILE *out)
{
    int ok = fflush(out) == 0;

    if (ok && o->output != NULL && fsync(fileno(out)) != 0 && errno != EINVAL &&
        errno != EROFS)
        ok = 0; /* EINVAL: a device or pipe, nothing to sync */
    if (out != stdout || o->output == NULL)
        ok = fclose(out) == 0 && ok;
    if (!ok)
        msg("cannot write the output: %s", strerror(errno));
    return ok;
}

int main(int argc, char **argv)
{
    struct options o;
    struct pool_io io;
    FILE *in = NULL;
    int rc, exit_now = 0, status = EXIT_USAGE;

    rc = options_parse(argc, argv, &o, &exit_now);
    if (rc != 0 || exit_now) {
        options_free(&o);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error */
    stats_init();
    memset(&io, 0, sizeof(io));
    io.o = &o;
    io.out_fd = -1;

    /* Everything that can be checked before the first request. */
    if (!errors_open(o.errors) || !journal_open(&o))
        goto out;
    if (o.mode == MODE_FILES) {
        io.fw = files_open(&o);
    } else {
        if ((in = open_input(&o)) == NULL)
            goto out;
        if ((io.rr = records_open(&o, in)) == NULL)
            goto out;
    }
    if ((io.kms = kms_open(&o)) == NULL)
        goto out;
    if (o.mode != MODE_FILES && !o.dry_run) {
        if (o.output != NULL) {
            if ((io.out = open_output(&o)) == NULL ||
                !resume_point(&o, io.out, &io.resume))
                goto out;
            io.out_fd = fileno(io.out);
        } else {
            io.out = stdout;
            io.out_fd = STDOUT_FILENO;
        }
    }
    if (o.mode == MODE_FILES &&
        (o.progress > 0 || (o.progress < 0 && isatty(STDERR_FILENO))))
        files_count_start(&o);
    progress_start(&o);

    rc = pool_run(&io);

    progress_stop();
    files_count_join();
    if (io.out != NULL && !close_output(&o, io.out))
        rc = -1;
    io.out = NULL;
    journal_close();
    errors_close();
    summary_print(&o);
    if (rc != 0)
        msg("run stopped before the end; what was written is consistent: "
            "rerun the same command to finish");
    else if (io.read_error)
        msg("the input could not be read to its end; rerun to finish");
    status = rc != 0 || io.read_error ? EXIT_ABORTED
             : g_stats.failed > 0     ? EXIT_SOME_FAILED
                                      : EXIT_ALL_MOVED;
out:
    if (io.out != NULL && io.out != stdout)
        fclose(io.out);
    journal_close();
    errors_close();
    if (io.fw != NULL)
        files_close(io.fw);
    if (io.rr != NULL)
        records_close(io.rr);
    if (in != NULL && in != stdin)
        fclose(in);
    kms_close(io.kms);
    options_free(&o);
    free(g_stats.by_type);
    return status;
}
