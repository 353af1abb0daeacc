/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credential_process: the configured command runs without a shell (words
 * split as a shell would split them, no expansion), with stdin from
 * /dev/null and no descriptor of ours but its stdout and stderr pipes. Its
 * stdout is the SDKs' process-credential JSON (Version 1). The whole run is
 * bounded (a minute in the chain), even when the helper closes its output
 * and lingers: then it is killed and reaped.
 */
/* pipe2() and posix_spawn_file_actions_addclosefrom_np() are GNU. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "aws/creds_source.h"

#define PROCESS_MAX_OUTPUT (64 * 1024)
#define PROCESS_MAX_ARGS 64
#define STDERR_KEPT 256

extern char **environ;

struct process_source {
    struct kmsre_creds_source base;
    char *command;
    long timeout_ms;
};

/* What the helper printed and how it ended. */
struct run_result {
    char *out; /* PROCESS_MAX_OUTPUT + 1 bytes, wiped when freed */
    size_t outlen;
    char err[STDERR_KEPT];
    int status;    /* waitpid's, when it ran to the end */
    int timed_out; /* killed after timeout_ms */
    long timeout_ms;
};

/* Splits a command line the way a POSIX shell would split words: blanks
 * separate, quotes group, backslash escapes (outside single quotes). No
 * expansion of any kind. argv points into buf. */
static int split_command(const char *cmd, char *buf, char **argv, int max)
{
    int argc = 0, in_word = 0;
    char quote = 0, *o = buf;

    for (; *cmd != '\0'; cmd++) {
        char c = *cmd;

        if (quote == 0 && (c == ' ' || c == '\t' || c == '\n')) {
            if (in_word)
                *o++ = '\0';
            in_word = 0;
            continue;
        }
        if (!in_word) {
            if (argc == max - 1)
                return -1;
            argv[argc++] = o;
            in_word = 1;
        }
        if (quote == 0 && (c == '\'' || c == '"'))
            quote = c;
        else if (c == quote)
            quote = 0;
        else if (c == '\\' && quote != '\'' && cmd[1] != '\0')
            *o++ = *++cmd;
        else
            *o++ = c;
    }
    if (quote != 0)
        return -1;
    if (in_word)
        *o = '\0';
    argv[argc] = NULL;
    return argc;
}

static long ms_left(const struct timespec *start, long timeout_ms)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return timeout_ms - ((now.tv_sec - start->tv_sec) * 1000 +
                         (now.tv_nsec - start->tv_nsec) / 1000000);
}

static void keep_stderr(struct run_result *r, const char *data, size_t n)
{
    size_t have = strlen(r->err), take;

    if (have + 1 >= sizeof(r->err))
        return;
    take = n < sizeof(r->err) - 1 - have ? n : sizeof(r->err) - 1 - have;
    memcpy(r->err + have, data, take);
    r->err[have + take] = '\0';
}

/* Reads stdout (bounded) and the start of stderr until both close or the
 * time is up. Returns 0 when the time ran out. */
static int collect(int out_fd, int err_fd, const struct timespec *start,
                   struct run_result *r)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    char scratch[512];
    ssize_t n;
    long left;

    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if ((left = ms_left(start, r->timeout_ms)) <= 0)
            return 0;
        if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
            return 0;
        if (fds[0].fd >= 0 && fds[0].revents) {
            n = read(out_fd, r->out + r->outlen,
                     PROCESS_MAX_OUTPUT - r->outlen);
            if (n <= 0 || (r->outlen += (size_t)n) == PROCESS_MAX_OUTPUT)
                fds[0].fd = -1;
        }
        if (fds[1].fd >= 0 && fds[1].revents) {
            n = read(err_fd, scratch, sizeof(scratch));
            if (n <= 0)
                fds[1].fd = -1;
            else
                keep_stderr(r, scratch, (size_t)n);
        }
    }
    return 1;
}

/* Waits for the helper until the time is up, then kills it; either way it
 * is reaped. Returns 0 when it had to be killed. */
static int reap(pid_t pid, const struct timespec *start, long timeout_ms,
                int *status)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    pid_t got;

    for (;;) {
        got = waitpid(pid, status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            return got == pid;
        if (ms_left(start, timeout_ms) <= 0)
            break;
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* stdin from /dev/null, stdout and stderr to the pipes, every other
 * descriptor closed in the helper. */
static int spawn(char **argv, int out_w, int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return 0;
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    if (rc == 0)
        rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0;
}

/* Runs argv; 0 when it could not be started. */
static int run(char **argv, struct run_result *r)
{
    int op[2], ep[2], ok;
    struct timespec start;
    pid_t pid;

    if (pipe2(op, O_CLOEXEC) != 0)
        return 0;
    if (pipe2(ep, O_CLOEXEC) != 0) {
        close(op[0]);
        close(op[1]);
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    ok = spawn(argv, op[1], ep[1], &pid);
    close(op[1]);
    close(ep[1]);
    if (ok && !collect(op[0], ep[0], &start, r))
        r->timed_out = 1;
    close(op[0]);
    close(ep[0]);
    if (ok && !reap(pid, &start, r->timeout_ms, &r->status))
        r->timed_out = 1;
    return ok;
}

static void one_line(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
}

static enum kmsre_status check_version(const char *out, size_t len,
                                       struct kmsre_err *err)
{
    struct json_object *o = kmsre_json_parse_secret(out, len), *v;
    int ok = o != NULL && json_object_object_get_ex(o, "Version", &v) &&
             json_object_is_type(v, json_type_int) &&
             json_object_get_int(v) == 1;

    kmsre_json_free_secret(o);
    if (!ok)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "output is not JSON with \"Version\": 1");
    return KMSRE_OK;
}

static enum kmsre_status read_output(const struct run_result *r,
                                     struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    enum kmsre_status st = check_version(r->out, r->outlen, err);

    if (st == KMSRE_OK)
        st = kmsre_creds_parse_json(r->out, r->outlen, "SessionToken",
                                    "credential_process", out, err);
    else
        kmsre_err_prefix(err, "credential_process");
    return st == KMSRE_ERR_RESPONSE ? KMSRE_ERR_CREDENTIALS : st;
}

static enum kmsre_status judge(char **argv, struct run_result *r,
                               struct kmsre_creds *out, struct kmsre_err *err)
{
    one_line(r->err);
    if (r->timed_out)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "credential_process %.80s: no answer within %.1f s "
                          "(killed)",
                          argv[0], (double)r->timeout_ms / 1000);
    if (!WIFEXITED(r->status))
        return kmsre_fail(
            err, KMSRE_ERR_CREDENTIALS,
            "credential_process %.80s: did not run to the end%s%s", argv[0],
            r->err[0] ? ": " : "", r->err);
    if (WEXITSTATUS(r->status) != 0)
        return kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                          "credential_process %.80s: exit status %d%s%s",
                          argv[0], WEXITSTATUS(r->status),
                          r->err[0] ? ": " : "", r->err);
    r->out[r->outlen] = '\0';
    return read_output(r, out, err);
}

static enum kmsre_status process_run(const char *command, long timeout_ms,
                                     struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    struct run_result r = {0};
    char *argv[PROCESS_MAX_ARGS], *buf = OPENSSL_malloc(strlen(command) + 1);
    enum kmsre_status st;

    r.timeout_ms = timeout_ms;
    r.out = OPENSSL_malloc(PROCESS_MAX_OUTPUT + 1);
    if (buf == NULL || r.out == NULL)
        st = kmsre_fail(err, KMSRE_ERR_NOMEM, "out of memory");
    else if (split_command(command, buf, argv, PROCESS_MAX_ARGS) <= 0)
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "credential_process: cannot split the command "
                        "(unbalanced quotes or too many words)");
    else if (!run(argv, &r))
        st = kmsre_fail(err, KMSRE_ERR_CREDENTIALS,
                        "credential_process %.80s: cannot start it", argv[0]);
    else
        st = judge(argv, &r, out, err);
    OPENSSL_clear_free(r.out, PROCESS_MAX_OUTPUT + 1);
    OPENSSL_free(buf);
    return st;
}

static enum kmsre_status process_get(struct kmsre_creds_source *src,
                                     const struct kmsre_creds_env *env,
                                     struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    struct process_source *s = (struct process_source *)src;

    (void)env;
    return process_run(s->command, s->timeout_ms, out, err);
}

static void process_destroy(struct kmsre_creds_source *src)
{
    struct process_source *s = (struct process_source *)src;

    OPENSSL_free(s->command);
    OPENSSL_free(s);
}

static const struct kmsre_creds_source_vtable process_vtable = {
    "credential_process", process_get, process_destroy};

struct kmsre_creds_source *kmsre_creds_process_source(const char *command,
                                                      long timeout_ms)
{
    struct process_source *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.vtable = &process_vtable;
    s->timeout_ms = timeout_ms;
    if ((s->command = OPENSSL_strdup(command)) == NULL) {
        OPENSSL_free(s);
        return NULL;
    }
    return &s->base;
}
