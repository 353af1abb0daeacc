/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the credential answers: STS XML (AssumeRole, web identity, error
 * documents), the JSON of credential_process, ECS and IMDS, and ISO 8601
 * times. The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "aws/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_creds(const struct aws_creds *c)
{
    if (c->access_key_id == NULL || c->secret_access_key == NULL ||
        *c->access_key_id == '\0' || *c->secret_access_key == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_creds c = {0};
    char why[256], *text;
    time_t t;

    if (size < 1)
        return 0;
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        if (aws_sts_parse(text, size - 1, "fuzz", &c, why, sizeof(why)) ==
            KMSRE_OK)
            check_creds(&c);
        break;
    case 1:
        if (aws_creds_parse_json(text, size - 1, "Token", "fuzz", &c, why,
                                 sizeof(why)) == KMSRE_OK)
            check_creds(&c);
        break;
    default:
        (void)aws_parse_iso8601(text, &t);
        break;
    }
    aws_creds_clear(&c);
    free(text);
    return 0;
}
