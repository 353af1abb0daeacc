#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kms-rotate against the local KMS: every input mode, order under --jobs 64
# (and 2000 threads), per-record contexts, the four key forms, mixed good and
# bad records, hostile inputs, --dry-run, exit statuses and --help. Every
# output is decrypted with botocore at the local KMS and compared with its
# original plaintext (rotate_helper.py).
# Usage: rotate.sh BUILD_DIR SOURCE_DIR (KMS_ROTATE_BIN: the tool)
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ROT=${KMS_ROTATE_BIN:-$BUILD_DIR/apps/kms-rotate}
[ -x "$ROT" ] || bail "no kms-rotate at $ROT (set KMS_ROTATE_BIN)"
H=(python3 "$SOURCE_DIR/test/integration/rotate_helper.py")
export OPENSSL_MODULES=$BUILD_DIR
rot() { "$ROT" --no-progress "$@"; }

start_kms
OLD=$(new_key) || die "create the old key"
NEW_ARN=$(new_key_arn) || die "create the new key"
NEW_ID=${NEW_ARN##*/}
aws kms create-alias --alias-name alias/old --target-key-id "$OLD" || die "alias/old"
aws kms create-alias --alias-name alias/new --target-key-id "$NEW_ID" || die "alias/new"
IT='{"Dept":"IT"}'
cd "$WORK"

# ---- files, in place ----------------------------------------------------------
"${H[@]}" make-files tree 60 alias/old --ctx "$IT" || die "make files"
echo "not a blob" >tree/d00/notes.txt
cp tree/d00/notes.txt notes.orig
chmod 640 tree/d01/f00001.enc
chown 1234:5678 tree/d02/f00002.enc 2>/dev/null || true
want_owner=$(stat -c '%u:%g' tree/d02/f00002.enc)
check "files: in place, --include '*.enc': exit 0" \
    rot --to alias/new --from-context Dept=IT --include '*.enc' ./tree
check "files: every file decrypts under the new key to its plaintext" \
    "${H[@]}" check-files tree "$NEW_ARN" --ctx "$IT"
check "files: a file --include does not select is untouched" \
    cmp tree/d00/notes.txt notes.orig
check "files: mode kept (640)" test "$(stat -c %a tree/d01/f00001.enc)" = 640
check "files: owner kept ($want_owner)" \
    test "$(stat -c '%u:%g' tree/d02/f00002.enc)" = "$want_owner"
check "files: no temporary file left" \
    test -z "$(find tree -name '.kms-rotate-*')"

# ---- files, --out-dir ------------------------------------------------------------
"${H[@]}" make-files src 20 alias/old --ctx "$IT" || die "make files"
(cd src && find . -type f -exec md5sum {} + >../src.md5)
check "--out-dir: exit 0" rot --to alias/new --from-context Dept=IT \
    --out-dir out src
check "--out-dir: inputs untouched" bash -c 'cd src && md5sum --quiet -c ../src.md5'
check "--out-dir: the mirrored tree decrypts under the new key" \
    "${H[@]}" check-files out "$NEW_ARN" --ctx "$IT"
check "--out-dir: 20 files mirrored" test "$(find out -type f | wc -l)" = 20

# ---- --lines: order under --jobs 64, blank lines ------------------------------------
"${H[@]}" make-lines 300 alias/old --ctx "$IT" >plain.b64 || die "make lines"
awk 'NR % 50 == 0 { print "" } { print }' plain.b64 >blanks.b64
check "--lines --jobs 64: exit 0" bash -c \
    "'$ROT' --no-progress --to alias/new --from-context Dept=IT --lines --jobs 64 <blanks.b64 >blanks.out"
check "--lines: as many lines out as in" \
    test "$(wc -l <blanks.out)" = "$(wc -l <blanks.b64)"
check "--lines: blank lines where they were" \
    diff <(grep -n '^$' blanks.b64) <(grep -n '^$' blanks.out)
grep -v '^$' blanks.out >ordered.out
check "--lines --jobs 64: line i answers line i (decrypts to plain-i)" \
    "${H[@]}" check-lines ordered.out "$NEW_ARN" --ctx "$IT"
# 300 TLS handshakes at once queue up at the Python test server (more so
# under ThreadSanitizer): a connect budget to match, as a user would set.
# In an ASan build, LeakSanitizer's exit-time tracer once crashed after this
# run ("Tracer caught signal 11") although every worker had been joined
# (gdb at _exit: one thread left); leaks are checked by every other run
# here, the same code with fewer threads.
provider_cnf patient.cnf "connect-timeout-ms = 60000"
check "--lines --jobs 2000: 2000 worker threads on one key" \
    env OPENSSL_CONF=patient.cnf ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    "$ROT" --no-progress --to alias/new \
    --from-context Dept=IT --lines --jobs 2000 --input plain.b64 --output j2000.out
check "--lines --jobs 2000: every line decrypts, in order" \
    "${H[@]}" check-lines j2000.out "$NEW_ARN" --ctx "$IT"

# ---- progress ---------------------------------------------------------------------------
head -n 75 plain.b64 >p75.b64
"$ROT" --progress --to alias/new --from-context Dept=IT --lines --rate 25 \
    --input p75.b64 --output prog.out 2>prog.err || true
check "--progress: a line a second on stderr (done, rate now and avg, ETA, failures, throttles)" \
    bash -c "[ \$(grep -Ec '^kms-rotate: [0-9]+ \(.*of the input\) done, [0-9]+/s now, [0-9]+/s avg, ETA [0-9?]+s?, failed 0, throttles 0, re-queued 0' prog.err) -ge 2 ]"
check "a summary always, progress or not" grep -q '^kms-rotate: moved 75, failed 0' prog.err
script -qec "'$ROT' --to alias/new --from-context Dept=IT --rate 2 tree/d03 tree/d04 </dev/null" \
    /dev/null >tty.out 2>&1 || true
check "progress by default on a terminal: redrawn in place, with the total (files/6)" \
    grep -aq $'\r\033\[Kkms-rotate: [0-9]*/6 (' tty.out

# ---- the four key forms and a kms: URI --------------------------------------------
head -n 5 plain.b64 >five.b64
for to in "$NEW_ID" "$NEW_ARN" alias/new "arn:aws:kms:$KMS_REGION:$KMS_ACCOUNT:alias/new" \
    "kms:alias/new?region=$KMS_REGION"; do
    rm -f form.out
    if rot --to "$to" --from-context Dept=IT --lines --input five.b64 \
        --output form.out 2>form.err &&
        "${H[@]}" check-lines form.out "$NEW_ARN" --ctx "$IT" >form.chk; then
        ok "--to $to: moved, KeyId checked"
    else
        not_ok "--to $to"; sed 's/^/#   /' form.err form.chk 2>/dev/null
    fi
done
check "--region gives the key URI's region" \
    rot --to alias/new --region "$KMS_REGION" --from-context Dept=IT --lines \
    --input five.b64 --output region.out

# ---- --jsonl with nested member and per-record contexts -----------------------------
"${H[@]}" make-jsonl 100 alias/old --field key.wrapped --ctx-field ctx >rows.jsonl ||
    die "make jsonl"
check "--jsonl key.wrapped --context-field ctx: exit 0" \
    rot --to alias/new --jsonl key.wrapped --context-field ctx --jobs 16 \
    --input rows.jsonl --output rows.out.jsonl
check "--jsonl: other members kept in order; blobs decrypt with each row's context" \
    "${H[@]}" check-jsonl rows.out.jsonl "$NEW_ARN" --field key.wrapped --ctx-field ctx
should_fail "--jsonl: a row's context is required (wrong context fails)" \
    'InvalidCiphertextException' \
    rot --to alias/new --jsonl key.wrapped --from-context Dept=IT \
    --input rows.jsonl --output /dev/null

# ---- --csv with a context column and multi-line quoted fields -----------------------
"${H[@]}" make-csv 100 alias/old --column wrapped --ctx-column ctx >t.csv || die "make csv"
check "--csv wrapped --context-column ctx: exit 0" \
    rot --to alias/new --csv wrapped --context-column ctx --jobs 16 \
    --input t.csv --output t.out.csv
check "--csv: other fields kept (quotes, newlines); blobs decrypt per row" \
    "${H[@]}" check-csv t.out.csv "$NEW_ARN" --column wrapped --ctx-column ctx
check "--csv: header row kept byte for byte" cmp <(head -n 1 t.csv) <(head -n 1 t.out.csv)

# ---- mixed good and bad records --------------------------------------------------------
THIRD=$(new_key) || die "third key"
DISABLED=$(new_key) || die "disabled key"
printf 'x' >x.plain
mk() { aws_encrypt "$1" x.plain "$2" --encryption-context "$3" && base64 -w0 "$2" && echo; }
{
    sed -n 1,3p plain.b64
    mk "$OLD" wrongctx.bin Dept=HR        # line 4: wrong context
    sed -n 4,5p plain.b64
    mk "$THIRD" wrongkey.bin Dept=IT      # line 7: not under --from
    sed -n 6p plain.b64
} >mixed.b64 || die "make mixed"
{ sed -n 1p plain.b64; mk "$DISABLED" disabled.bin Dept=IT; } >disabled.b64 ||
    die "make disabled"
aws kms disable-key --key-id "$DISABLED" || die "disable"
rc=0
rot --to alias/new --from alias/old --from-context Dept=IT --lines --jobs 8 \
    --input mixed.b64 --output mixed.out --errors mixed.err 2>mixed.stderr || rc=$?
check "mixed: exit 1" test "$rc" -eq 1
check "mixed: the two bad lines are left as they were" \
    diff <(sed -n '4p;7p' mixed.b64) <(sed -n '4p;7p' mixed.out)
check "mixed: --errors has one JSON line per failure with type and request id" \
    python3 - mixed.err <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = {r["line"]: r["error_type"] for r in rows}
want = {4: "InvalidCiphertextException", 7: "IncorrectKeyException"}
assert got == want, got
assert all(r["request_id"] and r["message"] for r in rows), rows
EOF
check "mixed: one clear stderr line per failure" \
    test "$(grep -c 'left unchanged' mixed.stderr)" = 2
check "mixed: summary counts failures by type" \
    grep -q 'failed 2 (.*IncorrectKeyException 1' mixed.stderr
sed -n '1,3p;5,6p;8p' mixed.out >mixed.good
check "mixed: the good lines moved and decrypt" \
    "${H[@]}" check-lines mixed.good "$NEW_ARN" --ctx "$IT"
rc=0
rot --to alias/new --from-context Dept=IT --lines --input disabled.b64 \
    --output disabled.out --errors disabled.err 2>/dev/null || rc=$?
check "a source key disabled: exit 1, DisabledException, line kept" bash -c \
    "[ $rc -eq 1 ] && grep -q '\"line\":2,\"error_type\":\"DisabledException\"' disabled.err &&
     diff <(sed -n 2p disabled.b64) <(sed -n 2p disabled.out)"

# ---- hostile inputs: a clear per-record error, the rest still moves ---------------
{
    sed -n 1,2p plain.b64
    echo 'this is not base64!'
    python3 -c 'import base64; print(base64.b64encode(bytes(7000)).decode())'
    sed -n 3,4p plain.b64
} >hostile.b64
rc=0
rot --to alias/new --from-context Dept=IT --lines --input hostile.b64 \
    --output hostile.out --errors hostile.err 2>hostile.stderr || rc=$?
check "hostile lines: exit 1" test "$rc" -eq 1
check "hostile lines: NotBase64 and TooLarge reported, no request for them" \
    bash -c 'grep -q "\"line\":3,\"error_type\":\"NotBase64\"" hostile.err &&
             grep -q "\"line\":4,\"error_type\":\"TooLarge\"" hostile.err'
check "hostile lines: both kept as they were" \
    diff <(sed -n 3,4p hostile.b64) <(sed -n 3,4p hostile.out)
sed -n '1,2p;5,6p' hostile.out >hostile.good
check "hostile lines: the others moved, in order" \
    "${H[@]}" check-lines hostile.good "$NEW_ARN" --ctx "$IT"

"${H[@]}" make-jsonl 4 alias/old --field blob --ctx "$IT" >h.jsonl || die "make jsonl"
{ sed -n 1,2p h.jsonl; echo '[1, 2, 3]'; echo '{"id": 3, "blob": '; sed -n 3,4p h.jsonl; } >hostile.jsonl
rc=0
rot --to alias/new --from-context Dept=IT --jsonl blob --input hostile.jsonl \
    --output hostile.out.jsonl --errors hostile.jerr 2>/dev/null || rc=$?
check "hostile JSONL: exit 1, NotAnObject and NotJson reported" bash -c \
    "[ $rc -eq 1 ] && grep -q '\"line\":3,\"error_type\":\"NotAnObject\"' hostile.jerr &&
     grep -q '\"line\":4,\"error_type\":\"NotJson\"' hostile.jerr"
check "hostile JSONL: bad lines kept" \
    diff <(sed -n 3,4p hostile.jsonl) <(sed -n 3,4p hostile.out.jsonl)
sed '3,4d' hostile.out.jsonl >hostile.good.jsonl
check "hostile JSONL: the 4 good records moved" \
    "${H[@]}" check-jsonl hostile.good.jsonl "$NEW_ARN" --field blob --ctx "$IT"

"${H[@]}" make-csv 4 alias/old --column wrapped --ctx "$IT" >h.csv || die "make csv"
python3 - h.csv hostile.csv <<'EOF' || die "make hostile csv"
import sys
src = open(sys.argv[1], newline="").read()
head, rest = src.split("\n", 1)
# records are 2 physical lines each; a broken quote after record 2
recs = rest.split('line 2"\n')
out = head + "\n" + 'line 2"\n'.join(recs[:2]) + 'line 2"\n'
out += '9,ab"c,broken quote\n'
out += 'line 2"\n'.join(recs[2:])
open(sys.argv[2], "w", newline="").write(out)
EOF
rc=0
rot --to alias/new --from-context Dept=IT --csv wrapped --input hostile.csv \
    --output hostile.out.csv --errors hostile.cerr 2>/dev/null || rc=$?
check "hostile CSV: exit 1, the broken quote reported as CsvParseError" bash -c \
    "[ $rc -eq 1 ] && grep -q 'CsvParseError' hostile.cerr && [ \$(wc -l <hostile.cerr) = 1 ]"
check "hostile CSV: the broken line kept" grep -qx '9,ab"c,broken quote' hostile.out.csv
grep -vx '9,ab"c,broken quote' hostile.out.csv >hostile.good.csv
check "hostile CSV: the 4 good records moved" \
    "${H[@]}" check-csv hostile.good.csv "$NEW_ARN" --column wrapped --ctx "$IT"

"${H[@]}" make-files htree 6 alias/old --ctx "$IT" || die "make files"
ln -s loop-b.enc htree/loop-a.enc
ln -s loop-a.enc htree/loop-b.enc
: >htree/empty.enc
head -c 7000 /dev/urandom >htree/big.enc
cp htree/d00/f00000.enc htree/secret.enc
chmod 000 htree/secret.enc
chmod -R a+rwX "$WORK/htree"
chmod 000 htree/secret.enc
chmod o+rx "$WORK" "$WORK/kms"
chmod o+r "$WORK/kms/ca.pem" "$WORK/kms/aws-config" "$WORK/kms/aws-credentials"
if [ "$(id -u)" = 0 ]; then # root reads anything: run as nobody
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chown -R 65534:65534 htree # ownership is kept: nobody's own files
else
    as_user=()
fi
rc=0
"${as_user[@]}" "$ROT" --no-progress --to alias/new --from-context Dept=IT \
    --include '*.enc' --errors "$WORK/htree/errors.json" "$WORK/htree" 2>htree.stderr || rc=$?
mv htree/errors.json htree.err || true
check "hostile files: exit 1" test "$rc" -eq 1
for t in SymlinkLoop EmptyFile TooLarge ReadError; do
    check "hostile files: $t reported" grep -q "\"error_type\":\"$t\"" htree.err
done
check "hostile files: 5 failures in all (two loop links)" test "$(wc -l <htree.err)" = 5
check "hostile files: the symlinks are still symlinks" \
    test -L htree/loop-a.enc -a -L htree/loop-b.enc
rm -f htree/loop-*.enc htree/empty.enc htree/big.enc htree/secret.enc
check "hostile files: the 6 good files moved" \
    "${H[@]}" check-files htree "$NEW_ARN" --ctx "$IT"

# ---- --dry-run ------------------------------------------------------------------------
before=$(kms_stats)
rc=0
rot --dry-run --to alias/new --from-context Dept=IT --lines --input five.b64 \
    >dry.out 2>dry.err || rc=$?
check "--dry-run: exit 0 when every record would move" test "$rc" -eq 0
check "--dry-run: nothing written" test ! -s dry.out
check "--dry-run: 'would move 5'" grep -q 'would move 5, failed 0' dry.err
check "--dry-run: one request per record" test $(($(kms_stats) - before)) -eq 5
rc=0
rot --dry-run --to alias/new --from-context Dept=HR --lines --input five.b64 \
    >/dev/null 2>dry.err || rc=$?
check "--dry-run: a record that would fail is reported (exit 1)" \
    bash -c "[ $rc -eq 1 ] && grep -q 'would move 0, failed 5' dry.err"
"${H[@]}" make-files drytree 5 alias/old --ctx "$IT" || die "make files"
(cd drytree && find . -type f -exec md5sum {} + >../dry.md5)
check "--dry-run on files: exit 0" rot --dry-run --to alias/new --from-context Dept=IT drytree
check "--dry-run on files: no file changed" bash -c 'cd drytree && md5sum --quiet -c ../dry.md5'

# ---- usage errors: exit 2, no request -------------------------------------------------
local_failure "no --to: exit 2" 'to KEY is required' bash -c \
    "'$ROT' --lines </dev/null; [ \$? -eq 2 ] && exit 1"
for args in "--to alias/new" "--to alias/new --lines ./tree" \
    "--to alias/new --bogus" "--to alias/new --lines --jobs 0" \
    "--to alias/new --jsonl x --context-column c" \
    "--to alias/new --lines --rate -5" \
    "--to alias/new --csv nosuchcolumn --input t.csv"; do
    before=$(kms_stats)
    rc=0
    # shellcheck disable=SC2086 # the words are the options
    "$ROT" $args </dev/null >/dev/null 2>usage.err || rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <usage.err)" -le 2 ] && [ "$(kms_stats)" = "$before" ]; then
        ok "usage error, exit 2, short message, no request: $args"
    else
        not_ok "usage error: $args (exit $rc)"; sed 's/^/#   /' usage.err
    fi
done
should_fail "an unknown destination key: each record fails, NotFoundException" 'NotFoundException' \
    rot --to alias/nosuch --from-context Dept=IT --lines --input five.b64 --output /dev/null

# ---- --help ----------------------------------------------------------------------------
"$ROT" --help >help.txt
missing=""
for opt in $(grep -o '{"[a-z-]*", [a-z_]*_argument' "$SOURCE_DIR/apps/options.c" |
    sed 's/{"\([a-z-]*\)".*/\1/'); do
    grep -q -- "--$opt" help.txt || missing="$missing --$opt"
done
check "--help documents every option${missing:+ (missing:$missing)}" test -z "$missing"
check "--help has exit statuses and examples" \
    bash -c 'grep -q "EXIT STATUS" help.txt && grep -q "EXAMPLES" help.txt'

finish
