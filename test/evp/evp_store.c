/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/store.h>
#include "evp_store.h"
#include "test.h"

#define MAX_OBJECTS 100

static EVP_PKEY *get_key(OSSL_STORE_INFO *info, int type)
{
    if (type == OSSL_STORE_INFO_PKEY)
        return OSSL_STORE_INFO_get1_PKEY(info);
    if (type == OSSL_STORE_INFO_PUBKEY)
        return OSSL_STORE_INFO_get1_PUBKEY(info);
    return NULL;
}

EVP_PKEY *evp_store_load(OSSL_LIB_CTX *libctx, const char *uri, int expect,
                         int *n_objects)
{
    OSSL_STORE_CTX *sctx;
    EVP_PKEY *pkey = NULL;
    int n = 0, guard = 0;

    sctx = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
    if (sctx != NULL && OSSL_STORE_expect(sctx, expect)) {
        while (!OSSL_STORE_eof(sctx) && guard++ < MAX_OBJECTS) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(sctx);
            int type;

            if (info == NULL)
                continue;
            n++;
            type = OSSL_STORE_INFO_get_type(info);
            if (pkey == NULL && type == expect)
                pkey = get_key(info, type);
            OSSL_STORE_INFO_free(info);
        }
    }
    OSSL_STORE_close(sctx);
    if (guard > MAX_OBJECTS) {
        test_check(0, "store: eof never became true for %s", uri);
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    if (n_objects != NULL)
        *n_objects = n;
    return pkey;
}
