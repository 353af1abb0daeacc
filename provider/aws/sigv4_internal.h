/* SPDX-License-Identifier: Apache-2.0 */
/* Between the two halves of the signer: sigv4.c (hashing, keys, the
 * stages after the canonical request) and sigv4_canonical.c. */
#ifndef KMSRE_SIGV4_INTERNAL_H
#define KMSRE_SIGV4_INTERNAL_H

#include "aws/sigv4.h"
#include "base/strbuf.h"

/* Writes the canonical request of r, whose payload hashes to payload_hash,
 * into cr and the signed-header list ("a;b;c") into names. */
enum kmsre_status
kmsre_sigv4_canonical_request(const struct kmsre_sigv4_request *r,
                              const char payload_hash[KMSRE_SIGV4_HEX_LEN + 1],
                              struct kmsre_strbuf *cr,
                              struct kmsre_strbuf *names);

#endif
