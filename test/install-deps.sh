#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, from Debian/Ubuntu packages, whatever the build, the demo and the
# tests need and this machine lacks. Already-present tools are kept (a
# preinstalled AWS CLI or botocore is used as it is).
#   install-deps.sh          the build and the whole test suite
#   install-deps.sh --demo   the build and test/demo.sh only
set -euo pipefail
demo_only=0
[ "${1:-}" = --demo ] && demo_only=1

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

need=()
want_pkg() { dpkg -s "$1" >/dev/null 2>&1 || need+=("$1"); }
for p in build-essential cmake pkg-config openssl libssl-dev \
         libcurl4-openssl-dev libjson-c-dev curl python3 ca-certificates \
         libcsv-dev scdoc; do
    want_pkg "$p"
done
# The test KMS verifies signatures with botocore and keeps real crypto.
kms_python_ok() {
    for py in ${KMS_SERVER_PYTHON:-} python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import botocore.auth, cryptography' 2>/dev/null && return 0
    done
    return 1
}
kms_python_ok || need+=(python3-botocore python3-cryptography)
command -v aws >/dev/null 2>&1 || need+=(awscli)
if [ "$demo_only" = 0 ]; then
    # Go: the stock net/http server (h2 in ALPN) of hostile.sh and fastkms,
    # kms-rotate's fast stand-in. A Dask cluster for rotate_dask.sh (for
    # Debian's python3).
    command -v go >/dev/null 2>&1 || need+=(golang-go)
    want_pkg python3-distributed
fi
# The distribution stages (test/distro): minbase roots made with
# debootstrap, cached as zstd tarballs; the .deb's Depends by dpkg-shlibdeps.
if [ "${KMSRE_WITH_DISTRO:-0}" = 1 ]; then
    for p in debootstrap zstd dpkg-dev; do want_pkg "$p"; done
fi
if [ "${KMSRE_WITH_SANITIZERS:-0}" = 1 ]; then
    # libasan/libubsan come with gcc; valgrind checks the CLI runs.
    want_pkg valgrind
    # The fuzzers need clang with libFuzzer (Debian: libclang-rt-14-dev).
    want_pkg clang
fi

# KMSRE_DEPS_SIMULATE=1: only check that every package would install
# (apt-get -s), as test/distro/trixie.sh does for the sanitizer and
# distribution packages on Debian 13.
if [ "${KMSRE_DEPS_SIMULATE:-0}" = 1 ]; then
    if [ "${KMSRE_WITH_SANITIZERS:-0}" = 1 ]; then
        # libFuzzer's runtime, named after the clang apt would install.
        v=$(apt-cache depends clang 2>/dev/null |
            sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
        [ -z "$v" ] || want_pkg "libclang-rt-$v-dev"
    fi
    echo "install-deps: would install ${need[*]:-nothing}"
    [ ${#need[@]} -eq 0 ] ||
        apt-get install -s -qq --no-install-recommends "${need[@]}" >/dev/null
    exit
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${need[@]}" >/dev/null
fi
# libFuzzer's runtime has a versioned name; without it the fuzz stage skips.
if [ "${KMSRE_WITH_SANITIZERS:-0}" = 1 ] && command -v clang >/dev/null 2>&1; then
    rt=libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev
    if ! dpkg -s "$rt" >/dev/null 2>&1 && apt-cache show "$rt" >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
            --no-install-recommends "$rt" >/dev/null || true
    fi
fi
