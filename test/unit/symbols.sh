#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One prefix: every name with external linkage in the core library starts
# with kmsre_ (aws_, kms_ and the like belong to others: the AWS C SDK may
# be linked into the same application), and the module exports nothing but
# OSSL_provider_init.
# usage: symbols.sh LIBKMSRE_CORE.a KMSREENCRYPT.so
set -euo pipefail
core=$1 module=$2
command -v nm >/dev/null || { echo "nm not found"; exit 2; }
failed=0
# Defined, global symbols; names the compiler makes itself (__asan_*, ...)
# start with "__" and are not ours.
others=$(nm -g --defined-only "$core" | awk 'NF == 3 { print $3 }' |
    grep -v -e '^kmsre_' -e '^__' | sort -u || true)
count=$(nm -g --defined-only "$core" | awk 'NF == 3 { print $3 }' |
    grep -c '^kmsre_' || true)
if [ -z "$others" ] && [ "$count" -gt 0 ]; then
    echo "ok - the core library's $count external names all start with kmsre_"
else
    echo "not ok - external names without the kmsre_ prefix:"
    printf '#   %s\n' $others
    failed=$((failed + 1))
fi
exported=$(nm -D --defined-only "$module" | awk 'NF == 3 && $2 ~ /[TDBRVW]/ { print $3 }')
if [ "$exported" = OSSL_provider_init ]; then
    echo "ok - the module exports OSSL_provider_init only"
else
    echo "not ok - the module exports:"
    printf '#   %s\n' $exported
    failed=$((failed + 1))
fi
echo "$((2 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
