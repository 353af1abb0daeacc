/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evp_libctx: the provider signs with the application's library context.
 *
 * An application's library context holds the default provider, a built-in
 * recording provider (SHA2-256 and HMAC under "provider=recorder", counted) and
 * kmsreencrypt. With "?provider=recorder" as the context's default property
 * query, every SHA-256 and HMAC of the signer must come from the recorder
 * (and the signature must still verify at the KMS); with
 * "?provider=default" (control), none must.
 * A provider that fetched from a context of its own would show no use of
 * the recorder in either case.
 *
 * usage: evp_libctx preferred|control MODULE_DIR KEY_URI BLOB_FILE [CONTEXT]
 * Output: "ok"/"not ok" lines and "N passed, M failed" (test/common).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include "recorder_provider.h"
#include "test.h"
#include "evp_store.h"

static unsigned char *read_file(const char *path, size_t *len)
{
    static unsigned char buf[8192];
    FILE *f = fopen(path, "rb");

    *len = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f != NULL)
        fclose(f);
    return *len > 0 ? buf : NULL;
}

static OSSL_LIB_CTX *make_context(const char *mode, const char *module_dir)
{
    OSSL_LIB_CTX *libctx = OSSL_LIB_CTX_new();
    int ok =
        libctx != NULL &&
        OSSL_PROVIDER_add_builtin(libctx, "recorder", recorder_provider_init) &&
        OSSL_PROVIDER_load(libctx, "recorder") != NULL &&
        OSSL_PROVIDER_load(libctx, "default") != NULL &&
        OSSL_PROVIDER_set_default_search_path(libctx, module_dir) &&
        OSSL_PROVIDER_load(libctx, "kmsreencrypt") != NULL;

    /* Two providers offer SHA2-256 and HMAC: only a property query says
     * which one an unqualified fetch gets. */
    if (ok)
        ok = EVP_set_default_properties(libctx, strcmp(mode, "preferred") == 0
                                                    ? "?provider=recorder"
                                                    : "?provider=default");
    test_check(ok,
               "library context: recorder, default and kmsreencrypt "
               "loaded (%s)",
               mode);
    return ok ? libctx : NULL;
}

static int reencrypt(OSSL_LIB_CTX *libctx, EVP_PKEY *key,
                     const unsigned char *in, size_t inlen, const char *context)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, key, NULL);
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(
                           "source-encryption-context", (char *)context, 0),
                       OSSL_PARAM_construct_end()};
    unsigned char out[6144];
    size_t outlen = sizeof(out);
    int ok = ctx != NULL && EVP_PKEY_encrypt_init_ex(ctx, p) > 0 &&
             EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen) > 0 && outlen > 0;

    if (!ok)
        ERR_print_errors_fp(stdout);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int main(int argc, char **argv)
{
    const char *mode, *context;
    OSSL_LIB_CTX *libctx;
    unsigned char *blob;
    EVP_PKEY *key = NULL;
    size_t len = 0;
    int digests, macs, ok;

    if (argc < 5 || (strcmp(argv[1], "preferred") != 0 &&
                     strcmp(argv[1], "control") != 0)) {
        fprintf(stderr, "usage: evp_libctx preferred|control MODULE_DIR "
                        "KEY_URI BLOB_FILE [CONTEXT]\n");
        return 2;
    }
    mode = argv[1];
    context = argc > 5 ? argv[5] : "Dept=IT";
    blob = read_file(argv[4], &len);
    libctx = make_context(mode, argv[2]);
    if (libctx != NULL)
        key = evp_store_load(libctx, argv[3], OSSL_STORE_INFO_PKEY, NULL);
    test_check(blob != NULL && key != NULL, "blob read, key %s loaded",
               argv[3]);
    digests = recorder_digest_inits();
    macs = recorder_mac_inits();
    ok = key != NULL && reencrypt(libctx, key, blob, len, context);
    test_check(ok, "ReEncrypt through the EVP API (the KMS verified the "
                   "signature)");
    digests = recorder_digest_inits() - digests;
    macs = recorder_mac_inits() - macs;
    test_note("the recorder saw %d SHA-256 and %d HMAC initialisations",
              digests, macs);
    if (strcmp(mode, "preferred") == 0)
        test_check(ok && digests >= 2 && macs >= 1,
                   "with ?provider=recorder the signer's SHA-256 and HMAC came "
                   "from the recorder");
    else
        test_check(ok && digests == 0 && macs == 0,
                   "with ?provider=default none came from the recorder");
    EVP_PKEY_free(key);
    OSSL_LIB_CTX_free(libctx);
    return test_summary();
}
