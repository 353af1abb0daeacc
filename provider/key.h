/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's key object: a reference to a KMS key, never key material. */
#ifndef KMSRE_KEY_H
#define KMSRE_KEY_H

#include "kms/key_ref.h"
#include "provider.h"

struct kmsre_key {
    struct kmsre_prov *prov;
    int refcount; /* atomic */
    struct kmsre_key_ref ref;
    /* What `has` reports for the private selection. The store chooses it
     * from what the caller expects (private or public key), because
     * OSSL_STORE drops objects of the other kind (OPENSSL-3.0 notes). */
    int private_view;
};

struct kmsre_key *kmsre_key_new(struct kmsre_prov *prov);
int kmsre_key_up_ref(struct kmsre_key *key);
void kmsre_key_free(struct kmsre_key *key);

#endif
