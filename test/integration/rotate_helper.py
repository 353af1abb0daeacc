#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test helper of kms-rotate: makes many KMS ciphertexts quickly and checks
every output by decrypting it at the local KMS with botocore.

Plaintexts are deterministic, so a check needs no copy of them:
record i's plaintext is b"plain-<i>" (files: b"plain-<relative path>").

  make-lines N KEY [--ctx JSON] [--ctx-field NAME]    base64 lines on stdout
  make-jsonl N KEY --field DOTTED [--ctx-field NAME]  JSON Lines on stdout
  make-csv N KEY --column NAME [--ctx-column NAME]    CSV on stdout
  make-files DIR N KEY [--ctx JSON]                   DIR/dNN/fNNNNN.enc
  check-lines FILE ARN [--ctx JSON] [--ctx-field F] [--skip-bad]
  check-jsonl FILE ARN --field DOTTED [--ctx-field F]
  check-csv FILE ARN --column NAME [--ctx-column C]
  check-files DIR ARN [--ctx JSON]                    every *.enc
Per-record contexts (--ctx-field/--ctx-column) are {"row": "<i>"}.
A check prints one line per bad record and "checked N" and exits 1 if any
record does not decrypt to its plaintext under key ARN (or is empty).
Environment: the local KMS's env.sh (AWS_ENDPOINT_URL, AWS_CA_BUNDLE, ...).
"""
import argparse
import base64
import concurrent.futures
import csv
import io
import json
import os
import sys

import botocore.session
from botocore.config import Config


def client():
    s = botocore.session.get_session()
    return s.create_client(
        "kms",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        verify=os.environ["AWS_CA_BUNDLE"],
        region_name=os.environ["AWS_REGION"],
        config=Config(max_pool_connections=16,
                      retries={"max_attempts": 10, "mode": "standard"}),
    )


KMS = None


def kms():
    global KMS
    if KMS is None:
        KMS = client()
    return KMS


def pmap(fn, items):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(fn, items))


def encrypt(key, plain, ctx):
    args = {"KeyId": key, "Plaintext": plain}
    if ctx:
        args["EncryptionContext"] = ctx
    return kms().encrypt(**args)["CiphertextBlob"]


def row_ctx(i):
    return {"row": str(i)}


def make_blobs(n, key, ctx, per_row):
    return pmap(lambda i: encrypt(key, b"plain-%d" % i,
                                  row_ctx(i) if per_row else ctx), range(n))


def set_path(obj, dotted, value):
    parts = dotted.split(".")
    for p in parts[:-1]:
        obj = obj.setdefault(p, {})
    obj[parts[-1]] = value


def get_path(obj, dotted):
    for p in dotted.split("."):
        obj = obj[p]
    return obj


def check_one(blob, arn, ctx, want):
    """None if blob decrypts to want under arn, else a reason."""
    try:
        args = {"CiphertextBlob": blob}
        if ctx:
            args["EncryptionContext"] = ctx
        r = kms().decrypt(**args)
    except Exception as e:  # noqa: BLE001 - the reason is reported
        return "does not decrypt: %s" % e
    if r["KeyId"] != arn:
        return "under %s, not %s" % (r["KeyId"], arn)
    if r["Plaintext"] != want:
        return "plaintext %r, not %r" % (r["Plaintext"][:40], want)
    return None


def report(results, labels):
    bad = 0
    for label, why in zip(labels, results):
        if why is not None:
            bad += 1
            if bad <= 20:
                print("bad %s: %s" % (label, why))
    print("checked %d, bad %d" % (len(results), bad))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--ctx")
    ap.add_argument("--ctx-field")
    ap.add_argument("--ctx-column")
    ap.add_argument("--field")
    ap.add_argument("--column")
    ap.add_argument("--skip-bad", action="store_true",
                    help="check-lines: lines that are not base64 are skipped")
    a = ap.parse_args()
    ctx = json.loads(a.ctx) if a.ctx else None
    out = sys.stdout

    if a.cmd == "make-lines":
        n, key = int(a.args[0]), a.args[1]
        for b in make_blobs(n, key, ctx, a.ctx_field is not None):
            out.write(base64.b64encode(b).decode() + "\n")
    elif a.cmd == "make-jsonl":
        n, key = int(a.args[0]), a.args[1]
        blobs = make_blobs(n, key, ctx, a.ctx_field is not None)
        for i, b in enumerate(blobs):
            rec = {"id": i, "name": "row %d" % i}
            set_path(rec, a.field, base64.b64encode(b).decode())
            if a.ctx_field:
                rec[a.ctx_field] = row_ctx(i)
            rec["tail"] = [i, None, True, 1.5]
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
    elif a.cmd == "make-csv":
        n, key = int(a.args[0]), a.args[1]
        blobs = make_blobs(n, key, ctx, a.ctx_column is not None)
        w = csv.writer(out, lineterminator="\n")
        cols = ["id", a.column, "note"] + ([a.ctx_column] if a.ctx_column else [])
        w.writerow(cols)
        for i, b in enumerate(blobs):
            row = [i, base64.b64encode(b).decode(), 'a "quoted", note\nline 2']
            if a.ctx_column:
                row.append(json.dumps(row_ctx(i)))
            w.writerow(row)
    elif a.cmd == "make-files":
        d, n, key = a.args[0], int(a.args[1]), a.args[2]
        rels = ["d%02d/f%05d.enc" % (i % 20, i) for i in range(n)]
        blobs = pmap(lambda r: encrypt(key, b"plain-" + r.encode(), ctx), rels)
        for rel, b in zip(rels, blobs):
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "wb") as f:
                f.write(b)
    elif a.cmd == "check-lines":
        path, arn = a.args
        items, labels = [], []
        with open(path) as f:
            for i, line in enumerate(f):
                line = line.rstrip("\n")
                try:
                    blob = base64.b64decode(line, validate=True)
                except ValueError:
                    if a.skip_bad:
                        continue
                    blob = b""
                items.append((blob, row_ctx(i) if a.ctx_field else ctx,
                              b"plain-%d" % i))
                labels.append("line %d" % (i + 1))
        return report(pmap(lambda t: check_one(t[0], arn, t[1], t[2]), items),
                      labels)
    elif a.cmd == "check-jsonl":
        path, arn = a.args
        items, labels = [], []
        with open(path) as f:
            for i, line in enumerate(f):
                rec = json.loads(line)
                ok_shape = (rec.get("id") == i and rec.get("name") == "row %d" % i
                            and rec.get("tail") == [i, None, True, 1.5]
                            and list(rec)[0] == "id")
                if not ok_shape:
                    print("bad line %d: other members changed: %s" % (i + 1, line[:200]))
                    return 1
                items.append((base64.b64decode(get_path(rec, a.field)),
                              row_ctx(i) if a.ctx_field else ctx, b"plain-%d" % i))
                labels.append("line %d" % (i + 1))
        return report(pmap(lambda t: check_one(t[0], arn, t[1], t[2]), items),
                      labels)
    elif a.cmd == "check-csv":
        path, arn = a.args
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        head, rows = rows[0], rows[1:]
        col = head.index(a.column)
        items, labels = [], []
        for i, row in enumerate(rows):
            if row[0] != str(i) or row[2] != 'a "quoted", note\nline 2':
                print("bad record %d: other fields changed: %r" % (i + 1, row))
                return 1
            items.append((base64.b64decode(row[col]),
                          row_ctx(i) if a.ctx_column else ctx, b"plain-%d" % i))
            labels.append("record %d" % (i + 1))
        return report(pmap(lambda t: check_one(t[0], arn, t[1], t[2]), items),
                      labels)
    elif a.cmd == "check-files":
        d, arn = a.args
        items, labels = [], []
        for root, _, names in os.walk(d):
            for n in sorted(names):
                if not n.endswith(".enc"):
                    continue
                p = os.path.join(root, n)
                rel = os.path.relpath(p, d)
                with open(p, "rb") as f:
                    blob = f.read()
                items.append((blob, ctx, b"plain-" + rel.encode()))
                labels.append(rel)
        return report(pmap(lambda t: check_one(t[0], arn, t[1], t[2])
                           if t[0] else "empty file", items), labels)
    else:
        ap.error("unknown command " + a.cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
