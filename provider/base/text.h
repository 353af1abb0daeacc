/* SPDX-License-Identifier: Apache-2.0 */
/* Text helpers shared by every layer: user input made safe to quote in a
 * message, UTF-8 decoding, the one boolean spelling, environment reads. */
#ifndef KMSRE_BASE_TEXT_H
#define KMSRE_BASE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

/* A piece of user input made safe to print: control bytes, stray bytes and
 * quotes escaped, long pieces cut with "...". Lives in the caller's frame. */
struct kmsre_quoted {
    char s[112];
};

const char *kmsre_quote(struct kmsre_quoted *q, const char *s, size_t n);
const char *kmsre_quote_str(struct kmsre_quoted *q, const char *s);

/* Copies at most dstlen-1 bytes of src, each control character replaced by
 * a space, so nothing a peer sends can forge lines in a log. */
void kmsre_copy_printable(char *dst, size_t dstlen, const char *src,
                          size_t len);

/* The length of the UTF-8 sequence at s (1..4) with its code point in *cp,
 * or 0 for an invalid, overlong, surrogate or truncated sequence. */
size_t kmsre_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Python's str.isspace(), which is what the AWS CLI's regex \s and
 * rstrip() use. */
int kmsre_is_py_space(uint32_t c);
/* C0 and C1 control characters. */
int kmsre_is_control(uint32_t c);
/* Python's string.whitespace (ASCII), which the CLI skips around '='. */
int kmsre_is_blank(char c);
size_t kmsre_skip_blanks(const char *s, size_t len, size_t pos);

/* KMSRE_ERR_INVALID, with "bad <what>: ..." in err, unless text is valid
 * UTF-8 without NUL bytes. */
enum kmsre_status kmsre_check_utf8(const char *text, size_t len,
                                   const char *what, struct kmsre_err *err);

/* A NUL-terminated copy of s[0..n). */
char *kmsre_strndup(const char *s, size_t n);

/* The one boolean reader: true/false, yes/no, on/off, 1/0, any case.
 * Returns 0 (and leaves *out) for anything else. */
int kmsre_parse_bool(const char *text, int *out);

/* An environment variable's value, or NULL when unset or empty. */
const char *kmsre_env(const char *name);

/* Whether an environment switch is set to a true value. */
int kmsre_env_true(const char *name);

#endif
