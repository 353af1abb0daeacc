#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evp.sh BUILD_DIR SOURCE_DIR
#
# Integration test of the EVP API path: starts the local KMS test server,
# makes a source and a destination key (alias/evp-dest) with the AWS CLI,
# encrypts a plaintext under the source key with context Dept=IT, runs
# test/evp/evp_reencrypt against kmsreencrypt.so, then decrypts every blob it
# wrote with `aws kms decrypt` and compares with the original plaintext.
#
#   BUILD_DIR   holds kmsreencrypt.so and test/evp_reencrypt
#   SOURCE_DIR  the repository root (for test/kms-server/kmsctl.sh)
#
# Environment:
#   EVP_REENCRYPT_BIN  the evp_reencrypt binary (default BUILD_DIR/test/evp_reencrypt)
#   KMSRE_VALGRIND=1   run it under valgrind (definite leaks and errors fail)
#   EVP_THREADS, EVP_OPS  threads and operations per thread (default 4 and 5)
#   KEEP_TMP=1         keep the temporary directory (its path is printed)
#
# Prints ok/not ok lines and "N passed, M failed"; exits 1 on any failure,
# 2 on a usage or set-up error.
set -euo pipefail

usage() { echo "usage: evp.sh BUILD_DIR SOURCE_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
build_dir=$(cd "$1" && pwd) || usage
source_dir=$(cd "$2" && pwd) || usage
kmsctl=$source_dir/test/kms-server/kmsctl.sh
bin=${EVP_REENCRYPT_BIN:-$build_dir/test/evp_reencrypt}
threads=${EVP_THREADS:-4}
ops=${EVP_OPS:-5}

[ -f "$build_dir/kmsreencrypt.so" ] || { echo "evp.sh: no $build_dir/kmsreencrypt.so" >&2; exit 2; }
[ -x "$bin" ] || { echo "evp.sh: no executable $bin (set EVP_REENCRYPT_BIN)" >&2; exit 2; }
[ -f "$kmsctl" ] || { echo "evp.sh: no $kmsctl" >&2; exit 2; }
command -v aws >/dev/null || { echo "evp.sh: the AWS CLI (aws) is required" >&2; exit 2; }
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || { echo "evp.sh: valgrind not found" >&2; exit 2; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-evp.XXXXXX")
server_started=0
cleanup() {
    local rc=$?
    if [ "$server_started" = 1 ]; then
        bash "$kmsctl" stop "$tmp/kms" >/dev/null 2>&1 || true
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "# kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
}
die() { # set-up failure: counted, then stop
    not_ok "$*"
    finish || true
    exit 1
}

# ---- server and keys ------------------------------------------------------

bash "$kmsctl" start "$tmp/kms" >"$tmp/kmsctl.out" 2>&1 || {
    cat "$tmp/kmsctl.out" >&2
    die "start the KMS test server"
}
server_started=1
# shellcheck disable=SC1091
. "$tmp/kms/env.sh"
ok "KMS test server on $KMS_SERVER_URL"
# Debian's AWS CLI v2.9 ignores AWS_ENDPOINT_URL: always name the endpoint.
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

# aws_text ARGS...: text output of one CLI call (stderr to aws.err).
aws_text() { aws "$@" --output text 2>>"$tmp/aws.err"; }

src_arn=$(aws_text kms create-key --description evp-source --query KeyMetadata.Arn) ||
    die "create the source key"
dst_arn=$(aws_text kms create-key --description evp-dest --query KeyMetadata.Arn) ||
    die "create the destination key"
aws kms create-alias --alias-name alias/evp-dest --target-key-id "$dst_arn" 2>>"$tmp/aws.err" ||
    die "create alias/evp-dest"
case $src_arn:$dst_arn in
arn:*:kms:*:key/*:arn:*:kms:*:key/*) ok "keys: source $src_arn, destination $dst_arn (alias/evp-dest)" ;;
*) die "create-key returned ARNs ($src_arn, $dst_arn)" ;;
esac
grant_token=$(aws_text kms create-grant --key-id "$src_arn" \
    --grantee-principal "arn:aws:iam::${KMS_ACCOUNT}:role/evp-test" \
    --operations ReEncryptFrom Decrypt --query GrantToken) || die "create a grant"

head -c 300 /dev/urandom >"$tmp/plain.bin"
printf 'evp_reencrypt integration test\n' >>"$tmp/plain.bin"
aws kms encrypt --key-id "$src_arn" --plaintext "fileb://$tmp/plain.bin" \
    --encryption-context Dept=IT --query CiphertextBlob --output text \
    2>>"$tmp/aws.err" | base64 -d >"$tmp/source.bin" || die "aws kms encrypt"
[ -s "$tmp/source.bin" ] || die "aws kms encrypt gave an empty blob"
ok "source blob: $(wc -c <"$tmp/source.bin") bytes under the source key, context Dept=IT"

# ---- the EVP program -------------------------------------------------------

mkdir "$tmp/out"
calls_before=$(grep -c ' ReEncrypt ' "$tmp/kms/requests.log" 2>/dev/null || true)
run=("$bin" -t "$threads" -n "$ops" -s "$src_arn" -d "$dst_arn" -D "$src_arn"
    -g "$grant_token" -w Dept=HR
    "$build_dir" kms:alias/evp-dest "$tmp/source.bin" "$tmp/out" Dept=IT)
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    run=(valgrind --error-exitcode=99 --leak-check=full
        --errors-for-leak-kinds=definite --log-file="$tmp/valgrind.log" "${run[@]}")
fi
set +e
"${run[@]}" >"$tmp/evp.out" 2>"$tmp/evp.err"
evp_rc=$?
set -e
sed 's/^/#   /' "$tmp/evp.out"
if [ "$evp_rc" -ne 0 ]; then
    echo "# evp_reencrypt stderr:" && sed 's/^/#   /' "$tmp/evp.err"
fi
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    check "valgrind: no errors, no definite leaks (exit $evp_rc)" [ "$evp_rc" -ne 99 ]
    if [ "$evp_rc" -eq 99 ]; then
        sed 's/^/#   /' "$tmp/valgrind.log"
    fi
    grep -E 'definitely lost|ERROR SUMMARY' "$tmp/valgrind.log" | sed 's/^==[0-9]*== /# valgrind: /'
fi
check "evp_reencrypt exits 0 (exit $evp_rc)" [ "$evp_rc" -eq 0 ]
summary=$(tail -n 1 "$tmp/evp.out")
case $summary in
*" passed, 0 failed") ok "evp_reencrypt: $summary" ;;
*) not_ok "evp_reencrypt: ${summary:-no summary line}" ;;
esac
if grep -q '^not ok' "$tmp/evp.out"; then
    not_ok "evp_reencrypt printed not ok lines"
else
    ok "evp_reencrypt printed no not ok line"
fi
check "the wrong-context error reached stderr as InvalidCiphertextException" \
    grep -q InvalidCiphertextException "$tmp/evp.err"

# Every encrypt call is one ReEncrypt request; the size queries are none.
calls=$(sed -n 's/^# kms-calls: //p' "$tmp/evp.out")
calls_after=$(grep -c ' ReEncrypt ' "$tmp/kms/requests.log" 2>/dev/null || true)
calls_seen=$((calls_after - calls_before))
check "server saw $calls_seen ReEncrypt requests = ${calls:-?} encrypt calls (size queries made none)" \
    [ "$calls_seen" = "${calls:-none}" ]

# ---- decrypt every output ----------------------------------------------------

expected=$((threads * ops + 3)) # + fromdata, pubkey, override
shopt -s nullglob
outs=("$tmp/out"/*.bin)
shopt -u nullglob
check "evp_reencrypt wrote $expected blobs (found ${#outs[@]})" [ "${#outs[@]}" -eq "$expected" ]
for i in $(seq 0 $((threads - 1))); do
    for j in $(seq 0 $((ops - 1))); do
        [ -s "$tmp/out/t$i-$j.bin" ] || not_ok "missing output t$i-$j.bin"
    done
done

n_good=0
n_bad=0
for f in "${outs[@]}"; do
    name=$(basename "$f")
    want_key=$dst_arn
    [ "$name" = override.bin ] && want_key=$src_arn
    # One call: "KEYID<TAB>PLAINTEXT-BASE64".
    answer=$(aws_text kms decrypt --ciphertext-blob "fileb://$f" \
        --query '[KeyId,Plaintext]') || answer=""
    got_key=${answer%%$'\t'*}
    rm -f "$tmp/dec.bin"
    if [ -n "$answer" ] && printf '%s' "${answer#*$'\t'}" | base64 -d >"$tmp/dec.bin" &&
        cmp -s "$tmp/dec.bin" "$tmp/plain.bin" && [ "$got_key" = "$want_key" ]; then
        n_good=$((n_good + 1))
    else
        n_bad=$((n_bad + 1))
        not_ok "$name: decrypts to the original plaintext under $want_key (key: ${got_key:-none})"
    fi
    if cmp -s "$f" "$tmp/source.bin"; then
        not_ok "$name: differs from the source blob"
    fi
done
all_good=0
[ "$n_bad" -eq 0 ] && [ "$n_good" -eq "${#outs[@]}" ] && all_good=1
check "all $n_good of ${#outs[@]} outputs decrypt to the original plaintext under the expected key" \
    [ "$all_good" = 1 ]

# The outputs carry an empty destination context: a context must not work.
if [ "${#outs[@]}" -gt 0 ]; then
    f=${outs[0]}
    if aws kms decrypt --ciphertext-blob "fileb://$f" --encryption-context Dept=IT \
        --query Plaintext --output text >/dev/null 2>"$tmp/wrong.err"; then
        not_ok "$(basename "$f"): decrypt with a context it was not made with must fail"
    else
        check "$(basename "$f"): decrypt with the wrong context fails with InvalidCiphertextException" \
            grep -q InvalidCiphertextException "$tmp/wrong.err"
    fi
fi
# And the source blob itself only opens with Dept=IT.
if aws kms decrypt --ciphertext-blob "fileb://$tmp/source.bin" --encryption-context Dept=HR \
    --query Plaintext --output text >/dev/null 2>"$tmp/wrong.err"; then
    not_ok "source blob: decrypt with Dept=HR must fail"
else
    check "source blob: decrypt with Dept=HR fails with InvalidCiphertextException" \
        grep -q InvalidCiphertextException "$tmp/wrong.err"
fi

if [ "$fail" -ne 0 ] && [ -s "$tmp/aws.err" ]; then
    echo "# aws stderr:" && sed 's/^/#   /' "$tmp/aws.err"
fi
finish
