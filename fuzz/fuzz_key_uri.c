/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kms_key_ref_parse_uri, kms_key_ref_parse_id and
 * kms_key_ref_copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const struct kms_key_ref *ref)
{
    struct kms_key_ref copy;

    if (ref->key_id == NULL || ref->key_id[0] == '\0')
        abort();
    if (ref->region != NULL && !kmsre_region_is_valid(ref->region))
        abort();
    if (kms_key_ref_copy(&copy, ref) == KMSRE_OK) {
        if (strcmp(copy.key_id, ref->key_id) != 0 || copy.form != ref->form)
            abort();
        kms_key_ref_clear(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kms_key_ref ref;
    char err[96];
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (kms_key_ref_parse_uri(text, &ref, err, sizeof(err)) == KMSRE_OK)
        check_ref(&ref);
    kms_key_ref_clear(&ref);
    if (kms_key_ref_parse_id(text, &ref, err, sizeof(err)) == KMSRE_OK)
        check_ref(&ref);
    kms_key_ref_clear(&ref);
    free(text);
    return 0;
}
