/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes of the inner modules; only the OpenSSL-facing files turn
 * them into entries of the OpenSSL error queue. */
#ifndef KMSRE_STATUS_H
#define KMSRE_STATUS_H

enum kmsre_status {
    KMSRE_OK = 0,
    KMSRE_ERR_NOMEM,     /* allocation failed */
    KMSRE_ERR_INVALID,   /* malformed input (syntax, characters, type) */
    KMSRE_ERR_LIMIT,     /* input outside a documented size or count limit */
    KMSRE_ERR_CRYPTO,    /* an OpenSSL primitive failed */
    KMSRE_ERR_IO,        /* a file could not be read */
    KMSRE_ERR_TRANSPORT, /* HTTP transport failure (connect, TLS, timeout) */
    KMSRE_ERR_RESPONSE,  /* the peer answered something we cannot use */
    KMSRE_ERR_SERVICE,   /* the service answered with an error document */
    KMSRE_ERR_NO_CREDENTIALS,
    KMSRE_ERR_NO_REGION,
    KMSRE_ERR_CREDENTIALS /* a configured credential source failed */
};

#endif
