#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Faults injected by the local KMS, one mode at a time: for each, the
# outcome, the number of attempts the server saw and an elapsed-time bound.
# Retries follow the SDKs' standard mode: 3 attempts, full-jitter backoff
# (0-1 s, then 0-2 s), throttling and transient errors only.
# usage: faults.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
cd "$WORK"
export OPENSSL_MODULES=$BUILD_DIR
printf 'fault tolerant' >plain.txt
SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context app=faults

# Under memcheck.sh each openssl run starts seconds later: the bounds then
# get that much slack, and peak memory is valgrind's, not ours.
SLACK_MS=0
[ -n "${KMSRE_UNDER_VALGRIND:-}" ] && SLACK_MS=12000

# run_case NAME EXPECT(ok|fail) ATTEMPTS MAX_MS PATTERN FAULT_JSON [env...]
# Injects the fault, re-encrypts once and checks all four facts.
run_case() {
    local name=$1 expect=$2 attempts=$3 max_ms=$4 pattern=$5 fault=$6
    shift 6
    local before after start ms rc=0
    [ -n "$fault" ] && kms_fault "$fault"
    before=$(kms_stats)
    rm -f new.bin
    start=$(date +%s%N)
    env "$@" openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey kms:alias/new \
        -pkeyopt "source-encryption-context:${CONTEXT:-app=faults}" \
        -in old.bin -out new.bin \
        >"$WORK/case.out" 2>"$WORK/case.err" || rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    after=$(kms_stats)
    kms_fault '{"mode": "none"}'
    local seen=$((after - before)) problems=""
    if [ "$expect" = ok ]; then
        [ "$rc" -eq 0 ] || problems+=" exit $rc;"
        [ "$rc" -ne 0 ] || [ "$(aws_decrypt new.bin)" = "fault tolerant" ] ||
            problems+=" output does not decrypt;"
    else
        [ "$rc" -ne 0 ] || problems+=" succeeded;"
        grep -Eq -- "$pattern" "$WORK/case.err" || problems+=" no /$pattern/;"
        [ ! -s new.bin ] || problems+=" wrote output;"
    fi
    [ "$seen" -eq "$attempts" ] || problems+=" server saw $seen attempts, want $attempts;"
    [ "$ms" -le $((max_ms + SLACK_MS)) ] || problems+=" took $ms ms > $max_ms;"
    if [ -z "$problems" ]; then
        ok "$name: $expect after $seen attempt(s) in $ms ms"
    else
        not_ok "$name:$problems"
        sed 's/^/#   /' "$WORK/case.err"
    fi
}

# Two retries cost at most 1 s + 2 s of backoff.
run_case "throttling x2 is ridden out" ok 3 5000 "" \
    '{"mode": "throttle", "count": 2}'
run_case "HTTP 500 InternalFailure" ok 2 3000 "" '{"mode": "500", "count": 1}'
run_case "HTTP 502 (HTML body)" ok 2 3000 "" '{"mode": "502", "count": 1}'
run_case "HTTP 504 (HTML body)" ok 2 3000 "" '{"mode": "504", "count": 1}'
run_case "KMSInternalException" ok 2 3000 "" '{"mode": "internal", "count": 1}'
run_case "connection reset" ok 2 3000 "" '{"mode": "reset", "count": 1}'
run_case "truncated answer" ok 2 3000 "" '{"mode": "truncate", "count": 1}'
run_case "HTTP 503 that never ends gives up after 3 attempts" fail 3 5000 \
    "KMS ServiceUnavailableException" '{"mode": "503", "count": 10}'
run_case "throttling that never ends" fail 3 5000 "KMS ThrottlingException" \
    '{"mode": "throttle", "count": 10}'
run_case "garbage answer: not retried, clear error" fail 1 2000 \
    "bad KMS response.*not a JSON object" '{"mode": "garbage", "count": 1}'
run_case "64 MiB answer refused while streaming" fail 1 3000 \
    "response larger than 1048576 bytes refused" '{"mode": "oversize", "count": 1}'
CONTEXT=app=wrong run_case "InvalidCiphertextException is not retried" \
    fail 1 2000 "InvalidCiphertextException" ""

# A slow answer is cut off by request-timeout-ms and the retry succeeds.
provider_cnf slow.cnf "request-timeout-ms = 700"
run_case "slow answer: timeout, then a retry" ok 2 4000 "" \
    '{"mode": "delay", "count": 1, "delay_ms": 5000}' OPENSSL_CONF=slow.cnf

# Attempt budget: environment, then cnf over environment.
run_case "AWS_MAX_ATTEMPTS=1: no retry" fail 1 2000 "KMS ThrottlingException" \
    '{"mode": "throttle", "count": 1}' AWS_MAX_ATTEMPTS=1
provider_cnf two.cnf "max-attempts = 2"
run_case "cnf max-attempts=2 wins over AWS_MAX_ATTEMPTS=5" fail 2 4000 \
    "KMS ServiceUnavailableException" '{"mode": "503", "count": 10}' \
    OPENSSL_CONF=two.cnf AWS_MAX_ATTEMPTS=5
run_case "AWS_MAX_ATTEMPTS=5 is honoured" ok 5 16000 "" \
    '{"mode": "503", "count": 4}' AWS_MAX_ATTEMPTS=5
run_case "legacy mode retries too" ok 3 5000 "" '{"mode": "500", "count": 2}' \
    AWS_RETRY_MODE=legacy AWS_MAX_ATTEMPTS=3
run_case "adaptive mode rides out throttling" ok 3 10000 "" \
    '{"mode": "throttle", "count": 2}' AWS_RETRY_MODE=adaptive
run_case "a bad AWS_RETRY_MODE is refused before any request" fail 0 2000 \
    "AWS_RETRY_MODE: retry mode must be standard, adaptive or legacy" "" \
    AWS_RETRY_MODE=eager
run_case "a bad AWS_MAX_ATTEMPTS is refused before any request" fail 0 2000 \
    "AWS_MAX_ATTEMPTS: max attempts must be" "" AWS_MAX_ATTEMPTS=0

# Memory stays bounded against a huge answer (64 MiB offered).
if [ -n "${KMSRE_UNDER_VALGRIND:-}" ]; then finish; exit; fi
kms_fault '{"mode": "oversize", "count": 1}'
rss_kb=$(python3 - "${PROV_FLAGS[@]}" <<'PY'
import resource, subprocess, sys
subprocess.run(["openssl", "pkeyutl", *sys.argv[1:], "-encrypt",
                "-inkey", "kms:alias/new", "-in", "old.bin", "-out", "x.bin"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
kms_fault '{"mode": "none"}'
if [ "$rss_kb" -lt 65536 ]; then ok "peak memory ${rss_kb} KiB against a 64 MiB answer"
else not_ok "peak memory ${rss_kb} KiB against a 64 MiB answer"; fi

finish
