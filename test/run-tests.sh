#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it: installs what is missing, builds with
# warnings as errors, runs every test, then builds again with ASan+UBSan and
# runs the suite once more; then the distribution stages (test/distro): the
# Debian package installed, loaded and removed in a fresh Debian 12 root,
# and the suite on Debian 13 (OpenSSL 3.5). Ends with the stages' summary.
# KMSRE_SKIP_SANITIZERS=1 / KMSRE_SKIP_DISTRO=1 leave those stages out.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
t_start=$SECONDS
# Every stage is counted; a host stage that fails ends the run at once.
stages_passed=0 stages_failed=0 stages_skipped=0
KMSRE_WITH_SANITIZERS=1 KMSRE_WITH_DISTRO=1 bash "$here/test/install-deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)

build() { # build DIR [cmake args]
    local dir=$1; shift
    cmake -S "$here" -B "$dir" -DKMSRE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
}

# host_stage_done TITLE T0: a host stage passed (one that fails has ended
# the run already).
host_stage_done() {
    stages_passed=$((stages_passed + 1))
    echo "== $1: passed in $((SECONDS - $2)) s =="
}

t0=$SECONDS
build "$here/build"
(cd "$here/build" && ctest -j"$jobs" --output-on-failure)
host_stage_done "build and ctest" "$t0"

if [ "${KMSRE_SKIP_SANITIZERS:-0}" != 1 ]; then
    # libFuzzer targets, each for a bounded time (skipped without clang).
    if command -v clang >/dev/null 2>&1; then
        echo "== fuzzers (clang, libFuzzer) =="
        t0=$SECONDS
        CC=clang cmake -S "$here" -B "$here/build-fuzz" -DKMSRE_FUZZ=ON \
            -DKMSRE_FUZZ_STRICT=ON -DKMSRE_FUZZ_RUNS=-1 \
            -DKMSRE_FUZZ_TIME="${KMSRE_FUZZ_TIME:-20}" >/dev/null
        cmake --build "$here/build-fuzz" -j"$jobs" >/dev/null
        (cd "$here/build-fuzz" && ctest -j"$jobs" -L fuzz --output-on-failure)
        host_stage_done fuzzers "$t0"
    else
        echo "== fuzzers: skipped (no clang) =="
        stages_skipped=$((stages_skipped + 1))
    fi
    # ThreadSanitizer over the threaded EVP programs (the openssl CLI is
    # not instrumented, so the CLI suites stay with the other builds), over
    # the hostile-server suite with its fork cases, and over kms-rotate's
    # worker pool in every input mode.
    echo "== TSan build =="
    t0=$SECONDS
    build "$here/build-tsan" -DKMSRE_TSAN=ON
    (cd "$here/build-tsan" &&
        ctest -j"$jobs" -R 'integration\.(evp|lifetimes|hostile|rotate)$' \
            --output-on-failure)
    host_stage_done "TSan build" "$t0"
    echo "== ASan+UBSan build =="
    t0=$SECONDS
    build "$here/build-asan" -DKMSRE_SANITIZE=ON
    # The servers' self-tests and the style check run no provider code.
    (cd "$here/build-asan" && ctest -j"$jobs" -LE 'server|style' --output-on-failure)
    host_stage_done "ASan+UBSan build" "$t0"
fi

# The distribution stages need root, debootstrap and the Debian mirror apt
# uses; where they cannot run they say why and are skipped (exit 77), not
# failed. Both are scripts rather than ctest entries: they build their own
# trees (a package build with its own prefix, a whole checkout in a root)
# and take minutes, so no `ctest` of a developer's build should start them.
distro_stage() { # distro_stage TITLE SCRIPT ARGS...
    local title=$1 rc=0 t0=$SECONDS
    shift
    echo "== $title =="
    bash "$@" || rc=$?
    case $rc in
    0) stages_passed=$((stages_passed + 1))
       echo "== $title: passed in $((SECONDS - t0)) s ==" ;;
    77) stages_skipped=$((stages_skipped + 1))
        echo "== $title: skipped ==" ;;
    *) stages_failed=$((stages_failed + 1))
       echo "== $title: FAILED (exit $rc) after $((SECONDS - t0)) s ==" ;;
    esac
}
if [ "${KMSRE_SKIP_DISTRO:-0}" != 1 ]; then
    distro_stage "Debian 12 package (cpack -G DEB, apt install in a fresh root)" \
        "$here/test/distro/deb.sh" "$here" "$here/build-deb"
    distro_stage "Debian 13 (trixie, OpenSSL 3.5): build and ctest" \
        "$here/test/distro/trixie.sh" "$here"
fi
t_all=$((SECONDS - t_start))
echo "run-tests: $((t_all / 60)) min $((t_all % 60)) s in all"
echo "stages: $stages_passed passed, $stages_failed failed, $stages_skipped skipped"
[ "$stages_failed" -eq 0 ]
