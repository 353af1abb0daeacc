/* SPDX-License-Identifier: Apache-2.0 */
/* Re-encrypts from several threads sharing one key for a while, so that
 * short-lived credentials expire and are refreshed under load. Only public
 * OpenSSL headers.
 * usage: evp_refresh MODULE_DIR KEY_URI SOURCE_CIPHERTEXT SECONDS THREADS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include "evp_store.h"

static OSSL_LIB_CTX *libctx;
static EVP_PKEY *key;
static unsigned char in[6144];
static size_t inlen;
static double seconds;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long ops, failures;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int reencrypt_once(void)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, key, NULL);
    unsigned char out[6144];
    size_t outlen = sizeof(out);
    int ok = ctx != NULL && EVP_PKEY_encrypt_init_ex(ctx, NULL) > 0 &&
             EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen) > 0;

    if (!ok) {
        pthread_mutex_lock(&lock);
        ERR_print_errors_fp(stderr);
        pthread_mutex_unlock(&lock);
    }
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void *worker(void *arg)
{
    double end = now() + seconds;
    struct timespec pause = {0, 200 * 1000000L};

    (void)arg;
    while (now() < end) {
        int ok = reencrypt_once();

        pthread_mutex_lock(&lock);
        ops++;
        failures += !ok;
        pthread_mutex_unlock(&lock);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    OSSL_PROVIDER *p1, *p2;
    pthread_t th[16];
    FILE *f;
    int n, i;

    if (argc != 6)
        return 2;
    seconds = atof(argv[4]);
    n = atoi(argv[5]);
    if (n < 1 || n > 16 || (f = fopen(argv[3], "rb")) == NULL)
        return 2;
    inlen = fread(in, 1, sizeof(in), f);
    fclose(f);
    libctx = OSSL_LIB_CTX_new();
    OSSL_PROVIDER_set_default_search_path(libctx, argv[1]);
    p1 = OSSL_PROVIDER_load(libctx, "kmsreencrypt");
    p2 = OSSL_PROVIDER_load(libctx, "default");
    key = p1 != NULL && p2 != NULL
              ? evp_store_load(libctx, argv[2], OSSL_STORE_INFO_PKEY, NULL)
              : NULL;
    if (key == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    for (i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    printf("ops %ld failures %ld\n", ops, failures);
    EVP_PKEY_free(key);
    OSSL_PROVIDER_unload(p1);
    OSSL_PROVIDER_unload(p2);
    OSSL_LIB_CTX_free(libctx);
    return failures == 0 && ops > 0 ? 0 : 1;
}
