#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The signer fetches SHA-256 and HMAC from the application's library
# context (test/evp/evp_libctx.c with a recording provider): a default
# property query of the application must reach it, and the signature made
# with the recorder's algorithms must verify at the local KMS.
# usage: libctx.sh BUILD_DIR SOURCE_DIR   (EVP_LIBCTX_BIN: the program)
. "$(dirname "$0")/lib.sh"

bin=${EVP_LIBCTX_BIN:-$BUILD_DIR/test/evp_libctx}
[ -x "$bin" ] || bail "no executable $bin (set EVP_LIBCTX_BIN)"
start_kms
cd "$WORK"
printf 'library context' >plain.txt
SRC=$(new_key) || die "create the source key"
DST=$(new_key) || die "create the destination key"
aws kms create-alias --alias-name alias/libctx --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context Dept=IT ||
    die "aws kms encrypt"
for mode in preferred control; do
    run_prog "$mode" env -u OPENSSL_CONF -u OPENSSL_MODULES \
        "$bin" "$mode" "$BUILD_DIR" kms:alias/libctx old.bin Dept=IT
done
finish
