/* SPDX-License-Identifier: Apache-2.0 */
/* The STS answer reader, on its own for the fuzzer. */
#ifndef KMSRE_CREDS_STS_H
#define KMSRE_CREDS_STS_H

#include "aws/creds.h"

/* STS's XML answer: .../Credentials/{AccessKeyId,SecretAccessKey,
 * SessionToken,Expiration}; an error document gives KMSRE_ERR_SERVICE with
 * its Code and Message in err. */
enum kmsre_status kmsre_sts_parse(const char *xml, size_t len,
                                  const char *source, struct kmsre_creds *out,
                                  struct kmsre_err *err);

#endif
