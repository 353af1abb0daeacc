#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kms-rotate --lines as the unit a distributed engine runs: Dask distributed
# (Debian's python3-distributed), a scheduler and two worker processes on
# 127.0.0.1, a bag of 600 base64 blobs in 6 partitions, each partition piped
# through `kms-rotate --lines --rate 60` (the workers' share of a 120/s
# quota). Every output decrypts (botocore at the local KMS) to the original
# plaintext, in order, and both workers did some of the work.
# Usage: rotate_dask.sh BUILD_DIR SOURCE_DIR (KMS_ROTATE_BIN: the tool)
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ROT=${KMS_ROTATE_BIN:-$BUILD_DIR/apps/kms-rotate}
[ -x "$ROT" ] || bail "no kms-rotate at $ROT (set KMS_ROTATE_BIN)"
DASK_PY=${DASK_PYTHON:-/usr/bin/python3}
"$DASK_PY" -c 'import distributed, dask.bag' 2>/dev/null ||
    bail "no Dask distributed for $DASK_PY (python3-distributed, test/install-deps.sh)"
H=(python3 "$SOURCE_DIR/test/integration/rotate_helper.py")
export OPENSSL_MODULES=$BUILD_DIR

start_kms
OLD=$(new_key) || die "create the old key"
NEW_ARN=$(new_key_arn) || die "create the new key"
aws kms create-alias --alias-name alias/new --target-key-id "${NEW_ARN##*/}" || die "alias"
cd "$WORK"
"${H[@]}" make-lines 600 "$OLD" --ctx '{"Dept":"IT"}' >in.b64 || die "make lines"

# A scheduler and two single-threaded worker processes, on loopback only.
export DASK_DISTRIBUTED__WORKER__DAEMON=False
"$DASK_PY" -m distributed.cli.dask_scheduler --host 127.0.0.1 --port 0 \
    --dashboard-address :0 --scheduler-file "$WORK/sched.json" \
    >sched.log 2>&1 &
SCHED=$!
for _ in $(seq 100); do [ -s sched.json ] && break; sleep 0.2; done
[ -s sched.json ] || { sed 's/^/#   /' sched.log; die "start the Dask scheduler"; }
WORKERS=()
for i in 1 2; do
    "$DASK_PY" -m distributed.cli.dask_worker --scheduler-file "$WORK/sched.json" \
        --host 127.0.0.1 --nworkers 1 --nthreads 1 --no-dashboard \
        --name "w$i" >"worker$i.log" 2>&1 &
    WORKERS+=($!)
done
trap 'kill "${WORKERS[@]}" $SCHED 2>/dev/null || true; cleanup' EXIT

"$DASK_PY" - "$WORK/sched.json" "$ROT" in.b64 out.b64 >dask.out 2>dask.err <<'EOF'
import os, subprocess, sys, time
import dask.bag as db
from distributed import Client, get_worker

sched, rot, src, dst = sys.argv[1:]
client = Client(scheduler_file=sched, timeout=60)
client.wait_for_workers(2, timeout=60)
WORKERS = 2
QUOTA = 120.0  # requests per second for the whole job

def rotate(lines):
    """One partition through the filter; line i out answers line i in."""
    lines = list(lines)
    p = subprocess.run(
        [rot, "--lines", "--to", "alias/new", "--from-context", "Dept=IT",
         "--rate", str(QUOTA / WORKERS), "--jobs", "8", "--no-progress"],
        input="".join(l + "\n" for l in lines).encode(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        raise RuntimeError("kms-rotate exit %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
    out = p.stdout.decode().split("\n")[:-1]
    assert len(out) == len(lines), (len(out), len(lines))
    return [(get_worker().name, l) for l in out]

lines = open(src).read().split()
bag = db.from_sequence(lines, npartitions=6)
t0 = time.monotonic()
res = bag.map_partitions(rotate).compute()
print("rotated %d lines in %.1f s" % (len(res), time.monotonic() - t0))
print("by worker:", {w: sum(1 for x, _ in res if x == w) for w, _ in res})
with open(dst, "w") as f:
    for _, l in res:
        f.write(l + "\n")
client.close()
EOF
rc=$?
sed 's/^/#   /' dask.out
[ "$rc" -eq 0 ] || tail -n 30 dask.err | sed 's/^/#   /'
check "Dask: 6 partitions through kms-rotate --lines on 2 workers" test "$rc" -eq 0
check "Dask: both workers ran partitions" \
    bash -c "grep -q \"'w1': [1-9]\" dask.out && grep -q \"'w2': [1-9]\" dask.out"
check "Dask: every output decrypts to its plaintext, in order" \
    "${H[@]}" check-lines out.b64 "$NEW_ARN" --ctx '{"Dept":"IT"}'

finish
