/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzz targets share besides allocation failures: an assertion
 * that survives NDEBUG and says where it failed, and a hash of the input
 * to derive choices from (which allocation fails, how input is cut).
 * Header-only; not a fuzz_*.c file so the CMake glob skips it. */
#ifndef KMSRE_FUZZ_CHECK_H
#define KMSRE_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* FNV-1a. */
static inline uint32_t fuzz_input_hash(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

/* A copy of the input without a terminating NUL, so a parser that reads
 * past size is caught; NULL if malloc fails. free() it. */
static inline char *fuzz_unterminated_copy(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);

    if (text != NULL && size > 0)
        memcpy(text, data, size);
    return text;
}

#endif
