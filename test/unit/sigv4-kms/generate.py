#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes KMS-shaped SigV4 vectors, signed by botocore, in the suite's layout.
"""Generate KMS SigV4 test vectors with botocore.auth.SigV4Auth.

Each case becomes a folder beside this script with the same files as a case
of the AWS SigV4 test suite (context.json, request.txt and the header-*
files), so test_sigv4.c reads both the same way. The clock is pinned by
patching botocore.auth.get_current_datetime.

Usage: python3 generate.py [OUTPUT_DIR]   (default: the script's folder)
"""

import base64
import datetime
import json
import os
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# The token of the suite's post-sts-header-before case.
TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWs"
    "KWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGde"
    "ehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8T"
    "x6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FD"
    "rypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0)

# The worked vector of KMS-PROTOCOL.md section 4, byte for byte.
WORKED_BODY = (
    b'{"CiphertextBlob":"AQIDBAUGBwg=","SourceKeyId":"arn:aws:kms:us-east-1:'
    b'111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","DestinationKey'
    b'Id":"alias/ExampleAlias","DestinationEncryptionContext":{"purpose":"te'
    b'st"}}'
)
WORKED_SIGNATURE = (
    "8c845bd924302e4f22577724e44e74da474044d167b6682ff73f156ea299215f"
)
WORKED_SIGNATURE_TOKEN = (
    "bde7d7522ddf6f814cfff0c8aa31382b2714f6a7c400e790902a859347e37f27"
)


def reencrypt_body(blob, context=None, region="us-east-1"):
    """A compact ReEncrypt request body, as botocore serialises it."""
    body = {
        "CiphertextBlob": base64.b64encode(blob).decode("ascii"),
        "SourceKeyId": f"arn:aws:kms:{region}:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "DestinationKeyId": "alias/ExampleAlias",
    }
    if context is not None:
        body["DestinationEncryptionContext"] = context
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


CASES = [
    {
        "name": "kms-reencrypt-worked-example",
        "url": "https://kms.us-east-1.amazonaws.com/",
        "region": "us-east-1",
        "time": SUITE_TIME,
        "token": None,
        "body": WORKED_BODY,
        "expect": WORKED_SIGNATURE,
    },
    {
        "name": "kms-reencrypt-worked-example-session-token",
        "url": "https://kms.us-east-1.amazonaws.com/",
        "region": "us-east-1",
        "time": SUITE_TIME,
        "token": TOKEN,
        "body": WORKED_BODY,
        "expect": WORKED_SIGNATURE_TOKEN,
    },
    {
        "name": "kms-reencrypt-host-port-eu-west-1",
        "url": "https://kms.eu-west-1.amazonaws.com:8443/",
        "region": "eu-west-1",
        "time": datetime.datetime(2024, 2, 29, 23, 59, 59),
        "token": None,
        "body": reencrypt_body(bytes(range(1, 33)), {"purpose": "test"},
                               "eu-west-1"),
    },
    {
        "name": "kms-reencrypt-loopback-http",
        "url": "http://127.0.0.1:4566/",
        "region": "us-east-1",
        "time": datetime.datetime(2026, 1, 1, 0, 0, 0),
        "token": TOKEN,
        "body": reencrypt_body(b"\x00\xff" * 16),
    },
    {
        "name": "kms-reencrypt-large-body",
        "url": "https://kms.us-east-1.amazonaws.com/",
        "region": "us-east-1",
        "time": datetime.datetime(2025, 12, 31, 23, 59, 59),
        "token": None,
        # 6144 bytes (the CiphertextType maximum), 8 KiB once in base64.
        "body": reencrypt_body(bytes(i * 7 % 256 for i in range(6144)),
                               {"purpose": "large"}),
    },
    {
        "name": "kms-reencrypt-utf8-encryption-context",
        "url": "https://kms.us-east-1.amazonaws.com/",
        "region": "us-east-1",
        "time": datetime.datetime(2024, 7, 14, 8, 30, 0),
        "token": TOKEN,
        "body": reencrypt_body(b"ciphertext",
                               {"département": "Île-de-France ✓ ሴ"}),
    },
]


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth that keeps what each stage returned."""

    def canonical_request(self, request):
        self.recorded_canonical_request = super().canonical_request(request)
        return self.recorded_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.recorded_string_to_sign = super().string_to_sign(
            request, canonical_request
        )
        return self.recorded_string_to_sign

    def signature(self, string_to_sign, request):
        self.recorded_signature = super().signature(string_to_sign, request)
        return self.recorded_signature


def sign(case):
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "TrentService.ReEncrypt",
    }
    request = AWSRequest(method="POST", url=case["url"], headers=headers,
                         data=case["body"])
    auth = RecordingSigV4Auth(Credentials(AKID, SECRET, case["token"]), "kms",
                              case["region"])
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=case["time"]):
        auth.add_auth(request)
    host = auth.headers_to_sign(request)["host"]
    return auth, request, host


def header_lines(pairs):
    return b"".join(f"{k}:{v}\n".encode() for k, v in pairs)


def write(folder, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def context_json(case):
    creds = {"access_key_id": AKID, "secret_access_key": SECRET}
    if case["token"] is not None:
        creds["token"] = case["token"]
    ctx = {
        "credentials": creds,
        "normalize": True,
        "region": case["region"],
        "service": "kms",
        "sign_body": False,
        "timestamp": case["time"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(ctx, indent=4, sort_keys=True) + "\n"


def write_case(outdir, case):
    auth, request, host = sign(case)
    if "expect" in case and auth.recorded_signature != case["expect"]:
        sys.exit(f"{case['name']}: botocore signed {auth.recorded_signature},"
                 f" KMS-PROTOCOL.md says {case['expect']}")
    authz = request.headers["Authorization"]
    if not authz.endswith("Signature=" + auth.recorded_signature):
        sys.exit(f"{case['name']}: Authorization disagrees with signature")
    before = [("Content-Type", request.headers["Content-Type"]),
              ("Host", host),
              ("X-Amz-Target", request.headers["X-Amz-Target"])]
    after = [("X-Amz-Date", request.headers["X-Amz-Date"])]
    if case["token"] is not None:
        after.append(("X-Amz-Security-Token",
                      request.headers["X-Amz-Security-Token"]))
    after.append(("Authorization", authz))
    line = b"POST / HTTP/1.1\n"
    folder = os.path.join(outdir, case["name"])
    os.makedirs(folder, exist_ok=True)
    write(folder, "context.json", context_json(case))
    write(folder, "request.txt",
          line + header_lines(before) + b"\n" + case["body"])
    write(folder, "header-canonical-request.txt",
          auth.recorded_canonical_request)
    write(folder, "header-string-to-sign.txt", auth.recorded_string_to_sign)
    write(folder, "header-signature.txt", auth.recorded_signature)
    write(folder, "header-signed-request.txt",
          line + header_lines(before + after) + b"\n" + case["body"])
    print(f"{case['name']}: {auth.recorded_signature}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    print(f"botocore {botocore.__version__}")
    for case in CASES:
        write_case(outdir, case)


if __name__ == "__main__":
    main()
