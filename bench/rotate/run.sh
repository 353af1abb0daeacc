#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/rotate/run.sh - kms-rotate against what a scripter would otherwise
# use, in one run on one machine:
#
#     bash bench/rotate/run.sh
#
# The same N base64 blobs (default 10,000) go, at the same concurrency
# (default 64), through
#   1. kms-rotate --lines --jobs C
#   2. a boto3 ThreadPoolExecutor(C) script (bench/rotate/boto3_pool.py)
#   3. xargs -P C over `aws kms re-encrypt` (a sample: the CLI costs ~0.5 s
#      of CPU per call, so 10,000 calls would take most of an hour on 2
#      cores; the rate of the sample is reported and the full time
#      extrapolated, and the table says so)
# against fastkms (test/kms-server/fastkms, Go net/http over TLS) answering
# every ReEncrypt after BENCH_DELAY (default 5ms, an in-region round trip).
# Also measured: kms-rotate with no delay (the machine's limit for client
# and stand-in together) and fastkms alone under wrk when wrk is installed
# (the stand-in's own limit). Every output is checked line by line (the
# stand-in answers 0x02 || input, so line i must answer line i).
# Writes the table as the "## kms-rotate" section at the end of
# bench/RESULTS.md, the rest of that file kept (BENCH_RESULTS="" for none).
# Knobs: BENCH_RECORDS=10000 BENCH_JOBS=64 BENCH_DELAY=5ms BENCH_ROUNDS=3
#        BENCH_CLI_SAMPLE=256 BENCH_BUILD_DIR=build-bench-rotate
#        BENCH_NO_INSTALL=1 (never call apt-get)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
RECORDS=${BENCH_RECORDS:-10000}
JOBS=${BENCH_JOBS:-64}
DELAY=${BENCH_DELAY:-5ms}
ROUNDS=${BENCH_ROUNDS:-3}
CLI_SAMPLE=${BENCH_CLI_SAMPLE:-256}
BUILD=${BENCH_BUILD_DIR:-build-bench-rotate}
RESULTS=${BENCH_RESULTS-$root/bench/RESULTS.md}
ARN=arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- dependencies, build -----------------------------------------------------
missing=()
command -v go >/dev/null || missing+=(golang-go)
[ -f /usr/include/csv.h ] || missing+=(libcsv-dev)
python3 -c 'import boto3' 2>/dev/null || missing+=(python3-boto3)
command -v aws >/dev/null || missing+=(awscli)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    log "installing ${missing[*]}"
    sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "building (Release) in $BUILD"
cmake -S "$root" -B "$root/$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$root/$BUILD" -j"$(nproc)" --target kmsreencrypt kms-rotate >/dev/null
ROT=$root/$BUILD/apps/kms-rotate
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-rotate.XXXXXX")
FAST_PID=
cleanup() {
    if [ -n "$FAST_PID" ]; then kill "$FAST_PID" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
(cd "$root/test/kms-server/fastkms" && GOFLAGS=-mod=mod go build -o "$work/fastkms" main.go)
bash "$root/test/kms-server/make-tls.sh" "$work/tls" >/dev/null

start_fast() { # start_fast DELAY
    if [ -n "$FAST_PID" ]; then
        kill "$FAST_PID" 2>/dev/null || true
        wait "$FAST_PID" 2>/dev/null || true
    fi
    rm -f "$work/port"
    "$work/fastkms" -cert "$work/tls/server.pem" -key "$work/tls/server.key" \
        -port-file "$work/port" -delay "$1" -key-arn "$ARN" 2>"$work/fastkms.log" &
    FAST_PID=$!
    for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
    [ -s "$work/port" ] || die "fastkms did not start"
    ENDPOINT=https://localhost:$(cat "$work/port")
}

# Credentials the stand-in does not check; nothing of the user's is read.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CA_BUNDLE=$work/tls/ca.pem AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KMS
export OPENSSL_MODULES=$root/$BUILD

python3 - "$RECORDS" >"$work/in.b64" <<'EOF'
import base64, os, sys
for i in range(int(sys.argv[1])):
    print(base64.b64encode(b"\x01" + i.to_bytes(4, "big") + os.urandom(145)).decode())
EOF
check_out() { # check_out IN OUT: line i of OUT answers line i of IN
    python3 - "$1" "$2" <<'EOF'
import base64, sys
a = open(sys.argv[1]).read().split()
b = open(sys.argv[2]).read().split()
assert len(a) == len(b), (len(a), len(b))
bad = sum(1 for x, y in zip(a, b) if base64.b64decode(y) != b"\x02" + base64.b64decode(x))
assert bad == 0, "%d lines do not answer their input" % bad
EOF
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# What else is on the machine while this runs.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
others=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 5 { printf "%s %s%%, ", $2, $1 }' | sed 's/, $//')

# ---- 1. kms-rotate ----------------------------------------------------------------
rot_run() { # rot_run LABEL -> "rate wall cpu"
    local t0 t1 cpu
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$work/time" "$ROT" --no-progress --to "$ARN" \
        --endpoint-url "$ENDPOINT" --lines --jobs "$JOBS" \
        --input "$work/in.b64" --output "$work/rot.out" --no-resume 2>"$work/rot.err" ||
        { cat "$work/rot.err" >&2; die "kms-rotate failed"; }
    t1=$(date +%s.%N)
    check_out "$work/in.b64" "$work/rot.out" || die "kms-rotate output wrong"
    cpu=$(awk '{ print $1 + $2 }' "$work/time")
    awk -v n="$RECORDS" -v a="$t0" -v b="$t1" -v c="$cpu" \
        'BEGIN { printf "%.1f %.3f %.2f\n", n / (b - a), b - a, c }'
}
start_fast "$DELAY"
log "kms-rotate --lines --jobs $JOBS, $RECORDS records, delay $DELAY, $ROUNDS rounds"
: >"$work/rot.rates"
for r in $(seq "$ROUNDS"); do
    rot_run >>"$work/rot.rates"
    log "  round $r: $(tail -n 1 "$work/rot.rates") (records/s, s, cpu s)"
done
rot_rate=$(awk '{ print $1 }' "$work/rot.rates" | median)
rot_cpu=$(awk -v r="$rot_rate" '$1 == r { print $3; exit }' "$work/rot.rates")
rot_wall=$(awk -v r="$rot_rate" '$1 == r { print $2; exit }' "$work/rot.rates")

# ---- 2. boto3 pool --------------------------------------------------------------------
log "boto3 ThreadPoolExecutor($JOBS), $RECORDS records"
: >"$work/boto3.rates"
for r in $(seq "$ROUNDS"); do
    o=$(python3 "$here/boto3_pool.py" "$ENDPOINT" "$AWS_CA_BUNDLE" "$work/in.b64" \
        "$work/boto3.out" "$JOBS" "$ARN") || die "boto3 pool failed"
    check_out "$work/in.b64" "$work/boto3.out" || die "boto3 output wrong"
    rate=$(echo "$o" | sed 's/.*records_per_s=\([0-9.]*\).*/\1/')
    secs=$(echo "$o" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
    cpu=$(echo "$o" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
    echo "$rate $secs $cpu" >>"$work/boto3.rates"
    log "  round $r: $rate records/s, $secs s, cpu $cpu s"
done
boto_rate=$(awk '{ print $1 }' "$work/boto3.rates" | median)
boto_cpu=$(awk -v r="$boto_rate" '$1 == r { print $3; exit }' "$work/boto3.rates")
boto_wall=$(awk -v r="$boto_rate" '$1 == r { print $2; exit }' "$work/boto3.rates")

# ---- 3. xargs -P over the AWS CLI (a sample) -------------------------------------------------
log "xargs -P $JOBS over aws kms re-encrypt, $CLI_SAMPLE of the $RECORDS records"
mkdir -p "$work/cli"
head -n "$CLI_SAMPLE" "$work/in.b64" >"$work/cli.in"
i=0
while read -r line; do
    printf '%s' "$line" | base64 -d >"$work/cli/$(printf '%06d' $i).bin"
    i=$((i + 1))
done <"$work/cli.in"
cli_one() { # the command a scripter would run per blob
    aws kms re-encrypt --endpoint-url "$ENDPOINT" --ciphertext-blob "fileb://$1" \
        --destination-key-id "$ARN" --query CiphertextBlob --output text >"$1.out"
}
export -f cli_one
export ENDPOINT ARN
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/cli.time" bash -c \
    "ls '$work'/cli/*.bin | xargs -P '$JOBS' -n 1 bash -c 'cli_one \"\$0\"'" ||
    die "the CLI loop failed"
t1=$(date +%s.%N)
for f in "$work"/cli/*.bin; do cat "$f.out"; done >"$work/cli.out"
check_out "$work/cli.in" "$work/cli.out" || die "CLI output wrong"
cli_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
cli_rate=$(awk -v n="$CLI_SAMPLE" -v w="$cli_wall" 'BEGIN { printf "%.2f", n / w }')
cli_cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$work/cli.time")
cli_full=$(awk -v n="$RECORDS" -v r="$cli_rate" 'BEGIN { printf "%.0f", n / r }')
log "  $CLI_SAMPLE calls in $cli_wall s: $cli_rate records/s, cpu $cli_cpu s"

# ---- 4. the machine's limits ----------------------------------------------------------------
log "kms-rotate with no delay (client and stand-in on the same $(nproc) cores)"
start_fast 0s
: >"$work/nodelay.rates"
for r in $(seq "$ROUNDS"); do rot_run >>"$work/nodelay.rates"; done
nodelay_rate=$(awk '{ print $1 }' "$work/nodelay.rates" | median)
wrk_rate=
if command -v wrk >/dev/null; then
    log "wrk against fastkms alone (64 connections, 5 s)"
    body=$(python3 -c 'import base64,json,sys; print(json.dumps({"CiphertextBlob": base64.b64encode(bytes(150)).decode(), "DestinationKeyId": sys.argv[1]}))' "$ARN")
    cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "TrentService.ReEncrypt"
EOF
    wrk_rate=$(wrk -t2 -c64 -d5s -s "$work/post.lua" "$ENDPOINT/" 2>/dev/null |
        awk '/Requests\/sec/ { printf "%.0f", $2 }')
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ------------------------------------------------------------------------------------
bound=$(awk -v d="$DELAY" -v j="$JOBS" 'BEGIN { sub("ms", "", d); printf "%.0f", j / (d / 1000) }')
machine=$nodelay_rate
target=$(awk -v b="$bound" -v m="$machine" 'BEGIN { printf "%.0f", 0.8 * (b < m ? b : m) }')
which=$(awk -v b="$bound" -v m="$machine" 'BEGIN { print (b < m ? "the round trips (jobs/delay)" : "this machine (kms-rotate with no delay)") }')
r_boto=$(awk -v a="$rot_rate" -v b="$boto_rate" 'BEGIN { printf "%.1f", a / b }')
r_cli=$(awk -v a="$rot_rate" -v b="$cli_rate" 'BEGIN { printf "%.0f", a / b }')
yes_no() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b ? "met" : "missed") }'; }
per_k() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c / n * 1000 }'; }
table=$(cat <<EOF
## kms-rotate (bench/rotate/run.sh)

\`bash bench/rotate/run.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); $RECORDS
base64 blobs, concurrency $JOBS everywhere, against fastkms (Go net/http,
TLS, keep-alive) answering each ReEncrypt after $DELAY. Load average before
$load_before, after $load_after (the CLI step's own processes count in
it); other processes above 5% CPU at the start:
${others:-none}. Figures are medians of $ROUNDS rounds (the CLI: one sample).

| client | records | wall s | records/s | client CPU s per 1,000 records |
| --- | --- | --- | --- | --- |
| \`kms-rotate --lines --jobs $JOBS\` | $RECORDS | $rot_wall | $rot_rate | $(per_k "$rot_cpu" "$RECORDS") |
| boto3 \`ThreadPoolExecutor($JOBS)\`, one client | $RECORDS | $boto_wall | $boto_rate | $(per_k "$boto_cpu" "$RECORDS") |
| \`xargs -P $JOBS\` over \`aws kms re-encrypt\` | $CLI_SAMPLE (sample) | $cli_wall | $cli_rate | $(per_k "$cli_cpu" "$CLI_SAMPLE") |

The CLI row is a sample of $CLI_SAMPLE calls: at its rate the $RECORDS records
would take about $cli_full s. Its CPU column counts every process xargs started.

| target | measured | bound | verdict |
| --- | --- | --- | --- |
| kms-rotate >= 10x the boto3 pool | ${r_boto}x | - | $(yes_no "$r_boto" 10) |
| kms-rotate >= 100x the CLI loop | ${r_cli}x | - | $(yes_no "$r_cli" 100) |
| --jobs $JOBS >= 80% of min($JOBS/$DELAY = $bound, machine $machine) = $target records/s | $rot_rate | $which | $(yes_no "$rot_rate" "$target") |

Limits on this machine: kms-rotate with no delay reached $nodelay_rate records/s
(client and stand-in sharing $(nproc) cores)${wrk_rate:+; wrk alone against the stand-in (64 connections, no delay) $wrk_rate requests/s}.
EOF
)
echo "$table"
if [ -n "$RESULTS" ]; then
    # bench/run.sh owns the sections above this one and keeps it.
    rest=$([ ! -f "$RESULTS" ] || sed '/^## kms-rotate/,$d' "$RESULTS")
    { [ -z "$rest" ] || printf '%s\n\n' "$rest"; echo "$table"; } >"$RESULTS.new"
    mv "$RESULTS.new" "$RESULTS"
    log "written to $RESULTS"
fi
