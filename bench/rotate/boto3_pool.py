#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""boto3_pool.py ENDPOINT CA_BUNDLE IN_B64 OUT_B64 THREADS KEY_ID

What a scripter writes to re-encrypt a file of base64 blobs: one boto3 KMS
client (its connection pool sized to the threads), a ThreadPoolExecutor,
map() over the lines so the output keeps their order. Prints
  boto3-pool records=N seconds=S records_per_s=X cpu_s=C
Any failure is fatal (exit 1).
"""
import base64
import concurrent.futures
import sys
import time

import boto3
from botocore.config import Config

endpoint, ca, src, dst, threads, key_id = sys.argv[1:7]
threads = int(threads)
kms = boto3.client("kms", endpoint_url=endpoint, verify=ca,
                   region_name="us-east-1",
                   config=Config(max_pool_connections=threads,
                                 retries={"mode": "adaptive"}))
lines = open(src).read().split()


def one(line):
    r = kms.re_encrypt(CiphertextBlob=base64.b64decode(line),
                       DestinationKeyId=key_id)
    return base64.b64encode(r["CiphertextBlob"]).decode()


c0, t0 = time.process_time(), time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(threads) as ex:
    out = list(ex.map(one, lines))
t, c = time.perf_counter() - t0, time.process_time() - c0
with open(dst, "w") as f:
    f.write("\n".join(out) + "\n")
print("boto3-pool records=%d seconds=%.3f records_per_s=%.1f cpu_s=%.2f"
      % (len(out), t, len(out) / t, c))
