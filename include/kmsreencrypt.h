/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmsreencrypt: public names of the OpenSSL 3 provider that exposes AWS KMS
 * ReEncrypt as an asymmetric-cipher "encrypt".
 *
 * Applications need no header of ours: these macros only spell the names an
 * application passes through OpenSSL's own API, and each name works as a
 * literal string too.
 *
 *   EVP_PKEY *key = <OSSL_STORE_load of "kms:alias/new">;
 *   EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, key, NULL);
 *   OSSL_PARAM p[] = {
 *       OSSL_PARAM_utf8_string(KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT,
 *                              "Dept=IT", 0),
 *       OSSL_PARAM_END };
 *   EVP_PKEY_encrypt_init_ex(ctx, p);
 *   EVP_PKEY_encrypt(ctx, NULL, &outlen, in, inlen);  -- size, no network
 *   EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen);   -- one ReEncrypt call
 *
 * Input is the source CiphertextBlob (raw bytes), output the new
 * CiphertextBlob (raw bytes). The destination key is the EVP_PKEY's KMS key
 * unless KMSRE_PARAM_DESTINATION_KEY_ID names another.
 */
#ifndef KMSREENCRYPT_H
#define KMSREENCRYPT_H

/* Provider, algorithm and store names. */
#define KMSRE_PROVIDER_NAME "kmsreencrypt"
#define KMSRE_ALG_NAME "KMS-REENCRYPT" /* keymgmt and asym cipher */
#define KMSRE_STORE_SCHEME "kms" /* kms:<key id|key ARN|alias|alias ARN> */

/* Key parameters (EVP_PKEY_fromdata, EVP_PKEY_get_params). UTF-8 strings. */
#define KMSRE_PKEY_PARAM_KEY_ID "key-id"   /* any of the four key id forms */
#define KMSRE_PKEY_PARAM_REGION "region"   /* optional; an ARN's region wins */
#define KMSRE_PKEY_PARAM_PROFILE "profile" /* optional AWS profile name */

/*
 * Operation parameters (EVP_PKEY_encrypt_init_ex, EVP_PKEY_CTX_set_params,
 * `openssl pkeyutl -pkeyopt name:value`). All are UTF-8 strings.
 *
 * Settable:
 *  source-key-id                    SourceKeyId (required for asymmetric
 *                                   source ciphertext)
 *  destination-key-id               DestinationKeyId; overrides the key
 *  source-encryption-context        SourceEncryptionContext: "k1=v1,k2=v2"
 *  destination-encryption-context   (AWS CLI shorthand) or '{"k":"v"}'
 *  source-encryption-algorithm      SYMMETRIC_DEFAULT | RSAES_OAEP_SHA_1 |
 *  destination-encryption-algorithm RSAES_OAEP_SHA_256 | SM2PKE
 *  grant-tokens                     "t1,t2" or '["t1","t2"]'; each setting
 *                                   appends; at most 10 in all
 *  dry-run                          true/false, yes/no, 1/0 (an integer is
 *                                   accepted too); a dry run always fails,
 *                                   with DryRunOperationException when the
 *                                   real call would have succeeded
 *  dry-run-modifiers                "IGNORE_CIPHERTEXT" (then the input may
 *                                   be empty and source-key-id is required)
 *
 * Gettable after a successful EVP_PKEY_encrypt (KMS's answer; untouched,
 * see OSSL_PARAM_modified(), before one):
 *  source-key-id, destination-key-id   key ARNs
 *  source-encryption-algorithm, destination-encryption-algorithm
 *
 * Gettable after any EVP_PKEY_encrypt that got as far as sending (its
 * outcome, for applications that keep records of each call):
 *  request-id      x-amzn-RequestId of KMS's last answer ("" if none)
 *  error-type      KMS error type of a failed call, e.g. ThrottlingException
 *                  ("" after a success or a failure without a KMS answer)
 *  error-message   KMS's message for that error
 *  attempts        requests sent (integer), retries included
 *  throttles       of those, how many KMS throttled (integer)
 *  error-class     after a failure, whether the same call may succeed
 *                  later: "throttling" (slow down, then retry),
 *                  "transient" (5xx, timeout, lost connection: retry
 *                  later) or "permanent" (fix the request, the key or
 *                  the configuration); "" after a success
 */
#define KMSRE_PARAM_SOURCE_KEY_ID "source-key-id"
#define KMSRE_PARAM_DESTINATION_KEY_ID "destination-key-id"
#define KMSRE_PARAM_SOURCE_ENCRYPTION_CONTEXT "source-encryption-context"
#define KMSRE_PARAM_DESTINATION_ENCRYPTION_CONTEXT                             \
    "destination-encryption-context"
#define KMSRE_PARAM_SOURCE_ENCRYPTION_ALGORITHM "source-encryption-algorithm"
#define KMSRE_PARAM_DESTINATION_ENCRYPTION_ALGORITHM                           \
    "destination-encryption-algorithm"
#define KMSRE_PARAM_GRANT_TOKENS "grant-tokens"
#define KMSRE_PARAM_DRY_RUN "dry-run"
#define KMSRE_PARAM_DRY_RUN_MODIFIERS "dry-run-modifiers"
#define KMSRE_PARAM_REQUEST_ID "request-id"
#define KMSRE_PARAM_ERROR_TYPE "error-type"
#define KMSRE_PARAM_ERROR_MESSAGE "error-message"
#define KMSRE_PARAM_ATTEMPTS "attempts"
#define KMSRE_PARAM_THROTTLES "throttles"
#define KMSRE_PARAM_ERROR_CLASS "error-class"

/* Largest CiphertextBlob KMS accepts or returns (bytes); also the answer of
 * EVP_PKEY_get_size() and of the size query. */
#define KMSRE_MAX_CIPHERTEXT 6144

/*
 * Provider configuration keys (openssl.cnf provider section). Explicit
 * configuration wins over the environment.
 *  region               default region for key ids and alias names
 *  profile              AWS profile in the shared config/credentials files
 *  endpoint             KMS endpoint URL (https://host[:port][/path];
 *                       http:// too, as it is explicit)
 *  ca-bundle            PEM file of trusted CAs (else AWS_CA_BUNDLE, else
 *                       the system store)
 *  connect-timeout-ms   TCP+TLS connect timeout (default 3000)
 *  request-timeout-ms   whole-request timeout (default 30000)
 *  max-attempts         attempts in all, first included (else
 *                       AWS_MAX_ATTEMPTS, the profile's max_attempts, 3)
 *  retry-mode           standard | adaptive | legacy (else AWS_RETRY_MODE,
 *                       the profile's retry_mode, standard)
 *  debug                true: a trace on stderr of where the region,
 *                       endpoint and credentials came from, then one line
 *                       per attempt (endpoint, operation, status, request
 *                       id, time; never a secret); KMSRE_DEBUG=1 does the
 *                       same
 */
#define KMSRE_CONF_REGION "region"
#define KMSRE_CONF_PROFILE "profile"
#define KMSRE_CONF_ENDPOINT "endpoint"
#define KMSRE_CONF_CA_BUNDLE "ca-bundle"
#define KMSRE_CONF_CONNECT_TIMEOUT_MS "connect-timeout-ms"
#define KMSRE_CONF_REQUEST_TIMEOUT_MS "request-timeout-ms"
#define KMSRE_CONF_MAX_ATTEMPTS "max-attempts"
#define KMSRE_CONF_RETRY_MODE "retry-mode"
#define KMSRE_CONF_DEBUG "debug"

#endif
