#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kms-rotate: kill -9 at random moments, then a rerun finishes the job.
#  - 2,500 files rotated in place with --journal, killed 5 times at random
#    moments: after each kill no file is empty or torn (every file is a
#    whole blob under the old or the new key); the last run finishes; every
#    file decrypts under the destination key to its original plaintext; a
#    rerun sends no request (the journal skips everything).
#  - --lines --output FILE killed mid-way, with and without --journal: the
#    rerun resumes after the last complete record (it skips some, sends
#    fewer requests than records) and the output is whole and in order.
#  - a full disk (a 1 MiB tmpfs is not available without privileges, so
#    /dev/full as --output): exit 3, the message, nothing torn.
# Usage: rotate_resume.sh BUILD_DIR SOURCE_DIR (KMS_ROTATE_BIN: the tool)
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ROT=${KMS_ROTATE_BIN:-$BUILD_DIR/apps/kms-rotate}
[ -x "$ROT" ] || bail "no kms-rotate at $ROT (set KMS_ROTATE_BIN)"
H=(python3 "$SOURCE_DIR/test/integration/rotate_helper.py")
export OPENSSL_MODULES=$BUILD_DIR
N_FILES=${ROTATE_RESUME_FILES:-2500}

start_kms
OLD_ARN=$(new_key_arn) || die "create the old key"
NEW_ARN=$(new_key_arn) || die "create the new key"
aws kms create-alias --alias-name alias/new --target-key-id "${NEW_ARN##*/}" || die "alias"
IT='{"Dept":"IT"}'
cd "$WORK"

# Every file is a whole blob: decrypts under the old or the new key.
whole_blobs() {
    python3 - "$1" "$OLD_ARN" "$NEW_ARN" <<'EOF'
import os, sys, concurrent.futures
sys.path.insert(0, os.environ["HELPER_DIR"])
import rotate_helper as h
d, old, new = sys.argv[1:]
paths = [os.path.join(r, n) for r, _, ns in os.walk(d) for n in ns
         if n.endswith(".enc")]  # not a stray .kms-rotate-XXXXXX
def one(p):
    blob = open(p, "rb").read()
    if not blob:
        return p + ": empty"
    rel = os.path.relpath(p, d).encode()
    why_new = h.check_one(blob, new, {"Dept": "IT"}, b"plain-" + rel)
    if why_new is None:
        return None
    why_old = h.check_one(blob, old, {"Dept": "IT"}, b"plain-" + rel)
    return None if why_old is None else "%s: %s / %s" % (p, why_new, why_old)
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    bad = [b for b in ex.map(one, paths) if b]
print("%d files, %d not whole" % (len(paths), len(bad)))
for b in bad[:10]:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
export HELPER_DIR=$SOURCE_DIR/test/integration

"${H[@]}" make-files tree "$N_FILES" "$OLD_ARN" --ctx "$IT" || die "make files"
ROT_ARGS=(--no-progress --to alias/new --from-context Dept=IT --jobs 32
          --journal "$WORK/tree.journal" "$WORK/tree")

kills=0
for delay in 0.3 0.9 0.2 1.4 0.6; do
    "$ROT" "${ROT_ARGS[@]}" 2>>runs.err &
    pid=$!
    sleep "$delay"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
done
check "kill -9: the tool was killed mid-run $kills times (>= 3)" test "$kills" -ge 3
check "kill -9: no file empty or torn (each a whole old or new blob)" whole_blobs tree
check "kill -9: all $N_FILES files still there" \
    test "$(find tree -name '*.enc' | wc -l)" = "$N_FILES"
moved_before=$(grep -c . tree.journal || true)
check "kill -9: the journal recorded progress before the last run ($moved_before lines)" \
    test "$moved_before" -gt 1
rc=0
"$ROT" "${ROT_ARGS[@]}" 2>final.err || rc=$?
check "rerun: finishes with exit 0" test "$rc" -eq 0
sed 's/^/#   /' final.err
check "rerun: skipped what the journal holds" \
    grep -Eq 'skipped [1-9][0-9]* \(journal\)' final.err
check "rerun: every file decrypts under the new key to its plaintext" \
    "${H[@]}" check-files tree "$NEW_ARN" --ctx "$IT"
check "rerun: no temporary file left" test -z "$(find tree -name '.kms-rotate-*')"
before=$(kms_stats)
"$ROT" "${ROT_ARGS[@]}" 2>again.err
check "second rerun: everything skipped ($N_FILES), no request sent" bash -c \
    "grep -q 'moved 0, failed 0, skipped $N_FILES (journal)' again.err &&
     [ $(kms_stats) = $before ]"

# ---- record modes ----------------------------------------------------------------------
"${H[@]}" make-lines 1500 "$OLD_ARN" --ctx "$IT" >in.b64 || die "make lines"
for journal in with without; do
    out=$WORK/out-$journal.b64
    args=(--no-progress --to alias/new --from-context Dept=IT --lines --jobs 16
          --rate 300 --input in.b64 --output "$out")
    [ "$journal" = with ] && args+=(--journal "$WORK/lines.journal")
    "$ROT" "${args[@]}" 2>/dev/null &
    pid=$!
    sleep 2.5
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    partial=$(wc -l <"$out")
    before=$(kms_stats)
    rc=0
    "$ROT" "${args[@]}" 2>resume.err || rc=$?
    sent=$(($(kms_stats) - before))
    check "--lines $journal journal: killed at $partial lines, rerun exit 0" test "$rc" -eq 0
    check "--lines $journal journal: the rerun resumed (skipped > 0, $sent requests < 1500)" \
        bash -c "grep -Eq 'skipped [1-9][0-9]* \(already in the output\)' resume.err &&
                 [ $sent -lt 1500 ]"
    check "--lines $journal journal: 1500 lines, each answers its input line" \
        bash -c "[ \$(wc -l <'$out') = 1500 ] &&
                 ${H[*]} check-lines '$out' '$NEW_ARN' --ctx '$IT'"
done

# ---- a full disk ---------------------------------------------------------------------------
head -n 20 in.b64 >twenty.b64
rc=0
"$ROT" --no-progress --to alias/new --from-context Dept=IT --lines --input twenty.b64 \
    >/dev/full 2>full.err || rc=$?
check "full disk on stdout: exit 3 with a message" bash -c \
    "[ $rc -eq 3 ] && grep -q 'No space left on device' full.err"

finish
