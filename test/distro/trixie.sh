#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The suite on Debian 13 (trixie, OpenSSL 3.5): a fresh minbase root from
# the cache (rootfs.sh), the working tree copied into it, the build and
# test dependencies installed there by test/install-deps.sh from Debian's
# packages (the mirror apt uses here), a -Werror build, and ctest.
# Left out: the memcheck label (valgrind over whole CLI suites, the
# slowest tests; the host stage runs them) and the sanitizer, TSan and
# fuzz builds (the host stages). Exit 77 ("skipped: ...") where it cannot
# run: not root, no debootstrap, no mirror serving trixie reachable.
#   trixie.sh [SOURCE_DIR]        (default: this checkout)
# Environment: see lib.sh; KMSRE_TRIXIE_CTEST_ARGS replaces the ctest
# selection (default: -LE memcheck).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

src=$(cd "${1:-$here/../..}" && pwd)
suite=trixie
distro_can_run "$suite"
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2206
ctest_args=(${KMSRE_TRIXIE_CTEST_ARGS:--LE memcheck})

t_all=$SECONDS
root=""
trap 'chroot_cleanup "$root"' EXIT
trap 'exit 130' INT TERM
root=$(rootfs_new "$suite") || die "a $suite root (debootstrap from apt's mirror)"
ok "$suite minbase root ($(elapsed "$t_all"))"

# The working tree as the host stages see it, without build directories.
mkdir -p "$root/src"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude='./_test*' \
    --exclude=__pycache__ -cf - . | tar -C "$root/src" -xf -
chroot_mount "$root" "$suite"

log=$root/tmp/stage.log
step() { # step NAME COMMAND...: COMMAND in the root, its output in the log
    local name=$1 t0=$SECONDS
    shift
    if in_root "$root" "$@" >"$log" 2>&1; then
        ok "$name ($(elapsed "$t0"))"
    else
        tail -n 60 "$log" | sed 's/^/#   /'
        die "$name ($(elapsed "$t0"))"
    fi
}

step "apt-get update from apt's mirror" apt-get update -qq
step "test/install-deps.sh on Debian 13" bash /src/test/install-deps.sh
# What run-tests.sh adds on the host (valgrind, clang and libFuzzer's
# runtime, debootstrap, zstd, dpkg-dev) resolves on Debian 13 too.
step "test/install-deps.sh with the sanitizer and distribution packages (apt-get -s)" \
    env KMSRE_DEPS_SIMULATE=1 KMSRE_WITH_SANITIZERS=1 KMSRE_WITH_DISTRO=1 \
    bash /src/test/install-deps.sh
sed 's/^/#   /' "$log"
version=$(in_root "$root" openssl version)
case $version in
"OpenSSL 3.5"*) ok "OpenSSL in $suite: $version" ;;
*) not_ok "OpenSSL in $suite is not 3.5: $version" ;;
esac
step "configure and build with -Werror (gcc $(in_root "$root" gcc -dumpversion))" \
    sh -c "cmake -S /src -B /src/build -DKMSRE_WERROR=ON >/dev/null &&
           cmake --build /src/build -j$jobs >/dev/null"

echo "# ctest ${ctest_args[*]} (memcheck, valgrind over the CLI suites, runs on the host only)"
t0=$SECONDS
if in_root "$root" sh -c "cd /src/build && ctest -j$jobs --output-on-failure $(printf '%q ' "${ctest_args[@]}")"; then
    ok "ctest on $suite ($(elapsed "$t0"))"
else
    not_ok "ctest on $suite ($(elapsed "$t0"))"
fi
echo "# $suite stage: $(elapsed "$t_all") in all"
finish
