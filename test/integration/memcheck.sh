#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs an integration script with every `openssl` it starts under valgrind
# memcheck, then requires zero errors and zero definite leaks in every run,
# on success and on each error path alike.
# usage: memcheck.sh SCRIPT BUILD_DIR SOURCE_DIR
set -euo pipefail
script=$1; shift
if ! command -v valgrind >/dev/null 2>&1; then
    echo "skipped: valgrind is not installed"
    exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-memcheck.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin" "$dir/logs"
cat >"$dir/bin/openssl" <<WRAP
#!/bin/sh
exec valgrind --log-file=$dir/logs/%p.log --leak-check=full \\
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \\
    --num-callers=30 $(command -v openssl) "\$@"
WRAP
chmod +x "$dir/bin/openssl"

rc=0
PATH="$dir/bin:$PATH" KMSRE_UNDER_VALGRIND=1 bash "$script" "$@" || rc=$?
runs=$(ls "$dir/logs" | wc -l)
bad=$(grep -L "ERROR SUMMARY: 0 errors" "$dir/logs"/*.log || true)
for f in $bad; do
    echo "# memcheck errors in one openssl run:"
    sed 's/^/#   /' "$f"
done
nbad=$(echo "$bad" | grep -c . || true)
echo "memcheck: $runs openssl runs, $nbad with errors or definite leaks"
if [ "$rc" -ne 0 ] || [ "$nbad" -ne 0 ] || [ "$runs" -eq 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
