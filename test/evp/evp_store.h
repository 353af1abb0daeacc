/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading a key through OSSL_STORE the way OpenSSL's own apps do
 * (apps/lib/apps.c: open, expect, load until eof), shared by the EVP
 * programs. Only OpenSSL's public API.
 */
#ifndef KMSRE_EVP_STORE_H
#define KMSRE_EVP_STORE_H

#include <openssl/evp.h>

/* The first object of type expect (OSSL_STORE_INFO_PKEY or _PUBKEY) that
 * the store at uri gives in libctx, or NULL. A store whose eof never turns
 * true is a failed check (it would hang `openssl pkeyutl`). n_objects (may
 * be NULL): how many objects the store gave. */
EVP_PKEY *evp_store_load(OSSL_LIB_CTX *libctx, const char *uri, int expect,
                         int *n_objects);

#endif
