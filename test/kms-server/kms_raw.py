#!/usr/bin/env python3
"""kms_raw.py - send one hand-made request to the test KMS server.

For tests that need what the AWS CLI cannot do: wrong secrets, scopes or
clocks, malformed headers or bodies, and the /_control endpoint.  Endpoint,
CA bundle and credentials come from the environment written by
kmsctl.sh (source DIR/env.sh first).

  kms_raw.py OP [JSON] [options]        signed KMS request
  kms_raw.py --control METHOD PATH [JSON]

Prints "STATUS BODY" on success (2xx) and "STATUS (ErrorType) message"
otherwise; exits 0 for 2xx, 1 for an HTTP error, 2 for a connection problem.
"""

import argparse
import datetime
import http.client
import json
import os
import ssl
import sys
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(args, body, headers, host):
    """SigV4 with botocore's signer but our own clock and scope."""
    when = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=args.date_offset)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers["X-Amz-Date"] = amz_date
    headers["Host"] = host
    if args.token:
        headers["X-Amz-Security-Token"] = args.token
    request = AWSRequest(method="POST", url="https://%s/" % host, headers=headers, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(args.akid, args.secret, args.token),
                       args.service, args.region)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s"
        % (args.akid, amz_date[:8], args.region, args.service, signed, signature))


def connect(url):
    parts = urlsplit(url)
    ctx = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx, timeout=30)
    return conn, parts.netloc


def report(status, data, headers=None):
    text = data.decode("utf-8", "replace")
    if 200 <= status < 300:
        print(status, text)
        return 0
    try:
        err = json.loads(text)
        print(status, "(%s)" % err.get("__type"), err.get("message", ""))
    except ValueError:
        print(status, text[:200])
    return 1


def control(args):
    conn, _ = connect(os.environ["KMS_SERVER_URL"])
    method, path = args.op, args.json
    body = (args.extra or "").encode()
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return report(resp.status, resp.read())


def kms(args):
    conn, host = connect(os.environ["KMS_SERVER_URL"])
    body = (args.json if args.json is not None else "{}").encode()
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": args.target or "TrentService." + args.op}
    if args.auth_header is not None:
        headers["Host"] = host
        headers["X-Amz-Date"] = datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        if args.auth_header:
            headers["Authorization"] = args.auth_header
    else:
        sign(args, body, headers, host)
    if args.tamper_body:
        body = body.replace(b"}", b' }', 1)
    bodies = [body] * args.repeat
    rc = 0
    for b in bodies:        # --repeat sends on the same keep-alive connection
        conn.request("POST", "/", body=b, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if args.show_headers:
            for k, v in resp.getheaders():
                print("header %s: %s" % (k.lower(), v))
        rc = report(resp.status, data)
    return rc


def parse(argv):
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("op", help="KMS operation, or METHOD with --control")
    p.add_argument("json", nargs="?", help="request body, or PATH with --control")
    p.add_argument("extra", nargs="?", help="body for --control")
    p.add_argument("--control", action="store_true")
    p.add_argument("--akid", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--token", default=None, help="session token to send and sign")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    p.add_argument("--service", default="kms")
    p.add_argument("--date-offset", type=int, default=0, help="seconds added to the clock")
    p.add_argument("--target", help="raw X-Amz-Target value")
    p.add_argument("--auth-header", help="send this Authorization verbatim ('' = none)")
    p.add_argument("--tamper-body", action="store_true", help="change the body after signing")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--show-headers", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    try:
        return control(args) if args.control else kms(args)
    except (OSError, http.client.HTTPException) as exc:
        print("000 (connection) %s: %s" % (type(exc).__name__, exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
