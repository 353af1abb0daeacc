#!/usr/bin/env python3
"""Local stand-in for AWS KMS, for the provider's tests.

Speaks the AWS JSON 1.1 protocol ("TrentService") over HTTPS on 127.0.0.1,
verifies SigV4 with botocore's own signer and does real cryptography
(AES-256-GCM for symmetric keys, RSA-OAEP for RSA keys).

Only the Python standard library, botocore and cryptography are used, and only
APIs that already exist in Debian 12 (botocore 1.29, cryptography 38).

Status-code policy (see KMS-PROTOCOL.md 2.2): the Smithy model gives some KMS
errors 404/409/503, but logs of the real service show 400 for several of them.
This server uses ONE consistent policy: every client error is 400, except
DryRunOperationException which is 412 (what clients must recognise as
"allowed"); server faults (KMSInternalException, injected faults) are 5xx.
Clients must classify errors by "__type", never by status.
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

JSON_CT = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."
MAX_BODY = 1024 * 1024          # far above any legal KMS request
SKEW = datetime.timedelta(minutes=5)
AMZ_DATE_FMT = "%Y%m%dT%H%M%SZ"

ENC_ALGS = ["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"]
KEY_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
             "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
             "HMAC_256", "HMAC_384", "HMAC_512", "SM2", "ML_DSA_44", "ML_DSA_65",
             "ML_DSA_87", "ECC_NIST_EDWARDS25519"]
CMK_SPECS = KEY_SPECS[:13]
KEY_USAGES = ["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"]
ORIGINS = ["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]
GRANT_OPS = ["Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
             "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey",
             "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
             "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
             "DeriveSharedSecret"]
RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
OAEP_HASH = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
RSA_SIGNING_ALGS = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                    "RSASSA_PKCS1_V1_5_SHA_512"]

# Symmetric ciphertext blob: VERSION(1) | key id (36 ASCII) | nonce(12) | GCM ct+tag.
BLOB_VERSION = 1
BLOB_HDR = 1 + 36
NONCE_LEN = 12
TAG_LEN = 16

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ALIAS_RE = re.compile(r"^[a-zA-Z0-9:/_-]+$")
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 (.*)$", re.S)

MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED = "The security token included in the request is expired"
MSG_BAD_SIG = ("The request signature we calculated does not match the signature you "
               "provided. Check your AWS Secret Access Key and signing method. Consult "
               "the service documentation for details.")
MSG_THROTTLE = ("You have exceeded the rate at which you may call KMS. Reduce the "
                "frequency of your calls.")


class KmsError(Exception):
    """An error answered as {"__type": code, "message": message}."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(*problems):
    n = len(problems)
    noun = "error" if n == 1 else "errors"
    return KmsError("ValidationException",
                    "%d validation %s detected: %s" % (n, noun, "; ".join(problems)))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def b64(data):
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------
# Request schema: member -> (type, constraints).  Hand-written from the KMS
# model (testdata/kms-service-2.json) so behaviour does not depend on the
# botocore version installed (Debian's 1.29 predates DryRun).
# --------------------------------------------------------------------------

def S(lo=None, hi=None, enum=None, pattern=None, sensitive=False):
    return ("string", dict(min=lo, max=hi, enum=enum, pattern=pattern, sensitive=sensitive))


def B(lo=None, hi=None):
    return ("blob", dict(min=lo, max=hi))


def I(lo=None, hi=None):
    return ("integer", dict(min=lo, max=hi))


BOOL = ("boolean", {})
MAP = ("map", {})
KEY_ID = S(1, 2048)
GRANT_TOKENS = ("list", dict(max=10, member=S(1, 8192)))
ANY = ("any", {})

SCHEMAS = {
    "CreateKey": ({}, dict(
        Policy=S(1, 131072), Description=S(0, 8192), KeyUsage=S(enum=KEY_USAGES),
        CustomerMasterKeySpec=S(enum=CMK_SPECS), KeySpec=S(enum=KEY_SPECS),
        Origin=S(enum=ORIGINS), CustomKeyStoreId=S(1, 64),
        BypassPolicyLockoutSafetyCheck=BOOL, Tags=("list", dict(member=ANY)),
        MultiRegion=BOOL, XksKeyId=S(1, 128))),
    "CreateAlias": ({"AliasName", "TargetKeyId"}, dict(
        AliasName=S(1, 256, pattern=ALIAS_RE), TargetKeyId=KEY_ID)),
    "DescribeKey": ({"KeyId"}, dict(KeyId=KEY_ID, GrantTokens=GRANT_TOKENS)),
    "ListKeys": ({}, dict(Limit=I(1, 1000), Marker=S(1, 1024))),
    "ListAliases": ({}, dict(KeyId=KEY_ID, Limit=I(1, 1000), Marker=S(1, 1024))),
    "Encrypt": ({"KeyId", "Plaintext"}, dict(
        KeyId=KEY_ID, Plaintext=B(1, 4096), EncryptionContext=MAP,
        GrantTokens=GRANT_TOKENS, EncryptionAlgorithm=S(enum=ENC_ALGS), DryRun=BOOL)),
    "Decrypt": ({}, dict(
        CiphertextBlob=B(1, 6144), EncryptionContext=MAP, GrantTokens=GRANT_TOKENS,
        KeyId=KEY_ID, EncryptionAlgorithm=S(enum=ENC_ALGS), Recipient=ANY,
        DryRun=BOOL, DryRunModifiers=("list", dict(member=S(enum=["IGNORE_CIPHERTEXT"]))))),
    "ReEncrypt": ({"DestinationKeyId"}, dict(
        CiphertextBlob=B(1, 6144), SourceEncryptionContext=MAP, SourceKeyId=KEY_ID,
        DestinationKeyId=KEY_ID, DestinationEncryptionContext=MAP,
        SourceEncryptionAlgorithm=S(enum=ENC_ALGS),
        DestinationEncryptionAlgorithm=S(enum=ENC_ALGS), GrantTokens=GRANT_TOKENS,
        DryRun=BOOL, DryRunModifiers=("list", dict(member=S(enum=["IGNORE_CIPHERTEXT"]))))),
    "GenerateDataKey": ({"KeyId"}, dict(
        KeyId=KEY_ID, EncryptionContext=MAP, NumberOfBytes=I(1, 1024),
        KeySpec=S(enum=["AES_256", "AES_128"]), GrantTokens=GRANT_TOKENS,
        Recipient=ANY, DryRun=BOOL)),
    "GetPublicKey": ({"KeyId"}, dict(KeyId=KEY_ID, GrantTokens=GRANT_TOKENS)),
    "EnableKey": ({"KeyId"}, dict(KeyId=KEY_ID)),
    "DisableKey": ({"KeyId"}, dict(KeyId=KEY_ID)),
    "ScheduleKeyDeletion": ({"KeyId"}, dict(KeyId=KEY_ID, PendingWindowInDays=I(1, 365))),
    "CancelKeyDeletion": ({"KeyId"}, dict(KeyId=KEY_ID)),
    "CreateGrant": ({"KeyId", "Operations"}, dict(
        KeyId=KEY_ID, GranteePrincipal=S(1, 256), RetiringPrincipal=S(1, 256),
        Operations=("list", dict(member=S(enum=GRANT_OPS))), Constraints=ANY,
        GrantTokens=GRANT_TOKENS, Name=S(1, 256), DryRun=BOOL,
        GranteeServicePrincipal=S(1, 256), RetiringServicePrincipal=S(1, 256))),
}


def camel(name):
    return name[0].lower() + name[1:]


def check_types(op, body):
    """Decode the JSON body against the schema.  Wrong JSON types and bad
    base64 are SerializationException (the front end cannot even deserialise
    them); constraint violations are collected as ValidationException."""
    required, members = SCHEMAS[op]
    args = {}
    problems = []
    for name, value in body.items():
        if name not in members or value is None:
            continue        # unknown members are ignored, like the service does
        args[name] = decode_member(name, members[name], value, problems, camel(name))
    for name in sorted(required):
        if name not in args:
            problems.append("Value null at '%s' failed to satisfy constraint: "
                            "Member must not be null" % camel(name))
    if problems:
        raise validation_error(*problems)
    return args


def decode_member(name, spec, value, problems, path):
    kind, c = spec
    if kind == "any":
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        check_string(value, c, problems, path)
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        try:
            data = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise KmsError("SerializationException",
                           "Invalid base64: \"%s\"" % value[:64])
        check_length("Value at '%s'" % path, len(data), c, problems)
        return data
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        if c.get("min") is not None and value < c["min"]:
            problems.append("Value '%d' at '%s' failed to satisfy constraint: Member must "
                            "have value greater than or equal to %d" % (value, path, c["min"]))
        if c.get("max") is not None and value > c["max"]:
            problems.append("Value '%d' at '%s' failed to satisfy constraint: Member must "
                            "have value less than or equal to %d" % (value, path, c["max"]))
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        return value
    if kind == "map":
        if not isinstance(value, dict):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        for k, v in value.items():
            if not isinstance(v, str):
                raise KmsError("SerializationException",
                               "Unexpected value type in payload for member '%s'" % name)
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise KmsError("SerializationException",
                           "Unexpected value type in payload for member '%s'" % name)
        out = [decode_member(name, c["member"], v, problems, "%s.%d.member" % (path, i + 1))
               for i, v in enumerate(value)]
        if c.get("max") is not None and len(value) > c["max"]:
            problems.append("Value '[%s]' at '%s' failed to satisfy constraint: Member must "
                            "have length less than or equal to %d"
                            % (", ".join(str(v) for v in value), path, c["max"]))
        return out
    raise AssertionError(kind)


def check_string(value, c, problems, path):
    shown = "Value at '%s'" % path if c.get("sensitive") else "Value '%s' at '%s'" % (value, path)
    check_length(shown, len(value), c, problems)
    if c.get("enum") and value not in c["enum"]:
        problems.append("%s failed to satisfy constraint: Member must satisfy enum value "
                        "set: [%s]" % (shown, ", ".join(c["enum"])))
    if c.get("pattern") is not None and value and not c["pattern"].match(value):
        problems.append("%s failed to satisfy constraint: Member must satisfy regular "
                        "expression pattern: %s" % (shown, c["pattern"].pattern))


def check_length(shown, n, c, problems):
    if c.get("min") is not None and n < c["min"]:
        problems.append("%s failed to satisfy constraint: Member must have length greater "
                        "than or equal to %d" % (shown, c["min"]))
    if c.get("max") is not None and n > c["max"]:
        problems.append("%s failed to satisfy constraint: Member must have length less "
                        "than or equal to %d" % (shown, c["max"]))


# --------------------------------------------------------------------------
# Keys and the key store
# --------------------------------------------------------------------------

class Key:
    def __init__(self, server, spec, usage, description):
        self.id = str(uuid.uuid4())
        self.arn = server.key_arn(self.id)
        self.account = server.account
        self.spec = spec
        self.usage = usage
        self.description = description
        self.created = time.time()
        self.state = "Enabled"
        self.deletion_date = None
        self.material_id = secrets.token_hex(32)
        self.aes = None
        self.rsa = None
        if spec == "SYMMETRIC_DEFAULT":
            self.aes = AESGCM(secrets.token_bytes(32))
        else:
            self.rsa = rsa.generate_private_key(public_exponent=65537,
                                                key_size=RSA_BITS[spec])

    @property
    def symmetric(self):
        return self.spec == "SYMMETRIC_DEFAULT"

    def encryption_algorithms(self):
        if self.usage != "ENCRYPT_DECRYPT":
            return None
        return ["SYMMETRIC_DEFAULT"] if self.symmetric else sorted(OAEP_HASH)

    def metadata(self):
        md = {
            "AWSAccountId": self.account,
            "KeyId": self.id,
            "Arn": self.arn,
            "CreationDate": self.created,
            "Enabled": self.state == "Enabled",
            "Description": self.description,
            "KeyUsage": self.usage,
            "KeyState": self.state,
            "Origin": "AWS_KMS",
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": self.spec,
            "KeySpec": self.spec,
            "MultiRegion": False,
        }
        if self.encryption_algorithms():
            md["EncryptionAlgorithms"] = self.encryption_algorithms()
        if self.usage == "SIGN_VERIFY":
            md["SigningAlgorithms"] = RSA_SIGNING_ALGS
        if self.symmetric:
            md["CurrentKeyMaterialId"] = self.material_id
        if self.deletion_date is not None:
            md["DeletionDate"] = self.deletion_date
        return md


def canonical_context(ctx):
    """Encryption context as authenticated data: keys sorted, no spaces."""
    return json.dumps(ctx or {}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sym_encrypt(key, plaintext, ctx):
    header = bytes([BLOB_VERSION]) + key.id.encode("ascii")
    nonce = secrets.token_bytes(NONCE_LEN)
    return header + nonce + key.aes.encrypt(nonce, plaintext, header + canonical_context(ctx))


def parse_sym_blob(blob):
    """Return the key id named by a symmetric blob, or None if it is not one."""
    if len(blob) < BLOB_HDR + NONCE_LEN + TAG_LEN or blob[0] != BLOB_VERSION:
        return None
    try:
        key_id = blob[1:BLOB_HDR].decode("ascii")
    except UnicodeDecodeError:
        return None
    return key_id if UUID_RE.match(key_id) else None


def sym_decrypt(key, blob, ctx):
    header, nonce, body = blob[:BLOB_HDR], blob[BLOB_HDR:BLOB_HDR + NONCE_LEN], blob[BLOB_HDR + NONCE_LEN:]
    try:
        return key.aes.decrypt(nonce, body, header + canonical_context(ctx))
    except InvalidTag:
        raise invalid_ciphertext()


def oaep(alg):
    h = OAEP_HASH[alg]
    return padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)


def rsa_max_plaintext(key, alg):
    k = RSA_BITS[key.spec] // 8
    return k - 2 * OAEP_HASH[alg].digest_size - 2


def invalid_ciphertext():
    # Real KMS sends an empty message here; a short hint helps when debugging.
    return KmsError("InvalidCiphertextException", "The ciphertext is invalid.")


class Store:
    """All keys, aliases and grants.  One lock: the server is for tests."""

    def __init__(self, server):
        self.server = server
        self.lock = threading.RLock()
        self.keys = {}          # key id -> Key (insertion ordered)
        self.aliases = {}       # alias name -> dict(target, created, updated)
        self.grants = {}        # grant id -> dict
        self.grant_tokens = set()

    def resolve(self, ref):
        """Find the key named by any of the four KeyId forms."""
        srv = self.server
        if ref.startswith("arn:"):
            parts = ref.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or not parts[1].startswith("aws"):
                raise KmsError("NotFoundException", "Invalid arn")
            region, account, resource = parts[3], parts[4], parts[5]
            if region != srv.region:
                raise KmsError("NotFoundException", "Invalid arn %s" % region)
            if resource.startswith("alias/"):
                return self._alias(resource, ref if account == srv.account else None)
            if not resource.startswith("key/"):
                raise KmsError("NotFoundException", "Invalid arn")
            if account != srv.account:
                raise KmsError("NotFoundException", "Key '%s' does not exist" % ref)
            return self._key(resource[4:])
        if ref.startswith("alias/"):
            return self._alias(ref, srv.alias_arn(ref))
        return self._key(ref)

    def _key(self, key_id):
        key = self.keys.get(key_id)
        if key is None:
            raise KmsError("NotFoundException",
                           "Key '%s' does not exist" % self.server.key_arn(key_id))
        return key

    def _alias(self, name, arn):
        entry = self.aliases.get(name) if arn else None
        if entry is None:
            raise KmsError("NotFoundException",
                           "Alias '%s' is not found." % (arn or self.server.alias_arn(name)))
        return self.keys[entry["target"]]


def require_usable(key):
    """Key-state check for cryptographic operations."""
    if key.state == "Disabled":
        raise KmsError("DisabledException", "%s is disabled." % key.arn)
    if key.state == "PendingDeletion":
        raise KmsError("KMSInvalidStateException", "%s is pending deletion." % key.arn)


def require_not_pending(key):
    if key.state == "PendingDeletion":
        raise KmsError("KMSInvalidStateException", "%s is pending deletion." % key.arn)


def require_encrypt_decrypt(key, op, alg, ctx):
    """Usage/algorithm checks shared by Encrypt, Decrypt and ReEncrypt."""
    if key.usage != "ENCRYPT_DECRYPT":
        raise KmsError("InvalidKeyUsageException",
                       "%s key usage is %s which is not valid for %s." % (key.arn, key.usage, op))
    valid = key.encryption_algorithms()
    if alg not in valid:
        raise KmsError("InvalidKeyUsageException",
                       "Algorithm %s is incompatible with key spec %s." % (alg, key.spec))
    # Our choice: an encryption context with an asymmetric key is a
    # ValidationException (KMS documents the context as "supported only on
    # operations with symmetric encryption KMS keys"; the exact error of the
    # real service could not be checked here).
    if ctx and not key.symmetric:
        raise validation_error_plain(
            "EncryptionContext is not supported with asymmetric KMS key %s." % key.arn)


def validation_error_plain(message):
    return KmsError("ValidationException", message)


# --------------------------------------------------------------------------
# Operations.  Each takes (server, args) and returns the answer dict.
# --------------------------------------------------------------------------

def dry_run_check(args):
    if args.get("DryRun"):
        raise KmsError("DryRunOperationException",
                       "The request would have succeeded, but the DryRun option is set.",
                       412)


def check_grant_tokens(srv, args):
    for tok in args.get("GrantTokens") or []:
        if tok not in srv.store.grant_tokens:
            raise KmsError("InvalidGrantTokenException", "Grant token is invalid")


def op_create_key(srv, args):
    spec = args.get("KeySpec")
    cmk = args.get("CustomerMasterKeySpec")
    if spec and cmk:
        raise validation_error_plain(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec is deprecated.")
    spec = spec or cmk or "SYMMETRIC_DEFAULT"
    usage = args.get("KeyUsage", "ENCRYPT_DECRYPT")
    origin = args.get("Origin", "AWS_KMS")
    if origin != "AWS_KMS" or args.get("MultiRegion") or args.get("CustomKeyStoreId"):
        raise KmsError("UnsupportedOperationException",
                       "Only single-Region AWS_KMS keys are supported by this test server.")
    if spec != "SYMMETRIC_DEFAULT" and spec not in RSA_BITS:
        raise KmsError("UnsupportedOperationException",
                       "KeySpec %s is not supported by this test server." % spec)
    allowed = ["ENCRYPT_DECRYPT"] if spec == "SYMMETRIC_DEFAULT" else ["ENCRYPT_DECRYPT", "SIGN_VERIFY"]
    if usage not in allowed:
        raise validation_error_plain(
            "KeyUsage %s is not compatible with KeySpec %s" % (usage, spec))
    key = Key(srv, spec, usage, args.get("Description", ""))
    with srv.store.lock:
        srv.store.keys[key.id] = key
    return {"KeyMetadata": key.metadata()}


def op_describe_key(srv, args):
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        check_grant_tokens(srv, args)
        return {"KeyMetadata": key.metadata()}


def op_create_alias(srv, args):
    name = args["AliasName"]
    if not name.startswith("alias/"):
        raise validation_error_plain('Alias must start with the prefix "alias/". Please see '
                                     'https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html')
    if name.startswith("alias/aws/"):
        raise KmsError("InvalidAliasNameException",
                       "Cannot create alias with prefix 'alias/aws/'")
    target = args["TargetKeyId"]
    if target.startswith("alias/") or ":alias/" in target:
        raise validation_error_plain("Aliases must refer to keys. Do not specify an alias.")
    with srv.store.lock:
        key = srv.store.resolve(target)
        require_not_pending(key)
        if name in srv.store.aliases:
            raise KmsError("AlreadyExistsException",
                           "An alias with the name %s already exists" % srv.alias_arn(name))
        now = time.time()
        srv.store.aliases[name] = {"target": key.id, "created": now, "updated": now}
    return {}


def paginate(items, args):
    limit = args.get("Limit", 100)
    start = 0
    if "Marker" in args:
        try:
            start = int(args["Marker"])
        except ValueError:
            start = -1
        if start < 0 or start > len(items):
            raise KmsError("InvalidMarkerException", "Invalid marker")
    page = items[start:start + limit]
    out = {"Truncated": start + limit < len(items)}
    if out["Truncated"]:
        out["NextMarker"] = str(start + limit)
    return page, out


def op_list_keys(srv, args):
    with srv.store.lock:
        keys = list(srv.store.keys.values())
    page, out = paginate(keys, args)
    out["Keys"] = [{"KeyId": k.id, "KeyArn": k.arn} for k in page]
    return out


def op_list_aliases(srv, args):
    with srv.store.lock:
        only = srv.store.resolve(args["KeyId"]).id if "KeyId" in args else None
        entries = [(n, e) for n, e in sorted(srv.store.aliases.items())
                   if only is None or e["target"] == only]
    page, out = paginate(entries, args)
    out["Aliases"] = [{"AliasName": n, "AliasArn": srv.alias_arn(n), "TargetKeyId": e["target"],
                       "CreationDate": e["created"], "LastUpdatedDate": e["updated"]}
                      for n, e in page]
    return out


def encrypt_check(key, op, alg, ctx, plaintext):
    """Every check of an encryption with KEY; plaintext None = unknown (dry run)."""
    require_usable(key)
    require_encrypt_decrypt(key, op, alg, ctx)
    if plaintext is not None and not key.symmetric:
        limit = rsa_max_plaintext(key, alg)
        if len(plaintext) > limit:
            raise validation_error_plain(
                "Plaintext of %d bytes is too long for %s with %s (at most %d bytes)."
                % (len(plaintext), alg, key.spec, limit))


def encrypt_with(key, alg, ctx, plaintext):
    if key.symmetric:
        return sym_encrypt(key, plaintext, ctx)
    return key.rsa.public_key().encrypt(plaintext, oaep(alg))


def decrypt_check(srv, op, blob, key_ref, alg, ctx, ignore_ciphertext=False):
    """Find the key that decrypts BLOB and run every check; return (key, kind).
    kind is "sym" or "rsa"."""
    store = srv.store
    named = store.resolve(key_ref) if key_ref is not None else None
    if ignore_ciphertext:
        require_usable(named)
        require_encrypt_decrypt(named, op, alg, ctx)
        return named, ("sym" if named.symmetric else "rsa")
    if named is not None and not named.symmetric:
        require_usable(named)
        require_encrypt_decrypt(named, op, alg, ctx)
        if len(blob) != RSA_BITS[named.spec] // 8:
            raise invalid_ciphertext()
        return named, "rsa"
    # Symmetric: the blob names its key.
    blob_key_id = parse_sym_blob(blob)
    if blob_key_id is None or blob_key_id not in store.keys:
        raise invalid_ciphertext()
    key = store.keys[blob_key_id]
    if named is not None and named.id != key.id:
        raise KmsError("IncorrectKeyException",
                       "The key ID in the request does not identify a CMK that can "
                       "perform this operation.")
    require_usable(key)
    require_encrypt_decrypt(key, op, alg, ctx)
    return key, "sym"


def decrypt_with(key, kind, blob, alg, ctx):
    if kind == "sym":
        return sym_decrypt(key, blob, ctx)
    try:
        return key.rsa.decrypt(blob, oaep(alg))
    except ValueError:
        raise invalid_ciphertext()


def op_encrypt(srv, args):
    alg = args.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    ctx = args.get("EncryptionContext")
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        encrypt_check(key, "Encrypt", alg, ctx, args["Plaintext"])
        check_grant_tokens(srv, args)
    dry_run_check(args)
    blob = encrypt_with(key, alg, ctx, args["Plaintext"])
    return {"CiphertextBlob": b64(blob), "KeyId": key.arn, "EncryptionAlgorithm": alg}


def ignore_ciphertext_mode(args, blob_member, key_member):
    mods = args.get("DryRunModifiers") or []
    if not mods:
        if blob_member not in args:
            raise validation_error("Value null at '%s' failed to satisfy constraint: "
                                   "Member must not be null" % camel(blob_member))
        return False
    if not args.get("DryRun"):
        raise validation_error_plain("DryRunModifiers can only be used when DryRun is true.")
    if key_member not in args:
        raise validation_error_plain("%s is required when DryRunModifiers includes "
                                     "IGNORE_CIPHERTEXT." % key_member)
    if blob_member in args:
        raise validation_error_plain("%s must not be specified when DryRunModifiers "
                                     "includes IGNORE_CIPHERTEXT." % blob_member)
    return True


def op_decrypt(srv, args):
    if "Recipient" in args:
        raise KmsError("UnsupportedOperationException",
                       "Recipient (Nitro Enclaves) is not supported by this test server.")
    ignore = ignore_ciphertext_mode(args, "CiphertextBlob", "KeyId")
    alg = args.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    ctx = args.get("EncryptionContext")
    blob = args.get("CiphertextBlob")
    with srv.store.lock:
        key, kind = decrypt_check(srv, "Decrypt", blob, args.get("KeyId"), alg, ctx, ignore)
        check_grant_tokens(srv, args)
    plaintext = None if ignore else decrypt_with(key, kind, blob, alg, ctx)
    dry_run_check(args)     # IGNORE_CIPHERTEXT implies DryRun: never falls through
    out = {"KeyId": key.arn, "Plaintext": b64(plaintext), "EncryptionAlgorithm": alg}
    if key.symmetric:
        out["KeyMaterialId"] = key.material_id
    return out


def op_re_encrypt(srv, args):
    ignore = ignore_ciphertext_mode(args, "CiphertextBlob", "SourceKeyId")
    src_alg = args.get("SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    dst_alg = args.get("DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    src_ctx = args.get("SourceEncryptionContext")
    dst_ctx = args.get("DestinationEncryptionContext")
    blob = args.get("CiphertextBlob")
    # The store lock covers look-ups and state checks only; the cryptography
    # (RSA-4096 decryption is slow) runs outside it so concurrent callers overlap.
    with srv.store.lock:
        src, kind = decrypt_check(srv, "ReEncrypt", blob, args.get("SourceKeyId"),
                                  src_alg, src_ctx, ignore)
    plaintext = None if ignore else decrypt_with(src, kind, blob, src_alg, src_ctx)
    with srv.store.lock:
        dst = srv.store.resolve(args["DestinationKeyId"])
        encrypt_check(dst, "ReEncrypt", dst_alg, dst_ctx, plaintext)
        check_grant_tokens(srv, args)
    dry_run_check(args)
    new_blob = encrypt_with(dst, dst_alg, dst_ctx, plaintext)
    out = {"CiphertextBlob": b64(new_blob), "SourceKeyId": src.arn, "KeyId": dst.arn,
           "SourceEncryptionAlgorithm": src_alg, "DestinationEncryptionAlgorithm": dst_alg}
    if src.symmetric:
        out["SourceKeyMaterialId"] = src.material_id
    if dst.symmetric:
        out["DestinationKeyMaterialId"] = dst.material_id
    return out


def op_generate_data_key(srv, args):
    if "Recipient" in args:
        raise KmsError("UnsupportedOperationException",
                       "Recipient (Nitro Enclaves) is not supported by this test server.")
    nbytes = args.get("NumberOfBytes")
    spec = args.get("KeySpec")
    if (nbytes is None) == (spec is None):
        raise validation_error_plain("Please specify either number of bytes or key spec.")
    if spec:
        nbytes = 32 if spec == "AES_256" else 16
    ctx = args.get("EncryptionContext")
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_usable(key)
        if not key.symmetric:
            raise KmsError("InvalidKeyUsageException",
                           "%s key spec is %s which is not valid for GenerateDataKey."
                           % (key.arn, key.spec))
        require_encrypt_decrypt(key, "GenerateDataKey", "SYMMETRIC_DEFAULT", ctx)
        check_grant_tokens(srv, args)
    dry_run_check(args)
    plaintext = secrets.token_bytes(nbytes)
    return {"CiphertextBlob": b64(sym_encrypt(key, plaintext, ctx)),
            "Plaintext": b64(plaintext), "KeyId": key.arn, "KeyMaterialId": key.material_id}


def op_get_public_key(srv, args):
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_usable(key)
        check_grant_tokens(srv, args)
    if key.symmetric:
        raise KmsError("UnsupportedOperationException",
                       "%s key usage is ENCRYPT_DECRYPT and key spec is SYMMETRIC_DEFAULT, "
                       "which is not supported for GetPublicKey." % key.arn)
    der = key.rsa.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    out = {"KeyId": key.arn, "PublicKey": b64(der), "CustomerMasterKeySpec": key.spec,
           "KeySpec": key.spec, "KeyUsage": key.usage}
    if key.usage == "ENCRYPT_DECRYPT":
        out["EncryptionAlgorithms"] = key.encryption_algorithms()
    else:
        out["SigningAlgorithms"] = RSA_SIGNING_ALGS
    return out


def op_enable_key(srv, args):
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_not_pending(key)
        key.state = "Enabled"
    return {}


def op_disable_key(srv, args):
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_not_pending(key)
        key.state = "Disabled"
    return {}


def op_schedule_key_deletion(srv, args):
    days = args.get("PendingWindowInDays", 30)
    if not 7 <= days <= 30:
        raise validation_error_plain(
            "PendingWindowInDays must be between 7 and 30 (got %d)." % days)
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_not_pending(key)
        key.state = "PendingDeletion"
        key.deletion_date = float(int(time.time()) + days * 86400)
    return {"KeyId": key.arn, "DeletionDate": key.deletion_date,
            "KeyState": "PendingDeletion", "PendingWindowInDays": days}


def op_cancel_key_deletion(srv, args):
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        if key.state != "PendingDeletion":
            raise KmsError("KMSInvalidStateException", "%s is not pending deletion." % key.arn)
        key.state = "Disabled"      # as in KMS: a cancelled key comes back disabled
        key.deletion_date = None
    return {"KeyId": key.arn}


def op_create_grant(srv, args):
    if "GranteePrincipal" not in args and "GranteeServicePrincipal" not in args:
        raise validation_error("Value null at 'granteePrincipal' failed to satisfy "
                               "constraint: Member must not be null")
    if not args["Operations"]:
        raise validation_error("Value '[]' at 'operations' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1")
    with srv.store.lock:
        key = srv.store.resolve(args["KeyId"])
        require_usable(key)
        check_grant_tokens(srv, args)
    dry_run_check(args)
    grant_id = secrets.token_hex(32)
    # Starts as AWS's tokens do ("AQ..."): one that began with "-" (1 in 64
    # of plain urlsafe base64) would read as an option to the AWS CLI.
    token = "AQpA" + base64.urlsafe_b64encode(
        secrets.token_bytes(96)).decode("ascii").rstrip("=")
    with srv.store.lock:
        srv.store.grants[grant_id] = {"key": key.id, "token": token,
                                      "grantee": args.get("GranteePrincipal"),
                                      "operations": args["Operations"],
                                      "name": args.get("Name")}
        srv.store.grant_tokens.add(token)
    return {"GrantToken": token, "GrantId": grant_id}


OPERATIONS = {
    "CreateKey": op_create_key,
    "CreateAlias": op_create_alias,
    "DescribeKey": op_describe_key,
    "ListKeys": op_list_keys,
    "ListAliases": op_list_aliases,
    "Encrypt": op_encrypt,
    "Decrypt": op_decrypt,
    "ReEncrypt": op_re_encrypt,
    "GenerateDataKey": op_generate_data_key,
    "GetPublicKey": op_get_public_key,
    "EnableKey": op_enable_key,
    "DisableKey": op_disable_key,
    "ScheduleKeyDeletion": op_schedule_key_deletion,
    "CancelKeyDeletion": op_cancel_key_deletion,
    "CreateGrant": op_create_grant,
}
assert set(OPERATIONS) == set(SCHEMAS)


# --------------------------------------------------------------------------
# SigV4 verification
# --------------------------------------------------------------------------

def parse_authorization(value):
    """Split 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'."""
    m = AUTH_RE.match(value.strip())
    if not m:
        raise KmsError("IncompleteSignatureException",
                       "Authorization header requires 'Credential' parameter. "
                       "Authorization header requires 'Signature' parameter. "
                       "Authorization header requires 'SignedHeaders' parameter. "
                       "Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header.")
    fields = {}
    for part in m.group(1).split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    missing = [n for n in ("Credential", "Signature", "SignedHeaders") if not fields.get(n)]
    if missing:
        raise KmsError("IncompleteSignatureException",
                       " ".join("Authorization header requires '%s' parameter." % n
                                for n in missing))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise KmsError("IncompleteSignatureException",
                       "Credential should be scoped to a valid region. "
                       if len(scope) == 5 else
                       "Authorization header Credential is malformed.")
    signed = fields["SignedHeaders"].split(";")
    return scope, signed, fields["Signature"]


def check_clock(amz_date):
    try:
        when = datetime.datetime.strptime(amz_date, AMZ_DATE_FMT).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise KmsError("IncompleteSignatureException",
                       "Date must be in ISO-8601 'basic format'. Got '%s'." % amz_date)
    now = now_utc()
    fmt = lambda t: t.strftime(AMZ_DATE_FMT)
    if when < now - SKEW:
        raise KmsError("InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (amz_date, fmt(now - SKEW), fmt(now)))
    if when > now + SKEW:
        raise KmsError("InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (amz_date, fmt(now + SKEW), fmt(now)))


def verify_sigv4(srv, method, path, headers, body):
    """Raise KmsError unless the request is signed by a known credential."""
    auth = headers.get("Authorization")
    if not auth:
        raise KmsError("MissingAuthenticationTokenException",
                       "Request is missing Authentication Token")
    scope, signed, signature = parse_authorization(auth)
    akid, date, region, service, _ = scope
    signed_lc = [h.lower() for h in signed]
    if "host" not in signed_lc:
        raise KmsError("IncompleteSignatureException",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    amz_date = headers.get("X-Amz-Date")
    if not amz_date or "x-amz-date" not in signed_lc:
        raise KmsError("IncompleteSignatureException",
                       "Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header, and it must be signed.")
    check_clock(amz_date)
    if date != amz_date[:8]:
        raise KmsError("InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       "version of date from HTTP: '%s' != '%s', from '%s'."
                       % (date, amz_date[:8], amz_date))
    if region != srv.region:
        raise KmsError("InvalidSignatureException",
                       "Credential should be scoped to a valid region. ")
    if service != "kms":
        raise KmsError("InvalidSignatureException",
                       "Credential should be scoped to correct service: 'kms'. ")
    cred = srv.credential(akid)
    if cred is None:
        raise KmsError("UnrecognizedClientException", MSG_BAD_TOKEN)
    check_session_token(cred, headers, signed_lc)
    sha = headers.get("X-Amz-Content-SHA256")
    if sha is not None and sha != hashlib.sha256(body).hexdigest():
        raise KmsError("InvalidSignatureException", MSG_BAD_SIG)
    expected = compute_signature(srv, cred, method, path, headers, signed_lc, body, amz_date)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise KmsError("InvalidSignatureException", MSG_BAD_SIG)
    return cred


def check_session_token(cred, headers, signed_lc):
    token = headers.get("X-Amz-Security-Token")
    want = cred.get("session_token")
    if want:
        if token is None or "x-amz-security-token" not in signed_lc \
                or not hmac.compare_digest(token.encode(), want.encode()):
            raise KmsError("UnrecognizedClientException", MSG_BAD_TOKEN)
    elif token is not None:
        raise KmsError("UnrecognizedClientException", MSG_BAD_TOKEN)
    exp = cred.get("expiration_dt")
    if exp is not None and exp <= now_utc():
        raise KmsError("ExpiredTokenException", MSG_EXPIRED)


def compute_signature(srv, cred, method, path, headers, signed_lc, body, amz_date):
    """Rebuild the request from what was signed and let botocore sign it."""
    signed_headers = {}
    for name in signed_lc:
        values = headers.get_all(name) or []
        # Repeated headers are joined with commas in the canonical form.
        signed_headers[name] = ",".join(values)
    url = "https://%s%s" % (headers.get("Host", ""), path)
    request = AWSRequest(method=method, url=url, headers=signed_headers, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(cred["access_key_id"], cred["secret_access_key"],
                                   cred.get("session_token")), "kms", srv.region)
    # A client that signed a header botocore never signs (user-agent, expect...)
    # cannot be reproduced: the SignedHeaders lists then differ -> mismatch.
    if signer.signed_headers(signer.headers_to_sign(request)) != ";".join(sorted(signed_lc)):
        return ""
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request)


# --------------------------------------------------------------------------
# Fault injection and statistics
# --------------------------------------------------------------------------

FAULT_MODES = {"throttle", "500", "502", "503", "504", "internal", "reset", "delay",
               "garbage", "truncate", "oversize", "none"}


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.mode = None
        self.count = 0
        self.delay_ms = 0
        self.ops = None
        self.injected = 0

    def configure(self, spec):
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError("mode must be one of %s" % sorted(FAULT_MODES))
        count = spec.get("count", 1)
        delay = spec.get("delay_ms", 0)
        ops = spec.get("ops")
        if not isinstance(count, int) or count < 0 or not isinstance(delay, int) or delay < 0:
            raise ValueError("count and delay_ms must be non-negative integers")
        if ops is not None and (not isinstance(ops, list)
                                or not all(isinstance(o, str) for o in ops)):
            raise ValueError("ops must be a list of operation names")
        with self.lock:
            self.mode = None if mode == "none" else mode
            self.count = count if self.mode else 0
            self.delay_ms = delay
            self.ops = set(ops) if ops else None

    def take(self, op):
        """Return (mode, delay_ms) if a fault applies to this request."""
        with self.lock:
            if not self.mode or self.count <= 0:
                return None
            if self.ops is not None and op not in self.ops:
                return None
            self.count -= 1
            self.injected += 1
            return self.mode, self.delay_ms

    def describe(self):
        with self.lock:
            return {"mode": self.mode, "remaining": self.count, "delay_ms": self.delay_ms,
                    "ops": sorted(self.ops) if self.ops else None,
                    "injected": self.injected}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = 0
        self.by_op = {}
        self.auth_failures = 0
        self.errors = {}

    def count(self, op):
        with self.lock:
            self.requests += 1
            self.by_op[op] = self.by_op.get(op, 0) + 1

    def error(self, code, auth):
        with self.lock:
            self.errors[code] = self.errors.get(code, 0) + 1
            if auth:
                self.auth_failures += 1

    def snapshot(self):
        with self.lock:
            return {"requests": self.requests, "by_op": dict(self.by_op),
                    "auth_failures": self.auth_failures, "errors": dict(self.errors)}


AUTH_ERRORS = {"MissingAuthenticationTokenException", "IncompleteSignatureException",
               "UnrecognizedClientException", "InvalidSignatureException",
               "ExpiredTokenException"}


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------

class KmsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # kms-rotate --jobs 2000 opens that many connections at once.
    request_queue_size = 4096

    def __init__(self, opts):
        self.region = opts.region
        self.account = opts.account
        self.store = Store(self)
        self.faults = Faults()
        self.stats = Stats()
        self.cred_lock = threading.Lock()
        self.credentials = {}
        self.log_lock = threading.Lock()
        self.log_file = open(opts.log, "a", buffering=1) if opts.log else None
        if opts.credentials:
            with open(opts.credentials) as f:
                for entry in json.load(f):
                    self.add_credential(entry)
        super().__init__(("127.0.0.1", opts.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(opts.cert, opts.key)
        # Handshake in the handler thread, not in accept(): a slow or broken
        # client must not stall the accept loop.
        self.socket = ctx.wrap_socket(self.socket, server_side=True,
                                      do_handshake_on_connect=False)

    def key_arn(self, key_id):
        return "arn:aws:kms:%s:%s:key/%s" % (self.region, self.account, key_id)

    def alias_arn(self, name):
        return "arn:aws:kms:%s:%s:%s" % (self.region, self.account, name)

    def add_credential(self, entry):
        if not isinstance(entry, dict) or not isinstance(entry.get("access_key_id"), str) \
                or not isinstance(entry.get("secret_access_key"), str):
            raise ValueError("credential needs access_key_id and secret_access_key strings")
        cred = dict(entry)
        if cred.get("expiration"):
            text = cred["expiration"].replace("Z", "+00:00")
            exp = datetime.datetime.fromisoformat(text)
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=datetime.timezone.utc)
            cred["expiration_dt"] = exp
        with self.cred_lock:
            self.credentials[cred["access_key_id"]] = cred

    def credential(self, akid):
        with self.cred_lock:
            return self.credentials.get(akid)

    def log(self, op, status, code, request_id):
        # Never log bodies, headers or credentials: only what happened.
        if not self.log_file:
            return
        line = "%s %s %d %s %s\n" % (now_utc().strftime("%Y-%m-%dT%H:%M:%SZ"), op, status,
                                     code or "-", request_id)
        with self.log_lock:
            self.log_file.write(line)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            return      # clients going away or failing TLS are normal in tests
        super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kms-test-server"
    sys_version = ""
    timeout = 120       # idle keep-alive connections are dropped after this

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass        # the --log file gets one line per request instead

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise KmsError("SerializationException", "Bad or too large Content-Length")
        return self.rfile.read(n) if n else b""

    def read_chunked(self):
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += self.rfile.read(size)
            self.rfile.readline()
            if len(data) > MAX_BODY:
                self.close_connection = True
                raise KmsError("SerializationException", "Request body too large")

    def send_raw(self, status, body, content_type=JSON_CT, request_id=None, length=None):
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status, obj, request_id):
        self.send_raw(status, json.dumps(obj).encode("utf-8"), request_id=request_id)

    def send_error_json(self, err, request_id):
        answer = {"__type": err.code}
        if err.message is not None:
            answer["message"] = err.message
        self.send_json(err.status, answer, request_id)

    # ---- routing --------------------------------------------------------

    def do_GET(self):
        if self.path.startswith("/_control/"):
            return self.control("GET")
        self.reject_method()

    def do_PUT(self):
        self.reject_method()

    def do_DELETE(self):
        self.reject_method()

    def reject_method(self):
        rid = str(uuid.uuid4())
        try:
            self.read_body()
        except KmsError:
            pass        # read_body already asked for the connection to close
        self.send_error_json(KmsError("UnknownOperationException", None), rid)
        self.server.log(self.command, 400, "UnknownOperationException", rid)

    def do_POST(self):
        if self.path.startswith("/_control/"):
            return self.control("POST")
        self.kms_request()

    # ---- KMS ------------------------------------------------------------

    def kms_request(self):
        srv = self.server
        rid = str(uuid.uuid4())
        target = self.headers.get("X-Amz-Target", "")
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else "-"
        try:
            body = self.read_body()
        except KmsError as err:
            return self.answer_error(op, err, rid)
        srv.stats.count(op if op in OPERATIONS else "unknown")
        fault = srv.faults.take(op)
        if fault and self.inject(fault, op, rid):
            return
        try:
            status, answer = 200, self.handle_kms(op, body)
        except KmsError as err:
            return self.answer_error(op, err, rid)
        except Exception as exc:        # a bug here must still answer like KMS
            sys.stderr.write("internal error in %s: %r\n" % (op, exc))
            return self.answer_error(op, KmsError("KMSInternalException",
                                                  "An internal error occurred.", 500), rid)
        self.send_json(status, answer, rid)
        srv.log(op, status, None, rid)

    def answer_error(self, op, err, rid):
        self.server.stats.error(err.code, err.code in AUTH_ERRORS)
        self.send_error_json(err, rid)
        self.server.log(op, err.status, err.code, rid)

    def handle_kms(self, op, body):
        if self.path != "/":
            raise KmsError("UnknownOperationException", None)
        verify_sigv4(self.server, "POST", self.path, self.headers, body)
        if op not in OPERATIONS:
            raise KmsError("UnknownOperationException", None)
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise KmsError("SerializationException", "Body is not valid JSON")
        if not isinstance(parsed, dict):
            raise KmsError("SerializationException",
                           "Start of structure or map expected")
        args = check_types(op, parsed)
        return OPERATIONS[op](self.server, args)

    # ---- fault injection -----------------------------------------------

    def inject(self, fault, op, rid):
        """Apply an injected fault.  Returns True if the request is finished."""
        mode, delay_ms = fault
        srv = self.server
        srv.log(op, 0, "fault:" + mode, rid)
        if mode == "delay":
            time.sleep(delay_ms / 1000.0)
            return False
        if mode == "throttle":
            self.answer_error(op, KmsError("ThrottlingException", MSG_THROTTLE), rid)
        elif mode == "internal":
            self.answer_error(op, KmsError("KMSInternalException",
                                           "An internal error occurred.", 500), rid)
        elif mode == "500":
            self.send_json(500, {"__type": "InternalFailure",
                                 "message": "The request processing has failed because "
                                            "of an unknown error."}, rid)
        elif mode == "503":
            self.send_json(503, {"__type": "ServiceUnavailableException",
                                 "message": "Service Unavailable"}, rid)
        elif mode in ("502", "504"):
            text = {"502": "Bad Gateway", "504": "Gateway Timeout"}[mode]
            self.send_raw(int(mode), ("<html><body><h1>%s %s</h1></body></html>\n"
                                      % (mode, text)).encode(), "text/html", rid)
        elif mode == "garbage":
            self.send_raw(200, b"<<this is not JSON>>\x00\xff{", request_id=rid)
        elif mode == "truncate":
            self.close_connection = True
            self.send_raw(200, b'{"CiphertextBlob":"AQID', request_id=rid, length=4096)
        elif mode == "oversize":
            self.send_oversize(rid)
        elif mode == "reset":
            self.reset_connection()
        return True

    def send_oversize(self, rid):
        total = 64 * 1024 * 1024
        chunk = b"A" * (1024 * 1024)
        self.close_connection = True
        self.send_response(200)
        self.send_header("x-amzn-RequestId", rid)
        self.send_header("Content-Type", JSON_CT)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            head = b'{"Plaintext":"'
            self.wfile.write(head + chunk[len(head):])
            for _ in range(total // len(chunk) - 2):
                self.wfile.write(chunk)
            self.wfile.write(chunk[:-2] + b'"}')
            self.wfile.flush()
        except OSError:
            pass        # the client gave up, as it should

    def reset_connection(self):
        """Close with a TCP RST and no answer (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # ---- control endpoint ----------------------------------------------

    def control(self, method):
        srv = self.server
        rid = str(uuid.uuid4())
        if not self.client_address[0].startswith("127."):
            self.close_connection = True
            return self.send_json(403, {"message": "loopback only"}, rid)
        try:
            body = self.read_body()
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (KmsError, ValueError, UnicodeDecodeError):
            return self.send_json(400, {"message": "body must be JSON"}, rid)
        route = (method, self.path)
        try:
            if route == ("GET", "/_control/stats"):
                answer = srv.stats.snapshot()
                answer["faults"] = srv.faults.describe()
            elif route == ("POST", "/_control/reset-stats"):
                srv.stats.reset()
                answer = {}
            elif route == ("POST", "/_control/faults"):
                srv.faults.configure(data)
                answer = srv.faults.describe()
            elif route == ("GET", "/_control/faults"):
                answer = srv.faults.describe()
            elif route == ("POST", "/_control/credentials"):
                for entry in data if isinstance(data, list) else [data]:
                    srv.add_credential(entry)
                answer = {}
            else:
                srv.log("control" + self.path, 404, "-", rid)
                return self.send_json(404, {"message": "unknown control path"}, rid)
        except (ValueError, TypeError, AttributeError) as exc:
            srv.log("control" + self.path, 400, "-", rid)
            return self.send_json(400, {"message": str(exc)}, rid)
        srv.log("control" + self.path, 200, None, rid)
        self.send_raw(200, json.dumps(answer).encode(), "application/json", rid)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    p.add_argument("--key", required=True, help="server private key (PEM)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="111122223333")
    p.add_argument("--credentials", help="JSON list of access_key_id/secret_access_key/"
                                         "session_token/expiration")
    p.add_argument("--log", help="one line per request (no secrets, no data)")
    return p.parse_args(argv)


def main(argv=None):
    opts = parse_args(argv)
    server = KmsServer(opts)
    port = server.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.port_file)     # readers never see a half-written file
    sys.stderr.write("kms_server: listening on https://127.0.0.1:%d (region %s)\n"
                     % (port, opts.region))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
