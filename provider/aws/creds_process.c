/* SPDX-License-Identifier: Apache-2.0 */
/* credential_process: run the configured command (no shell) and read the
 * SDKs' process-credential JSON from its stdout. */
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
#include "aws/creds.h"

#define PROCESS_MAX_OUTPUT (64 * 1024)
#define PROCESS_MAX_ARGS 64
#define PROCESS_TIMEOUT_MS 60000

extern char **environ;

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

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 +
           (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Reads stdout (bounded) and the start of stderr until both close or the
 * deadline passes. */
static int collect(int out_fd, int err_fd, char *out, size_t *outlen, char *err,
                   size_t errcap)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    struct timespec start;
    size_t errlen = 0;
    char scratch[512];
    ssize_t n;

    clock_gettime(CLOCK_MONOTONIC, &start);
    *outlen = 0;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        long left = PROCESS_TIMEOUT_MS - elapsed_ms(&start);

        if (left <= 0)
            return 0;
        if (poll(fds, 2, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (fds[0].revents) {
            n = read(out_fd, out + *outlen, PROCESS_MAX_OUTPUT - *outlen);
            if (n <= 0 || (*outlen += (size_t)n) == PROCESS_MAX_OUTPUT)
                fds[0].fd = -1;
        }
        if (fds[1].revents) {
            n = read(err_fd, scratch, sizeof(scratch));
            if (n <= 0)
                fds[1].fd = -1;
            else if (errlen + 1 < errcap) {
                size_t take = (size_t)n < errcap - 1 - errlen
                                  ? (size_t)n
                                  : errcap - 1 - errlen;
                memcpy(err + errlen, scratch, take);
                errlen += take;
            }
        }
    }
    err[errlen] = '\0';
    return 1;
}

static void one_line(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
}

/* Runs argv with stdin from /dev/null; fills out/err, returns the exit
 * status or -1. */
static int run(char **argv, char *out, size_t *outlen, char *err, size_t errcap)
{
    posix_spawn_file_actions_t fa;
    int op[2], ep[2], status = -1, ok;
    pid_t pid;

    if (pipe(op) != 0)
        return -1;
    if (pipe(ep) != 0) {
        close(op[0]);
        close(op[1]);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    posix_spawn_file_actions_addclose(&fa, op[0]);
    posix_spawn_file_actions_addclose(&fa, ep[0]);
    ok = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    close(op[1]);
    close(ep[1]);
    if (ok && !collect(op[0], ep[0], out, outlen, err, errcap)) {
        kill(pid, SIGKILL);
        snprintf(err, errcap, "no answer within %d s",
                 PROCESS_TIMEOUT_MS / 1000);
    }
    close(op[0]);
    close(ep[0]);
    if (ok)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    return ok ? status : -1;
}

static enum kmsre_status check_version(const char *out, size_t len, char *why,
                                       size_t whylen)
{
    struct json_object *o = json_tokener_parse(out), *v;
    int ok = o != NULL && json_object_object_get_ex(o, "Version", &v) &&
             json_object_is_type(v, json_type_int) &&
             json_object_get_int(v) == 1;

    (void)len;
    json_object_put(o);
    if (!ok)
        snprintf(why, whylen,
                 "credential_process: output is not JSON with \"Version\": 1");
    return ok ? KMSRE_OK : KMSRE_ERR_CREDENTIALS;
}

enum kmsre_status aws_creds_from_process(const char *command,
                                         struct aws_creds *out, char *why,
                                         size_t whylen)
{
    size_t cmdlen = strlen(command), outlen = 0;
    char *buf = OPENSSL_malloc(cmdlen + 1);
    char *output = OPENSSL_malloc(PROCESS_MAX_OUTPUT + 1);
    char *argv[PROCESS_MAX_ARGS], err[256] = "";
    enum kmsre_status st = KMSRE_ERR_CREDENTIALS;
    int status;

    if (buf == NULL || output == NULL) {
        st = KMSRE_ERR_NOMEM;
    } else if (split_command(command, buf, argv, PROCESS_MAX_ARGS) <= 0) {
        snprintf(why, whylen,
                 "credential_process: cannot split the command "
                 "(unbalanced quotes or too many words)");
    } else if ((status = run(argv, output, &outlen, err, sizeof(err))) < 0 ||
               !WIFEXITED(status)) {
        one_line(err);
        snprintf(why, whylen,
                 "credential_process %.80s: did not run to the "
                 "end%s%s",
                 argv[0], err[0] ? ": " : "", err);
    } else if (WEXITSTATUS(status) != 0) {
        one_line(err);
        snprintf(why, whylen, "credential_process %.80s: exit status %d%s%s",
                 argv[0], WEXITSTATUS(status), err[0] ? ": " : "", err);
    } else {
        output[outlen] = '\0';
        st = check_version(output, outlen, why, whylen);
        if (st == KMSRE_OK)
            st = aws_creds_parse_json(output, outlen, "SessionToken",
                                      "credential_process", out, why, whylen);
        if (st == KMSRE_ERR_RESPONSE)
            st = KMSRE_ERR_CREDENTIALS;
    }
    if (output != NULL)
        OPENSSL_clear_free(output, PROCESS_MAX_OUTPUT + 1);
    OPENSSL_free(buf);
    return st;
}
