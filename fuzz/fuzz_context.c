/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kmsre_context_parse (JSON and CLI shorthand). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *map = NULL;
    char err[96];
    /* A copy without a terminating NUL, so reads past len are caught. */
    char *text = malloc(size ? size : 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    if (kmsre_context_parse(text, size, &map, err, sizeof(err)) == KMSRE_OK) {
        json_object_object_foreach(map, key, val)
        {
            (void)key;
            if (!json_object_is_type(val, json_type_string))
                abort();
        }
    } else if (map != NULL || memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    json_object_put(map);
    free(text);
    return 0;
}
