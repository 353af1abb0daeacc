#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kms-rotate under load:
#  - --rate 100 held within 10% over 10 s, and smooth (no quarter second
#    with more than twice its share), sampled at the local KMS's counters;
#  - throttling storms lose nothing: 300 throttles with --max-attempts 1
#    (every one re-queued by the tool) and 20 with the default adaptive
#    mode; every record moves and decrypts, in order;
#  - memory flat over 100,000 lines (fastkms, the Go stand-in, answers at
#    thousands per second): RSS sampled every 0.2 s may not grow after the
#    first quarter of the run, and every output line answers its input line.
# Usage: rotate_rate.sh BUILD_DIR SOURCE_DIR (KMS_ROTATE_BIN: the tool)
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ROT=${KMS_ROTATE_BIN:-$BUILD_DIR/apps/kms-rotate}
[ -x "$ROT" ] || bail "no kms-rotate at $ROT (set KMS_ROTATE_BIN)"
command -v go >/dev/null || bail "go is required for fastkms (test/install-deps.sh)"
H=(python3 "$SOURCE_DIR/test/integration/rotate_helper.py")
export OPENSSL_MODULES=$BUILD_DIR

start_kms
NEW_ARN=$(new_key_arn) || die "create the new key"
OLD=$(new_key) || die "create the old key"
IT='{"Dept":"IT"}'
cd "$WORK"
"${H[@]}" make-lines 1400 "$OLD" --ctx "$IT" >in.b64 || die "make lines"

# ---- --rate ---------------------------------------------------------------------------
RATE=100
"$ROT" --no-progress --to "$NEW_ARN" --from-context Dept=IT --lines --jobs 32 \
    --rate "$RATE" --input in.b64 --output rate.out 2>rate.err &
pid=$!
python3 - "$KMS_SERVER_URL" "$AWS_CA_BUNDLE" "$RATE" >rate.samples <<'EOF'
import json, ssl, sys, time, urllib.request
url, ca, rate = sys.argv[1] + "/_control/stats", sys.argv[2], float(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
def n():
    return json.load(urllib.request.urlopen(url, context=ctx))["by_op"].get("ReEncrypt", 0)
base = n()
while n() == base:  # the run has started
    time.sleep(0.02)
time.sleep(1.0)     # past the start
t0, c0 = time.monotonic(), n()
quarters, last_t, last_c = [], t0, c0
while time.monotonic() - t0 < 10:
    time.sleep(0.25)
    t, c = time.monotonic(), n()
    quarters.append((c - last_c) / (t - last_t))
    last_t, last_c = t, c
total = (last_c - c0) / (last_t - t0)
print("rate over %.1f s: %.1f/s (want %.0f)" % (last_t - t0, total, rate))
print("quarter-second rates: min %.0f max %.0f" % (min(quarters), max(quarters)))
print("OK" if abs(total - rate) <= 0.1 * rate and max(quarters) <= 2 * rate else "BAD")
EOF
wait "$pid" || true
sed 's/^/#   /' rate.samples
check "--rate $RATE: within 10% over 10 s, no quarter second above twice the rate" \
    grep -qx OK rate.samples
check "--rate: every record moved, in order" \
    "${H[@]}" check-lines rate.out "$NEW_ARN" --ctx "$IT"

# ---- throttling storms --------------------------------------------------------------------
head -n 400 in.b64 >s400.b64
kms_fault '{"mode": "throttle", "count": 300, "ops": ["ReEncrypt"]}'
rc=0
"$ROT" --no-progress --to "$NEW_ARN" --from-context Dept=IT --lines --jobs 16 \
    --retry-mode standard --max-attempts 1 --input s400.b64 --output storm1.out \
    2>storm1.err || rc=$?
sed 's/^/#   /' storm1.err
check "storm of 300 throttles, --max-attempts 1: exit 0" test "$rc" -eq 0
check "storm: 300 throttled, 300 re-queued by the tool" \
    grep -q '700 requests, 300 throttled, 300 re-queued' storm1.err
check "storm: all 400 records moved, in order, nothing lost" \
    "${H[@]}" check-lines storm1.out "$NEW_ARN" --ctx "$IT"
head -n 100 in.b64 >s100.b64
kms_fault '{"mode": "throttle", "count": 20, "ops": ["ReEncrypt"]}'
rc=0
"$ROT" --no-progress --to "$NEW_ARN" --from-context Dept=IT --lines --jobs 8 \
    --input s100.b64 --output storm2.out 2>storm2.err || rc=$?
sed 's/^/#   /' storm2.err
check "storm of 20 throttles, adaptive (the default): exit 0, 20 throttled" \
    bash -c "[ $rc -eq 0 ] && grep -q ', 20 throttled' storm2.err"
check "adaptive storm: all 100 records moved, in order" \
    "${H[@]}" check-lines storm2.out "$NEW_ARN" --ctx "$IT"

# ---- memory flat over 100,000 lines ----------------------------------------------------------
( cd "$SOURCE_DIR/test/kms-server/fastkms" &&
  GOFLAGS=-mod=mod go build -o "$WORK/fastkms" main.go ) >go.out 2>&1 ||
    { sed 's/^/#   /' go.out; die "build fastkms"; }
"$WORK/fastkms" -cert "$WORK/kms/server.pem" -key "$WORK/kms/server.key" \
    -port-file "$WORK/fast.port" -delay 2ms -key-arn "$NEW_ARN" 2>fast.log &
FAST_PID=$!
trap 'kill $FAST_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do [ -s fast.port ] && break; sleep 0.1; done
[ -s fast.port ] || die "start fastkms"
python3 -c '
import base64, os
for i in range(100000):
    print(base64.b64encode(b"\x01" + i.to_bytes(4, "big") + os.urandom(150)).decode())
' >big.b64
"$ROT" --no-progress --to "$NEW_ARN" --endpoint-url "https://localhost:$(cat fast.port)" \
    --lines --jobs 64 --input big.b64 --output big.out 2>big.err &
pid=$!
: >rss.samples
while kill -0 "$pid" 2>/dev/null; do
    awk '/VmRSS/ { print $2 }' "/proc/$pid/status" >>rss.samples 2>/dev/null || true
    sleep 0.2
done
rc=0
wait "$pid" || rc=$?
sed 's/^/#   /' big.err
check "100,000 lines: exit 0" test "$rc" -eq 0
python3 - rss.samples >rss.verdict <<'EOF'
import sys
s = [int(x) for x in open(sys.argv[1]).read().split() if x.strip()]
if len(s) < 8:
    print("too few samples: %d" % len(s)); print("BAD"); sys.exit()
q = len(s) // 4
early, late = max(s[:q]), max(s[q:])
print("RSS KiB: first quarter max %d, rest max %d, final %d, %d samples"
      % (early, late, s[-1], len(s)))
print("OK" if late <= early + 4096 else "BAD")
EOF
sed 's/^/#   /' rss.verdict
if [ "${KMSRE_SANITIZED:-0}" = 1 ]; then
    echo "# RSS check skipped: sanitizer build (ASan's quarantine keeps freed memory)"
else
    check "100,000 lines: RSS flat (no growth above 4 MiB after the first quarter)" \
        grep -qx OK rss.verdict
fi
check "100,000 lines: each output line answers its input line" python3 - <<'EOF'
import base64
a = open("big.b64").read().split()
b = open("big.out").read().split()
assert len(a) == len(b) == 100000, (len(a), len(b))
bad = sum(1 for x, y in zip(a, b) if base64.b64decode(y) != b"\x02" + base64.b64decode(x))
assert bad == 0, bad
EOF
kill "$FAST_PID" 2>/dev/null || true
wait "$FAST_PID" 2>/dev/null || true

# ---- the KeyId check, against answers naming another key -----------------------------------
# fastkms answers KeyId OTHER on every 10th request, as a wrong key or a
# re-pointed alias would.
OTHER=arn:aws:kms:$KMS_REGION:$KMS_ACCOUNT:key/99999999-8888-7777-6666-555555555555
start_fast() { # start_fast ARGS...: fastkms on a new port
    rm -f "$WORK/fast.port"
    "$WORK/fastkms" -cert "$WORK/kms/server.pem" -key "$WORK/kms/server.key" \
        -port-file "$WORK/fast.port" -key-arn "$NEW_ARN" -other-arn "$OTHER" \
        "$@" 2>fast.log &
    FAST_PID=$!
    for _ in $(seq 50); do [ -s "$WORK/fast.port" ] && break; sleep 0.1; done
    [ -s "$WORK/fast.port" ] || die "start fastkms"
}
stop_fast() { kill "$FAST_PID" 2>/dev/null || true; wait "$FAST_PID" 2>/dev/null || true; }
cat >every10.py <<'PY'
import base64
a = open("k100.b64").read().split()
b = open("k.out").read().split()
assert len(a) == len(b) == 100
for i, (x, y) in enumerate(zip(a, b)):
    moved = base64.b64decode(y) == b"\x02" + base64.b64decode(x)
    assert moved == (i % 10 != 9), i  # the 10th, 20th, ... answers: unchanged
PY
start_fast -other-every 10
head -n 100 big.b64 >k100.b64
for to in "$NEW_ARN" "${NEW_ARN##*/}" alias/new "arn:aws:kms:$KMS_REGION:$KMS_ACCOUNT:alias/new"; do
    rc=0
    "$ROT" --no-progress --to "$to" --endpoint-url "https://localhost:$(cat fast.port)" \
        --lines --jobs 1 --input k100.b64 --output k.out --no-resume \
        --errors k.err 2>k.stderr || rc=$?
    if [ "$rc" -eq 1 ] && [ "$(grep -c '"error_type":"WrongKeyId"' k.err)" = 10 ] &&
        python3 every10.py; then
        ok "KeyId check, --to $to: the 10 answers naming another key fail (WrongKeyId), lines unchanged"
    else
        not_ok "KeyId check, --to $to (exit $rc)"; tail -n 5 k.stderr | sed 's/^/#   /'
    fi
done
stop_fast
# An alias ARN names its account: answers from another account are refused.
start_fast
rc=0
"$ROT" --no-progress --to "arn:aws:kms:$KMS_REGION:444455556666:alias/new" \
    --endpoint-url "https://localhost:$(cat fast.port)" --lines --jobs 4 \
    --input k100.b64 --output k.out --no-resume --errors k.err 2>k.stderr || rc=$?
check "KeyId check: an alias ARN in account 444455556666 refuses keys of $KMS_ACCOUNT" \
    bash -c "[ $rc -eq 1 ] && [ \$(grep -c WrongKeyId k.err) = 100 ] && cmp -s k100.b64 k.out"
stop_fast

finish
