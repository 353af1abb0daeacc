#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A minbase Debian root for SUITE (bookworm, trixie, ...), made with
# debootstrap from the mirror apt uses on this machine and cached as
# ~/.cache/kmsreencrypt/rootfs-SUITE.tar.zst (made anew when missing, or
# with KMSRE_ROOTFS_REFRESH=1). See lib.sh for the environment.
#   rootfs.sh SUITE          make sure the cache exists
#   rootfs.sh SUITE DIR      and extract a fresh root into DIR (must not exist)
# Exit 77 ("skipped: ...") where it cannot run: not root, no debootstrap,
# no mirror reachable.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $DISTRO_SCRIPT SUITE [DIR]" >&2; exit 2; }
suite=$1
distro_can_run "$suite"
t0=$SECONDS
root=$(rootfs_new "$suite") || die "a $suite root (debootstrap from apt's mirror)"
if [ -f "$root/etc/hosts" ] && grep -q '^127.0.0.1[[:space:]]*localhost' "$root/etc/hosts"; then
    ok "$suite root has the standard /etc/hosts"
else
    not_ok "$suite root has no standard /etc/hosts"
fi
if [ $# -eq 2 ]; then
    [ ! -e "$2" ] || { chroot_cleanup "$root"; die "$2 exists already"; }
    mv "$root" "$2"
    ok "$suite root in $2 ($(elapsed "$t0"))"
else
    chroot_cleanup "$root"
    ok "$suite root cached in $(rootfs_tarball "$suite") ($(elapsed "$t0"))"
fi
finish
