#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it: installs what is missing, builds with
# warnings as errors, runs every test, then builds again with ASan+UBSan and
# runs the suite once more. Ends with ctest's summary.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
KMSRE_WITH_SANITIZERS=1 bash "$here/test/install-deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)

build() { # build DIR [cmake args]
    local dir=$1; shift
    cmake -S "$here" -B "$dir" -DKMSRE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
}

build "$here/build"
(cd "$here/build" && ctest -j"$jobs" --output-on-failure)

if [ "${KMSRE_SKIP_SANITIZERS:-0}" != 1 ]; then
    # libFuzzer targets, each for a bounded time (skipped without clang).
    if command -v clang >/dev/null 2>&1; then
        echo "== fuzzers (clang, libFuzzer) =="
        CC=clang cmake -S "$here" -B "$here/build-fuzz" -DKMSRE_FUZZ=ON \
            -DKMSRE_FUZZ_STRICT=ON -DKMSRE_FUZZ_RUNS=-1 \
            -DKMSRE_FUZZ_TIME="${KMSRE_FUZZ_TIME:-20}" >/dev/null
        cmake --build "$here/build-fuzz" -j"$jobs" >/dev/null
        (cd "$here/build-fuzz" && ctest -j"$jobs" -L fuzz --output-on-failure)
    fi
    # ThreadSanitizer over the threaded EVP programs (the openssl CLI is
    # not instrumented, so the CLI suites stay with the other builds), over
    # the hostile-server suite with its fork cases, and over kms-rotate's
    # worker pool in every input mode.
    echo "== TSan build =="
    build "$here/build-tsan" -DKMSRE_TSAN=ON
    (cd "$here/build-tsan" &&
        ctest -j"$jobs" -R 'integration\.(evp|lifetimes|hostile|rotate)$' \
            --output-on-failure)
    echo "== ASan+UBSan build =="
    build "$here/build-asan" -DKMSRE_SANITIZE=ON
    # The servers' self-tests and the style check run no provider code.
    (cd "$here/build-asan" && ctest -j"$jobs" -LE 'server|style' --output-on-failure)
fi
