#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# lifetimes.sh BUILD_DIR SOURCE_DIR
#
# Lifetime and robustness test of the provider through the EVP API: starts
# the local KMS test server, makes a source key and a destination key
# (alias/lt-dest), encrypts a plaintext under the source key with context
# Dept=IT, runs test/evp/evp_lifetimes (several library contexts at once,
# load/unload cycles, one key shared by threads while it and a configured
# ctx are duplicated, unload/reload), then decrypts every blob it wrote with
# `aws kms decrypt` and compares with the plaintext. When valgrind is
# installed, the program runs a second time under valgrind with smaller
# counts: no memory errors and no definite leaks are allowed.
#
#   BUILD_DIR   holds kmsreencrypt.so (and test/evp_lifetimes)
#   SOURCE_DIR  the repository root (for test/kms-server/kmsctl.sh)
#
# Environment:
#   EVP_LIFETIMES_BIN  the program (default BUILD_DIR/test/evp_lifetimes)
#   LT_ARGS            count options of the full run (default: the
#                      program's own: 3 contexts, 20 cycles, 8x10 threads)
#   LT_VALGRIND_ARGS   count options of the valgrind run
#   LT_VALGRIND=0      skip the valgrind run even if valgrind is installed
#   LT_JOBS            parallel decrypting processes (default 2)
#   KEEP_TMP=1         keep the temporary directory (its path is printed)
#
# Prints ok/not ok lines and "N passed, M failed"; exits 1 on any failure,
# 2 on a usage or set-up error.
set -euo pipefail

usage() { echo "usage: lifetimes.sh BUILD_DIR SOURCE_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
build_dir=$(cd "$1" && pwd) || usage
source_dir=$(cd "$2" && pwd) || usage
kmsctl=$source_dir/test/kms-server/kmsctl.sh
bin=${EVP_LIFETIMES_BIN:-$build_dir/test/evp_lifetimes}
jobs=${LT_JOBS:-2}
# Word splitting of the count options is intended.
read -r -a full_args <<<"${LT_ARGS:-}"
read -r -a vg_args <<<"${LT_VALGRIND_ARGS:--l 2 -k 1 -c 4 -t 3 -n 2 -x 2 -r 200}"

[ -f "$build_dir/kmsreencrypt.so" ] || { echo "lifetimes.sh: no $build_dir/kmsreencrypt.so" >&2; exit 2; }
[ -x "$bin" ] || { echo "lifetimes.sh: no executable $bin (set EVP_LIFETIMES_BIN)" >&2; exit 2; }
[ -f "$kmsctl" ] || { echo "lifetimes.sh: no $kmsctl" >&2; exit 2; }
command -v aws >/dev/null || { echo "lifetimes.sh: the AWS CLI (aws) is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-lt.XXXXXX")
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
t_start=$SECONDS

# ---- server and keys ------------------------------------------------------

bash "$kmsctl" start "$tmp/kms" >"$tmp/kmsctl.out" 2>&1 || {
    cat "$tmp/kmsctl.out" >&2
    die "start the KMS test server"
}
server_started=1
# shellcheck disable=SC1091
. "$tmp/kms/env.sh"
ok "KMS test server on $KMS_SERVER_URL"
# Debian's AWS CLI v2 ignores AWS_ENDPOINT_URL: always name the endpoint.
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
aws_text() { aws "$@" --output text 2>>"$tmp/aws.err"; }

src_arn=$(aws_text kms create-key --description lt-source --query KeyMetadata.Arn) ||
    die "create the source key"
dst_arn=$(aws_text kms create-key --description lt-dest --query KeyMetadata.Arn) ||
    die "create the destination key"
aws kms create-alias --alias-name alias/lt-dest --target-key-id "$dst_arn" 2>>"$tmp/aws.err" ||
    die "create alias/lt-dest"
case $src_arn:$dst_arn in
arn:*:kms:*:key/*:arn:*:kms:*:key/*) ok "keys: source $src_arn, destination $dst_arn (alias/lt-dest)" ;;
*) die "create-key returned ARNs ($src_arn, $dst_arn)" ;;
esac

head -c 200 /dev/urandom >"$tmp/plain.bin"
printf 'evp_lifetimes integration test\n' >>"$tmp/plain.bin"
aws kms encrypt --key-id "$src_arn" --plaintext "fileb://$tmp/plain.bin" \
    --encryption-context Dept=IT --query CiphertextBlob --output text \
    2>>"$tmp/aws.err" | base64 -d >"$tmp/source.bin" || die "aws kms encrypt"
[ -s "$tmp/source.bin" ] || die "aws kms encrypt gave an empty blob"
ok "source blob: $(wc -c <"$tmp/source.bin") bytes under the source key, context Dept=IT"

# ---- the program -------------------------------------------------------------

# run_program LABEL OUT_DIR [WRAPPER...] -- [COUNT OPTIONS...]
# Runs it, shows its output indented, checks exit status and summary line.
run_program() {
    local label=$1 out=$2 rc t0 summary
    shift 2
    local wrapper=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do wrapper+=("$1"); shift; done
    shift
    mkdir -p "$out"
    t0=$SECONDS
    set +e
    "${wrapper[@]}" "$bin" "$@" -s "$src_arn" -d "$dst_arn" \
        "$build_dir" kms:alias/lt-dest "$tmp/source.bin" "$out" Dept=IT \
        >"$tmp/$label.out" 2>"$tmp/$label.err"
    rc=$?
    set -e
    sed 's/^/#   /' "$tmp/$label.out"
    if [ "$rc" -ne 0 ] && [ -s "$tmp/$label.err" ]; then
        echo "# $label stderr:"
        sed 's/^/#   /' "$tmp/$label.err" | head -n 200
    fi
    echo "# $label took $((SECONDS - t0)) s"
    LAST_RC=$rc
    summary=$(tail -n 1 "$tmp/$label.out")
    case $summary in
    *" passed, 0 failed") ok "$label: $summary" ;;
    *) not_ok "$label: ${summary:-no summary line} (exit $rc)" ;;
    esac
    check "$label: no \"not ok\" line" eval "! grep -q '^not ok' '$tmp/$label.out'"
    n_written=$(sed -n 's/^# outputs: //p' "$tmp/$label.out")
}

LAST_RC=0
n_written=0
run_program evp_lifetimes "$tmp/out" -- "${full_args[@]}"
check "evp_lifetimes exits 0 (exit $LAST_RC)" [ "$LAST_RC" -eq 0 ]

# ---- decrypt every output ------------------------------------------------------

shopt -s nullglob
outs=("$tmp/out"/*.bin)
shopt -u nullglob
n_found=${#outs[@]}
[ "$n_found" -gt 0 ] || n_found=none
check "found ${#outs[@]} output blobs, the program reported ${n_written:-?}" \
    [ "$n_found" = "${n_written:-x}" ]

# `aws kms decrypt` for every blob. Starting the CLI costs about half a
# second of CPU, too much for ~120 blobs, so when the CLI's Python can import
# it, one process drives the CLI itself (awscli.clidriver, the code behind
# `aws`) for a list of blobs, $jobs such processes at a time; otherwise one
# `aws` per blob. Either way each blob NAME gets NAME.txt (the
# "KEYID<TAB>PLAINTEXT-BASE64" text output) and NAME.err.
cat >"$tmp/decrypt_many.py" <<'EOF_PY'
import contextlib, io, sys
import awscli.clidriver

endpoint = sys.argv[1]
driver = awscli.clidriver.create_clidriver()
for path in sys.argv[2:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            driver.main(["--endpoint-url", endpoint, "kms", "decrypt",
                         "--ciphertext-blob", "fileb://" + path,
                         "--query", "[KeyId,Plaintext]", "--output", "text"])
        except SystemExit:
            pass
    with open(path + ".txt", "w") as f:
        f.write(out.getvalue())
    with open(path + ".err", "w") as f:
        f.write(err.getvalue())
EOF_PY
cli_python() { # the interpreter of the `aws` script, if it imports awscli
    local path py
    path=$(type -P aws) || return 1
    if [ "$(head -c 2 "$path")" != '#!' ] || head -n 1 "$path" | grep -q 'bash'; then
        path=$(pyenv which aws 2>/dev/null) || return 1 # pyenv shims
    fi
    read -r py arg _ < <(head -n 1 "$path" | sed 's/^#! *//')
    [ "${py##*/}" = env ] && py=$arg # "#!/usr/bin/env python3"
    [ -n "$py" ] && "$py" -c 'import awscli.clidriver' 2>/dev/null && echo "$py"
}
decrypt_one() {
    command aws --endpoint-url "$AWS_ENDPOINT_URL" kms decrypt \
        --ciphertext-blob "fileb://$1" --query '[KeyId,Plaintext]' \
        --output text >"$1.txt" 2>"$1.err" || true
}
export -f decrypt_one
t0=$SECONDS
if py=$(cli_python); then
    printf '%s\0' "${outs[@]}" |
        xargs -0 -n $(((${#outs[@]} + jobs - 1) / jobs + 1)) -P "$jobs" \
            "$py" "$tmp/decrypt_many.py" "$AWS_ENDPOINT_URL"
    how="in-process AWS CLI ($py)"
else
    printf '%s\0' "${outs[@]}" | xargs -0 -n 1 -P "$jobs" bash -c 'decrypt_one "$1"' _
    how="one aws process per blob"
fi
echo "# decrypting ${#outs[@]} blobs took $((SECONDS - t0)) s ($how, $jobs at a time)"

n_good=0
for f in "${outs[@]}"; do
    name=$(basename "$f")
    answer=$(cat "$f.txt" 2>/dev/null || true)
    got_key=${answer%%$'\t'*}
    rm -f "$tmp/dec.bin"
    if [ -n "$answer" ] && printf '%s' "${answer#*$'\t'}" | base64 -d >"$tmp/dec.bin" 2>/dev/null &&
        cmp -s "$tmp/dec.bin" "$tmp/plain.bin" && [ "$got_key" = "$dst_arn" ]; then
        n_good=$((n_good + 1))
    else
        not_ok "$name: decrypts to the original plaintext under $dst_arn (key: ${got_key:-none})"
        [ -s "$f.err" ] && sed 's/^/#   /' "$f.err"
    fi
done
check "all $n_good of ${#outs[@]} outputs decrypt to the original plaintext under the destination key" \
    [ "$n_good" -eq "${#outs[@]}" ]
for f in "$tmp/out"/libctx*.bin "$tmp/out"/cycle-final.bin "$tmp/out"/reload-after.bin; do
    [ -f "$f" ] || not_ok "expected output $(basename "$f") missing"
done

# ---- valgrind ------------------------------------------------------------------

if [ "${LT_VALGRIND:-1}" = 0 ]; then
    echo "# valgrind skipped (LT_VALGRIND=0)"
elif ! command -v valgrind >/dev/null; then
    echo "# valgrind skipped: valgrind is not installed"
else
    run_program valgrind "$tmp/out-vg" valgrind --error-exitcode=99 \
        --leak-check=full --errors-for-leak-kinds=definite \
        --log-file="$tmp/valgrind.log" -- "${vg_args[@]}"
    check "valgrind (${vg_args[*]}): no errors, no definite leaks, exit 0 (exit $LAST_RC)" \
        [ "$LAST_RC" -eq 0 ]
    if [ "$LAST_RC" -ne 0 ]; then
        sed 's/^/#   /' "$tmp/valgrind.log" | head -n 300
    fi
    grep -E 'definitely lost|indirectly lost|ERROR SUMMARY' "$tmp/valgrind.log" |
        sed 's/^==[0-9]*== /# valgrind: /'
fi

if [ "$fail" -ne 0 ] && [ -s "$tmp/aws.err" ]; then
    echo "# aws stderr:" && sed 's/^/#   /' "$tmp/aws.err"
fi
echo "# total $((SECONDS - t_start)) s"
finish
