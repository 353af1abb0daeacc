/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation-failure injection for the fuzz targets: OPENSSL_malloc and
 * friends are routed through counters so a target can run a parse a second
 * time with its Nth OpenSSL allocation failing, which exercises the
 * KMSRE_ERR_NOMEM paths (LeakSanitizer then checks they free everything).
 * json-c allocates with plain malloc and is not affected. Header-only, one
 * copy per target; not a fuzz_*.c file so the CMake glob skips it. */
#ifndef KMSRE_FUZZ_ALLOC_FAIL_H
#define KMSRE_FUZZ_ALLOC_FAIL_H

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static size_t fuzz_alloc_count;   /* OpenSSL allocations since the reset */
static size_t fuzz_alloc_fail_at; /* 1-based; 0: never fail */
static int fuzz_alloc_hooked;

static int fuzz_alloc_should_fail(void)
{
    fuzz_alloc_count++;
    return fuzz_alloc_fail_at != 0 && fuzz_alloc_count == fuzz_alloc_fail_at;
}

/* Same contract as OpenSSL's defaults: size 0 gives NULL. */
static void *fuzz_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n == 0 || fuzz_alloc_should_fail())
        return NULL;
    return malloc(n);
}

static void *fuzz_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (fuzz_alloc_should_fail())
        return NULL;
    return realloc(p, n);
}

static void fuzz_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* libcrypto's OPENSSL_cleanse is assembly on x86_64, so ASan does not see
 * it write past an allocation (OPENSSL_clear_free with a wrong length).
 * This definition takes its place (the executable's symbol wins over the
 * shared library's) and goes through the instrumented memset. */
__attribute__((visibility("default"))) void OPENSSL_cleanse(void *ptr,
                                                            size_t len);
__attribute__((visibility("default"))) void OPENSSL_cleanse(void *ptr,
                                                            size_t len)
{
    void *(*volatile set)(void *, int, size_t) = memset;

    if (ptr != NULL && len > 0)
        set(ptr, 0, len);
}

/* Call from LLVMFuzzerInitialize, before OpenSSL allocates anything. */
static inline void fuzz_alloc_install(void)
{
    fuzz_alloc_hooked =
        CRYPTO_set_mem_functions(fuzz_malloc, fuzz_realloc, fuzz_free);
}

/* Starts counting; fail_at 0 means no failure. Returns 0 when the hooks
 * could not be installed (then failures cannot be injected). */
static inline int fuzz_alloc_reset(size_t fail_at)
{
    fuzz_alloc_count = 0;
    fuzz_alloc_fail_at = fuzz_alloc_hooked ? fail_at : 0;
    return fuzz_alloc_hooked;
}

/* Whether the chosen allocation was reached (and so did fail). */
static inline int fuzz_alloc_failed(void)
{
    return fuzz_alloc_fail_at != 0 && fuzz_alloc_count >= fuzz_alloc_fail_at;
}

#endif
