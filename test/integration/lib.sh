# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the integration tests: a private KMS test server, the
# openssl and aws wrappers, ok/not-ok bookkeeping, runs of the EVP test
# programs and valgrind. A script sources it with its own arguments:
#   BUILD_DIR   where kmsreencrypt.so is
#   SOURCE_DIR  the repository
# Environment: KEEP_TMP=1 keeps the temporary directory $WORK (it is kept
# anyway when a check failed; its path is printed).
# A script that talks to no KMS test server (nor the AWS CLI) sets
# LIB_NEEDS_AWS=0 before sourcing this file.
# A script prints ok/not ok lines and "N passed, M failed" (finish); it exits
# 0 when everything passed, 1 on a failure (a failed set-up step included,
# see die), 2 on a usage error or a missing prerequisite (see bail).
# Replay a failure by hand: `. $WORK/testvars` then run the printed command.

set -euo pipefail

# Never reach for the real instance-metadata address from a test.
export AWS_EC2_METADATA_DISABLED=true

SCRIPT=$(basename "$0")
# bail MESSAGE: usage error or missing prerequisite, before any test: exit 2.
bail() { echo "$SCRIPT: $*" >&2; exit 2; }

[ $# -eq 2 ] || bail "usage: $SCRIPT BUILD_DIR SOURCE_DIR"
BUILD_DIR=$(cd "$1" && pwd) || bail "no directory $1"
SOURCE_DIR=$(cd "$2" && pwd) || bail "no directory $2"
KMSCTL=$SOURCE_DIR/test/kms-server/kmsctl.sh
[ -f "$BUILD_DIR/kmsreencrypt.so" ] || bail "no $BUILD_DIR/kmsreencrypt.so"
[ -f "$KMSCTL" ] || bail "no $KMSCTL"
if [ "${LIB_NEEDS_AWS:-1}" = 1 ]; then
    command -v aws >/dev/null || bail "the AWS CLI (aws) is required"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-${SCRIPT%.sh}.XXXXXX")
PASSED=0
FAILED=0

cleanup() {
    bash "$KMSCTL" stop "$WORK/kms" >/dev/null 2>&1 || true
    if [ "$FAILED" -eq 0 ] && [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$WORK"
    else echo "# kept $WORK for inspection"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@" >"$WORK/check.out" 2>&1; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$WORK/check.out"; fi
}
finish() { # the summary; fails unless something passed and nothing failed
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}
# die MESSAGE: a set-up step failed once the tests are under way (the
# server, a key, an input): counted as a failure, then the summary, exit 1.
die() {
    not_ok "$*"
    finish || true
    exit 1
}

# provider_cnf FILE LINE...: an OpenSSL configuration that activates the
# default provider and this build's kmsreencrypt, with the LINEs (e.g.
# "request-timeout-ms = 700") in kmsreencrypt's section.
provider_cnf() {
    local out=$1
    shift
    {
        printf '%s\n' "openssl_conf = init" "[init]" "providers = prov" \
            "[prov]" "default = dflt" "kmsreencrypt = kms" "[dflt]" \
            "activate = 1" "[kms]" "module = $BUILD_DIR/kmsreencrypt.so" \
            "activate = 1"
        printf '%s\n' "$@"
    } >"$out"
}

start_kms() {
    if ! bash "$KMSCTL" start "$WORK/kms" >"$WORK/kmsctl.out" 2>&1; then
        sed 's/^/#   /' "$WORK/kmsctl.out" >&2
        die "start the KMS test server"
    fi
    # shellcheck disable=SC1091
    . "$WORK/kms/env.sh"
    # shellcheck disable=SC2153 # AWS_REGION, AWS_CA_BUNDLE: from env.sh
    export KMS_REGION=$AWS_REGION KMS_CA_BUNDLE=$AWS_CA_BUNDLE
    cat >"$WORK/testvars" <<VARS
. $WORK/kms/env.sh
export OPENSSL_MODULES=$BUILD_DIR
alias ossl='openssl pkeyutl -provider kmsreencrypt -provider default'
VARS
}

# Debian's AWS CLI v2.9 ignores AWS_ENDPOINT_URL: always name the endpoint
# (exported so `bash -c` checks see it too). The CLI runs with the system's
# OpenSSL set-up, not the tests' OPENSSL_CONF/OPENSSL_MODULES: CLI v2's
# awscrt fails to start when it cannot find OpenSSL's own modules.
aws() {
    env -u OPENSSL_CONF -u OPENSSL_MODULES aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
}
export -f aws

# The provider loaded by flags, as a newcomer types it.
PROV_FLAGS=(-provider-path "$BUILD_DIR" -provider kmsreencrypt -provider default)
reencrypt() { openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt "$@"; }

# Under KMSRE_CHECKER (e.g. valgrind or an ASan preload) for memory checks.
reencrypt_checked() {
    ${KMSRE_CHECKER:-} openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt "$@"
}

kms_stats() { # total KMS requests the server has seen
    curl -s --cacert "$AWS_CA_BUNDLE" "$KMS_SERVER_URL/_control/stats" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}

kms_fault() { # kms_fault '{"mode": "...", "count": N}'
    curl -s --cacert "$AWS_CA_BUNDLE" -X POST -d "$1" \
        "$KMS_SERVER_URL/_control/faults" >/dev/null
}

new_key() { # new_key [KeySpec] -> key id
    aws kms create-key --key-spec "${1:-SYMMETRIC_DEFAULT}" \
        --query KeyMetadata.KeyId --output text
}

new_key_arn() { # new_key_arn [KeySpec] -> key ARN
    aws kms create-key --key-spec "${1:-SYMMETRIC_DEFAULT}" \
        --query KeyMetadata.Arn --output text
}

key_arn() { aws kms describe-key --key-id "$1" --query KeyMetadata.Arn --output text; }

aws_encrypt() { # aws_encrypt KEY PLAINFILE OUT [extra aws args]
    local key=$1 in=$2 out=$3; shift 3
    aws kms encrypt --key-id "$key" --plaintext "fileb://$in" "$@" \
        --query CiphertextBlob --output text | base64 -d >"$out"
}

aws_decrypt() { # aws_decrypt CIPHERFILE [extra aws args] -> plaintext on stdout
    local in=$1; shift
    aws kms decrypt --ciphertext-blob "fileb://$in" "$@" \
        --query Plaintext --output text | base64 -d
}

# should_fail NAME PATTERN COMMAND...: non-zero exit and PATTERN in stderr.
should_fail() {
    local name=$1 pattern=$2; shift 2
    if "$@" >"$WORK/sf.out" 2>"$WORK/sf.err"; then
        not_ok "$name (succeeded)"; return
    fi
    if grep -Eq -- "$pattern" "$WORK/sf.err"; then ok "$name"; else
        not_ok "$name (no /$pattern/ in stderr)"; sed 's/^/#   /' "$WORK/sf.err"; fi
}

# local_failure NAME PATTERN COMMAND...: fails as should_fail does, and
# without a single request reaching KMS.
local_failure() {
    local before after
    before=$(kms_stats)
    should_fail "$@"
    after=$(kms_stats)
    if [ "$before" = "$after" ]; then ok "$1: no request sent"; else
        not_ok "$1: $((after - before)) request(s) sent"; fi
}

# run_prog LABEL COMMAND...: runs a test program that prints ok/not ok lines
# and ends with "N passed, M failed" (its output in $WORK/LABEL.out and
# LABEL.err, shown indented, stderr only when it fails); checks the summary
# and that no line is "not ok". Leaves its exit status in PROG_RC.
run_prog() {
    local label=$1 t0=$SECONDS summary
    shift
    PROG_RC=0
    "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || PROG_RC=$?
    sed 's/^/#   /' "$WORK/$label.out"
    if [ "$PROG_RC" -ne 0 ] && [ -s "$WORK/$label.err" ]; then
        echo "# $label stderr:"
        head -n 200 "$WORK/$label.err" | sed 's/^/#   /'
    fi
    echo "# $label took $((SECONDS - t0)) s"
    summary=$(tail -n 1 "$WORK/$label.out")
    case $summary in
    *" passed, 0 failed") ok "$label: $summary" ;;
    *) not_ok "$label: ${summary:-no summary line} (exit $PROG_RC)" ;;
    esac
    if grep -q '^not ok' "$WORK/$label.out"; then
        not_ok "$label printed not ok lines"
    else
        ok "$label printed no not ok line"
    fi
}

# A test program under valgrind memcheck: memory errors and definite leaks
# make it exit VALGRIND_RC.
VALGRIND_RC=99
valgrind_run() { # valgrind_run LOG COMMAND...
    local log=$1
    shift
    valgrind --error-exitcode="$VALGRIND_RC" --leak-check=full \
        --errors-for-leak-kinds=definite --log-file="$log" "$@"
}
valgrind_report() { # valgrind_report LOG RC: the log if RC is not 0, its summary
    local log=$1 rc=$2
    [ -f "$log" ] || { echo "# no valgrind log $log"; return 0; }
    if [ "$rc" -ne 0 ]; then head -n 300 "$log" | sed 's/^/#   /'; fi
    grep -E 'definitely lost|indirectly lost|ERROR SUMMARY' "$log" |
        sed 's/^==[0-9]*== /# valgrind: /' || true
}
