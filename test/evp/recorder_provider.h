/* SPDX-License-Identifier: Apache-2.0 */
/* A built-in test provider offering counted SHA2-256 and HMAC under
 * "provider=recorder" (see recorder_provider.c). */
#ifndef KMSRE_RECORDER_PROVIDER_H
#define KMSRE_RECORDER_PROVIDER_H

#include <openssl/core.h>

/* For OSSL_PROVIDER_add_builtin(libctx, "recorder", ...). */
int recorder_provider_init(const OSSL_CORE_HANDLE *handle,
                           const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
                           void **provctx);

int recorder_digest_inits(void);
int recorder_mac_inits(void);

#endif
