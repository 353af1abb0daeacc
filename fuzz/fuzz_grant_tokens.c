/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kmsre_grant_tokens_append; a newline in the input
 * splits it into two appends to the same list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void append(struct json_object **list, const char *text, size_t len)
{
    size_t before = *list ? json_object_array_length(*list) : 0;
    char err[96];

    if (kmsre_grant_tokens_append(list, text, len, err, sizeof(err)) !=
        KMSRE_OK) {
        if ((*list ? json_object_array_length(*list) : 0) != before)
            abort();
    }
    if (*list && json_object_array_length(*list) > KMS_MAX_GRANT_TOKENS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *list = NULL;
    char *text = malloc(size ? size : 1);
    const char *nl;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    nl = memchr(text, '\n', size);
    if (nl == NULL) {
        append(&list, text, size);
    } else {
        append(&list, text, (size_t)(nl - text));
        append(&list, nl + 1, size - (size_t)(nl - text) - 1);
    }
    json_object_put(list);
    free(text);
    return 0;
}
