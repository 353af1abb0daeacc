#!/usr/bin/env python3
"""cg_split.py CALLGRIND_OUT OPS SOURCE_ROOT [JSON_OUT]

Reads a callgrind output file (one event, Ir; collected with
--toggle-collect=measured_op, so it holds exactly OPS measured operations)
and prints, in Markdown, the client instructions per operation:

* split into components, by inclusive cost of the provider's entry points
  into each of them (none of these calls another):
    signing        kmsre_sigv4_sign_request, kmsre_sigv4_key_derive
                   (provider/aws/sigv4*.c: canonical request, SHA-256,
                   HMAC from the day's key)
    JSON           kmsre_reencrypt_encode, kmsre_reencrypt_decode,
                   kmsre_kms_error_parse (provider/kms/reencrypt.c +
                   json-c + base64)
    HTTP/TLS       kmsre_http_send (provider/http/: the per-origin pool and
                   curl_easy_perform = libcurl + libssl + libcrypto record
                   crypto + syscalls)
    provider rest  everything else under measured_op: EVP dispatch,
                   EVP_PKEY_encrypt_init_ex, the size query, parameter
                   handling, sessions, retries, copying the answer
* self cost by object (shared library) and, inside the provider, by source
  file;
* the top functions by self and by inclusive cost.

The file is parsed directly (not through callgrind_annotate) so that
functions are keyed by (object, name) and inlined code (fi=/fe=) stays with
its function; callgrind_annotate --inclusive=yes gives the same inclusive
figures split by file.  JSON_OUT, when given, receives the category figures.
"""
import collections
import json
import os
import re
import sys

path, ops, src_root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
json_out = sys.argv[4] if len(sys.argv) > 4 else None

CATEGORIES = [
    ("signing (SigV4: sigv4*.c, SHA-256, HMAC)",
     ["kmsre_sigv4_sign_request", "kmsre_sigv4_key_derive"]),
    ("JSON (reencrypt.c, json-c, base64)",
     ["kmsre_reencrypt_encode", "kmsre_reencrypt_decode",
      "kmsre_kms_error_parse"]),
    ("HTTP/TLS (http/, libcurl, libssl)",
     ["kmsre_http_send"]),
]
TOP = "measured_op"

names = {"ob": {}, "fl": {}, "fn": {}}
KIND = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl",
        "cfi": "fl", "cfl": "fl", "fn": "fn", "cfn": "fn"}
comp = re.compile(r"^\((\d+)\)(?: (.*))?$")


def resolve(kind, value):
    m = comp.match(value)
    if not m:
        return value
    ident, name = m.group(1), m.group(2)
    table = names[KIND[kind]]
    if name is not None:
        table[ident] = name
        return name
    return table.get(ident, "?" + ident)


self_cost = collections.Counter()
incl_calls = collections.Counter()      # cost of calls made (not self)
edges = collections.Counter()           # (caller, callee) -> inclusive cost
n_calls = collections.Counter()         # callee -> number of calls
fn_file = {}
summary = None

ob = fl = fn = None
cob = cfn = None
pending_call = False
with open(path, encoding="utf-8", errors="replace") as f:
    for raw in f:
        line = raw.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        c0 = line[0]
        if c0.isdigit() or c0 in "+-*":
            parts = line.split()
            cost = int(parts[1]) if len(parts) > 1 else 0
            cur = (ob, fn)
            if pending_call:
                callee = (cob if cob is not None else ob, cfn)
                if callee != cur:       # recursion would count twice
                    incl_calls[cur] += cost
                    edges[(cur, callee)] += cost
                    n_calls[callee] += pending_n
                pending_call = False
                cob = cfn = None
            else:
                self_cost[cur] += cost
            continue
        key, _, value = line.partition("=")
        if key == "ob":
            ob = resolve("ob", value)
        elif key == "fl":
            fl = resolve("fl", value)
        elif key in ("fi", "fe"):
            resolve(key, value)
        elif key == "fn":
            fn = resolve("fn", value)
            fn_file.setdefault((ob, fn), fl)
        elif key == "cob":
            cob = resolve("cob", value)
        elif key in ("cfi", "cfl"):
            resolve(key, value)
        elif key == "cfn":
            cfn = resolve("cfn", value)
        elif key == "calls":
            pending_call = True
            pending_n = int(value.split()[0])
        elif line.startswith("summary:"):
            summary = int(line.split(":", 1)[1])
        elif line.startswith("totals:"):
            summary = summary or int(line.split(":", 1)[1])

funcs = set(self_cost) | set(incl_calls)
incl = {k: self_cost[k] + incl_calls[k] for k in funcs}
total = summary if summary else sum(self_cost.values())
top_keys = [k for k in funcs if k[1] == TOP]
if top_keys:
    total_top = sum(incl[k] for k in top_keys)
else:
    total_top = total
if total_top == 0:
    sys.exit("cg_split: no cost collected (was measured_op inlined?)")


def by_name(name):
    return [k for k in funcs if k[1] == name]


def short_ob(o):
    return os.path.basename(o or "?")


rows = []
used = 0
for label, roots in CATEGORIES:
    keys = []
    for r in roots:
        keys += by_name(r)
        if keys and r == "curl_send":
            break                       # kmsre_http_send only as fallback
    cost = sum(incl[k] for k in keys)
    # nested roots would be counted twice: subtract calls between them
    for a in keys:
        for b in keys:
            cost -= edges.get((a, b), 0)
    rows.append((label, cost, ", ".join(sorted({k[1] for k in keys})) or "-"))
    used += cost
rows.append(("provider overhead (rest under EVP_PKEY_encrypt*)",
             total_top - used, "EVP, init, params, sessions, copies"))


def per_op(c):
    return c / ops


out = []
out.append("Client instructions (Ir) per ReEncrypt, callgrind, "
           f"{ops} operations after warm-up, 1 thread "
           f"(total collected {total_top:,} Ir):\n")
out.append("| component | Ir/op | share | entry points |")
out.append("| --- | ---: | ---: | --- |")
for label, cost, roots in rows:
    out.append(f"| {label} | {per_op(cost):,.0f} | {100 * cost / total_top:.1f}% | {roots} |")
out.append(f"| **total** | **{per_op(total_top):,.0f}** | 100% | measured_op |")

# Self cost by object, and inside the provider by source file.
by_ob = collections.Counter()
by_file = collections.Counter()
for k, c in self_cost.items():
    by_ob[short_ob(k[0])] += c
    if short_ob(k[0]) == "kmsreencrypt.so":
        fname = fn_file.get(k) or "?"
        if fname.startswith(src_root):
            fname = os.path.relpath(fname, src_root)
        by_file[fname] += c
out.append("\nSelf cost by object (where the instructions execute):\n")
out.append("| object | Ir/op | share |")
out.append("| --- | ---: | ---: |")
for o, c in by_ob.most_common():
    if c * 1000 < total:
        continue
    out.append(f"| {o} | {per_op(c):,.0f} | {100 * c / total:.1f}% |")
out.append("\nSelf cost inside kmsreencrypt.so by source file:\n")
out.append("| file | Ir/op |")
out.append("| --- | ---: |")
for fname, c in by_file.most_common():
    out.append(f"| {fname} | {per_op(c):,.0f} |")


callers = collections.defaultdict(collections.Counter)
for (a, b), c in edges.items():
    callers[b][a] += c


def named_caller(k, depth=0):
    """The costliest caller chain up to a function with a symbol."""
    if not callers[k] or depth > 8:
        return None
    up = callers[k].most_common(1)[0][0]
    if not up[1].startswith("0x"):
        return up[1]
    return named_caller(up, depth + 1)


def fname_of(k):
    name = f"`{k[1]}` ({short_ob(k[0])})"
    if k[1].startswith("0x"):
        via = named_caller(k)
        if via:
            name += f" under `{via}`"
    return name


# Call counts include some of the warm-up calls (callgrind counts calls even
# while collection is off): they are scaled so that kms_client_reencrypt,
# called exactly once per operation, shows 1.0.
do_op_calls = sum(n_calls[k] for k in by_name("kms_client_reencrypt")) or ops


out.append("\nTop functions by self cost:\n")
out.append("| function (object) | self Ir/op | share | calls/op |")
out.append("| --- | ---: | ---: | ---: |")
for k, c in self_cost.most_common(20):
    out.append(f"| {fname_of(k)} | {per_op(c):,.0f} | {100 * c / total:.1f}%"
               f" | {n_calls[k] / do_op_calls:.1f} |")

out.append("\nTop functions by inclusive cost (below measured_op; "
           "libcurl's internal functions have no symbols in Debian's "
           "package and show as addresses):\n")
out.append("| function (object) | incl Ir/op | share | calls/op |")
out.append("| --- | ---: | ---: | ---: |")
skip = {TOP, "do_op", "worker_main", "start_thread", "clone", "0x0000000000000000"}
ranked = sorted((k for k in funcs if k[1] not in skip),
                key=lambda k: -incl[k])
shown = 0
for k in ranked:
    if shown == 30:
        break
    c = incl[k]
    out.append(f"| {fname_of(k)} | {per_op(c):,.0f} | {100 * c / total_top:.1f}%"
               f" | {n_calls[k] / do_op_calls:.1f} |")
    shown += 1
print("\n".join(out))

if json_out:
    with open(json_out, "w") as f:
        json.dump({"ops": ops, "total_per_op": per_op(total_top),
                   "categories": [{"label": l, "per_op": per_op(c),
                                   "share": c / total_top, "roots": r}
                                  for l, c, r in rows]}, f, indent=1)
