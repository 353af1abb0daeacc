#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package, end to end: builds the provider here and makes the
# .deb with `cpack -G DEB`, checks its control data (Depends computed by
# dpkg-shlibdeps: libssl3, libcurl4, libjson-c5, no -dev package) and its
# files, and `cmake --install` into a DESTDIR; then, in a fresh Debian 12
# minbase root from the cache (rootfs.sh), installs it with
# `apt install ./kmsreencrypt_*.deb`, checks that
# `openssl list -providers -provider kmsreencrypt -provider default` shows
# it with no -provider-path, that the sample cnf loads it, that the
# provider answers a local refusal, that `man kmsreencrypt` works, and
# purges it again (nothing left behind). Exit 77 ("skipped: ...") where it
# cannot run: not root, no debootstrap, no mirror serving bookworm.
#   deb.sh [SOURCE_DIR [BUILD_DIR]]   (default: this checkout, SOURCE_DIR/build-deb)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

src=$(cd "${1:-$here/../..}" && pwd)
build=${2:-$src/build-deb}
suite=bookworm
distro_can_run "$suite"
for tool in cmake cpack dpkg-deb dpkg-shlibdeps scdoc; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is missing (bash test/install-deps.sh installs it)"
done
jobs=$(nproc 2>/dev/null || echo 2)
t_all=$SECONDS
root=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-deb.XXXXXX")
trap 'chroot_cleanup "$root"; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# check NAME COMMAND...: ok when COMMAND succeeds (its output shown if not)
check() {
    local name=$1
    shift
    if "$@" >"$tmp/check.out" 2>&1; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$tmp/check.out" | head -n 40; fi
}

# ---- on this machine: build, package, install into a DESTDIR ---------------

t0=$SECONDS
rm -f "$build"/kmsreencrypt_*.deb
if cmake -S "$src" -B "$build" -DBUILD_TESTING=OFF -DKMSRE_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/build.log" 2>&1 &&
    cmake --build "$build" -j"$jobs" >>"$tmp/build.log" 2>&1 &&
    (cd "$build" && cpack -G DEB) >>"$tmp/build.log" 2>&1; then
    ok "cmake --build and cpack -G DEB ($(elapsed "$t0"))"
else
    tail -n 40 "$tmp/build.log" | sed 's/^/#   /'
    die "cmake --build and cpack -G DEB"
fi
debs=("$build"/kmsreencrypt_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || die "one kmsreencrypt_*.deb in $build"
deb=${debs[0]}
arch=$(dpkg --print-architecture)
version=$(sed -n 's/^project(kmsreencrypt VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
check "file name kmsreencrypt_${version}_$arch.deb ($(basename "$deb"))" \
    test "$(basename "$deb")" = "kmsreencrypt_${version}_$arch.deb"

depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
for lib in libssl3 libcurl4 libjson-c5; do
    check "Depends names $lib" grep -Eq "(^|, )$lib( |,|$)" <<<"$depends"
done
check "Depends names no -dev package" bash -c '! grep -q -- "-dev" <<<"$1"' _ "$depends"
check "Package kmsreencrypt, Version $version" \
    test "$(dpkg-deb -f "$deb" Package Version | tr '\n' ' ')" = "Package: kmsreencrypt Version: $version "

modulesdir=$(pkg-config --variable=modulesdir libcrypto)
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
for f in "$modulesdir/kmsreencrypt.so" /usr/include/kmsreencrypt.h \
    /usr/share/man/man7/kmsreencrypt.7 /usr/share/doc/kmsreencrypt/copyright \
    /usr/share/doc/kmsreencrypt/examples/openssl.cnf; do
    check "the package has $f" grep -qx -- "$f" "$tmp/contents"
done
# kms-rotate, where the tree has it (apps/).
rotate=0
if [ -f "$src/apps/CMakeLists.txt" ]; then
    rotate=1
    check "the package has /usr/bin/kms-rotate" grep -qx /usr/bin/kms-rotate "$tmp/contents"
fi

# `cmake --install` with the default prefix: the module still goes to
# OpenSSL's modules directory.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if DESTDIR=$tmp/destdir cmake --install "$build" >"$tmp/install.log" 2>&1; then
    ok "cmake --install (prefix $prefix) into a DESTDIR"
    for f in "$modulesdir/kmsreencrypt.so" "$prefix/include/kmsreencrypt.h" \
        "$prefix/share/man/man7/kmsreencrypt.7" \
        "$prefix/share/doc/kmsreencrypt/examples/openssl.cnf"; do
        check "cmake --install puts $f" test -f "$tmp/destdir$f"
    done
else
    sed 's/^/#   /' "$tmp/install.log"
    not_ok "cmake --install into a DESTDIR"
fi

# ---- in a fresh Debian 12 root ----------------------------------------------

root=$(rootfs_new "$suite") || die "a $suite root (debootstrap from apt's mirror)"
chroot_mount "$root" "$suite"
cp "$deb" "$root/tmp/"
chmod 644 "$root/tmp/$(basename "$deb")"
r() { in_root "$root" "$@"; }

excludes=$(cat "$root"/etc/dpkg/dpkg.cfg.d/* 2>/dev/null | grep -E '^path-(exclude|include)' || true)
if [ -z "$excludes" ]; then
    ok "the $suite minbase root has no dpkg path-exclude (man pages are kept)"
else
    echo "# dpkg path filters in the root:"; sed 's/^/#   /' <<<"$excludes"
    not_ok "the $suite minbase root excludes paths from packages"
fi
check "apt-get update in $suite" r apt-get update -qq
t0=$SECONDS
if r sh -c "cd /tmp && apt install -y ./$(basename "$deb")" >"$tmp/apt.log" 2>&1 &&
    ! grep -Eq '^(E|W):' "$tmp/apt.log"; then
    ok "apt install ./$(basename "$deb") in a fresh $suite root ($(elapsed "$t0"))"
else
    sed 's/^/#   /' "$tmp/apt.log" | tail -n 40
    not_ok "apt install ./$(basename "$deb") in a fresh $suite root"
fi
grep -E '^(Setting up|Unpacking) ' "$tmp/apt.log" | sed 's/^/#   /' | grep -E 'kmsreencrypt|libcurl4|libjson-c5|libssl3|libcsv3|openssl' || true

check "the module is in $modulesdir" test -f "$root$modulesdir/kmsreencrypt.so"
r openssl list -providers -provider kmsreencrypt -provider default \
    >"$tmp/list.out" 2>&1 || true
sed 's/^/#   /' "$tmp/list.out"
check "openssl list -providers -provider kmsreencrypt -provider default shows it (no -provider-path)" \
    grep -A3 '^  kmsreencrypt$' "$tmp/list.out"
check "... active" bash -c "grep -A3 '^  kmsreencrypt\$' '$tmp/list.out' | grep -q 'status: active'"
check "the installed sample cnf loads it (OPENSSL_CONF, no -provider flag)" \
    r sh -c "OPENSSL_CONF=/usr/share/doc/kmsreencrypt/examples/openssl.cnf \
        openssl list -providers | grep -qx '  kmsreencrypt'"
# The store and the cipher answer, without a network call: an empty
# ciphertext is refused locally.
: >"$root/tmp/empty.bin"
r sh -c 'AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 openssl pkeyutl \
    -provider kmsreencrypt -provider default -encrypt -inkey kms:alias/new \
    -in /tmp/empty.bin -out /tmp/new.bin' >"$tmp/pkeyutl.out" 2>&1 || true
check "openssl pkeyutl through the installed provider: empty input ciphertext" \
    grep -q 'kmsreencrypt.*empty input ciphertext' "$tmp/pkeyutl.out"

if [ "$rotate" = 1 ]; then
    check "kms-rotate --version runs (its libraries came with the package)" \
        r kms-rotate --version
fi

# man -w needs man-db (not in minbase).
check "apt-get install man-db" r apt-get install -y -qq --no-install-recommends man-db
check "man -w kmsreencrypt" \
    r sh -c 'man -w kmsreencrypt | grep -qx /usr/share/man/man7/kmsreencrypt.7'
r env MANWIDTH=80 MANPAGER=cat man --warnings kmsreencrypt >"$tmp/man.out" 2>"$tmp/man.err" || true
check "man kmsreencrypt shows the page" grep -q '^NAME' "$tmp/man.out"
check "... with every section" bash -c "for s in SYNOPSIS DESCRIPTION LOADING 'KEY URIS' PARAMETERS \
    CONFIGURATION ENVIRONMENT ERRORS EXAMPLES FILES 'SEE ALSO'; do grep -qx \"\$s\" '$tmp/man.out' || { echo \"no \$s\"; exit 1; }; done"
check "... and no groff warning" test ! -s "$tmp/man.err"
[ ! -s "$tmp/man.err" ] || sed 's/^/#   /' "$tmp/man.err" | head -n 20

# ---- removal ------------------------------------------------------------------
check "apt-get purge kmsreencrypt" r apt-get purge -y -qq kmsreencrypt
check "the package is gone" r sh -c '! dpkg -s kmsreencrypt'
for f in "$modulesdir/kmsreencrypt.so" /usr/include/kmsreencrypt.h \
    /usr/share/man/man7/kmsreencrypt.7 /usr/share/doc/kmsreencrypt \
    /usr/bin/kms-rotate; do
    check "$f is gone" test ! -e "$root$f"
done
check "openssl no longer loads kmsreencrypt" \
    r sh -c '! openssl list -providers -provider kmsreencrypt -provider default'
echo "# package stage: $(elapsed "$t_all") in all"
finish
