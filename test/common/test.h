/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every C test of the project shares: TAP-like "ok - ..." and
 * "not ok - ..." lines, a last line "N passed, M failed" (the convention
 * the shell harness checks), got/expected diagnostics and scratch files.
 * Depends on nothing of the provider, so the EVP programs use it too.
 */
#ifndef KMSRE_TEST_H
#define KMSRE_TEST_H

#include <stddef.h>

#if defined(__GNUC__)
#define TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TEST_PRINTF(f, a)
#endif

/* One check: prints its line, counts it, returns ok. Thread-safe. */
int test_check(int ok, const char *fmt, ...) TEST_PRINTF(2, 3);

/* A check of two strings (NULL allowed): on a mismatch the line is
 * followed by "#   got:" and "#   expected:". */
int test_expect_str(const char *got, const char *want, const char *fmt, ...)
    TEST_PRINTF(3, 4);

/* Like test_expect_str, but want must only occur within got. */
int test_expect_contains(const char *got, const char *want, const char *fmt,
                         ...) TEST_PRINTF(3, 4);

/* A "# ..." comment line. Thread-safe. */
void test_note(const char *fmt, ...) TEST_PRINTF(1, 2);

/* Prints "N passed, M failed"; the exit status for main (0: all passed,
 * and at least one check ran). */
int test_summary(void);

int test_failed_count(void);

/* A new directory under $TMPDIR (or /tmp), removed by test_cleanup. */
const char *test_tmpdir(void);
/* Writes text to a file in the scratch directory; returns its path
 * (static storage per call: copy it if kept). mode: e.g. 0600. */
const char *test_write_file(const char *name, const char *text, int mode);
/* Removes the scratch directory and everything in it. */
void test_cleanup(void);

#endif
