#!/usr/bin/env bash
# bench/run.sh - the kmsreencrypt benchmark, in one command:
#
#     bash bench/run.sh
#
# Installs what is missing (Debian packages), builds the provider (Release)
# and bench_reencrypt, starts nginx on 127.0.0.1 as a fixed-answer KMS
# stand-in (TLS, keep-alive), measures side by side on this machine
#   1. provider ReEncrypt ops/s through EVP from 1, 2, 4, 8 threads
#   2. wrk with the provider's exact POST over 1 and over several connections
#   3. boto3 re_encrypt in a loop with one client, and libcurl alone
#      sending the same POST through curl_easy_perform
#   4. wall time of one `openssl pkeyutl` vs one `aws kms re-encrypt` process
#   5. client instructions per operation (callgrind), split by component
#   6. RSS over a long run (memory growth)
# stops nginx, prints the table and writes it to bench/RESULTS.md.
# See bench/README.md for what each figure means. Knobs (environment):
#   BENCH_SECONDS=4          seconds per throughput run (provider, wrk, boto3)
#   BENCH_ROUNDS=3           rounds of the provider, wrk and boto3 runs (median)
#   BENCH_THREADS="1 2 4 8"  provider thread counts
#   BENCH_WRK_CONNS=8        connections of the "several connections" wrk run
#   BENCH_CLI_RUNS=10        runs per command for the process wall time
#   BENCH_CG_OPS=200         operations measured under callgrind
#   BENCH_MEM_OPS=100000     operations of the memory run
#   BENCH_MEM_THREADS=2      threads of the memory run
#   BENCH_NGINX_WORKERS=1    nginx worker_processes (1 or auto)
#   BENCH_BUILD_DIR=build-bench   build directory (relative to the checkout)
#   BENCH_NO_INSTALL=1       never call apt-get
#   BENCH_RESULTS=bench/RESULTS.md  where the table goes ("" for nowhere)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

SECONDS_PER_RUN=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-1 2 4 8}
WRK_CONNS=${BENCH_WRK_CONNS:-8}
CLI_RUNS=${BENCH_CLI_RUNS:-10}
CG_OPS=${BENCH_CG_OPS:-200}
MEM_OPS=${BENCH_MEM_OPS:-100000}
MEM_THREADS=${BENCH_MEM_THREADS:-2}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1}
BUILD=${BENCH_BUILD_DIR:-build-bench}
RESULTS=${BENCH_RESULTS-$here/RESULTS.md}
BLOB_LEN=150           # bytes of the source and of the returned CiphertextBlob
KEY_ID=alias/bench

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- 0. dependencies ---------------------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_missing=()
want() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
want nginx nginx-light
want wrk wrk
want valgrind valgrind
want callgrind_annotate valgrind
want cmake cmake
want pkg-config pkg-config
want gcc gcc
want python3 python3
want curl curl
python3 -c 'import boto3' 2>/dev/null || apt_missing+=(python3-boto3)
for p in libssl-dev libcurl4-openssl-dev libjson-c-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || apt_missing+=("$p")
done
have_hyperfine=1
if ! command -v hyperfine >/dev/null 2>&1; then
    have_hyperfine=0
    if [ -z "${BENCH_NO_INSTALL:-}" ] && command -v apt-cache >/dev/null &&
        apt-cache show hyperfine >/dev/null 2>&1; then
        apt_missing+=(hyperfine)
    fi
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
    [ -n "${BENCH_NO_INSTALL:-}" ] && die "missing: ${apt_missing[*]}"
    log "installing: ${apt_missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${apt_missing[@]}" >/dev/null
fi
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found"
# The AWS CLI: `aws` (v1 or v2). Under pyenv the shim is a bash script that
# adds ~50 ms per call; the real entry point is measured instead.
AWS=$(command -v aws || true)
if [ -n "$AWS" ] && command -v pyenv >/dev/null 2>&1 && pyenv which aws >/dev/null 2>&1; then
    AWS=$(pyenv which aws)
fi

# ---- 1. build ----------------------------------------------------------
log "building the provider ($BUILD, Release + -g for callgrind symbols)"
mkdir -p "$BUILD"
blog=$BUILD/bench-build.log
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g \
    -DBUILD_TESTING=OFF >"$blog" 2>&1 || { cat "$blog" >&2; die "cmake failed"; }
cmake --build "$BUILD" -j2 --target kmsreencrypt >>"$blog" 2>&1 ||
    { tail -40 "$blog" >&2; die "build failed"; }
MODDIR=$root/$BUILD
[ -f "$MODDIR/kmsreencrypt.so" ] || die "no $MODDIR/kmsreencrypt.so"
BENCH=$MODDIR/bench_reencrypt
# shellcheck disable=SC2046
gcc -std=c11 -O2 -g -Wall -Wextra -o "$BENCH" "$here/bench_reencrypt.c" \
    $(pkg-config --cflags --libs libcrypto) -pthread || die "cannot build bench_reencrypt"
CURL_FLOOR=$MODDIR/curl_floor
# shellcheck disable=SC2046
gcc -std=c11 -O2 -g -Wall -Wextra -o "$CURL_FLOOR" "$here/curl_floor.c" \
    $(pkg-config --cflags --libs libcurl) || die "cannot build curl_floor"

# ---- 2. stand-in KMS ---------------------------------------------------
work=$(mktemp -d /tmp/kmsre-bench.XXXXXX)
nginx_pid=""
cleanup() {
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    [ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$root/test/kms-server/make-tls.sh" "$work/tls" || die "make-tls.sh failed"
CA=$work/tls/ca.pem
openssl rand $BLOB_LEN >"$work/in.bin"
out_b64=$(openssl rand $BLOB_LEN | base64 -w0)
ARN=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
SRC_ARN=arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321
printf '{"CiphertextBlob":"%s","KeyId":"%s","SourceKeyId":"%s","SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","DestinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT"}' \
    "$out_b64" "$ARN" "$SRC_ARN" >"$work/response.json"

# Environment of every client: dummy credentials, nothing from ~/.aws.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
    AWS_ENDPOINT_URL_KMS AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    KMSRE_DEBUG OPENSSL_CONF
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CA_BUNDLE=$CA
: >"$work/aws-config"; : >"$work/aws-credentials"
export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=''
export AWS_MAX_ATTEMPTS=1   # a failure must show, not be retried away

# The provider's request, captured once on the wire, for wrk.
log "capturing one provider request"
python3 "$here/capture_request.py" "$work/cap.port" "$work/tls/server.pem" \
    "$work/tls/server.key" "$work/request.txt" "$work/response.json" &
cap_pid=$!
for _ in $(seq 1 100); do [ -s "$work/cap.port" ] && break; sleep 0.05; done
[ -s "$work/cap.port" ] || die "capture server did not start"
AWS_ENDPOINT_URL=https://localhost:$(cat "$work/cap.port") \
    "$BENCH" -q -t 1 -n 1 -w 0 -e $BLOB_LEN -i "$work/in.bin" \
    -k "kms:$KEY_ID" "$MODDIR" >/dev/null || die "provider request to the capture server failed"
wait "$cap_pid" || die "capture server failed"
cap_pid=""
req_bytes=$(wc -c <"$work/request.txt")
body_bytes=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(len(d.split(b"\r\n\r\n",1)[1]))' "$work/request.txt")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ENDPOINT=https://localhost:$port
export AWS_ENDPOINT_URL=$ENDPOINT
mkdir -p "$work/client_body"
sed -e "s|@PREFIX@|$work|g" -e "s|@PORT@|$port|g" \
    -e "s|@WORKERS@|$NGINX_WORKERS|g" \
    -e "s|@RESPONSE@|$(cat "$work/response.json")|g" \
    "$here/nginx.conf.in" >"$work/nginx.conf"
log "starting nginx (worker_processes $NGINX_WORKERS) on 127.0.0.1:$port"
"$NGINX" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" </dev/null &
nginx_pid=$!
for _ in $(seq 1 100); do
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/error.log" >&2; die "nginx exited"; }
    curl -sf --cacert "$CA" -o /dev/null -X POST "$ENDPOINT/" && break
    sleep 0.1
done
curl -sf --cacert "$CA" -D "$work/probe.hdr" -o "$work/probe.body" -X POST \
    -H 'Content-Type: application/x-amz-json-1.1' --data-binary '{}' "$ENDPOINT/" ||
    die "nginx does not answer"
cmp -s "$work/probe.body" "$work/response.json" || die "nginx answers the wrong body"
grep -qi '^x-amzn-RequestId:' "$work/probe.hdr" || die "no x-amzn-RequestId header"
grep -qi '^content-type: application/x-amz-json-1.1' "$work/probe.hdr" || die "wrong Content-Type"

# ---- 3. measurements -----------------------------------------------------
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" | tail -1; }
run_bench() { "$BENCH" -q -i "$work/in.bin" -k "kms:$KEY_ID" -e $BLOB_LEN "$@" "$MODDIR"; }

# CPU time of the nginx workers (clock ticks), to tell whether the server
# had room during a run: busy% = share of one core.
CLK_TCK=$(getconf CLK_TCK)
nginx_ticks() {
    local t=0 p
    for p in $(ps -o pid= --ppid "$nginx_pid"); do
        # fields after "(comm)": state=$1 ... utime=$12 stime=$13
        set -- $(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null || echo)
        [ $# -ge 13 ] && t=$((t + ${12} + ${13}))
    done
    echo "$t"
}
busy_pct() { # TICKS_BEFORE TICKS_AFTER SECONDS
    awk -v a="$1" -v b="$2" -v s="$3" -v h="$CLK_TCK" 'BEGIN {printf "%.0f", (b - a) / h / s * 100}'
}

# Whole-machine CPU (busy ticks) from /proc/stat, to show how much of the
# machine the run had: other processes (tests, builds) distort every figure.
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
cores_of() { # TICKS SECONDS -> cores busy
    awk -v t="$1" -v s="$2" -v h="$CLK_TCK" 'BEGIN {printf "%.2f", t / h / s}'
}
background_load() { # SECONDS: cores busy while this benchmark runs nothing
    local m0 m1
    m0=$(machine_busy); sleep "$1"; m1=$(machine_busy)
    cores_of $((m1 - m0)) "$1"
}

runs=$work/runs.txt
: >"$runs"
# record KIND ROUND RESULT_LINE K0 K1 M0 M1: one "run" line for a client
# whose result line has ops_per_s, cpu_us_per_op and (maybe) sys_us_per_op.
record() {
    echo "run kind=$1 round=$2 ops=$(echo "$3" | field ops_per_s)" \
        "cpu=$(echo "$3" | field cpu_us_per_op)" \
        "sys=$(echo "$3" | field sys_us_per_op)" \
        "srv=$(busy_pct "$4" "$5" "$SECONDS_PER_RUN")" \
        "mach=$(cores_of $(($7 - $6)) "$SECONDS_PER_RUN")" >>"$runs"
}
prov_run() { # ROUND THREADS
    local out k0 k1 m0 m1
    k0=$(nginx_ticks); m0=$(machine_busy)
    out=$(run_bench -t "$2" -d "$SECONDS_PER_RUN" -w 50) ||
        { echo "$out" >&2; die "provider run with $2 threads had failures"; }
    k1=$(nginx_ticks); m1=$(machine_busy)
    out=$(echo "$out" | grep '^result')
    echo "round $1: $out" >&2
    record "prov_$2" "$1" "$out" "$k0" "$k1" "$m0" "$m1"
}
wrk_run() { # ROUND CONNS THREADS
    local o k0 k1 m0 m1
    k0=$(nginx_ticks); m0=$(machine_busy)
    o=$(BENCH_REQUEST=$work/request.txt wrk -t"$3" -c"$2" -d"${SECONDS_PER_RUN}s" \
        -s "$here/post.lua" "$ENDPOINT/" 2>&1) || { echo "$o" >&2; die "wrk failed"; }
    k1=$(nginx_ticks); m1=$(machine_busy)
    if echo "$o" | grep -qE 'Non-2xx|Socket errors'; then echo "$o" >&2; die "wrk saw errors"; fi
    echo "round $1: wrk -c$2: $(echo "$o" | grep -E 'Requests/sec')" >&2
    echo "run kind=wrk_$2 round=$1 ops=$(echo "$o" | awk '/^Requests\/sec:/ {print $2}')" \
        "srv=$(busy_pct "$k0" "$k1" "$SECONDS_PER_RUN")" \
        "mach=$(cores_of $((m1 - m0)) "$SECONDS_PER_RUN")" >>"$runs"
}

curl_run() { # ROUND: libcurl alone, the captured POST on one reused handle
    local o k0 k1 m0 m1
    k0=$(nginx_ticks); m0=$(machine_busy)
    o=$("$CURL_FLOOR" "$work/request.txt" "$ENDPOINT/" "$CA" "$SECONDS_PER_RUN") ||
        { echo "$o" >&2; die "curl_floor failed"; }
    k1=$(nginx_ticks); m1=$(machine_busy)
    echo "round $1: $o" >&2
    record curl_1 "$1" "$o" "$k0" "$k1" "$m0" "$m1"
}

boto3_run() { # ROUND
    local o k0 k1 m0 m1
    k0=$(nginx_ticks); m0=$(machine_busy)
    o=$(python3 "$here/boto3_loop.py" "$ENDPOINT" "$CA" "$work/in.bin" \
        "$SECONDS_PER_RUN" "$KEY_ID" "Dept=IT") || { echo "$o" >&2; die "boto3 loop failed"; }
    k1=$(nginx_ticks); m1=$(machine_busy)
    echo "round $1: $o" >&2
    record boto3 "$1" "$(echo "$o" | grep '^boto3-result')" "$k0" "$k1" "$m0" "$m1"
}

bg_before=$(background_load 2)
log "background load before the runs: $bg_before cores busy (of $(nproc))"
wrk_threads=2; [ "$WRK_CONNS" -lt 2 ] && wrk_threads=1
# Rounds interleave every configuration, so that a burst of outside load
# hits all of them alike; each figure is the median over the rounds.
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS: provider ($THREADS threads), libcurl alone, wrk (1 and $WRK_CONNS connections), boto3; ${SECONDS_PER_RUN}s each"
    for t in $THREADS; do prov_run "$round" "$t"; done
    curl_run "$round"
    wrk_run "$round" 1 1
    wrk_run "$round" "$WRK_CONNS" "$wrk_threads"
    boto3_run "$round"
done
bg_after=$(background_load 2)
log "background load after the runs: $bg_after cores busy"

log "process wall time: openssl pkeyutl vs aws kms re-encrypt ($CLI_RUNS runs each)"
OSSL_CMD="openssl pkeyutl -provider-path $MODDIR -provider kmsreencrypt -provider default -encrypt -inkey kms:$KEY_ID -pkeyopt source-encryption-context:Dept=IT -in $work/in.bin -out $work/out-ossl.bin"
AWS_CMD="$AWS kms re-encrypt --endpoint-url $ENDPOINT --ca-bundle $CA --region us-east-1 --ciphertext-blob fileb://$work/in.bin --destination-key-id $KEY_ID --source-encryption-context Dept=IT --query CiphertextBlob --output text"
$OSSL_CMD || die "openssl pkeyutl failed"
[ "$(wc -c <"$work/out-ossl.bin")" = $BLOB_LEN ] || die "openssl pkeyutl: wrong output size"
aws_ms=""
if [ -n "$AWS" ]; then
    $AWS_CMD >"$work/out-aws.txt" || die "aws kms re-encrypt failed"
    [ "$(tr -d '\n' <"$work/out-aws.txt")" = "$out_b64" ] || die "aws kms re-encrypt: wrong output"
fi
median_loop() { # RUNS CMD...: median wall time in ms, date +%s%N loop
    local runs=$1 i s e; shift
    for i in $(seq 1 "$runs"); do
        s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
        echo $(((e - s) / 1000))
    done | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}
if [ "$have_hyperfine" = 1 ]; then
    wall_tool=hyperfine
    cmds=("$OSSL_CMD"); [ -n "$AWS" ] && cmds+=("$AWS_CMD")
    hyperfine -N --warmup 2 --runs "$CLI_RUNS" --export-json "$work/hf.json" \
        "${cmds[@]}" >&2 || die "hyperfine failed"
    r=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.1f" % (x["median"] * 1000) for x in r), "" if len(r) > 1 else "-")' "$work/hf.json")
    read -r ossl_ms aws_ms <<<"$r"
    [ "$aws_ms" = "-" ] && aws_ms=""
else
    wall_tool="date +%s%N loop"
    ossl_ms=$(median_loop "$CLI_RUNS" $OSSL_CMD)
    [ -n "$AWS" ] && aws_ms=$(median_loop "$CLI_RUNS" $AWS_CMD)
fi
log "openssl pkeyutl median ${ossl_ms} ms, aws kms re-encrypt median ${aws_ms:-n/a} ms"

log "callgrind, $CG_OPS operations after 20 warm-up"
valgrind --tool=callgrind --toggle-collect=measured_op --dump-instr=no \
    --callgrind-out-file="$work/callgrind.out" \
    "$BENCH" -q -i "$work/in.bin" -k "kms:$KEY_ID" -e $BLOB_LEN -t 1 -n "$CG_OPS" -w 20 "$MODDIR" \
    >"$work/cg.stdout" 2>"$work/cg.stderr" || { tail -20 "$work/cg.stderr" >&2; die "callgrind run failed"; }
python3 "$here/cg_split.py" "$work/callgrind.out" "$CG_OPS" "$root" "$work/cg.json" >"$work/cg.md" ||
    die "cg_split.py failed"
cp "$work/callgrind.out" "$MODDIR/callgrind.out.bench"

log "memory: $MEM_OPS operations on $MEM_THREADS thread(s)"
cps="10000,50000,100000"
[ "$MEM_OPS" != 100000 ] && cps="$((MEM_OPS / 10)),$((MEM_OPS / 2)),$MEM_OPS"
out=$(run_bench -t "$MEM_THREADS" -n "$MEM_OPS" -w 100 -R "$cps") ||
    { echo "$out" >&2; die "memory run had failures"; }
echo "$out" >&2
mem_ops_s=$(echo "$out" | grep '^result' | field ops_per_s)
IFS=, read -r cp1 cp2 cp3 <<<"$cps"
rss_at() { echo "$out" | awk -v n="$1" '$1=="rss" && $2=="ops="n {sub("vmrss_kb=","",$3); print $3}'; }
rss0=$(rss_at 0); rss1=$(rss_at "$cp1"); rss2=$(rss_at "$cp2"); rss3=$(rss_at "$cp3")
hwm=$(echo "$out" | awk '$1=="rss" {sub("vmhwm_kb=","",$4); h=$4} END {print h}')

# ---- 4. table ------------------------------------------------------------
python3 "$here/report.py" >"$work/RESULTS.md" <<EOF
date=$(date -u +%Y-%m-%dT%H:%MZ)
host=$(uname -srm) / $(nproc) cores / $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
versions=$(openssl version | cut -d' ' -f1-2), $(curl --version | head -1 | cut -d' ' -f1-2), nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), boto3 $(python3 -c 'import boto3; print(boto3.__version__)'), $($AWS --version 2>&1 | cut -d' ' -f1)
seconds=$SECONDS_PER_RUN
nginx_workers=$NGINX_WORKERS
request_bytes=$req_bytes
body_bytes=$body_bytes
threads=$THREADS
rounds=$ROUNDS
runs=$runs
bg_before=$bg_before
bg_after=$bg_after
ncpu=$(nproc)
wrk_conns=$WRK_CONNS
ossl_ms=$ossl_ms
aws_ms=$aws_ms
wall_tool=$wall_tool
cli_runs=$CLI_RUNS
cg_ops=$CG_OPS
mem_ops=$MEM_OPS
mem_threads=$MEM_THREADS
mem_ops_s=$mem_ops_s
cp=$cp1,$cp2,$cp3
rss0=$rss0
rss1=$rss1
rss2=$rss2
rss3=$rss3
hwm=$hwm
cg_md=$work/cg.md
cg_json=$work/cg.json
EOF
cat "$work/RESULTS.md"
if [ -n "$RESULTS" ]; then
    # The "## kms-rotate" section is bench/rotate/run.sh's: kept as it was.
    rotate_part=$([ ! -f "$RESULTS" ] || sed -n '/^## kms-rotate/,$p' "$RESULTS")
    cp "$work/RESULTS.md" "$RESULTS"
    [ -z "$rotate_part" ] || printf '\n%s\n' "$rotate_part" >>"$RESULTS"
    log "written to $RESULTS"
fi
