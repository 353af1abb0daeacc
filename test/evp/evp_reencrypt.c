/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evp_reencrypt: drives the kmsreencrypt provider through OpenSSL's public
 * EVP, OSSL_STORE and OSSL_PROVIDER API only, the way an application would.
 * No project header is used: every name is spelled as a literal string.
 *
 * Usage:
 *   evp_reencrypt [options] MODULE_DIR DEST_KEY_URI SOURCE_CIPHERTEXT_FILE
 *                 OUT_DIR [SOURCE_CONTEXT]
 *
 *   MODULE_DIR              directory holding kmsreencrypt.so
 *   DEST_KEY_URI            kms:<key id|key ARN|alias|alias ARN>[?region=..]
 *   SOURCE_CIPHERTEXT_FILE  a raw KMS CiphertextBlob (symmetric source key)
 *   OUT_DIR                 existing directory; outputs are written there
 *   SOURCE_CONTEXT          the blob's encryption context (default Dept=IT)
 *
 * Options:
 *   -t N    threads sharing one EVP_PKEY (default 4)
 *   -n N    ReEncrypt operations per thread (default 5)
 *   -k ID   key-id for the EVP_PKEY_fromdata key (default: the URI's key,
 *           that is DEST_KEY_URI without "kms:"/"kms://" and "?query")
 *   -s ARN  expected source key ARN (else only "arn:...:key/..." is checked)
 *   -d ARN  expected destination key ARN (likewise)
 *   -D ID   also run once with destination-key-id=ID (override.bin); when ID
 *           is a key ARN, the reported destination must equal it
 *   -g TOK  a valid grant token, passed as grant-tokens on every call
 *   -w CTX  wrong source context for the negative case (default Dept=HR)
 *
 * Files written to OUT_DIR (each a raw CiphertextBlob under the destination
 * key with an empty destination context, unless said otherwise):
 *   t<thread>-<n>.bin   the threaded operations
 *   fromdata.bin        key made with EVP_PKEY_fromdata
 *   pubkey.bin          key loaded with OSSL_STORE_INFO_PUBKEY (-pubin view)
 *   override.bin        with -D: encrypted under ID, not the URI's key
 *
 * Output: "ok - ..." / "not ok - ..." lines on stdout, "# kms-calls: N" (the
 * number of encrypt calls that may have reached KMS; size queries must not),
 * and a last line "N passed, M failed". Exit status 0 when nothing failed,
 * 1 on a failed check, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "evp_store.h"

#define ALG_NAME "KMS-REENCRYPT"
#define MAX_CIPHERTEXT 6144
#define ID_BUF 2048

struct options {
    const char *module_dir;
    const char *uri;
    const char *source_file;
    const char *out_dir;
    const char *context;
    const char *wrong_context;
    const char *fromdata_key_id; /* NULL: derived from the URI */
    const char *expect_source_arn;
    const char *expect_dest_arn;
    const char *override_dest;
    const char *grant_token;
    int threads;
    int ops;
};

static struct options opt;
static OSSL_LIB_CTX *libctx;
static unsigned char *source_blob;
static size_t source_len;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static long kms_calls; /* protected by out_lock */

/* ---- reporting ------------------------------------------------------- */

static void count_kms_call(void)
{
    pthread_mutex_lock(&out_lock);
    kms_calls++;
    pthread_mutex_unlock(&out_lock);
}

/* Print (and empty) this thread's error queue, as a block. */
static void dump_errors(const char *what)
{
    pthread_mutex_lock(&out_lock);
    fflush(stdout);
    fprintf(stderr, "# OpenSSL errors (%s):\n", what);
    ERR_print_errors_fp(stderr);
    fflush(stderr);
    pthread_mutex_unlock(&out_lock);
}

/* ---- small helpers --------------------------------------------------- */

static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (f == NULL) {
        fprintf(stderr, "evp_reencrypt: %s: %s\n", path, strerror(errno));
        return 0;
    }
    do {
        if (n == cap) {
            unsigned char *nb;

            cap = cap == 0 ? 8192 : cap * 2;
            if ((nb = realloc(buf, cap)) == NULL) {
                free(buf);
                fclose(f);
                return 0;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "evp_reencrypt: %s: read error\n", path);
        free(buf);
        fclose(f);
        return 0;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 1;
}

static int write_file(const char *name, const unsigned char *data, size_t len)
{
    char path[PATH_MAX];
    FILE *f;
    int ok;

    if (snprintf(path, sizeof(path), "%s/%s", opt.out_dir, name) >=
        (int)sizeof(path))
        return 0;
    if ((f = fopen(path, "wb")) == NULL) {
        fprintf(stderr, "evp_reencrypt: %s: %s\n", path, strerror(errno));
        return 0;
    }
    ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    return ok;
}

/* The key-id inside a kms: URI: "kms:" or "kms://" stripped, query cut. */
static char *uri_key_id(const char *uri)
{
    const char *rest = uri;
    size_t n;
    char *id;

    if (strncmp(uri, "kms:", 4) == 0 || strncmp(uri, "KMS:", 4) == 0)
        rest = uri + 4;
    if (strncmp(rest, "//", 2) == 0)
        rest += 2;
    n = strcspn(rest, "?");
    if ((id = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(id, rest, n);
    id[n] = '\0';
    return id;
}

static int is_key_arn(const char *s)
{
    return strncmp(s, "arn:", 4) == 0 && strstr(s, ":kms:") != NULL &&
           strstr(s, ":key/") != NULL;
}

/* ---- checking keys ------------------------------------------------- */

static void check_key(EVP_PKEY *pkey, const char *what, const char *key_id)
{
    char got[ID_BUF] = "";
    size_t got_len = 0;

    test_check(EVP_PKEY_is_a(pkey, ALG_NAME), "%s: EVP_PKEY_is_a(%s)", what,
               ALG_NAME);
    test_check(EVP_PKEY_get_size(pkey) == MAX_CIPHERTEXT,
               "%s: EVP_PKEY_get_size = %d (want %d)", what,
               EVP_PKEY_get_size(pkey), MAX_CIPHERTEXT);
    if (!EVP_PKEY_get_utf8_string_param(pkey, "key-id", got, sizeof(got),
                                        &got_len))
        got[0] = '\0';
    test_check(strcmp(got, key_id) == 0,
               "%s: key-id param \"%s\" (want \"%s\")", what, got, key_id);
}

/* region and profile may be NULL. */
static EVP_PKEY *key_from_data_in(const char *key_id, const char *region,
                                  const char *profile)
{
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(libctx, ALG_NAME, NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[4];
    size_t n = 0;

    params[n++] = OSSL_PARAM_construct_utf8_string("key-id", (char *)key_id, 0);
    if (region != NULL)
        params[n++] =
            OSSL_PARAM_construct_utf8_string("region", (char *)region, 0);
    if (profile != NULL)
        params[n++] =
            OSSL_PARAM_construct_utf8_string("profile", (char *)profile, 0);
    params[n] = OSSL_PARAM_construct_end();
    if (kctx == NULL || EVP_PKEY_fromdata_init(kctx) <= 0 ||
        EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(kctx);
    return pkey;
}

static EVP_PKEY *key_from_data(const char *key_id)
{
    return key_from_data_in(key_id, NULL, NULL);
}

/* EVP_PKEY_eq compares the whole reference: key id, region and profile. */
static void check_key_identity(EVP_PKEY *store_key, const char *uri_id)
{
    EVP_PKEY *same = key_from_data(uri_id);
    EVP_PKEY *east = key_from_data_in("alias/x", "us-east-1", NULL);
    EVP_PKEY *east2 = key_from_data_in("alias/x", "us-east-1", NULL);
    EVP_PKEY *west = key_from_data_in("alias/x", "eu-west-1", NULL);
    EVP_PKEY *prof = key_from_data_in("alias/x", "us-east-1", "other");

    test_check(same != NULL && EVP_PKEY_eq(store_key, same) == 1,
               "EVP_PKEY_eq: the store's key and fromdata of the same "
               "reference are equal");
    test_check(east != NULL && east2 != NULL && EVP_PKEY_eq(east, east2) == 1,
               "EVP_PKEY_eq: alias/x in us-east-1 twice: equal");
    test_check(west != NULL && EVP_PKEY_eq(east, west) != 1,
               "EVP_PKEY_eq: alias/x in us-east-1 is not alias/x in "
               "eu-west-1");
    test_check(prof != NULL && EVP_PKEY_eq(east, prof) != 1,
               "EVP_PKEY_eq: another profile, another key");
    ERR_clear_error();
    EVP_PKEY_free(same);
    EVP_PKEY_free(east);
    EVP_PKEY_free(east2);
    EVP_PKEY_free(west);
    EVP_PKEY_free(prof);
}

/* ---- one ReEncrypt ---------------------------------------------------- */

struct answer {
    char source_key_id[ID_BUF];
    char destination_key_id[ID_BUF];
    char source_algorithm[64];
    char destination_algorithm[64];
    /* The call's outcome, read after success and failure alike. */
    char request_id[128];
    char error_type[128];
    char error_class[32];
    int attempts;
    int throttles;
};

/* The outcome params; *ans->request_id stays "" when they are untouched. */
static void read_outcome(EVP_PKEY_CTX *ctx, struct answer *ans)
{
    OSSL_PARAM got[6];

    snprintf(ans->error_class, sizeof(ans->error_class), "(unset)");
    got[0] = OSSL_PARAM_construct_utf8_string("request-id", ans->request_id,
                                              sizeof(ans->request_id));
    got[1] = OSSL_PARAM_construct_utf8_string("error-type", ans->error_type,
                                              sizeof(ans->error_type));
    got[2] = OSSL_PARAM_construct_int("attempts", &ans->attempts);
    got[3] = OSSL_PARAM_construct_int("throttles", &ans->throttles);
    got[4] = OSSL_PARAM_construct_utf8_string("error-class", ans->error_class,
                                              sizeof(ans->error_class));
    got[5] = OSSL_PARAM_construct_end();
    ans->attempts = ans->throttles = -1;
    if (EVP_PKEY_CTX_get_params(ctx, got) <= 0)
        ans->attempts = -2;
}

enum param_timing { PARAMS_AT_INIT, PARAMS_AFTER_INIT };

/*
 * One encrypt on its own EVP_PKEY_CTX: size query (must be 6144, no KMS),
 * buffer of exactly that size, the real call, then the gettable params.
 * extra: further params (may be NULL). Returns 1 on success and fills *out
 * (caller frees) and *ans; on failure returns 0 and leaves the thread's
 * error queue as the provider left it. why gets a short reason.
 */
static int reencrypt(EVP_PKEY *pkey, const char *context,
                     const OSSL_PARAM *extra, enum param_timing timing,
                     unsigned char **out, size_t *outlen, struct answer *ans,
                     char *why, size_t whylen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pkey, NULL);
    OSSL_PARAM params[8], got[5];
    unsigned char *buf = NULL;
    size_t n = 0, i, size = 0, len;
    int ok = 0;

    *out = NULL;
    *outlen = 0;
    memset(ans, 0, sizeof(*ans));
    if (ctx == NULL) {
        snprintf(why, whylen, "EVP_PKEY_CTX_new_from_pkey failed");
        return 0;
    }
    params[n++] = OSSL_PARAM_construct_utf8_string("source-encryption-context",
                                                   (char *)context, 0);
    params[n++] = OSSL_PARAM_construct_utf8_string(
        "source-encryption-algorithm", (char *)"SYMMETRIC_DEFAULT", 0);
    params[n++] = OSSL_PARAM_construct_utf8_string(
        "destination-encryption-algorithm", (char *)"SYMMETRIC_DEFAULT", 0);
    if (opt.grant_token != NULL)
        params[n++] = OSSL_PARAM_construct_utf8_string(
            "grant-tokens", (char *)opt.grant_token, 0);
    for (i = 0; extra != NULL && extra[i].key != NULL && n < 7; i++)
        params[n++] = extra[i];
    params[n] = OSSL_PARAM_construct_end();

    if (timing == PARAMS_AT_INIT) {
        if (EVP_PKEY_encrypt_init_ex(ctx, params) <= 0) {
            snprintf(why, whylen, "EVP_PKEY_encrypt_init_ex failed");
            goto end;
        }
    } else if (EVP_PKEY_encrypt_init(ctx) <= 0 ||
               EVP_PKEY_CTX_set_params(ctx, params) <= 0) {
        snprintf(why, whylen,
                 "EVP_PKEY_encrypt_init/EVP_PKEY_CTX_set_params "
                 "failed");
        goto end;
    }
    if (EVP_PKEY_encrypt(ctx, NULL, &size, source_blob, source_len) <= 0 ||
        size != MAX_CIPHERTEXT) {
        snprintf(why, whylen, "size query gave %zu (want %d)", size,
                 MAX_CIPHERTEXT);
        goto end;
    }
    if ((buf = malloc(size)) == NULL) {
        snprintf(why, whylen, "out of memory");
        goto end;
    }
    len = size;
    count_kms_call();
    if (EVP_PKEY_encrypt(ctx, buf, &len, source_blob, source_len) <= 0) {
        snprintf(why, whylen, "EVP_PKEY_encrypt failed");
        ERR_set_mark();
        read_outcome(ctx, ans);
        ERR_pop_to_mark();
        goto end;
    }
    read_outcome(ctx, ans);
    if (ans->request_id[0] == '\0' || ans->error_type[0] != '\0' ||
        ans->error_class[0] != '\0' || ans->attempts != 1 ||
        ans->throttles != 0) {
        snprintf(why, whylen,
                 "outcome after success: request-id \"%s\", error-type "
                 "\"%s\", error-class \"%s\", attempts %d, throttles %d",
                 ans->request_id, ans->error_type, ans->error_class,
                 ans->attempts, ans->throttles);
        goto end;
    }
    if (len == 0 || len > size) {
        snprintf(why, whylen, "output length %zu out of range", len);
        goto end;
    }
    got[0] = OSSL_PARAM_construct_utf8_string(
        "source-key-id", ans->source_key_id, sizeof(ans->source_key_id));
    got[1] = OSSL_PARAM_construct_utf8_string("destination-key-id",
                                              ans->destination_key_id,
                                              sizeof(ans->destination_key_id));
    got[2] = OSSL_PARAM_construct_utf8_string("source-encryption-algorithm",
                                              ans->source_algorithm,
                                              sizeof(ans->source_algorithm));
    got[3] = OSSL_PARAM_construct_utf8_string(
        "destination-encryption-algorithm", ans->destination_algorithm,
        sizeof(ans->destination_algorithm));
    got[4] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(ctx, got) <= 0) {
        snprintf(why, whylen, "EVP_PKEY_CTX_get_params failed");
        goto end;
    }
    for (i = 0; i < 4; i++)
        if (!OSSL_PARAM_modified(&got[i])) {
            snprintf(why, whylen, "%s not returned", got[i].key);
            goto end;
        }
    *out = buf;
    *outlen = len;
    buf = NULL;
    ok = 1;
end:
    free(buf);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* The answer's key ids and algorithms, against what the options expect. */
static int check_answer(const struct answer *a, const char *want_dest,
                        char *why, size_t whylen)
{
    if (!is_key_arn(a->source_key_id) ||
        (opt.expect_source_arn != NULL &&
         strcmp(a->source_key_id, opt.expect_source_arn) != 0)) {
        snprintf(why, whylen, "source-key-id \"%.200s\" unexpected",
                 a->source_key_id);
        return 0;
    }
    if (!is_key_arn(a->destination_key_id) ||
        (want_dest != NULL && strcmp(a->destination_key_id, want_dest) != 0)) {
        snprintf(why, whylen, "destination-key-id \"%.200s\" unexpected",
                 a->destination_key_id);
        return 0;
    }
    if (strcmp(a->source_algorithm, "SYMMETRIC_DEFAULT") != 0 ||
        strcmp(a->destination_algorithm, "SYMMETRIC_DEFAULT") != 0) {
        snprintf(why, whylen, "algorithms \"%s\"/\"%s\" unexpected",
                 a->source_algorithm, a->destination_algorithm);
        return 0;
    }
    return 1;
}

/* Run one ReEncrypt, check it, write OUT_DIR/name; one ok/not ok line. */
static void reencrypt_to_file(EVP_PKEY *pkey, const char *what,
                              const char *name, const OSSL_PARAM *extra,
                              enum param_timing timing, const char *want_dest)
{
    unsigned char *out = NULL;
    size_t outlen = 0;
    struct answer ans;
    char why[512] = "";
    int ok;

    ok = reencrypt(pkey, opt.context, extra, timing, &out, &outlen, &ans, why,
                   sizeof(why)) &&
         check_answer(&ans, want_dest, why, sizeof(why));
    if (ok && !write_file(name, out, outlen)) {
        snprintf(why, sizeof(why), "cannot write %s", name);
        ok = 0;
    }
    if (ok)
        test_check(1, "%s: %zu-byte blob -> %s (destination %s)", what, outlen,
                   name, ans.destination_key_id);
    else
        test_check(0, "%s: %s", what, why);
    if (ERR_peek_error() != 0)
        dump_errors(what);
    free(out);
}

/* ---- threads ----------------------------------------------------------- */

struct worker {
    pthread_t tid;
    int index;
    EVP_PKEY *pkey; /* shared by all workers */
    int started;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char what[64], name[64];
    int i;

    for (i = 0; i < opt.ops; i++) {
        snprintf(what, sizeof(what), "thread %d op %d", w->index, i);
        snprintf(name, sizeof(name), "t%d-%d.bin", w->index, i);
        reencrypt_to_file(w->pkey, what, name, NULL, PARAMS_AT_INIT,
                          opt.expect_dest_arn);
    }
    /* Each thread's error state is freed at exit by OpenSSL's thread-stop
     * handler; nothing should be left on it anyway. */
    return NULL;
}

static void run_threads(EVP_PKEY *pkey)
{
    struct worker *ws = calloc((size_t)opt.threads, sizeof(*ws));
    int i, started = 0;

    if (ws == NULL) {
        test_check(0, "threads: out of memory");
        return;
    }
    for (i = 0; i < opt.threads; i++) {
        ws[i].index = i;
        ws[i].pkey = pkey;
        if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) == 0) {
            ws[i].started = 1;
            started++;
        } else {
            test_check(0, "thread %d: pthread_create failed", i);
        }
    }
    for (i = 0; i < opt.threads; i++)
        if (ws[i].started)
            pthread_join(ws[i].tid, NULL);
    test_check(started == opt.threads,
               "%d threads x %d operations on one EVP_PKEY", started, opt.ops);
    free(ws);
}

/* ---- negative cases ------------------------------------------------------ */

/*
 * Run a ReEncrypt that must fail, then find `needle` in the error queue's
 * data with ERR_get_error_all. The queue is popped while reading it; each
 * entry is raised again unchanged so ERR_print_errors_fp can show it.
 */
struct saved_error {
    unsigned long code;
    char file[256];
    char func[128];
    int line;
    char data[1024];
};

static int error_queue_has(const char *needle, const char *what)
{
    struct saved_error saved[16];
    const char *file, *func, *data;
    unsigned long code;
    int line, flags, n = 0, i, found = 0, ours = 0;

    while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) !=
           0) {
        const char *reason = ERR_reason_error_string(code);

        if ((flags & ERR_TXT_STRING) == 0)
            data = "";
        if (strstr(data, needle) != NULL) {
            found = 1;
            /* Raised by the provider, with its own reason string. */
            if (reason != NULL && strcmp(reason, "KMS error") == 0)
                ours = 1;
        }
        if (n < 16) {
            saved[n].code = code;
            snprintf(saved[n].file, sizeof(saved[n].file), "%s",
                     file != NULL ? file : "");
            snprintf(saved[n].func, sizeof(saved[n].func), "%s",
                     func != NULL ? func : "");
            saved[n].line = line;
            snprintf(saved[n].data, sizeof(saved[n].data), "%s", data);
            n++;
        }
    }
    for (i = 0; i < n; i++) {
        ERR_new();
        ERR_set_debug(saved[i].file, saved[i].line, saved[i].func);
        ERR_set_error(ERR_GET_LIB(saved[i].code), ERR_GET_REASON(saved[i].code),
                      "%s", saved[i].data);
    }
    dump_errors(what);
    test_check(found, "%s: error queue data contains \"%s\"", what, needle);
    test_check(ours, "%s: that entry has the provider's reason \"KMS error\"",
               what);
    return found;
}

static void expect_failure(EVP_PKEY *pkey, const char *what,
                           const char *context, const OSSL_PARAM *extra,
                           const char *needle)
{
    unsigned char *out = NULL;
    size_t outlen = 0;
    struct answer ans;
    char why[512] = "";
    int ok;

    ERR_clear_error();
    ok = reencrypt(pkey, context, extra, PARAMS_AT_INIT, &out, &outlen, &ans,
                   why, sizeof(why));
    free(out);
    if (ok)
        test_check(0, "%s: EVP_PKEY_encrypt fails -- it succeeded", what);
    else
        test_check(1, "%s: EVP_PKEY_encrypt fails (%s)", what, why);
    test_check(
        strstr(needle, ans.error_type) != NULL && ans.error_type[0] != '\0' &&
            ans.request_id[0] != '\0' && ans.attempts == 1 &&
            strcmp(ans.error_class, "permanent") == 0,
        "%s: error-type \"%s\", error-class \"%s\", request-id \"%s\", "
        "attempts %d",
        what, ans.error_type, ans.error_class, ans.request_id, ans.attempts);
    error_queue_has(needle, what);
}

/* Before any encrypt, the gettable params must come back untouched. */
static void check_params_untouched(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pkey, NULL);
    char src[ID_BUF] = "", alg[64] = "";
    size_t size = 0;
    OSSL_PARAM got[3];
    int ok;

    got[0] =
        OSSL_PARAM_construct_utf8_string("source-key-id", src, sizeof(src));
    got[1] = OSSL_PARAM_construct_utf8_string("source-encryption-algorithm",
                                              alg, sizeof(alg));
    got[2] = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
         EVP_PKEY_CTX_get_params(ctx, got) > 0 &&
         !OSSL_PARAM_modified(&got[0]) && !OSSL_PARAM_modified(&got[1]);
    test_check(ok, "gettable params untouched before any encrypt");
    /* Size query with no input at all: a bound, no KMS call, no check. */
    ok = ctx != NULL &&
         EVP_PKEY_encrypt(ctx, NULL, &size, source_blob, source_len) > 0 &&
         size == MAX_CIPHERTEXT;
    test_check(ok, "size query alone gives %zu (want %d)", size,
               MAX_CIPHERTEXT);
    if (ERR_peek_error() != 0)
        dump_errors("params untouched");
    EVP_PKEY_CTX_free(ctx);
}

/* ---- main ---------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: evp_reencrypt [-t threads] [-n ops] [-k fromdata-key-id]\n"
            "         [-s source-arn] [-d dest-arn] [-D override-dest-id]\n"
            "         [-g grant-token] [-w wrong-context]\n"
            "         MODULE_DIR DEST_KEY_URI SOURCE_CIPHERTEXT_FILE OUT_DIR "
            "[SOURCE_CONTEXT]\n");
    return 2;
}

static int parse_count(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 64)
        return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    OSSL_PROVIDER *prov = NULL, *deflt = NULL;
    EVP_PKEY *pkey = NULL, *pub = NULL, *fd = NULL;
    char *uri_id = NULL;
    int c, n_objects = 0;

    opt.threads = 4;
    opt.ops = 5;
    opt.context = "Dept=IT";
    opt.wrong_context = "Dept=HR";
    while ((c = getopt(argc, argv, "t:n:k:s:d:D:g:w:h")) != -1) {
        switch (c) {
        case 't':
            if (!parse_count(optarg, &opt.threads))
                return usage();
            break;
        case 'n':
            if (!parse_count(optarg, &opt.ops))
                return usage();
            break;
        case 'k':
            opt.fromdata_key_id = optarg;
            break;
        case 's':
            opt.expect_source_arn = optarg;
            break;
        case 'd':
            opt.expect_dest_arn = optarg;
            break;
        case 'D':
            opt.override_dest = optarg;
            break;
        case 'g':
            opt.grant_token = optarg;
            break;
        case 'w':
            opt.wrong_context = optarg;
            break;
        default:
            return usage();
        }
    }
    if (argc - optind != 4 && argc - optind != 5)
        return usage();
    opt.module_dir = argv[optind];
    opt.uri = argv[optind + 1];
    opt.source_file = argv[optind + 2];
    opt.out_dir = argv[optind + 3];
    if (argc - optind == 5)
        opt.context = argv[optind + 4];
    if (!read_file(opt.source_file, &source_blob, &source_len))
        return 2;
    if ((uri_id = uri_key_id(opt.uri)) == NULL) {
        free(source_blob);
        return 2;
    }
    if (opt.fromdata_key_id == NULL)
        opt.fromdata_key_id = uri_id;

    /* Providers, in a library context of our own. */
    libctx = OSSL_LIB_CTX_new();
    test_check(libctx != NULL, "OSSL_LIB_CTX_new");
    if (libctx == NULL)
        goto end;
    test_check(OSSL_PROVIDER_set_default_search_path(libctx, opt.module_dir),
               "OSSL_PROVIDER_set_default_search_path(%s)", opt.module_dir);
    prov = OSSL_PROVIDER_load(libctx, "kmsreencrypt");
    test_check(prov != NULL, "OSSL_PROVIDER_load(kmsreencrypt)");
    deflt = OSSL_PROVIDER_load(libctx, "default");
    test_check(deflt != NULL, "OSSL_PROVIDER_load(default)");
    if (prov == NULL || deflt == NULL) {
        dump_errors("provider load");
        goto end;
    }

    /* The key through the store: private view, then public (-pubin). */
    pkey = evp_store_load(libctx, opt.uri, OSSL_STORE_INFO_PKEY, &n_objects);
    test_check(pkey != NULL && n_objects == 1,
               "OSSL_STORE (expect PKEY) loads one key from %s (%d objects)",
               opt.uri, n_objects);
    pub = evp_store_load(libctx, opt.uri, OSSL_STORE_INFO_PUBKEY, &n_objects);
    test_check(pub != NULL && n_objects == 1,
               "OSSL_STORE (expect PUBKEY) loads one public key (%d objects)",
               n_objects);
    {
        EVP_PKEY *none =
            evp_store_load(libctx, opt.uri, OSSL_STORE_INFO_CERT, &n_objects);

        test_check(none == NULL && n_objects == 0,
                   "OSSL_STORE (expect CERT) finds nothing and reaches eof");
        EVP_PKEY_free(none);
        ERR_clear_error();
    }
    if (pkey == NULL || pub == NULL) {
        dump_errors("store load");
        goto end;
    }
    check_key(pkey, "store PKEY", uri_id);
    check_key(pub, "store PUBKEY", uri_id);

    /* The key from data. */
    fd = key_from_data(opt.fromdata_key_id);
    test_check(fd != NULL, "EVP_PKEY_fromdata(key-id=%s)", opt.fromdata_key_id);
    if (fd == NULL) {
        dump_errors("fromdata");
        goto end;
    }
    check_key(fd, "fromdata", opt.fromdata_key_id);
    check_key_identity(pkey, uri_id);

    check_params_untouched(pkey);

    /* Threads sharing the store key. */
    run_threads(pkey);

    /* The other keys, once each; the public view with params set after
     * init, as `openssl pkeyutl -pubin -pkeyopt` does. */
    reencrypt_to_file(fd, "fromdata key", "fromdata.bin", NULL, PARAMS_AT_INIT,
                      opt.expect_dest_arn);
    reencrypt_to_file(pub, "public-view key, params after init", "pubkey.bin",
                      NULL, PARAMS_AFTER_INIT, opt.expect_dest_arn);
    if (opt.override_dest != NULL) {
        OSSL_PARAM extra[2];

        extra[0] = OSSL_PARAM_construct_utf8_string(
            "destination-key-id", (char *)opt.override_dest, 0);
        extra[1] = OSSL_PARAM_construct_end();
        reencrypt_to_file(pkey, "destination-key-id override", "override.bin",
                          extra, PARAMS_AT_INIT,
                          is_key_arn(opt.override_dest) ? opt.override_dest
                                                        : NULL);
    }

    /* Failures KMS reports must reach the error queue, named. */
    expect_failure(pkey, "wrong source context", opt.wrong_context, NULL,
                   "InvalidCiphertextException");
    {
        OSSL_PARAM extra[2];

        extra[0] =
            OSSL_PARAM_construct_utf8_string("dry-run", (char *)"true", 0);
        extra[1] = OSSL_PARAM_construct_end();
        expect_failure(pkey, "dry-run", opt.context, extra,
                       "DryRunOperationException");
        extra[0] = OSSL_PARAM_construct_utf8_string(
            "grant-tokens", (char *)"not-a-grant-token", 0);
        expect_failure(pkey, "bogus grant token", opt.context, extra,
                       "InvalidGrantTokenException");
    }

end:
    printf("# kms-calls: %ld\n", kms_calls);
    EVP_PKEY_free(fd);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
    if (deflt != NULL)
        OSSL_PROVIDER_unload(deflt);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(libctx);
    free(uri_id);
    free(source_blob);
    return test_summary();
}
