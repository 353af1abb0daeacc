/* SPDX-License-Identifier: Apache-2.0 */
/* The debug trace. One fprintf per line, so lines of concurrent threads
 * do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include "base/trace.h"

void kmsre_trace(const struct kmsre_trace *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (t == NULL || !t->on)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "kmsreencrypt: %s\n", line);
}
