/* SPDX-License-Identifier: Apache-2.0 */
/* The shared test reporting and scratch files. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int passed, failed;
static char tmpdir[4096];

/* A forked child (the fork tests) must not find the lock held by a thread
 * of its parent. */
static void lock_anew(void)
{
    pthread_mutex_init(&lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, lock_anew);
}

static void take_lock(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, register_atfork);
    pthread_mutex_lock(&lock);
}

static int record(int ok, const char *fmt, va_list ap) TEST_PRINTF(2, 0);

static int record(int ok, const char *fmt, va_list ap)
{
    char line[2048];

    vsnprintf(line, sizeof(line), fmt, ap);
    take_lock();
    printf("%s - %s\n", ok ? "ok" : "not ok", line);
    if (ok)
        passed++;
    else
        failed++;
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    return ok;
}

int test_check(int ok, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(ok, fmt, ap);
    va_end(ap);
    return ok;
}

static void got_expected(const char *got, const char *want)
{
    printf("#   got:      %s\n#   expected: %s\n", got != NULL ? got : "(null)",
           want != NULL ? want : "(null)");
}

int test_expect_str(const char *got, const char *want, const char *fmt, ...)
{
    int ok = (got == NULL && want == NULL) ||
             (got != NULL && want != NULL && strcmp(got, want) == 0);
    va_list ap;

    va_start(ap, fmt);
    record(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        got_expected(got, want);
    return ok;
}

int test_expect_contains(const char *got, const char *want, const char *fmt,
                         ...)
{
    int ok = got != NULL && want != NULL && strstr(got, want) != NULL;
    va_list ap;

    va_start(ap, fmt);
    record(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        got_expected(got, want);
    return ok;
}

void test_note(const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    take_lock();
    printf("# %s\n", line);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

int test_summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

int test_failed_count(void)
{
    return failed;
}

const char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (tmpdir[0] != '\0')
        return tmpdir;
    snprintf(tmpdir, sizeof(tmpdir), "%s/kmsre-test.XXXXXX",
             base != NULL && *base != '\0' ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return tmpdir;
}

const char *test_write_file(const char *name, const char *text, int mode)
{
    static char path[4200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    f = fopen(path, "wb");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    chmod(path, (mode_t)mode);
    return path;
}

static int remove_one(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void test_cleanup(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}
