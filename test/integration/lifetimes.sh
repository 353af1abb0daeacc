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
# Prints ok/not ok lines and "N passed, M failed"; exits 1 on any failure
# (a failed set-up step such as starting the server included), 2 on a usage
# error or a missing prerequisite. Server, checks: test/integration/lib.sh.
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

bin=${EVP_LIFETIMES_BIN:-$BUILD_DIR/test/evp_lifetimes}
jobs=${LT_JOBS:-2}
# Word splitting of the count options is intended.
read -r -a full_args <<<"${LT_ARGS:-}"
read -r -a vg_args <<<"${LT_VALGRIND_ARGS:--l 2 -k 1 -c 4 -t 3 -n 2 -x 2 -r 200}"
[ -x "$bin" ] || bail "no executable $bin (set EVP_LIFETIMES_BIN)"
t_start=$SECONDS

# ---- server and keys ------------------------------------------------------

start_kms
ok "KMS test server on $KMS_SERVER_URL"

src_arn=$(new_key_arn SYMMETRIC_DEFAULT) || die "create the source key"
dst_arn=$(new_key_arn SYMMETRIC_DEFAULT) || die "create the destination key"
aws kms create-alias --alias-name alias/lt-dest --target-key-id "$dst_arn" ||
    die "create alias/lt-dest"
case $src_arn:$dst_arn in
arn:*:kms:*:key/*:arn:*:kms:*:key/*) ok "keys: source $src_arn, destination $dst_arn (alias/lt-dest)" ;;
*) die "create-key returned ARNs ($src_arn, $dst_arn)" ;;
esac

head -c 200 /dev/urandom >"$WORK/plain.bin"
printf 'evp_lifetimes integration test\n' >>"$WORK/plain.bin"
aws_encrypt "$src_arn" "$WORK/plain.bin" "$WORK/source.bin" \
    --encryption-context Dept=IT || die "aws kms encrypt"
[ -s "$WORK/source.bin" ] || die "aws kms encrypt gave an empty blob"
ok "source blob: $(wc -c <"$WORK/source.bin") bytes under the source key, context Dept=IT"

# ---- the program -------------------------------------------------------------

# run_program LABEL OUT_DIR [WRAPPER...] -- [COUNT OPTIONS...]
# Runs it (run_prog: output shown, summary and "not ok" lines checked, exit
# status in PROG_RC) and sets n_written to the outputs it reports.
run_program() {
    local label=$1 out=$2
    shift 2
    local wrapper=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do wrapper+=("$1"); shift; done
    shift
    mkdir -p "$out"
    run_prog "$label" "${wrapper[@]}" "$bin" "$@" -s "$src_arn" -d "$dst_arn" \
        "$BUILD_DIR" kms:alias/lt-dest "$WORK/source.bin" "$out" Dept=IT
    n_written=$(sed -n 's/^# outputs: //p' "$WORK/$label.out")
}

n_written=0
run_program evp_lifetimes "$WORK/out" -- "${full_args[@]}"
check "evp_lifetimes exits 0 (exit $PROG_RC)" [ "$PROG_RC" -eq 0 ]

# ---- decrypt every output ------------------------------------------------------

shopt -s nullglob
outs=("$WORK/out"/*.bin)
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
cat >"$WORK/decrypt_many.py" <<'EOF_PY'
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
decrypt_one() { # aws (lib.sh) is exported too
    aws kms decrypt \
        --ciphertext-blob "fileb://$1" --query '[KeyId,Plaintext]' \
        --output text >"$1.txt" 2>"$1.err" || true
}
export -f decrypt_one
t0=$SECONDS
if py=$(cli_python); then
    printf '%s\0' "${outs[@]}" |
        xargs -0 -n $(((${#outs[@]} + jobs - 1) / jobs + 1)) -P "$jobs" \
            "$py" "$WORK/decrypt_many.py" "$AWS_ENDPOINT_URL"
    how="in-process AWS CLI ($py)"
else
    # shellcheck disable=SC2016 # $1 is the inner shell's
    printf '%s\0' "${outs[@]}" | xargs -0 -n 1 -P "$jobs" bash -c 'decrypt_one "$1"' _
    how="one aws process per blob"
fi
echo "# decrypting ${#outs[@]} blobs took $((SECONDS - t0)) s ($how, $jobs at a time)"

n_good=0
for f in "${outs[@]}"; do
    name=$(basename "$f")
    answer=$(cat "$f.txt" 2>/dev/null || true)
    got_key=${answer%%$'\t'*}
    rm -f "$WORK/dec.bin"
    if [ -n "$answer" ] && printf '%s' "${answer#*$'\t'}" | base64 -d >"$WORK/dec.bin" 2>/dev/null &&
        cmp -s "$WORK/dec.bin" "$WORK/plain.bin" && [ "$got_key" = "$dst_arn" ]; then
        n_good=$((n_good + 1))
    else
        not_ok "$name: decrypts to the original plaintext under $dst_arn (key: ${got_key:-none})"
        [ -s "$f.err" ] && sed 's/^/#   /' "$f.err"
    fi
done
check "all $n_good of ${#outs[@]} outputs decrypt to the original plaintext under the destination key" \
    [ "$n_good" -eq "${#outs[@]}" ]
for f in "$WORK/out"/libctx*.bin "$WORK/out"/cycle-final.bin "$WORK/out"/reload-after.bin; do
    [ -f "$f" ] || not_ok "expected output $(basename "$f") missing"
done

# ---- valgrind ------------------------------------------------------------------

if [ "${LT_VALGRIND:-1}" = 0 ]; then
    echo "# valgrind skipped (LT_VALGRIND=0)"
elif ! command -v valgrind >/dev/null; then
    echo "# valgrind skipped: valgrind is not installed"
else
    run_program valgrind "$WORK/out-vg" valgrind_run "$WORK/valgrind.log" \
        -- "${vg_args[@]}"
    check "valgrind (${vg_args[*]}): no errors, no definite leaks, exit 0 (exit $PROG_RC)" \
        [ "$PROG_RC" -eq 0 ]
    valgrind_report "$WORK/valgrind.log" "$PROG_RC"
fi

echo "# total $((SECONDS - t_start)) s"
finish
