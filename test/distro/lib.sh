# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared by the distribution stages (rootfs.sh, trixie.sh, deb.sh): the
# Debian mirror apt already uses on this machine, minbase roots made with
# debootstrap and cached as tarballs, and chroots with /proc, /dev and /sys
# mounted and always unmounted again.
#
# Environment:
#   KMSRE_CACHE_DIR       where the root tarballs (and the .deb files apt
#                         downloads inside the roots) are kept; default
#                         ${XDG_CACHE_HOME:-~/.cache}/kmsreencrypt
#   KMSRE_ROOTFS_REFRESH=1  make the cached root tarball anew
#   KMSRE_DISTRO_MIRROR   a Debian mirror URI instead of the one apt uses
#   KMSRE_DISTRO_TMP      where the roots are unpacked (default /var/tmp:
#                         not a tmpfs, device nodes allowed)
#   KEEP_TMP=1            keep the temporary roots (their path is printed)
#
# A stage prints ok/not ok lines and "N passed, M failed"; where it cannot
# run (not root, no debootstrap, no mirror reachable) it prints
# "skipped: <reason>" and exits 77, ctest's SKIP_RETURN_CODE.

set -euo pipefail

DISTRO_SCRIPT=$(basename "$0")
DISTRO_CACHE=${KMSRE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kmsreencrypt}
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
skip() { echo "$DISTRO_SCRIPT: skipped: $*"; exit 77; }
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}
# die MESSAGE: a set-up step failed once the stage is under way.
die() { not_ok "$*"; finish || true; exit 1; }
# elapsed SINCE: seconds since SINCE (a $SECONDS value), as "N s"
elapsed() { echo "$((SECONDS - $1)) s"; }

# ---- the mirror -------------------------------------------------------------

# The URIs of the `deb` entries of apt's sources, in apt's order: the
# one-line format (sources.list, *.list) and deb822 (*.sources), disabled
# entries left out. APT_ETC: apt's configuration directory.
APT_ETC=${APT_ETC:-/etc/apt}
apt_deb_uris() {
    local f
    for f in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*; do
        [ -f "$f" ] || continue
        case $f in
        */sources.list | *.list)
            # deb [opt=val ...] URI SUITE COMPONENT...
            sed -e 's/#.*//' "$f" | awk '$1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (i <= NF) print $i }' ;;
        *.sources)
            # Stanzas separated by blank lines; field names in any case.
            awk 'function flush() {
                    if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^(no|false)$/) {
                        n = split(uris, u, /[ \t]+/)
                        for (k = 1; k <= n; k++) if (u[k] != "") print u[k]
                    }
                    types = ""; uris = ""; enabled = "" }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/ { if (field == "uris") uris = uris " " $0; next }
                { field = tolower($0); sub(/:.*/, "", field)
                  value = $0; sub(/^[^:]*:[ \t]*/, "", value); sub(/[ \t]+$/, "", value)
                  if (field == "types") types = value
                  else if (field == "uris") uris = value
                  else if (field == "enabled") enabled = tolower(value) }
                END { flush() }' "$f" ;;
        esac
    done
}

# url_get URL FILE: fetches URL into FILE (quietly: a failure only means
# "not this mirror").
url_get() {
    local proxy
    proxy=$(apt_proxy)
    if command -v curl >/dev/null 2>&1; then
        curl -fsL --connect-timeout 10 --max-time 30 ${proxy:+--proxy "$proxy"} \
            -o "$2" "$1" 2>/dev/null
    else
        /usr/lib/apt/apt-helper download-file "$1" "$2" >/dev/null 2>&1
    fi
}

# distro_mirror SUITE: the first deb URI of apt's sources that serves
# Debian's SUITE (its Release file says "Origin: Debian" and names SUITE),
# on stdout; fails when none does. No host name is written anywhere: the
# mirror is whatever this machine's apt uses.
distro_mirror() {
    local suite=$1 uri tmp
    if [ -n "${KMSRE_DISTRO_MIRROR:-}" ]; then echo "$KMSRE_DISTRO_MIRROR"; return 0; fi
    tmp=$(mktemp)
    while read -r uri; do
        case $uri in http://* | https://*) ;; *) continue ;; esac
        uri=${uri%/}
        if url_get "$uri/dists/$suite/Release" "$tmp" &&
            grep -qx 'Origin: Debian' "$tmp" &&
            grep -Eq "^(Codename|Suite): $suite\$" "$tmp"; then
            rm -f "$tmp"
            echo "$uri"
            return 0
        fi
    done < <(apt_deb_uris | awk '!seen[$0]++')
    rm -f "$tmp"
    return 1
}

# The HTTP proxy apt is configured with, for debootstrap (wget) and for
# apt inside the roots.
apt_proxy() {
    local http_proxy=""
    eval "$(apt-config shell http_proxy Acquire::http::Proxy 2>/dev/null)" || true
    [ "$http_proxy" = DIRECT ] && http_proxy=""
    echo "$http_proxy"
}

# distro_can_run SUITE: skips the stage (exit 77) where it cannot run, and
# sets MIRROR.
distro_can_run() {
    local suite=$1
    [ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap and chroot)"
    command -v debootstrap >/dev/null 2>&1 ||
        skip "no debootstrap (apt-get install debootstrap)"
    command -v chroot >/dev/null 2>&1 || skip "no chroot"
    MIRROR=$(distro_mirror "$suite") ||
        skip "no Debian mirror serving $suite reachable from apt's sources"
}

# ---- roots ------------------------------------------------------------------

rootfs_tarball() { # rootfs_tarball SUITE: the cache file's path
    if command -v zstd >/dev/null 2>&1; then
        echo "$DISTRO_CACHE/rootfs-$1.tar.zst"
    else
        echo "$DISTRO_CACHE/rootfs-$1.tar.gz"
    fi
}

# The standard /etc/hosts of a Debian system (minbase roots have none).
write_hosts() { # write_hosts ROOT
    cat >"$1/etc/hosts" <<'EOF'
127.0.0.1	localhost

# The following lines are desirable for IPv6 capable hosts
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
}

# rootfs_build SUITE: debootstrap --variant=minbase from $MIRROR into a
# temporary directory, then the cache tarball (written atomically).
rootfs_build() {
    local suite=$1 tarball dir t0=$SECONDS proxy include=""
    tarball=$(rootfs_tarball "$suite")
    mkdir -p "$DISTRO_CACHE"
    dir=$(mktemp -d "${KMSRE_DISTRO_TMP:-/var/tmp}/kmsre-debootstrap-$suite.XXXXXX")
    # Interrupted: nothing half-made stays (rootfs_new runs in a subshell,
    # so this trap is that subshell's own).
    # shellcheck disable=SC2064
    trap "chroot_cleanup '$dir'; rm -f '$dir.log' '$tarball.tmp'" EXIT
    trap 'exit 130' INT TERM
    case $MIRROR in https://*) include=--include=ca-certificates ;; esac
    proxy=$(apt_proxy)
    echo "# debootstrap --variant=minbase $suite from apt's mirror (no cache yet)"
    if ! env ${proxy:+http_proxy=$proxy https_proxy=$proxy} \
        debootstrap --variant=minbase $include "$suite" "$dir" "$MIRROR" \
        >"$dir.log" 2>&1; then
        sed 's/^/#   /' "$dir.log" | tail -n 30
        return 1
    fi
    rm -f "$dir.log"
    write_hosts "$dir"
    # No daemon may start in a root (a package's postinst would try).
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    rm -rf "${dir:?}"/var/cache/apt/archives/*.deb "${dir:?}"/var/lib/apt/lists/*_*
    chroot_umount "$dir"
    chmod 755 "$dir" # the tarball's "." entry: mktemp made it 0700
    if command -v zstd >/dev/null 2>&1; then
        tar --numeric-owner -C "$dir" -cf - . | zstd -q -T0 -o "$tarball.tmp"
    else
        tar --numeric-owner -C "$dir" -czf "$tarball.tmp" .
    fi
    mv -f "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir"
    trap - EXIT
    echo "# made $tarball ($(du -h "$tarball" | cut -f1)) in $(elapsed "$t0")"
}

# rootfs_new SUITE: a fresh root of SUITE extracted from the cache (made
# first when missing or when KMSRE_ROOTFS_REFRESH=1); its path on stdout.
# The caller owns it: chroot_cleanup removes it. Run it in a subshell
# (root=$(rootfs_new SUITE)): it sets traps of its own.
rootfs_new() {
    local suite=$1 tarball dir t0=$SECONDS
    tarball=$(rootfs_tarball "$suite")
    if [ ! -s "$tarball" ] || [ "${KMSRE_ROOTFS_REFRESH:-0}" = 1 ]; then
        rootfs_build "$suite" >&2 || return 1
    fi
    dir=$(mktemp -d "${KMSRE_DISTRO_TMP:-/var/tmp}/kmsre-$suite.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf --one-file-system '$dir'" EXIT
    trap 'exit 130' INT TERM
    case $tarball in
    *.zst) zstd -q -d -c "$tarball" | tar --numeric-owner -C "$dir" -xf - ;;
    *) tar --numeric-owner -C "$dir" -xzf "$tarball" ;;
    esac || return 1
    chmod 755 "$dir" # apt's _apt user must reach /var/lib/apt
    trap - EXIT
    echo "# $suite root from $tarball in $(elapsed "$t0")" >&2
    echo "$dir"
}

# ---- chroots ----------------------------------------------------------------

# chroot_mount ROOT: /proc, /dev (with /dev/pts and /dev/shm), /sys, the
# host's resolver and apt's proxy, and a persistent cache of downloaded
# .deb files for the root's suite.
chroot_mount() {
    local root=$1 suite=${2:-} proxy
    mount -t proc proc "$root/proc"
    # rslave at once: an unmount below the root must never reach the host.
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
    mount -t sysfs sysfs "$root/sys" 2>/dev/null ||
        { mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"; }
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    proxy=$(apt_proxy)
    if [ -n "$proxy" ]; then
        echo "Acquire::http::Proxy \"$proxy\";" >"$root/etc/apt/apt.conf.d/01proxy"
    fi
    if [ -n "$suite" ]; then
        mkdir -p "$DISTRO_CACHE/apt-$suite"
        mount --bind "$DISTRO_CACHE/apt-$suite" "$root/var/cache/apt/archives"
    fi
}

# The processes whose root directory is inside ROOT (started by this
# stage in the chroot).
chroot_pids() {
    local root p link
    root=$(readlink -f "$1")
    for p in /proc/[0-9]*; do
        link=$(readlink "$p/root" 2>/dev/null) || continue
        case $link in "$root" | "$root"/*) echo "${p#/proc/}" ;; esac
    done
}

# chroot_umount ROOT: ends what still runs in ROOT, then unmounts every
# mount below it (deepest first).
chroot_umount() {
    local root pids
    root=$(readlink -f "$1")
    pids=$(chroot_pids "$root")
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        sleep 1
        pids=$(chroot_pids "$root")
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    fi
    awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' \
        /proc/self/mountinfo | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
}

# chroot_cleanup ROOT: unmounts and removes ROOT (kept with KEEP_TMP=1);
# never deletes through a mount that is still there.
chroot_cleanup() {
    local root=$1
    [ -n "$root" ] && [ -d "$root" ] || return 0
    chroot_umount "$root"
    if awk -v r="$(readlink -f "$root")" 'index($5, r "/") == 1 { f = 1 } END { exit !f }' \
        /proc/self/mountinfo; then
        echo "# $root still has mounts: left in place" >&2
    elif [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "# kept $root"
    else
        rm -rf --one-file-system "$root"
    fi
}

# in_root ROOT COMMAND...: COMMAND in ROOT as root, with a clean
# environment.
in_root() {
    local root=$1
    shift
    env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive ${CI:+CI=$CI} \
        chroot "$root" "$@"
}
