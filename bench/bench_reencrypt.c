/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_reencrypt: ReEncrypt throughput of the kmsreencrypt provider through
 * OpenSSL's public EVP / OSSL_STORE API, from N threads.
 *
 * The pattern measured is the one of an application that re-encrypts many
 * blobs: the provider is loaded once in a library context of its own, the
 * key is loaded once through OSSL_STORE and shared by all threads, each
 * thread owns one EVP_PKEY_CTX and, per operation, calls
 *   EVP_PKEY_encrypt_init_ex(ctx, {source-encryption-context})
 *   EVP_PKEY_encrypt(ctx, NULL, &outlen, in, inlen)   size query, no network
 *   EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen)    one ReEncrypt
 *
 * Usage: bench_reencrypt [options] MODULE_DIR
 *   -k URI     key URI (default kms:alias/bench)
 *   -i FILE    source CiphertextBlob (default: 150 fixed pseudo-random bytes)
 *   -c CTX     source-encryption-context (default Dept=IT; "" for none)
 *   -t N       threads (default 1)
 *   -d SEC     measure for SEC seconds (default 5) ...
 *   -n OPS     ... or for OPS operations in all (split over the threads)
 *   -w OPS     warm-up operations per thread, not measured (default 50)
 *   -R LIST    with -n: print VmRSS when the total reaches each of the
 *              comma-separated counts, e.g. 10000,50000,100000
 *   -e LEN     expected output length (each op must return exactly LEN
 *              bytes; default: any length > 0)
 *   -q         no progress output on stderr
 *
 * Output (stdout), one line each:
 *   rss ops=N vmrss_kb=K vmhwm_kb=H          (with -R; plus one after warm-up
 *                                             with ops=0)
 *   result threads=T ops=N failures=F seconds=S ops_per_s=X us_per_op=U
 *          cpu_us_per_op=C sys_us_per_op=K
 *   (us_per_op: wall latency per operation per thread; cpu_us_per_op: CPU
 *   time, user + system, of the whole process per operation; sys_us_per_op:
 *   its system (kernel) part)
 * Exit status: 0 when every operation succeeded, 1 when any failed, 2 on a
 * usage or set-up error.
 *
 * For callgrind, the measured operations run in measured_op() and the
 * warm-up in warmup_op(): `valgrind --tool=callgrind
 * --toggle-collect=measured_op` counts exactly the measured operations.
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CIPHERTEXT 6144
#define MAX_CHECKPOINTS 32

static const char *module_dir;
static const char *key_uri = "kms:alias/bench";
static const char *input_file;
static const char *context = "Dept=IT";
static int n_threads = 1;
static double duration = 5.0;
static long total_ops; /* 0: duration mode */
static long warmup = 50;
static long expect_len = -1;
static int quiet;
static long checkpoints[MAX_CHECKPOINTS];
static int n_checkpoints;

static OSSL_LIB_CTX *libctx;
static EVP_PKEY *pkey;
static unsigned char *in_blob;
static size_t in_len;

static atomic_long done_ops;  /* measured operations completed */
static atomic_long fail_ops;  /* failed operations (warm-up included) */
static atomic_int stop_flag;  /* duration mode: set by main */
static atomic_int err_printed;
static pthread_barrier_t start_barrier;

/* CPU seconds (user + system) of the whole process, all threads; *sys
 * gets the system part. */
static double cpu_seconds(double *sys)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           *sys;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_reencrypt [-k URI] [-i FILE] [-c CTX] [-t N] "
            "[-d SEC | -n OPS] [-w OPS] [-R N,N,...] [-e LEN] [-q] "
            "MODULE_DIR\n");
    exit(2);
}

static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "bench_reencrypt: %s: %s\n", path, strerror(errno));
        return 0;
    }
    buf = malloc(MAX_CIPHERTEXT + 1);
    n = buf == NULL ? 0 : fread(buf, 1, MAX_CIPHERTEXT + 1, f);
    fclose(f);
    if (buf == NULL || n == 0 || n > MAX_CIPHERTEXT) {
        fprintf(stderr, "bench_reencrypt: %s: empty or too large\n", path);
        free(buf);
        return 0;
    }
    *data = buf;
    *len = n;
    return 1;
}

/* VmRSS and VmHWM of this process, in kB. */
static void read_rss(long *rss, long *hwm)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];

    *rss = *hwm = -1;
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static void print_rss(long ops)
{
    long rss, hwm;

    read_rss(&rss, &hwm);
    printf("rss ops=%ld vmrss_kb=%ld vmhwm_kb=%ld\n", ops, rss, hwm);
    fflush(stdout);
}

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *st;
    EVP_PKEY *k = NULL;

    st = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (k == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);

        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            k = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return k;
}

/* One ReEncrypt on the thread's context. Returns 1 on success. */
static __attribute__((noinline, noipa)) int do_op(EVP_PKEY_CTX *ctx,
                                           unsigned char *out)
{
    OSSL_PARAM p[2];
    size_t outlen = 0;

    if (context[0] != '\0') {
        p[0] = OSSL_PARAM_construct_utf8_string("source-encryption-context",
                                                (char *)context, 0);
        p[1] = OSSL_PARAM_construct_end();
    } else {
        p[0] = OSSL_PARAM_construct_end();
    }
    if (EVP_PKEY_encrypt_init_ex(ctx, p) <= 0 ||
        EVP_PKEY_encrypt(ctx, NULL, &outlen, in_blob, in_len) <= 0 ||
        outlen > MAX_CIPHERTEXT ||
        EVP_PKEY_encrypt(ctx, out, &outlen, in_blob, in_len) <= 0 ||
        outlen == 0 || (expect_len >= 0 && (long)outlen != expect_len)) {
        atomic_fetch_add(&fail_ops, 1);
        if (atomic_exchange(&err_printed, 1) == 0) {
            fprintf(stderr, "bench_reencrypt: operation failed (outlen %zu):\n",
                    outlen);
            ERR_print_errors_fp(stderr);
        }
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/*
 * Separate symbols so callgrind can collect only the measured operations
 * (--toggle-collect=measured_op). noipa and the distinct bodies keep gcc
 * from merging the two, cloning them or turning the call into a tail jump.
 */
static volatile long n_warmup_calls, n_measured_calls;

__attribute__((noinline, noipa)) int warmup_op(EVP_PKEY_CTX *ctx,
                                               unsigned char *out);
__attribute__((noinline, noipa)) int measured_op(EVP_PKEY_CTX *ctx,
                                                 unsigned char *out);

int warmup_op(EVP_PKEY_CTX *ctx, unsigned char *out)
{
    int r = do_op(ctx, out);

    n_warmup_calls++;
    return r;
}

int measured_op(EVP_PKEY_CTX *ctx, unsigned char *out)
{
    int r = do_op(ctx, out);

    n_measured_calls++;
    return r;
}

struct worker {
    pthread_t tid;
    long quota; /* ops mode: operations for this thread */
    int setup_ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pkey, NULL);
    unsigned char *out = malloc(MAX_CIPHERTEXT);
    long i;

    w->setup_ok = ctx != NULL && out != NULL;
    if (w->setup_ok)
        for (i = 0; i < warmup; i++)
            warmup_op(ctx, out);
    pthread_barrier_wait(&start_barrier); /* warm-up done */
    pthread_barrier_wait(&start_barrier); /* main has started the clock */
    if (w->setup_ok) {
        if (total_ops > 0) {
            for (i = 0; i < w->quota; i++) {
                measured_op(ctx, out);
                atomic_fetch_add_explicit(&done_ops, 1, memory_order_relaxed);
            }
        } else {
            while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
                measured_op(ctx, out);
                atomic_fetch_add_explicit(&done_ops, 1, memory_order_relaxed);
            }
        }
    }
    EVP_PKEY_CTX_free(ctx);
    free(out);
    return NULL;
}

static void parse_checkpoints(char *list)
{
    char *tok, *save = NULL;

    for (tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (n_checkpoints == MAX_CHECKPOINTS)
            usage();
        checkpoints[n_checkpoints++] = atol(tok);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    OSSL_PROVIDER *prov = NULL, *deflt = NULL;
    struct worker *workers = NULL;
    double t0, t1, c0, c1, s0, s1;
    long ops, fails;
    int i, c, rc = 2, next_cp = 0;

    while ((c = getopt(argc, argv, "k:i:c:t:d:n:w:R:e:q")) != -1) {
        switch (c) {
        case 'k': key_uri = optarg; break;
        case 'i': input_file = optarg; break;
        case 'c': context = optarg; break;
        case 't': n_threads = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'n': total_ops = atol(optarg); break;
        case 'w': warmup = atol(optarg); break;
        case 'R': parse_checkpoints(optarg); break;
        case 'e': expect_len = atol(optarg); break;
        case 'q': quiet = 1; break;
        default: usage();
        }
    }
    if (argc - optind != 1 || n_threads < 1 || n_threads > 1024 ||
        (total_ops == 0 && duration <= 0) || total_ops < 0 || warmup < 0)
        usage();
    module_dir = argv[optind];

    if (input_file != NULL) {
        if (!read_file(input_file, &in_blob, &in_len))
            return 2;
    } else {
        /* A KMS symmetric CiphertextBlob of a short secret is ~150 bytes. */
        unsigned int x = 12345;

        in_len = 150;
        in_blob = malloc(in_len);
        if (in_blob == NULL)
            return 2;
        for (size_t j = 0; j < in_len; j++) {
            x = x * 1103515245u + 12345u;
            in_blob[j] = (unsigned char)(x >> 16);
        }
    }

    libctx = OSSL_LIB_CTX_new();
    if (libctx == NULL ||
        !OSSL_PROVIDER_set_default_search_path(libctx, module_dir) ||
        (prov = OSSL_PROVIDER_load(libctx, "kmsreencrypt")) == NULL ||
        (deflt = OSSL_PROVIDER_load(libctx, "default")) == NULL) {
        fprintf(stderr, "bench_reencrypt: cannot load the providers from %s\n",
                module_dir);
        ERR_print_errors_fp(stderr);
        goto end;
    }
    if ((pkey = load_key(key_uri)) == NULL) {
        fprintf(stderr, "bench_reencrypt: cannot load %s\n", key_uri);
        ERR_print_errors_fp(stderr);
        goto end;
    }

    workers = calloc((size_t)n_threads, sizeof(*workers));
    if (workers == NULL ||
        pthread_barrier_init(&start_barrier, NULL, (unsigned)n_threads + 1) !=
            0)
        goto end;
    for (i = 0; i < n_threads; i++) {
        workers[i].quota = total_ops / n_threads +
                           (i < total_ops % n_threads ? 1 : 0);
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) !=
            0) {
            fprintf(stderr, "bench_reencrypt: pthread_create failed\n");
            exit(2);
        }
    }
    pthread_barrier_wait(&start_barrier); /* every thread has warmed up */
    if (n_checkpoints > 0)
        print_rss(0);
    if (atomic_load(&fail_ops) > 0 && !quiet)
        fprintf(stderr, "bench_reencrypt: %ld warm-up failures\n",
                atomic_load(&fail_ops));
    c0 = cpu_seconds(&s0);
    t0 = now();
    pthread_barrier_wait(&start_barrier);

    if (total_ops == 0) {
        sleep_ms((long)(duration * 1000));
        atomic_store(&stop_flag, 1);
    } else {
        /* Watch progress for the RSS checkpoints. */
        while (atomic_load(&done_ops) < total_ops) {
            long d = atomic_load(&done_ops);

            while (next_cp < n_checkpoints && d >= checkpoints[next_cp])
                print_rss(checkpoints[next_cp++]);
            sleep_ms(1);
        }
    }
    for (i = 0; i < n_threads; i++)
        pthread_join(workers[i].tid, NULL);
    t1 = now();
    c1 = cpu_seconds(&s1);
    while (next_cp < n_checkpoints)
        print_rss(checkpoints[next_cp++]);

    ops = atomic_load(&done_ops);
    fails = atomic_load(&fail_ops);
    for (i = 0; i < n_threads; i++)
        if (!workers[i].setup_ok)
            fails++;
    printf("result threads=%d ops=%ld failures=%ld seconds=%.3f "
           "ops_per_s=%.1f us_per_op=%.1f cpu_us_per_op=%.1f sys_us_per_op=%.1f\n",
           n_threads, ops, fails, t1 - t0, (double)ops / (t1 - t0),
           ops > 0 ? (t1 - t0) * 1e6 * n_threads / (double)ops : 0.0,
           ops > 0 ? (c1 - c0) * 1e6 / (double)ops : 0.0,
           ops > 0 ? (s1 - s0) * 1e6 / (double)ops : 0.0);
    rc = fails == 0 && ops > 0 ? 0 : 1;

end:
    free(workers);
    EVP_PKEY_free(pkey);
    if (deflt != NULL)
        OSSL_PROVIDER_unload(deflt);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(libctx);
    free(in_blob);
    return rc;
}
