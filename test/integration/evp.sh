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
# Prints ok/not ok lines and "N passed, M failed"; exits 1 on any failure
# (a failed set-up step such as starting the server included), 2 on a usage
# error or a missing prerequisite. Server, checks: test/integration/lib.sh.
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

bin=${EVP_REENCRYPT_BIN:-$BUILD_DIR/test/evp_reencrypt}
threads=${EVP_THREADS:-4}
ops=${EVP_OPS:-5}
[ -x "$bin" ] || bail "no executable $bin (set EVP_REENCRYPT_BIN)"
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || bail "valgrind not found"
fi

# ---- server and keys ------------------------------------------------------

start_kms
ok "KMS test server on $KMS_SERVER_URL"

src_arn=$(new_key_arn SYMMETRIC_DEFAULT) || die "create the source key"
dst_arn=$(new_key_arn SYMMETRIC_DEFAULT) || die "create the destination key"
aws kms create-alias --alias-name alias/evp-dest --target-key-id "$dst_arn" ||
    die "create alias/evp-dest"
case $src_arn:$dst_arn in
arn:*:kms:*:key/*:arn:*:kms:*:key/*) ok "keys: source $src_arn, destination $dst_arn (alias/evp-dest)" ;;
*) die "create-key returned ARNs ($src_arn, $dst_arn)" ;;
esac
grant_token=$(aws kms create-grant --key-id "$src_arn" \
    --grantee-principal "arn:aws:iam::${KMS_ACCOUNT}:role/evp-test" \
    --operations ReEncryptFrom Decrypt --query GrantToken --output text) ||
    die "create a grant"

head -c 300 /dev/urandom >"$WORK/plain.bin"
printf 'evp_reencrypt integration test\n' >>"$WORK/plain.bin"
aws_encrypt "$src_arn" "$WORK/plain.bin" "$WORK/source.bin" \
    --encryption-context Dept=IT || die "aws kms encrypt"
[ -s "$WORK/source.bin" ] || die "aws kms encrypt gave an empty blob"
ok "source blob: $(wc -c <"$WORK/source.bin") bytes under the source key, context Dept=IT"

# ---- the EVP program -------------------------------------------------------

mkdir "$WORK/out"
calls_before=$(grep -c ' ReEncrypt ' "$WORK/kms/requests.log" 2>/dev/null || true)
run=("$bin" -t "$threads" -n "$ops" -s "$src_arn" -d "$dst_arn" -D "$src_arn"
    -g "$grant_token" -w Dept=HR
    "$BUILD_DIR" kms:alias/evp-dest "$WORK/source.bin" "$WORK/out" Dept=IT)
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    run=(valgrind_run "$WORK/valgrind.log" "${run[@]}")
fi
run_prog evp_reencrypt "${run[@]}"
evp_rc=$PROG_RC
if [ "${KMSRE_VALGRIND:-0}" = 1 ]; then
    check "valgrind: no errors, no definite leaks (exit $evp_rc)" \
        [ "$evp_rc" -ne "$VALGRIND_RC" ]
    valgrind_report "$WORK/valgrind.log" "$evp_rc"
fi
check "evp_reencrypt exits 0 (exit $evp_rc)" [ "$evp_rc" -eq 0 ]
check "the wrong-context error reached stderr as InvalidCiphertextException" \
    grep -q InvalidCiphertextException "$WORK/evp_reencrypt.err"

# Every encrypt call is one ReEncrypt request; the size queries are none.
calls=$(sed -n 's/^# kms-calls: //p' "$WORK/evp_reencrypt.out")
calls_after=$(grep -c ' ReEncrypt ' "$WORK/kms/requests.log" 2>/dev/null || true)
calls_seen=$((calls_after - calls_before))
check "server saw $calls_seen ReEncrypt requests = ${calls:-?} encrypt calls (size queries made none)" \
    [ "$calls_seen" = "${calls:-none}" ]

# ---- decrypt every output ----------------------------------------------------

expected=$((threads * ops + 3)) # + fromdata, pubkey, override
shopt -s nullglob
outs=("$WORK/out"/*.bin)
shopt -u nullglob
check "evp_reencrypt wrote $expected blobs (found ${#outs[@]})" [ "${#outs[@]}" -eq "$expected" ]
for i in $(seq 0 $((threads - 1))); do
    for j in $(seq 0 $((ops - 1))); do
        [ -s "$WORK/out/t$i-$j.bin" ] || not_ok "missing output t$i-$j.bin"
    done
done

n_good=0
n_bad=0
for f in "${outs[@]}"; do
    name=$(basename "$f")
    want_key=$dst_arn
    [ "$name" = override.bin ] && want_key=$src_arn
    # One call: "KEYID<TAB>PLAINTEXT-BASE64".
    answer=$(aws kms decrypt --ciphertext-blob "fileb://$f" \
        --query '[KeyId,Plaintext]' --output text) || answer=""
    got_key=${answer%%$'\t'*}
    rm -f "$WORK/dec.bin"
    if [ -n "$answer" ] && printf '%s' "${answer#*$'\t'}" | base64 -d >"$WORK/dec.bin" &&
        cmp -s "$WORK/dec.bin" "$WORK/plain.bin" && [ "$got_key" = "$want_key" ]; then
        n_good=$((n_good + 1))
    else
        n_bad=$((n_bad + 1))
        not_ok "$name: decrypts to the original plaintext under $want_key (key: ${got_key:-none})"
    fi
    if cmp -s "$f" "$WORK/source.bin"; then
        not_ok "$name: differs from the source blob"
    fi
done
all_good=0
[ "$n_bad" -eq 0 ] && [ "$n_good" -eq "${#outs[@]}" ] && all_good=1
check "all $n_good of ${#outs[@]} outputs decrypt to the original plaintext under the expected key" \
    [ "$all_good" = 1 ]

# The outputs carry an empty destination context: a context must not work.
if [ "${#outs[@]}" -gt 0 ]; then
    should_fail "$(basename "${outs[0]}"): decrypt with a context it was not made with fails with InvalidCiphertextException" \
        InvalidCiphertextException aws_decrypt "${outs[0]}" --encryption-context Dept=IT
fi
# And the source blob itself only opens with Dept=IT.
should_fail "source blob: decrypt with Dept=HR fails with InvalidCiphertextException" InvalidCiphertextException \
    aws_decrypt "$WORK/source.bin" --encryption-context Dept=HR

finish
