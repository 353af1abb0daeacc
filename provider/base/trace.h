/* SPDX-License-Identifier: Apache-2.0 */
/* The debug trace (KMSRE_DEBUG=1 or cnf `debug`): one line per decision
 * and per attempt on stderr. Callers pass what may be shown, never a
 * secret, body or header value. */
#ifndef KMSRE_BASE_TRACE_H
#define KMSRE_BASE_TRACE_H

#include "base/err.h"

struct kmsre_trace {
    int on;
};

/* "kmsreencrypt: " + the line; nothing when t is NULL or off. */
void kmsre_trace(const struct kmsre_trace *t, const char *fmt, ...)
    KMSRE_PRINTF(2, 3);

#endif
