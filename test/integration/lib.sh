# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the integration tests: a private KMS test server, the
# openssl and aws wrappers, and ok/not-ok bookkeeping.
#   BUILD_DIR   where kmsreencrypt.so is
#   SOURCE_DIR  the repository
# Replay a failure by hand: `. $WORK/testvars` then run the printed command.

set -euo pipefail

# Never reach for the real instance-metadata address from a test.
export AWS_EC2_METADATA_DISABLED=true

BUILD_DIR=$(cd "${1:?build dir}" && pwd)
SOURCE_DIR=$(cd "${2:?source dir}" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-test.XXXXXX")
PASSED=0
FAILED=0

cleanup() {
    bash "$SOURCE_DIR/test/kms-server/kmsctl.sh" stop "$WORK/kms" >/dev/null 2>&1 || true
    if [ "$FAILED" -eq 0 ]; then rm -rf "$WORK"; else echo "# kept $WORK for inspection"; fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@" >"$WORK/check.out" 2>&1; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$WORK/check.out"; fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

start_kms() {
    bash "$SOURCE_DIR/test/kms-server/kmsctl.sh" start "$WORK/kms" >/dev/null
    # shellcheck disable=SC1091
    . "$WORK/kms/env.sh"
    export KMS_REGION=$AWS_REGION KMS_CA_BUNDLE=$AWS_CA_BUNDLE
    cat >"$WORK/testvars" <<VARS
. $WORK/kms/env.sh
export OPENSSL_MODULES=$BUILD_DIR
alias ossl='openssl pkeyutl -provider kmsreencrypt -provider default'
VARS
}

# Debian's AWS CLI v2.9 ignores AWS_ENDPOINT_URL: always name the endpoint
# (exported so `bash -c` checks see it too).
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
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
