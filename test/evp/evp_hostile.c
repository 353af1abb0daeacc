/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evp_hostile: ReEncrypt calls against test/hostile/hostile_server.py (or
 * h2server.go), through OpenSSL's public EVP, OSSL_STORE and OSSL_PROVIDER
 * API only; no project header. The server answers input I with the blob
 * "NEWBLOB-FOR:I", so every call can check that the answer it got is the
 * answer to its own request.
 *
 * Usage:
 *   evp_hostile [options] MODULE_DIR KEY_URI
 *
 *   MODULE_DIR  directory holding kmsreencrypt.so
 *   KEY_URI     kms:<key>, e.g. kms:alias/x (loaded with OSSL_STORE)
 *
 * Options:
 *   -c CNF     load this OpenSSL configuration into the program's library
 *              context first (provider settings such as request-timeout-ms)
 *   -p PREFIX  inputs are PREFIX-<n> (default INPUT)
 *   -n N       sequential calls (default 1)
 *   -s MS      sleep between two calls (default 0)
 *   -x WANT    ok: every call must succeed with its own answer (default);
 *              fail: every call must fail with a clear error (a non-empty
 *              error queue with the provider's message) and no output;
 *              own: each call either gets its own answer or fails with a
 *              clear error; never another request's answer
 *   -A N       attempts a successful call must report (default 1; 0: any)
 *   -f N       fork mode: each round the parent calls once, then forks N
 *              children that call concurrently (released together)
 *   -r N       rounds in fork mode (default 50)
 *   -k N       calls per child and round (default 2)
 *   -T N       fork mode: N parent threads keep calling while the main
 *              thread forks (in a TSan or ASan build they run and are
 *              joined before each fork instead, as these sanitizers cannot
 *              follow a fork while other threads run; a "#" line says so)
 *   -a S       alarm() in each child: a child that hangs for S seconds
 *              dies of SIGALRM and counts as a failure (default 30)
 *
 * Output: "ok - ..." / "not ok - ..." lines on stdout, "# ..." notes, and a
 * last line "N passed, M failed". A failed call's OpenSSL error queue goes
 * to stderr (ERR_print_errors_fp). Exit status 0 when nothing failed, 1 on
 * a failed check, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "evp_store.h"

/*
 * Sanitizers that cannot follow a fork while other threads run: TSan (a
 * multi-threaded fork) and GCC's ASan (its allocator's locks are not taken
 * across fork, so a child can block in malloc forever). There the helper
 * threads of -T run and are joined before each fork.
 */
#if defined(__SANITIZE_THREAD__)
#define FORK_SANITIZER "ThreadSanitizer"
#elif defined(__SANITIZE_ADDRESS__)
#define FORK_SANITIZER "AddressSanitizer"
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FORK_SANITIZER "ThreadSanitizer"
#elif __has_feature(address_sanitizer)
#define FORK_SANITIZER "AddressSanitizer"
#endif
#endif
#ifdef FORK_SANITIZER
#define JOIN_BEFORE_FORK 1
#else
#define FORK_SANITIZER ""
#define JOIN_BEFORE_FORK 0
#endif

#define ANSWER_PREFIX "NEWBLOB-FOR:"
#define MAX_CIPHERTEXT 6144
#define INPUT_MAX 128

enum want { WANT_OK, WANT_FAIL, WANT_OWN };

struct options {
    const char *module_dir;
    const char *uri;
    const char *cnf;
    const char *prefix;
    int calls;
    int sleep_ms;
    enum want want;
    int attempts;
    int children;
    int rounds;
    int child_calls;
    int threads;
    int alarm_s;
};

static struct options opt;
static OSSL_LIB_CTX *libctx;
static EVP_PKEY *pkey;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- reporting ------------------------------------------------------- */

/*
 * Empties this thread's error queue onto stderr (as ERR_print_errors_fp
 * prints it) and its last line, the outermost error (the provider's own
 * when it raised one), into `text`. Returns the number of bytes the queue
 * printed as.
 */
static size_t take_errors(const char *what, char *text, size_t textlen)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL, *last;
    long len = 0;
    size_t n = 0, keep;

    text[0] = '\0';
    if (mem == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    ERR_print_errors(mem);
    len = BIO_get_mem_data(mem, &data);
    if (len > 0) {
        n = (size_t)len;
        pthread_mutex_lock(&out_lock);
        fflush(stdout);
        fprintf(stderr, "# OpenSSL errors (%s):\n%.*s", what, (int)len, data);
        fflush(stderr);
        pthread_mutex_unlock(&out_lock);
        /* The last line: back over the final newline, then to the one
         * before it. */
        while (len > 0 && data[len - 1] == '\n')
            len--;
        last = data + len;
        while (last > data && last[-1] != '\n')
            last--;
        keep = (size_t)(data + len - last);
        if (keep >= textlen)
            keep = textlen - 1;
        memcpy(text, last, keep);
        text[keep] = '\0';
    }
    BIO_free(mem);
    return n;
}

/* An error line whose message part is empty ("...: " at its end, as in
 * "ReEncrypt https://...: " with nothing after): not a clear error. */
static int error_is_clear(const char *line)
{
    size_t n = strlen(line);

    if (strstr(line, ":error:") == NULL)
        return 0;
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    return n > 0 && line[n - 1] != ':';
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- one ReEncrypt ---------------------------------------------------- */

struct call_result {
    int encrypted; /* EVP_PKEY_encrypt returned > 0 */
    unsigned char out[MAX_CIPHERTEXT];
    size_t outlen;
    int attempts; /* the "attempts" gettable param */
    char request_id[128];
    char error_class[32]; /* the "error-class" gettable param */
    char error[512];      /* last line of the error queue */
    size_t error_bytes;   /* what the whole queue printed as */
    double ms;
};

static void read_outcome(EVP_PKEY_CTX *ctx, struct call_result *r)
{
    OSSL_PARAM got[4];

    r->attempts = -1;
    r->request_id[0] = '\0';
    snprintf(r->error_class, sizeof(r->error_class), "(unset)");
    got[0] = OSSL_PARAM_construct_int("attempts", &r->attempts);
    got[1] = OSSL_PARAM_construct_utf8_string("request-id", r->request_id,
                                              sizeof(r->request_id));
    got[2] = OSSL_PARAM_construct_utf8_string("error-class", r->error_class,
                                              sizeof(r->error_class));
    got[3] = OSSL_PARAM_construct_end();
    ERR_set_mark();
    if (EVP_PKEY_CTX_get_params(ctx, got) <= 0)
        r->attempts = -2;
    ERR_pop_to_mark();
}

/*
 * OpenSSL's own locks (its DRBG, ex_data, method stores) are not made anew
 * in a forked child: a program that forks while its threads run must keep
 * them out of OpenSSL at that moment. The provider does so for its own
 * work, the KMS call (its fork barrier); this program does so for the rest
 * (contexts, fetches, error BIOs) with this lock, which fork_round takes
 * before it forks. The KMS call itself runs outside it, so a fork does
 * happen while other threads are inside the provider.
 */
static pthread_mutex_t own_openssl_lock = PTHREAD_MUTEX_INITIALIZER;

/* One encrypt of `input` on its own EVP_PKEY_CTX; the error queue is
 * emptied into r->error. */
static void reencrypt(const char *what, const char *input,
                      struct call_result *r)
{
    EVP_PKEY_CTX *ctx;
    size_t size = 0, inlen = strlen(input);
    const unsigned char *in = (const unsigned char *)input;
    double t0 = now_ms();
    int ready;

    memset(r, 0, sizeof(*r));
    r->attempts = -1;
    pthread_mutex_lock(&own_openssl_lock);
    ERR_clear_error();
    ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pkey, NULL);
    ready = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
            EVP_PKEY_encrypt(ctx, NULL, &size, in, inlen) > 0 &&
            size <= sizeof(r->out);
    pthread_mutex_unlock(&own_openssl_lock);
    if (ready) {
        r->outlen = size;
        r->encrypted = EVP_PKEY_encrypt(ctx, r->out, &r->outlen, in, inlen) > 0;
    }
    pthread_mutex_lock(&own_openssl_lock);
    if (ready)
        read_outcome(ctx, r);
    r->ms = now_ms() - t0;
    r->error_bytes = take_errors(what, r->error, sizeof(r->error));
    EVP_PKEY_CTX_free(ctx);
    pthread_mutex_unlock(&own_openssl_lock);
}

/* Checks one call against -x and -A; one ok/not ok line. Returns 1 when
 * the call is as wanted. */
static int check_call(const char *what, const char *input, enum want want,
                      int quiet, const struct call_result *r)
{
    char expect[INPUT_MAX + sizeof(ANSWER_PREFIX)];
    size_t plen = strlen(ANSWER_PREFIX);
    int own;

    snprintf(expect, sizeof(expect), "%s%s", ANSWER_PREFIX, input);
    own = r->encrypted && r->outlen == strlen(expect) &&
          memcmp(r->out, expect, r->outlen) == 0;
    if (r->encrypted && !own) {
        /* The worst outcome: an answer, but not to this request. */
        if (r->outlen > plen && memcmp(r->out, ANSWER_PREFIX, plen) == 0)
            test_check(0,
                       "%s: ReEncrypt(%s) -> %.*s: another request's answer "
                       "reported as success",
                       what, input, (int)(r->outlen > 200 ? 200 : r->outlen),
                       (const char *)r->out);
        else
            test_check(0,
                       "%s: ReEncrypt(%s) -> %zu bytes that are no answer of "
                       "the server",
                       what, input, r->outlen);
        return 0;
    }
    if (own) {
        if (want == WANT_FAIL) {
            test_check(0, "%s: ReEncrypt(%s) succeeded, a failure was expected",
                       what, input);
            return 0;
        }
        if (r->error_bytes > 0) {
            test_check(0, "%s: ReEncrypt(%s) succeeded but left errors: %s",
                       what, input, r->error);
            return 0;
        }
        if (opt.attempts > 0 && r->attempts != opt.attempts) {
            test_check(
                0, "%s: ReEncrypt(%s) succeeded after %d attempts (want %d)",
                what, input, r->attempts, opt.attempts);
            return 0;
        }
        if (!quiet)
            test_check(1,
                       "%s: ReEncrypt(%s) -> %s (attempts %d, request-id %s, "
                       "%.0f ms)",
                       what, input, expect, r->attempts, r->request_id, r->ms);
        return 1;
    }
    /* Failed: it must say why. */
    if (r->error_bytes == 0) {
        test_check(0, "%s: ReEncrypt(%s) failed with no error queued (%.0f ms)",
                   what, input, r->ms);
        return 0;
    }
    if (!error_is_clear(r->error)) {
        test_check(0,
                   "%s: ReEncrypt(%s) failed with an empty error message (%.0f "
                   "ms): %s",
                   what, input, r->ms, r->error);
        return 0;
    }
    if (want == WANT_OK) {
        test_check(0, "%s: ReEncrypt(%s) failed (%.0f ms): %s", what, input,
                   r->ms, r->error);
        return 0;
    }
    test_check(1,
               "%s: ReEncrypt(%s) failed with a clear error (error-class %s, "
               "%.0f ms): %s",
               what, input, r->error_class, r->ms, r->error);
    return 1;
}

/* quiet: no ok line for a call as wanted (a not ok line is never
 * quiet). */
static int one_call(const char *what, const char *input, enum want want,
                    int quiet)
{
    struct call_result *r = malloc(sizeof(*r));
    int ok;

    if (r == NULL) {
        test_check(0, "%s: out of memory", what);
        return 0;
    }
    reencrypt(what, input, r);
    ok = check_call(what, input, want, quiet, r);
    free(r);
    return ok;
}

/* ---- sequential calls -------------------------------------------------- */

static void run_sequential(void)
{
    char what[64], input[INPUT_MAX];
    int i;

    for (i = 1; i <= opt.calls; i++) {
        if (i > 1)
            sleep_ms(opt.sleep_ms);
        snprintf(what, sizeof(what), "call %d", i);
        snprintf(input, sizeof(input), "%s-%d", opt.prefix, i);
        one_call(what, input, opt.want, 0);
    }
}

/* ---- helper threads ------------------------------------------------------ */

struct helpers {
    pthread_t tid[64];
    int index[64];
    int started;
    int calls_each; /* > 0: that many calls each; 0: until stopped */
    pthread_mutex_t lock;
    int stop;
    int calls;
    int round;
};

static struct helpers helpers = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int helpers_stopping(void)
{
    int stop;

    pthread_mutex_lock(&helpers.lock);
    stop = helpers.stop;
    pthread_mutex_unlock(&helpers.lock);
    return stop;
}

static void *helper_main(void *arg)
{
    int t = *(int *)arg, i, round;
    char what[64], input[INPUT_MAX];

    pthread_mutex_lock(&helpers.lock);
    round = helpers.round;
    pthread_mutex_unlock(&helpers.lock);
    for (i = 1;
         helpers.calls_each > 0 ? i <= helpers.calls_each : !helpers_stopping();
         i++) {
        snprintf(what, sizeof(what), "thread %d call %d", t, i);
        snprintf(input, sizeof(input), "%s-THREAD%d-R%d-%d", opt.prefix, t,
                 round, i);
        /* Quiet: a not ok line for a failure only. */
        one_call(what, input, WANT_OK, 1);
        pthread_mutex_lock(&helpers.lock);
        helpers.calls++;
        pthread_mutex_unlock(&helpers.lock);
    }
    return NULL;
}

static void helpers_start(int round, int calls_each)
{
    int t;

    helpers.started = 0;
    helpers.stop = 0;
    helpers.round = round;
    helpers.calls_each = calls_each;
    for (t = 0; t < opt.threads; t++) {
        helpers.index[t] = t + 1;
        if (pthread_create(&helpers.tid[t], NULL, helper_main,
                           &helpers.index[t]) != 0) {
            test_check(0, "pthread_create failed for helper %d", t + 1);
            break;
        }
        helpers.started++;
    }
}

static void helpers_join(void)
{
    int t;

    pthread_mutex_lock(&helpers.lock);
    helpers.stop = 1;
    pthread_mutex_unlock(&helpers.lock);
    for (t = 0; t < helpers.started; t++)
        pthread_join(helpers.tid[t], NULL);
    helpers.started = 0;
}

/* ---- fork mode ------------------------------------------------------------
 */

/* A child: waits for the gate, makes its calls, exits 0 when every one got
 * its own answer. Single-threaded: it starts no thread. */
static void child_main(int gate, int child, int round)
{
    char what[64], input[INPUT_MAX], c;
    int k, good = 1;

    alarm((unsigned)opt.alarm_s);
    /* EOF once the parent closes its end: all children start together. */
    while (read(gate, &c, 1) < 0 && errno == EINTR)
        ;
    close(gate);
    for (k = 1; k <= opt.child_calls; k++) {
        snprintf(what, sizeof(what), "child%d round %d call %d", child, round,
                 k);
        snprintf(input, sizeof(input), "%s-CHILD%d-R%d-%d", opt.prefix, child,
                 round, k);
        /* A success is quiet here; the parent prints one line per round. */
        good = one_call(what, input, WANT_OK, 1) && good;
    }
    fflush(stdout);
    fflush(stderr);
    _exit(good ? 0 : 1);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGALRM:
        return "SIGALRM: hung (deadlock?)";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    default:
        return "a signal";
    }
}

/* One round: the parent's call (its pool then holds a live connection),
 * then the children, all released at once. Returns the failed children. */
static int fork_round(int round)
{
    pid_t pids[64];
    int gate[2], c, n = 0, failed = 0, status;
    char what[64], input[INPUT_MAX];

    snprintf(what, sizeof(what), "round %d parent", round);
    snprintf(input, sizeof(input), "%s-PARENT-R%d", opt.prefix, round);
    if (!one_call(what, input, WANT_OK, 0))
        failed++;
    if (opt.threads > 0 && JOIN_BEFORE_FORK) {
        helpers_start(round, 2);
        helpers_join();
    }
    if (pipe(gate) != 0) {
        test_check(0, "round %d: pipe: %s", round, strerror(errno));
        return failed + 1;
    }
    /* No helper thread is half-way through a line, nor in OpenSSL on this
     * program's behalf, while we fork. */
    pthread_mutex_lock(&own_openssl_lock);
    pthread_mutex_lock(&out_lock);
    fflush(stdout);
    fflush(stderr);
    for (c = 1; c <= opt.children; c++) {
        pid_t pid = fork();

        if (pid == 0) {
            pthread_mutex_unlock(&out_lock);
            pthread_mutex_unlock(&own_openssl_lock);
            close(gate[1]);
            child_main(gate[0], c, round);
        }
        if (pid < 0)
            break;
        pids[n++] = pid;
    }
    pthread_mutex_unlock(&out_lock);
    pthread_mutex_unlock(&own_openssl_lock);
    if (n < opt.children) {
        test_check(0, "round %d: fork: %s", round, strerror(errno));
        failed++;
    }
    close(gate[0]);
    close(gate[1]);
    for (c = 0; c < n; c++) {
        status = 0;
        if (waitpid(pids[c], &status, 0) < 0) {
            if (errno == EINTR) {
                c--;
                continue;
            }
            test_check(0, "round %d: waitpid: %s", round, strerror(errno));
            failed++;
            continue;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        failed++;
        if (WIFSIGNALED(status))
            test_check(0, "round %d: child%d killed by signal %d (%s)", round,
                       c + 1, WTERMSIG(status), signal_name(WTERMSIG(status)));
        else
            test_check(0, "round %d: child%d exited %d", round, c + 1,
                       WEXITSTATUS(status));
    }
    return failed;
}

static void run_fork(void)
{
    int round, failed_rounds = 0, failed;
    double t0 = now_ms();

    if (opt.threads > 0 && JOIN_BEFORE_FORK)
        test_note("%s build: the %d helper threads run and are joined before "
                  "each fork (it cannot follow a fork while other threads run)",
                  FORK_SANITIZER, opt.threads);
    else if (opt.threads > 0)
        helpers_start(0, 0);
    for (round = 1; round <= opt.rounds; round++) {
        failed = fork_round(round);
        if (failed == 0)
            test_check(
                1,
                "round %d: parent + %d children x %d calls, every answer "
                "the caller's own",
                round, opt.children, opt.child_calls);
        else
            failed_rounds++;
    }
    if (opt.threads > 0 && !JOIN_BEFORE_FORK)
        helpers_join();
    if (opt.threads > 0)
        test_note("the helper threads made %d calls (failures only printed)",
                  helpers.calls);
    test_check(failed_rounds == 0,
               "fork: %d rounds x %d children x %d calls: %d rounds failed "
               "(%.0f ms)",
               opt.rounds, opt.children, opt.child_calls, failed_rounds,
               now_ms() - t0);
}

/* ---- main ---------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: evp_hostile [-c cnf] [-p prefix] [-n calls] [-s ms]\n"
            "         [-x ok|fail|own] [-A attempts] [-f children] "
            "[-r rounds]\n"
            "         [-k child-calls] [-T threads] [-a alarm-s] "
            "MODULE_DIR KEY_URI\n");
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

static int parse_options(int argc, char **argv)
{
    int c;

    opt.prefix = "INPUT";
    opt.calls = 1;
    opt.want = WANT_OK;
    opt.attempts = 1;
    opt.rounds = 50;
    opt.child_calls = 2;
    opt.alarm_s = 30;
    while ((c = getopt(argc, argv, "c:p:n:s:x:A:f:r:k:T:a:h")) != -1) {
        int ok = 1;

        switch (c) {
        case 'c':
            opt.cnf = optarg;
            break;
        case 'p':
            opt.prefix = optarg;
            ok = strlen(optarg) > 0 && strlen(optarg) < 64;
            break;
        case 'n':
            ok = parse_int(optarg, 1, 1000, &opt.calls);
            break;
        case 's':
            ok = parse_int(optarg, 0, 60000, &opt.sleep_ms);
            break;
        case 'x':
            if (strcmp(optarg, "ok") == 0)
                opt.want = WANT_OK;
            else if (strcmp(optarg, "fail") == 0)
                opt.want = WANT_FAIL;
            else if (strcmp(optarg, "own") == 0)
                opt.want = WANT_OWN;
            else
                ok = 0;
            break;
        case 'A':
            ok = parse_int(optarg, 0, 20, &opt.attempts);
            break;
        case 'f':
            ok = parse_int(optarg, 1, 64, &opt.children);
            break;
        case 'r':
            ok = parse_int(optarg, 1, 1000, &opt.rounds);
            break;
        case 'k':
            ok = parse_int(optarg, 1, 100, &opt.child_calls);
            break;
        case 'T':
            ok = parse_int(optarg, 0, 64, &opt.threads);
            break;
        case 'a':
            ok = parse_int(optarg, 1, 600, &opt.alarm_s);
            break;
        default:
            ok = 0;
        }
        if (!ok)
            return 0;
    }
    if (argc - optind != 2)
        return 0;
    opt.module_dir = argv[optind];
    opt.uri = argv[optind + 1];
    return 1;
}

int main(int argc, char **argv)
{
    OSSL_PROVIDER *prov = NULL, *deflt = NULL;
    char text[512];

    if (!parse_options(argc, argv))
        return usage();
    libctx = OSSL_LIB_CTX_new();
    if (libctx == NULL ||
        !OSSL_PROVIDER_set_default_search_path(libctx, opt.module_dir)) {
        test_check(0, "library context for %s", opt.module_dir);
        goto end;
    }
    if (opt.cnf != NULL) {
        int ok = OSSL_LIB_CTX_load_config(libctx, opt.cnf);

        test_check(ok, "OSSL_LIB_CTX_load_config(%s)", opt.cnf);
        if (!ok) {
            take_errors("load config", text, sizeof(text));
            goto end;
        }
    }
    prov = OSSL_PROVIDER_load(libctx, "kmsreencrypt");
    deflt = OSSL_PROVIDER_load(libctx, "default");
    pkey = prov != NULL && deflt != NULL
               ? evp_store_load(libctx, opt.uri, OSSL_STORE_INFO_PKEY, NULL)
               : NULL;
    test_check(pkey != NULL, "provider loaded from %s, key %s", opt.module_dir,
               opt.uri);
    if (pkey == NULL) {
        take_errors("load", text, sizeof(text));
        goto end;
    }
    if (opt.children > 0)
        run_fork();
    else
        run_sequential();

end:
    EVP_PKEY_free(pkey);
    if (deflt != NULL)
        OSSL_PROVIDER_unload(deflt);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(libctx);
    return test_summary();
}
