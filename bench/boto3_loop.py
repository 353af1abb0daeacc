#!/usr/bin/env python3
"""boto3_loop.py ENDPOINT CA_BUNDLE INPUT_BLOB [SECONDS] [KEY_ID] [CONTEXT]

ReEncrypt in a loop with ONE boto3 KMS client (one thread, keep-alive
connection pool), as a Python application would: same blob, destination key
and source encryption context as bench_reencrypt.  Warms up with 20 calls,
then measures for SECONDS (default 5) and prints
  boto3-result ops=N failures=F seconds=S ops_per_s=X cpu_us_per_op=C
Any failure is fatal (exit 1).
"""
import sys
import time

import boto3

endpoint, ca, blob_file = sys.argv[1:4]
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
key_id = sys.argv[5] if len(sys.argv) > 5 else "alias/bench"
context = sys.argv[6] if len(sys.argv) > 6 else "Dept=IT"
enc_ctx = dict(kv.split("=", 1) for kv in context.split(",") if kv)
blob = open(blob_file, "rb").read()

kms = boto3.client("kms", endpoint_url=endpoint, verify=ca,
                   region_name="us-east-1")
kwargs = {"CiphertextBlob": blob, "DestinationKeyId": key_id}
if enc_ctx:
    kwargs["SourceEncryptionContext"] = enc_ctx


def once():
    r = kms.re_encrypt(**kwargs)
    if not r.get("CiphertextBlob"):
        raise RuntimeError("empty CiphertextBlob")


for _ in range(20):
    once()
n = 0
c0 = time.process_time()
t0 = time.perf_counter()
end = t0 + seconds
while True:
    once()
    n += 1
    if time.perf_counter() >= end:
        break
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
print(f"boto3-result ops={n} failures=0 seconds={dt:.3f} ops_per_s={n / dt:.1f}"
      f" cpu_us_per_op={cpu * 1e6 / n:.0f}")
