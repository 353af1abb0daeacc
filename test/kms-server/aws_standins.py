#!/usr/bin/env python3
"""Local stand-ins for the AWS credential sources, for the provider's tests.

One process, four listeners on 127.0.0.1:

* plain HTTP (they are plain HTTP in AWS too):
    - ECS / EKS container credentials  GET /ecs/...  (and /v2/credentials/...)
    - EC2 instance metadata, IMDSv2     PUT /latest/api/token, GET /latest/meta-data/...
    - the control API                   /_control/...
* HTTPS (the KMS test server's certificate), one listener per service:
    - STS, query protocol, POST /: AssumeRoleWithWebIdentity (unsigned),
      AssumeRole and GetCallerIdentity (SigV4, service "sts", checked with
      botocore's own signer).
    - the IAM Identity Center (SSO) portal, rest-json, unsigned:
      GetRoleCredentials, GET /federation/credentials with the bearer token
      in x-amz-sso_bearer_token.
    - SSO-OIDC, rest-json, unsigned: CreateToken, POST /token, grant type
      refresh_token.

Every credential it hands out (AccessKeyId "ASIA" + 16, random secret, random
~300-character session token, Expiration = now + lifetime) is registered with
the KMS test server through POST /_control/credentials, with that expiration,
before it is answered, so a request signed with it verifies at KMS until it
expires and then gets ExpiredTokenException.

Only the Python standard library and botocore are used, and only APIs that
exist in Debian 12 (botocore 1.29).
See README.md ("Credential-source stand-ins") for the contract.
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import math
import os
import re
import secrets
import signal
import socket
import ssl
import string
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_VERSION = "2011-06-15"
MAX_BODY = 1024 * 1024
SKEW = datetime.timedelta(minutes=5)
AMZ_DATE_FMT = "%Y%m%dT%H%M%SZ"
ISO_FMT = "%Y-%m-%dT%H:%M:%SZ"
UPPER_ALNUM = string.ascii_uppercase + string.digits
B64_CHARS = string.ascii_letters + string.digits + "+/"
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 (.*)$", re.S)
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$")
SESSION_RE = re.compile(r"^[\w+=,.@-]*$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]*$")
SOURCES = ("sts", "ecs", "imds", "sso", "sso-oidc")

DEFAULT_ECS_TOKEN = "ecs-auth-token"
DEFAULT_IMDS_ROLE = "kms-rotator"
BAD_WEB_TOKEN = "bad-token"
EXPIRED_WEB_TOKEN = "expired-token"
EXPECTED_EXTERNAL_ID = "expected-external-id"

SSO_NS = "com.amazonaws.switchboard.portal"
OIDC_NS = "com.amazonaws.sso.oidc"
DEFAULT_START_URL = "https://standins.awsapps.com/start"
DEFAULT_SSO_TOKEN_LIFETIME = 3600
DEFAULT_REGISTRATION_LIFETIME = 90 * 86400
SSO_USER = "standins-user"
MSG_SSO_UNAUTHORIZED = "Session token not found or invalid"
MSG_SSO_FORBIDDEN = "No access"
MSG_OIDC_BAD_REFRESH = "Invalid refresh token provided"
# The OAuth "error" member of each SSO-OIDC error (service-2.json documents them).
OIDC_ERRORS = {
    "InvalidRequestException": "invalid_request",
    "InvalidClientException": "invalid_client",
    "InvalidGrantException": "invalid_grant",
    "UnauthorizedClientException": "unauthorized_client",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
    "InvalidScopeException": "invalid_scope",
    "AuthorizationPendingException": "authorization_pending",
    "SlowDownException": "slow_down",
    "AccessDeniedException": "access_denied",
    "ExpiredTokenException": "expired_token",
    "InternalServerException": "server_error",
}

MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED = "The security token included in the request is expired"
MSG_BAD_SIG = ("The request signature we calculated does not match the signature you "
               "provided. Check your AWS Secret Access Key and signing method. Consult "
               "the service documentation for details.")
MSG_BAD_JWT = ("The ID Token provided is not a valid JWT. (You may see this error if you "
               "sent an Access Token)")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(dt):
    return dt.strftime(ISO_FMT)


def rand_upper(n):
    return "".join(secrets.choice(UPPER_ALNUM) for _ in range(n))


def whole_seconds(t, life):
    """Epoch seconds as the wire shows them: rounded up for a positive
    lifetime (valid for >= life s), down otherwise (already expired)."""
    return math.ceil(t) if life > 0 else math.floor(t)


def new_sso_token(prefix):
    """Shaped like IAM Identity Center tokens: "aoa"/"aor" + base64url body,
    ":" + a base64 signature (so '+', '/' and '=' can occur)."""
    return "%sAAAAAG%s:%s" % (prefix, base64.urlsafe_b64encode(secrets.token_bytes(
        150)).decode(), base64.b64encode(secrets.token_bytes(70)).decode())


def stable_id(prefix, text, n=17):
    """A deterministic IAM-style unique id (AROA..., AIDA...) for a name."""
    digest = hashlib.sha256(text.encode()).digest()
    return prefix + "".join(UPPER_ALNUM[b % len(UPPER_ALNUM)] for b in digest[:n])


class StsError(Exception):
    """Answered as <ErrorResponse><Error><Type/><Code/><Message/></Error>..."""

    def __init__(self, code, message, status=400, kind="Sender"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.kind = kind


class RestJsonError(Exception):
    """An SSO portal or SSO-OIDC error, shaped like the real services: status,
    header x-amzn-ErrorType "Code:http://internal.amazon.com/coral/NS/", JSON
    body {"message", "__type": "NS#Code"} (portal) or {"error",
    "error_description"} (OIDC)."""

    def __init__(self, service, code, message, status=400):
        super().__init__(message)
        self.service = service
        self.code = code
        self.message = message
        self.status = status

    def body(self):
        if self.service == "sso-oidc" and self.code in OIDC_ERRORS:
            return {"error": OIDC_ERRORS[self.code], "error_description": self.message}
        ns = SSO_NS if self.service == "sso" else OIDC_NS
        return {"message": self.message, "__type": "%s#%s" % (ns, self.code)}

    def error_type(self):
        ns = SSO_NS if self.service == "sso" else OIDC_NS
        return "%s:http://internal.amazon.com/coral/%s/" % (self.code, ns)


class HttpAnswer(Exception):
    """A finished non-STS answer (status, body, content type)."""

    def __init__(self, status, body, content_type="text/plain", code=None):
        super().__init__(code or str(status))
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.content_type = content_type
        self.code = code


def validation_error(problems):
    n = len(problems)
    return StsError("ValidationError", "%d validation error%s detected: %s"
                    % (n, "" if n == 1 else "s", "; ".join(problems)))


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class State:
    def __init__(self, opts):
        self.lock = threading.RLock()
        self.region = opts.region
        self.account = opts.account
        self.default_lifetime = opts.lifetime
        self.kms_url = opts.kms_url
        self.kms_ca = opts.kms_ca
        self.base = {}          # akid -> credential dict (may call STS AssumeRole)
        self.issued = {}        # akid -> credential dict we handed out
        self.imds_tokens = {}   # token -> monotonic expiry
        self.sso_tokens = {}    # SSO access token -> {"expires": epoch s, "origin"}
        self.oidc_clients = {}  # clientId -> {"secret", "expires": epoch s}
        self.refresh_tokens = {}  # refresh token -> {"client_id", "expires": epoch s|None}
        self.calls = []
        self.log_lock = threading.Lock()
        self.log_file = open(opts.log, "a", buffering=1) if opts.log else None
        if opts.base_credentials:
            with open(opts.base_credentials) as f:
                for entry in json.load(f):
                    self.add_base(entry)
        self.reset_settings()

    # ---- settings ------------------------------------------------------

    def reset_settings(self):
        with self.lock:
            self.lifetime = self.default_lifetime
            self.web_tokens = None          # None: any non-empty token but "bad-token"
            self.ecs_token = DEFAULT_ECS_TOKEN
            self.ecs_role_arn = "arn:aws:iam::%s:role/ecs-task-role" % self.account
            self.imds_v1 = False
            self.imds_role = DEFAULT_IMDS_ROLE
            self.sso_token_lifetime = DEFAULT_SSO_TOKEN_LIFETIME
            self.rotate_refresh_tokens = True
            self.faults = {}                # source -> {"left", "status", "delay_ms"}

    def describe(self):
        with self.lock:
            return {
                "lifetime": self.lifetime,
                "web_identity_tokens": None if self.web_tokens is None
                else len(self.web_tokens),
                "ecs_token_required": self.ecs_token is not None,
                "ecs_role_arn": self.ecs_role_arn,
                "imds_v1": self.imds_v1,
                "imds_role": self.imds_role,
                "sso_token_lifetime": self.sso_token_lifetime,
                "sso_rotate_refresh_tokens": self.rotate_refresh_tokens,
                "sso_access_tokens": len(self.sso_tokens),
                "sso_clients": len(self.oidc_clients),
                "sso_refresh_tokens": len(self.refresh_tokens),
                "faults": {k: dict(v) for k, v in self.faults.items()},
                "issued": len(self.issued),
                "calls": len(self.calls),
                "region": self.region,
                "account": self.account,
            }

    def set_fault(self, spec):
        source = spec.get("source")
        if source not in SOURCES:
            raise ValueError("source must be one of %s" % ", ".join(SOURCES))
        count = spec.get("fail", 1)
        status = spec.get("status", 500)
        delay = spec.get("delay_ms", 0)
        for name, v in (("fail", count), ("status", status), ("delay_ms", delay)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError("%s must be a non-negative integer" % name)
        if status and not 400 <= status <= 599:
            raise ValueError("status must be 400..599 (or 0: delay only)")
        with self.lock:
            if count == 0:
                self.faults.pop(source, None)
            else:
                self.faults[source] = {"left": count, "status": status, "delay_ms": delay}
            return {k: dict(v) for k, v in self.faults.items()}

    def take_fault(self, source):
        with self.lock:
            f = self.faults.get(source)
            if not f:
                return None
            f["left"] -= 1
            if f["left"] <= 0:
                del self.faults[source]
            return f["status"], f["delay_ms"]

    # ---- credentials ---------------------------------------------------

    def add_base(self, entry):
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
        cred.setdefault("arn", "arn:aws:iam::%s:user/kms-test" % self.account)
        cred["user_id"] = stable_id("AIDA", cred["access_key_id"])
        cred["chained"] = False
        with self.lock:
            self.base[cred["access_key_id"]] = cred

    def lookup(self, akid):
        with self.lock:
            return self.issued.get(akid) or self.base.get(akid)

    def issue(self, kind, role_arn, session_name, lifetime=None):
        """Make a credential, register it at KMS, remember it, return it."""
        with self.lock:
            life = self.lifetime if lifetime is None else lifetime
        # Whole seconds (the wire format), rounded up: valid for >= life s;
        # a lifetime <= 0 gives credentials that are already expired.
        rounding = math.ceil if life > 0 else math.floor
        exp = datetime.datetime.fromtimestamp(rounding(time.time() + life),
                                              datetime.timezone.utc)
        token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(213)).decode()
        cred = {
            "access_key_id": "ASIA" + rand_upper(16),
            "secret_access_key": "".join(secrets.choice(B64_CHARS) for _ in range(40)),
            "session_token": token,
            "expiration": iso(exp),
        }
        self.register(cred)
        m = ROLE_ARN_RE.match(role_arn or "")
        role_name = m.group(2) if m else "unknown"
        account = m.group(1) if m else self.account
        full = dict(cred)
        full.update(expiration_dt=exp, kind=kind, role_arn=role_arn, chained=True,
                    arn="arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name,
                                                               session_name),
                    user_id="%s:%s" % (stable_id("AROA", role_arn or ""), session_name),
                    issued_at=iso(now_utc()))
        with self.lock:
            self.issued[cred["access_key_id"]] = full
        return full

    def register(self, cred):
        if not self.kms_url:
            return
        url = urlsplit(self.kms_url)
        body = json.dumps(cred).encode()
        if url.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.kms_ca)
            conn = http.client.HTTPSConnection(url.hostname, url.port or 443,
                                               context=ctx, timeout=10)
        else:
            conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        try:
            conn.request("POST", "/_control/credentials", body,
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
            if resp.status != 200:
                raise RuntimeError("KMS server refused the credential: %d %s"
                                   % (resp.status, text[:200]))
        finally:
            conn.close()

    # ---- IAM Identity Center (SSO portal, SSO-OIDC) ---------------------

    def sso_login(self, spec):
        """What `aws sso login` leaves behind: a registered access token (and
        for the sso-session form a client registration + refresh token), and
        the cache document a client reads from ~/.aws/sso/cache."""
        def opt_str(name, default=None):
            v = spec.get(name, default)
            if v is not None and (not isinstance(v, str) or not v or any(
                    ord(c) < 0x21 or ord(c) > 0x7e for c in v)):
                raise ValueError("%s must be a non-empty printable string without spaces"
                                 % name)
            return v

        def opt_int(name, default):
            v = spec.get(name, default)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError("%s must be an integer (seconds, may be negative)" % name)
            return v

        start_url = opt_str("start_url", DEFAULT_START_URL)
        region = opt_str("region", self.region)
        session_name = spec.get("session_name")
        if session_name is not None and (not isinstance(session_name, str)
                                         or not session_name):
            raise ValueError("session_name must be null (legacy form) or a non-empty string")
        expires_in = opt_int("expires_in", DEFAULT_SSO_TOKEN_LIFETIME)
        refresh = spec.get("refresh", session_name is not None)
        if not isinstance(refresh, bool):
            raise ValueError("refresh must be true or false")
        reg_in = opt_int("registration_expires_in", DEFAULT_REGISTRATION_LIFETIME)
        refresh_in = opt_int("refresh_expires_in", None)
        access = opt_str("access_token") or new_sso_token("aoa")
        now = time.time()
        exp = whole_seconds(now + expires_in, expires_in)
        doc = {"startUrl": start_url, "region": region, "accessToken": access,
               "expiresAt": iso(datetime.datetime.fromtimestamp(exp, datetime.timezone.utc))}
        client_id = None
        if session_name is not None or refresh:
            client_id = opt_str("client_id") or ("standins-" + base64.urlsafe_b64encode(
                secrets.token_bytes(18)).decode())
            secret = opt_str("client_secret") or ("eyJraWQiOiJzdGFuZGlucyJ9." + base64.
                                                    urlsafe_b64encode(secrets.token_bytes(
                                                        270)).decode())
            reg_exp = whole_seconds(now + reg_in, reg_in)
            doc.update(clientId=client_id, clientSecret=secret,
                       registrationExpiresAt=iso(datetime.datetime.fromtimestamp(
                           reg_exp, datetime.timezone.utc)))
        with self.lock:
            self.sso_tokens[access] = {"expires": exp, "origin": "control"}
            if client_id is not None:
                self.oidc_clients[client_id] = {"secret": doc["clientSecret"],
                                                "expires": reg_exp}
            if refresh:
                rt = opt_str("refresh_token") or new_sso_token("aor")
                self.refresh_tokens[rt] = {
                    "client_id": client_id,
                    "expires": None if refresh_in is None else now + refresh_in}
                doc["refreshToken"] = rt
        key = hashlib.sha1((session_name if session_name is not None
                            else start_url).encode("utf-8")).hexdigest()
        return {"cache_key": key, "cache_file": key + ".json", "token": doc}

    def sso_token_state(self, token):
        """("valid"|"expired"|"unknown", origin)"""
        with self.lock:
            t = self.sso_tokens.get(token)
        if t is None:
            return "unknown", None
        return ("valid" if time.time() < t["expires"] else "expired"), t["origin"]

    def oidc_refresh(self, req, call):
        """CreateToken with grant type refresh_token; raises RestJsonError."""
        def err(code, message, status=400):
            return RestJsonError("sso-oidc", code, message, status)

        def member(name):
            v = req.get(name)
            if v is not None and not isinstance(v, str):
                raise err("InvalidRequestException",
                          "Invalid value for %s: must be a string" % name)
            return v

        client_id, client_secret = member("clientId"), member("clientSecret")
        grant, refresh = member("grantType"), member("refreshToken")
        call.update(grant_type=grant, client_id=client_id)
        missing = [n for n, v in (("clientId", client_id), ("clientSecret", client_secret),
                                  ("grantType", grant)) if not v]
        if missing:
            raise err("InvalidRequestException", "Missing required parameter(s): %s"
                      % ", ".join(missing))
        if grant != "refresh_token":
            raise err("UnsupportedGrantTypeException",
                      "Unsupported grant type: %s (the stand-in only refreshes)" % grant)
        now = time.time()
        with self.lock:
            client = self.oidc_clients.get(client_id)
            ok = client is not None and hmac.compare_digest(client["secret"].encode(),
                                                            client_secret.encode())
            call["client_accepted"] = ok and now < client["expires"]
            if not ok:
                raise err("InvalidClientException", "Invalid client provided", 401)
            if now >= client["expires"]:
                raise err("InvalidClientException", "Client registration has expired", 401)
            if not refresh:
                call["refresh_token"] = "missing"
                raise err("InvalidRequestException",
                          "Missing required parameter(s): refreshToken")
            rt = self.refresh_tokens.get(refresh)
            if rt is None or rt["client_id"] != client_id:
                call["refresh_token"] = "unknown"
                raise err("InvalidGrantException", MSG_OIDC_BAD_REFRESH)
            if rt["expires"] is not None and now >= rt["expires"]:
                call["refresh_token"] = "expired"
                raise err("ExpiredTokenException", "Refresh token has expired")
            call["refresh_token"] = "valid"
            life = self.sso_token_lifetime
            access = new_sso_token("aoa")
            self.sso_tokens[access] = {"expires": now + life, "origin": "create-token"}
            answer = {"accessToken": access, "tokenType": "Bearer", "expiresIn": life}
            if self.rotate_refresh_tokens:
                del self.refresh_tokens[refresh]
                new_rt = new_sso_token("aor")
                self.refresh_tokens[new_rt] = dict(rt)
                answer["refreshToken"] = new_rt
            call["rotated"] = self.rotate_refresh_tokens
        return answer

    # ---- bookkeeping ---------------------------------------------------

    def record(self, **call):
        call["time"] = now_utc().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.lock:
            call["seq"] = len(self.calls) + 1
            self.calls.append(call)

    def log(self, listener, method, path, what, status, code):
        # Never secrets: no headers, bodies, tokens or query strings.
        if not self.log_file:
            return
        line = "%s %s %s %s %s %d %s\n" % (iso(now_utc()), listener, method,
                                          path.split("?", 1)[0], what or "-", status,
                                          code or "-")
        with self.log_lock:
            self.log_file.write(line)


# --------------------------------------------------------------------------
# SigV4 (same approach as kms_server.py: rebuild what was signed, let
# botocore sign it, compare)
# --------------------------------------------------------------------------

def verify_sigv4(state, method, path, headers, body):
    auth = headers.get("Authorization")
    if not auth:
        raise StsError("MissingAuthenticationToken",
                       "Request is missing Authentication Token", 403)
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise StsError("IncompleteSignature",
                       "Authorization header requires 'Credential' parameter. "
                       "Authorization header requires 'Signature' parameter. "
                       "Authorization header requires 'SignedHeaders' parameter.")
    fields = {}
    for part in m.group(1).split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    missing = [n for n in ("Credential", "Signature", "SignedHeaders") if not fields.get(n)]
    if missing:
        raise StsError("IncompleteSignature", " ".join(
            "Authorization header requires '%s' parameter." % n for n in missing))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise StsError("IncompleteSignature", "Authorization header Credential is malformed.")
    akid, date, region, service, _ = scope
    signed_lc = [h.lower() for h in fields["SignedHeaders"].split(";")]
    if "host" not in signed_lc:
        raise StsError("IncompleteSignature",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.")
    amz_date = headers.get("X-Amz-Date")
    if not amz_date or "x-amz-date" not in signed_lc:
        raise StsError("IncompleteSignature",
                       "Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header.")
    try:
        when = datetime.datetime.strptime(amz_date, AMZ_DATE_FMT).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise StsError("IncompleteSignature",
                       "Date must be in ISO-8601 'basic format'. Got '%s'." % amz_date)
    now = now_utc()
    fmt = lambda t: t.strftime(AMZ_DATE_FMT)
    if when < now - SKEW:
        raise StsError("SignatureDoesNotMatch",
                       "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (amz_date, fmt(now - SKEW), fmt(now)), 403)
    if when > now + SKEW:
        raise StsError("SignatureDoesNotMatch",
                       "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (amz_date, fmt(now + SKEW), fmt(now)), 403)
    if date != amz_date[:8]:
        raise StsError("SignatureDoesNotMatch",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       "version of date from HTTP: '%s' != '%s', from '%s'."
                       % (date, amz_date[:8], amz_date), 403)
    # Regional endpoint: the configured region; the global endpoint: us-east-1.
    if region not in (state.region, "us-east-1"):
        raise StsError("SignatureDoesNotMatch",
                       "Credential should be scoped to a valid region. ", 403)
    if service != "sts":
        raise StsError("SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: 'sts'. ", 403)
    cred = state.lookup(akid)
    if cred is None:
        raise StsError("InvalidClientTokenId", MSG_BAD_TOKEN, 403)
    token = headers.get("X-Amz-Security-Token")
    want = cred.get("session_token")
    if want:
        if token is None or "x-amz-security-token" not in signed_lc \
                or not hmac.compare_digest(token.encode(), want.encode()):
            raise StsError("InvalidClientTokenId", MSG_BAD_TOKEN, 403)
    elif token is not None:
        raise StsError("InvalidClientTokenId", MSG_BAD_TOKEN, 403)
    sha = headers.get("X-Amz-Content-SHA256")
    if sha is not None and sha != hashlib.sha256(body).hexdigest():
        raise StsError("SignatureDoesNotMatch", MSG_BAD_SIG, 403)
    signed_headers = {}
    for name in signed_lc:
        signed_headers[name] = ",".join(headers.get_all(name) or [])
    url = "https://%s%s" % (headers.get("Host", ""), path)
    request = AWSRequest(method=method, url=url, headers=signed_headers, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(cred["access_key_id"], cred["secret_access_key"],
                                   cred.get("session_token")), "sts", region)
    expected = ""
    if signer.signed_headers(signer.headers_to_sign(request)) == ";".join(sorted(signed_lc)):
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        raise StsError("SignatureDoesNotMatch", MSG_BAD_SIG, 403)
    exp = cred.get("expiration_dt")
    if exp is not None and exp <= now_utc():
        raise StsError("ExpiredToken", MSG_EXPIRED, 400)
    return cred


# --------------------------------------------------------------------------
# STS
# --------------------------------------------------------------------------

def xml_doc(root, result_name, inner, request_id):
    """Pretty-printed like the real service (clients must skip whitespace)."""
    return ('<%s xmlns="%s">\n  <%s>\n%s  </%s>\n  <ResponseMetadata>\n'
            '    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n</%s>\n'
            % (root, STS_NS, result_name, inner, result_name, request_id, root)).encode()


def el(name, value, indent=4):
    return "%s<%s>%s</%s>\n" % (" " * indent, name, escape(str(value)), name)


def credentials_xml(cred):
    return ("    <Credentials>\n" + el("AccessKeyId", cred["access_key_id"], 6)
            + el("SecretAccessKey", cred["secret_access_key"], 6)
            + el("SessionToken", cred["session_token"], 6)
            + el("Expiration", cred["expiration"], 6) + "    </Credentials>\n")


def assumed_user_xml(cred):
    return ("    <AssumedRoleUser>\n" + el("Arn", cred["arn"], 6)
            + el("AssumedRoleId", cred["user_id"], 6) + "    </AssumedRoleUser>\n")


def error_xml(err, request_id):
    return ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
            '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
            '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (STS_NS, err.kind, escape(err.code), escape(err.message),
               request_id)).encode()


def check_role_params(params, need_session=True):
    problems = []
    role_arn = params.get("RoleArn")
    if role_arn is None:
        problems.append("Value null at 'roleArn' failed to satisfy constraint: "
                        "Member must not be null")
    elif not 20 <= len(role_arn) <= 2048:
        problems.append("Value '%s' at 'roleArn' failed to satisfy constraint: Member must "
                        "have length %s" % (role_arn, "greater than or equal to 20"
                                            if len(role_arn) < 20 else
                                            "less than or equal to 2048"))
    session = params.get("RoleSessionName")
    if session is None:
        if need_session:
            problems.append("Value null at 'roleSessionName' failed to satisfy constraint: "
                            "Member must not be null")
    elif not 2 <= len(session) <= 64:
        problems.append("Value '%s' at 'roleSessionName' failed to satisfy constraint: "
                        "Member must have length %s" % (session, "greater than or equal to 2"
                                                        if len(session) < 2 else
                                                        "less than or equal to 64"))
    elif not SESSION_RE.match(session):
        problems.append("Value '%s' at 'roleSessionName' failed to satisfy constraint: "
                        "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                        % session)
    duration = params.get("DurationSeconds")
    if duration is not None:
        try:
            d = int(duration)
        except ValueError:
            raise StsError("MalformedInput", "Invalid value for DurationSeconds")
        if d < 900:
            problems.append("Value '%d' at 'durationSeconds' failed to satisfy constraint: "
                            "Member must have value greater than or equal to 900" % d)
        elif d > 43200:
            problems.append("Value '%d' at 'durationSeconds' failed to satisfy constraint: "
                            "Member must have value less than or equal to 43200" % d)
        duration = d
    ext = params.get("ExternalId")
    if ext is not None:
        if not 2 <= len(ext) <= 1224:
            problems.append("Value '%s' at 'externalId' failed to satisfy constraint: "
                            "Member must have length %s" % (ext, "greater than or equal to 2"
                                                            if len(ext) < 2 else
                                                            "less than or equal to 1224"))
        elif not EXTERNAL_ID_RE.match(ext):
            problems.append("Value '%s' at 'externalId' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: "
                            "[\\w+=,.@:\\/-]*" % ext)
    if problems:
        raise validation_error(problems)
    if not ROLE_ARN_RE.match(role_arn):
        raise StsError("ValidationError", "%s is invalid" % role_arn)
    return role_arn, session, duration, ext


def jwt_claims(token):
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        pad = "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
        return claims if isinstance(claims, dict) else {}
    except (ValueError, binascii.Error):
        return {}


def sts_web_identity(state, params, call, rid):
    role_arn, session, duration, _ = check_role_params(params)
    call.update(role_arn=role_arn, session_name=session, duration_seconds=duration)
    token = params.get("WebIdentityToken")
    if token is None:
        raise validation_error(["Value null at 'webIdentityToken' failed to satisfy "
                                "constraint: Member must not be null"])
    with state.lock:
        allowed = None if state.web_tokens is None else list(state.web_tokens)
    if allowed is None:
        if token == EXPIRED_WEB_TOKEN:
            t = int(time.time())
            raise StsError("ExpiredTokenException",
                           "Token expired: current date/time %d must be before the "
                           "expiration date/time %d" % (t, t - 60))
        ok = token != "" and token != BAD_WEB_TOKEN
    else:
        ok = any(hmac.compare_digest(token.encode(), a.encode()) for a in allowed)
    call["token_accepted"] = ok
    if not ok:
        raise StsError("InvalidIdentityToken", MSG_BAD_JWT)
    if "denied" in role_arn:
        raise StsError("AccessDenied",
                       "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
    claims = jwt_claims(token)
    subject = str(claims.get("sub") or "sub-" + hashlib.sha256(token.encode()).hexdigest()[:16])
    audience = claims.get("aud") or "sts.amazonaws.com"
    if isinstance(audience, list):
        audience = audience[0] if audience else "sts.amazonaws.com"
    provider = str(claims.get("iss") or "arn:aws:iam::%s:oidc-provider/oidc.standins.local"
                   % state.account)
    cred = state.issue("sts-web-identity", role_arn, session)
    call["issued_access_key_id"] = cred["access_key_id"]
    inner = (credentials_xml(cred) + el("SubjectFromWebIdentityToken", subject)
             + assumed_user_xml(cred) + el("Provider", provider) + el("Audience", audience))
    return xml_doc("AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
                   inner, rid)


def sts_assume_role(state, params, caller, call, rid):
    role_arn, session, duration, ext = check_role_params(params)
    call.update(role_arn=role_arn, session_name=session, duration_seconds=duration,
                external_id=ext)
    if caller.get("chained") and duration is not None and duration > 3600:
        raise StsError("ValidationError",
                       "The requested DurationSeconds exceeds the 1 hour session limit "
                       "for roles assumed by role chaining.")
    denied = "denied" in role_arn
    if "needs-external-id" in role_arn and ext != EXPECTED_EXTERNAL_ID:
        denied = True
    if denied:
        raise StsError("AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (caller["arn"], role_arn), 403)
    cred = state.issue("sts-assume-role", role_arn, session)
    call["issued_access_key_id"] = cred["access_key_id"]
    inner = credentials_xml(cred) + assumed_user_xml(cred) + el("PackedPolicySize", 6)
    return xml_doc("AssumeRoleResponse", "AssumeRoleResult", inner, rid)


def sts_caller_identity(state, caller, rid):
    m = re.search(r"::(\d{12}):", caller["arn"])
    inner = (el("Arn", caller["arn"]) + el("UserId", caller["user_id"])
             + el("Account", m.group(1) if m else state.account))
    return xml_doc("GetCallerIdentityResponse", "GetCallerIdentityResult", inner, rid)


FAULT_STS = {400: ("Throttling", "Rate exceeded", "Sender"),
             403: ("AccessDenied", "Access denied (injected fault)", "Sender"),
             500: ("InternalFailure", "An internal error occurred (injected fault)",
                   "Receiver"),
             503: ("ServiceUnavailable", "Service is unable to handle request (injected "
                   "fault)", "Receiver")}


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state, listener, port, handler, tls=None):
        self.state = state
        self.listener = listener
        super().__init__(("127.0.0.1", port), handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(*tls)
            self.socket = ctx.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            return
        super().handle_error(request, client_address)


class BaseHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-standins"
    sys_version = ""
    timeout = 60

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
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
                    raise HttpAnswer(413, "body too large")
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise HttpAnswer(400, "bad or too large Content-Length")
        return self.rfile.read(n) if n else b""

    def send(self, status, body, content_type="text/plain", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def finish_request(self, what, status, code=None):
        self.state.log(self.server.listener, self.command, self.path, what, status, code)

    def apply_fault(self, source):
        """Returns the injected status (the caller answers it) or None."""
        fault = self.state.take_fault(source)
        if not fault:
            return None
        status, delay_ms = fault
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        return status or None


class TlsHandler(BaseHandler):
    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()


class HttpsHandler(TlsHandler):
    """STS on its HTTPS listener."""

    def do_GET(self):
        self.sts()

    def do_POST(self):
        self.sts()

    def do_PUT(self):
        self.sts()

    def sts(self):
        state = self.state
        rid = str(uuid.uuid4())
        action = "-"
        call = None
        try:
            try:
                body = self.read_body()
            except HttpAnswer as ans:
                raise StsError("MalformedInput", ans.body.decode())
            split = urlsplit(self.path)
            params = dict(parse_qsl(split.query, keep_blank_values=True))
            if self.command == "POST":
                ctype = self.headers.get("Content-Type", "")
                if body and "x-www-form-urlencoded" not in ctype.lower():
                    raise StsError("InvalidAction", "Content-Type must be "
                                   "application/x-www-form-urlencoded")
                try:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise StsError("MalformedInput", "Body is not UTF-8")
            elif self.command != "GET":
                raise StsError("InvalidAction", "Only GET and POST are supported", 405)
            action = params.get("Action", "-")
            if split.path != "/":
                raise StsError("InvalidAction", "Unknown path %s" % split.path, 404)
            call = {"source": "sts", "action": action}
            status = self.apply_fault("sts")
            if status:
                code, msg, kind = FAULT_STS.get(status, ("InternalFailure",
                                                         "Injected fault", "Receiver"))
                raise StsError(code, msg, status, kind)
            if params.get("Version") != STS_VERSION or action not in (
                    "AssumeRoleWithWebIdentity", "AssumeRole", "GetCallerIdentity"):
                raise StsError("InvalidAction", "Could not find operation %s for version %s"
                               % (action, params.get("Version", "NO_VERSION_SPECIFIED")))
            if action == "AssumeRoleWithWebIdentity":
                answer = sts_web_identity(state, params, call, rid)
            else:
                caller = verify_sigv4(state, self.command, self.path, self.headers, body)
                call["source_access_key_id"] = caller["access_key_id"]
                if action == "AssumeRole":
                    answer = sts_assume_role(state, params, caller, call, rid)
                else:
                    answer = sts_caller_identity(state, caller, rid)
        except StsError as err:
            if call is not None:
                call.update(status=err.status, error=err.code)
                state.record(**call)
            self.send(err.status, error_xml(err, rid), "text/xml",
                      {"x-amzn-RequestId": rid})
            return self.finish_request(action, err.status, err.code)
        except Exception as exc:     # a bug or a KMS registration failure
            sys.stderr.write("aws_standins: internal error in STS %s: %r\n" % (action, exc))
            err = StsError("InternalFailure", "An internal error occurred: %s" % exc, 500,
                           "Receiver")
            if call is not None:
                call.update(status=500, error=err.code)
                state.record(**call)
            self.send(500, error_xml(err, rid), "text/xml", {"x-amzn-RequestId": rid})
            return self.finish_request(action, 500, err.code)
        call["status"] = 200
        state.record(**call)
        self.send(200, answer, "text/xml", {"x-amzn-RequestId": rid})
        self.finish_request(action, 200)


FAULT_REST_JSON = {
    "sso": {400: ("InvalidRequestException", "Invalid request (injected fault)"),
            401: ("UnauthorizedException", MSG_SSO_UNAUTHORIZED),
            403: ("ForbiddenException", MSG_SSO_FORBIDDEN),
            404: ("ResourceNotFoundException", "Not found (injected fault)"),
            429: ("TooManyRequestsException", "Too many requests (injected fault)")},
    "sso-oidc": {400: ("InvalidRequestException", "Invalid request (injected fault)"),
                 401: ("InvalidClientException", "Invalid client (injected fault)"),
                 403: ("AccessDeniedException", "Access denied (injected fault)"),
                 429: ("SlowDownException", "Slow down (injected fault)")},
}


class RestJsonHandler(TlsHandler):
    """The SSO portal and SSO-OIDC (rest-json, unsigned), each on its own
    HTTPS listener like the real portal.sso.REGION and oidc.REGION hosts."""
    service = None

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        state = self.state
        rid = str(uuid.uuid4())
        call = {"source": self.service}
        headers = {"x-amzn-RequestId": rid}
        try:
            try:
                body = self.read_body()
            except HttpAnswer as ans:
                raise RestJsonError(self.service, "InvalidRequestException",
                                    ans.body.decode(), ans.status)
            answer = self.operation(urlsplit(self.path), body, call)
            status, doc = 200, answer
        except RestJsonError as err:
            status, doc = err.status, err.body()
            headers["x-amzn-ErrorType"] = err.error_type()
            call["error"] = err.code
        except Exception as exc:     # a bug or a KMS registration failure
            sys.stderr.write("aws_standins: internal error in %s %s: %r\n"
                             % (self.service, call.get("action"), exc))
            err = RestJsonError(self.service, "InternalServerException",
                                "An internal error occurred: %s" % exc, 500)
            status, doc = 500, err.body()
            headers["x-amzn-ErrorType"] = err.error_type()
            call["error"] = err.code
        if call.get("action"):
            call["status"] = status
            state.record(**call)
        self.send(status, json.dumps(doc, separators=(",", ":")), "application/json",
                  headers)
        self.finish_request(call.get("action"), status, call.get("error"))

    def route(self, split, path, method, call, action):
        if split.path != path:
            raise RestJsonError(self.service, "UnknownOperationException",
                                "No operation at %s %s" % (self.command, split.path), 404)
        if self.command != method:
            raise RestJsonError(self.service, "MethodNotAllowedException",
                                "Method %s is not allowed on %s" % (self.command, path), 405)
        call["action"] = action
        status = self.apply_fault(self.service)
        if status:
            code, msg = FAULT_REST_JSON[self.service].get(
                status, ("InternalServerException", "Injected fault")
                if status >= 500 else ("InvalidRequestException", "Injected fault"))
            raise RestJsonError(self.service, code, msg, status)


class SsoHandler(RestJsonHandler):
    """GetRoleCredentials: GET /federation/credentials?account_id=&role_name=
    with x-amz-sso_bearer_token."""
    service = "sso"

    def operation(self, split, body, call):
        state = self.state
        self.route(split, "/federation/credentials", "GET", call, "GetRoleCredentials")
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        account, role = params.get("account_id"), params.get("role_name")
        call.update(account_id=account, role_name=role)
        missing = [n for n, v in (("account_id", account), ("role_name", role)) if not v]
        if missing:
            raise RestJsonError("sso", "InvalidRequestException",
                                "Missing required parameter(s): %s" % ", ".join(missing))
        token = self.headers.get("x-amz-sso_bearer_token")
        if not token:
            call.update(token="missing", token_accepted=False)
            raise RestJsonError("sso", "UnauthorizedException", MSG_SSO_UNAUTHORIZED, 401)
        verdict, origin = state.sso_token_state(token)
        call.update(token=verdict, token_accepted=verdict == "valid", token_origin=origin)
        if verdict != "valid":
            raise RestJsonError("sso", "UnauthorizedException", MSG_SSO_UNAUTHORIZED, 401)
        if "denied" in role:
            raise RestJsonError("sso", "ForbiddenException", MSG_SSO_FORBIDDEN, 403)
        role_arn = "arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_%s_%s" \
            % (account, role, hashlib.sha256(role.encode()).hexdigest()[:16])
        cred = state.issue("sso", role_arn, SSO_USER)
        call["issued_access_key_id"] = cred["access_key_id"]
        return {"roleCredentials": {
            "accessKeyId": cred["access_key_id"],
            "secretAccessKey": cred["secret_access_key"],
            "sessionToken": cred["session_token"],
            "expiration": int(cred["expiration_dt"].timestamp()) * 1000}}


class OidcHandler(RestJsonHandler):
    """CreateToken: POST /token, JSON body, grant type refresh_token."""
    service = "sso-oidc"

    def operation(self, split, body, call):
        self.route(split, "/token", "POST", call, "CreateToken")
        try:
            req = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise RestJsonError("sso-oidc", "InvalidRequestException",
                                "Request body is not valid JSON")
        if not isinstance(req, dict):
            raise RestJsonError("sso-oidc", "InvalidRequestException",
                                "Request body must be a JSON object")
        return self.state.oidc_refresh(req, call)


class HttpHandler(BaseHandler):
    """ECS container credentials, IMDSv2 and the control API."""

    def do_GET(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def route(self):
        path = urlsplit(self.path).path
        what, code = "-", None
        try:
            body = self.read_body()
            if path.startswith("/_control/"):
                what = "control"
                status, ctype, answer = self.control(path, body)
            elif path == "/ecs" or path.startswith(("/ecs/", "/v2/credentials/")):
                what = "ecs"
                status, ctype, answer = self.ecs(path)
            elif path.startswith("/latest/"):
                what = "imds"
                status, ctype, answer = self.imds(path)
            else:
                raise HttpAnswer(404, "not found")
        except HttpAnswer as ans:
            status, ctype, answer, code = ans.status, ans.content_type, ans.body, ans.code
        except Exception as exc:
            sys.stderr.write("aws_standins: internal error on %s: %r\n"
                             % (path, exc))
            status, ctype, answer, code = 500, "text/plain", b"internal error", "Internal"
        extra = {}
        if isinstance(answer, tuple):
            answer, extra = answer
        self.send(status, answer, ctype, extra)
        self.finish_request(what, status, code)

    # ---- ECS -------------------------------------------------------------

    def ecs(self, path):
        state = self.state
        call = {"source": "ecs", "action": "GetCredentials", "path": path}

        def fail(status, code, message):
            call.update(status=status, error=code)
            state.record(**call)
            raise HttpAnswer(status, json.dumps({"code": code, "message": message}),
                             "application/json", code)

        if self.command != "GET":
            fail(405, "MethodNotAllowed", "only GET")
        status = self.apply_fault("ecs")
        if status:
            fail(status, "InjectedFault", "injected fault")
        with state.lock:
            want, role_arn = state.ecs_token, state.ecs_role_arn
        if want is not None:
            got = self.headers.get("Authorization")
            call["authorization"] = "missing" if got is None else "present"
            if got is None:
                fail(401, "Unauthorized", "Authorization header required")
            if not hmac.compare_digest(got.encode(), want.encode()):
                fail(403, "AccessDenied", "Authorization token not valid")
        cred = state.issue("ecs", role_arn, "ecs-task")
        call.update(status=200, issued_access_key_id=cred["access_key_id"])
        state.record(**call)
        return 200, "application/json", json.dumps({
            "RoleArn": role_arn,
            "AccessKeyId": cred["access_key_id"],
            "SecretAccessKey": cred["secret_access_key"],
            "Token": cred["session_token"],
            "Expiration": cred["expiration"],
        }).encode()

    # ---- IMDSv2 ----------------------------------------------------------

    def imds(self, path):
        state = self.state
        call = {"source": "imds", "path": path}

        def fail(status, code, text=None):
            call.update(status=status, error=code)
            state.record(**call)
            raise HttpAnswer(status, text or IMDS_ERR.get(status, "error\n"),
                             "text/html" if status in IMDS_ERR else "text/plain", code)

        if path == "/latest/api/token":
            call["action"] = "PutToken"
            if self.command != "PUT":
                fail(405, "MethodNotAllowed")
            status = self.apply_fault("imds")
            if status:
                fail(status, "InjectedFault")
            if self.headers.get("X-Forwarded-For") is not None:
                fail(403, "Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            call["ttl"] = ttl
            try:
                ttl = int(ttl) if ttl is not None and ttl.strip().isdigit() else None
            except ValueError:
                ttl = None
            if ttl is None or not 1 <= ttl <= 21600:
                fail(400, "BadRequest")
            token = "AQAEA" + base64.urlsafe_b64encode(secrets.token_bytes(39)).decode()
            with state.lock:
                now = time.monotonic()
                for t, exp in list(state.imds_tokens.items()):
                    if exp <= now:
                        del state.imds_tokens[t]
                state.imds_tokens[token] = now + ttl
            call["status"] = 200
            state.record(**call)
            return 200, "text/plain", (token.encode(),
                                       {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})

        call["action"] = "GetMetadata"
        if self.command not in ("GET", "HEAD"):
            fail(405, "MethodNotAllowed")
        status = self.apply_fault("imds")
        if status:
            fail(status, "InjectedFault")
        token = self.headers.get("X-aws-ec2-metadata-token")
        with state.lock:
            v1 = state.imds_v1
            role = state.imds_role
            exp = state.imds_tokens.get(token) if token is not None else None
        if token is None:
            call["token"] = "none"
            if not v1:
                fail(401, "Unauthorized")
        else:
            if exp is None or exp <= time.monotonic():
                call["token"] = "invalid"
                fail(401, "Unauthorized")
            call["token"] = "valid"
        creds_dir = "/latest/meta-data/iam/security-credentials"
        if path in (creds_dir, creds_dir + "/"):
            call.update(action="GetRoleName", status=200)
            state.record(**call)
            return 200, "text/plain", role.encode()
        if path.startswith(creds_dir + "/"):
            name = path[len(creds_dir) + 1:].rstrip("/")
            call.update(action="GetRoleCredentials", role=name)
            if name != role:
                fail(404, "NotFound")
            role_arn = "arn:aws:iam::%s:role/%s" % (state.account, role)
            cred = state.issue("imds", role_arn, "i-0123456789abcdef0")
            call.update(status=200, issued_access_key_id=cred["access_key_id"])
            state.record(**call)
            doc = {"Code": "Success", "LastUpdated": cred["issued_at"], "Type": "AWS-HMAC",
                   "AccessKeyId": cred["access_key_id"],
                   "SecretAccessKey": cred["secret_access_key"],
                   "Token": cred["session_token"], "Expiration": cred["expiration"]}
            # Pretty-printed with " : " like the real service.
            return 200, "text/plain", json.dumps(doc, indent=2,
                                                 separators=(",", " : ")).encode()
        simple = {
            "/latest/meta-data/placement/region": state.region,
            "/latest/meta-data/placement/availability-zone": state.region + "a",
            "/latest/meta-data/instance-id": "i-0123456789abcdef0",
            "/latest/meta-data/iam/info": json.dumps({
                "Code": "Success", "LastUpdated": iso(now_utc()),
                "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s"
                                      % (state.account, role),
                "InstanceProfileId": stable_id("AIPA", role)}, indent=2),
        }
        if path.rstrip("/") in simple:
            call["status"] = 200
            state.record(**call)
            return 200, "text/plain", simple[path.rstrip("/")].encode()
        fail(404, "NotFound")

    # ---- control ---------------------------------------------------------

    def control(self, path, body):
        state = self.state
        if not self.client_address[0].startswith("127."):
            raise HttpAnswer(403, "loopback only")
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise HttpAnswer(400, json.dumps({"message": "body must be JSON"}),
                             "application/json")
        route = (self.command, path)
        try:
            if route == ("GET", "/_control/calls"):
                with state.lock:
                    answer = [dict(c) for c in state.calls]
            elif route == ("GET", "/_control/state"):
                answer = state.describe()
            elif route == ("POST", "/_control/reset"):
                state.reset_settings()
                with state.lock:
                    state.calls = []
                answer = state.describe()
            elif route == ("POST", "/_control/lifetime"):
                secs = data.get("seconds")
                if not isinstance(secs, int) or isinstance(secs, bool) or secs < 0:
                    raise ValueError("seconds must be a non-negative integer")
                with state.lock:
                    state.lifetime = secs
                answer = {"lifetime": secs}
            elif route == ("POST", "/_control/web-identity-tokens"):
                tokens = data.get("tokens")
                if tokens is not None and (not isinstance(tokens, list) or not all(
                        isinstance(t, str) and t for t in tokens)):
                    raise ValueError("tokens must be null or a list of non-empty strings")
                with state.lock:
                    state.web_tokens = tokens
                answer = {"web_identity_tokens": None if tokens is None else len(tokens)}
            elif route == ("POST", "/_control/ecs"):
                if "token" in data:
                    tok = data["token"]
                    if tok is not None and (not isinstance(tok, str) or "\r" in tok
                                            or "\n" in tok):
                        raise ValueError("token must be null or a one-line string")
                    with state.lock:
                        state.ecs_token = tok
                if "role_arn" in data:
                    if not isinstance(data["role_arn"], str):
                        raise ValueError("role_arn must be a string")
                    with state.lock:
                        state.ecs_role_arn = data["role_arn"]
                answer = state.describe()
            elif route == ("POST", "/_control/imds"):
                if "v1" in data:
                    if not isinstance(data["v1"], bool):
                        raise ValueError("v1 must be true or false")
                    with state.lock:
                        state.imds_v1 = data["v1"]
                if "role" in data:
                    if not isinstance(data["role"], str) or not data["role"] \
                            or "/" in data["role"]:
                        raise ValueError("role must be a non-empty name without '/'")
                    with state.lock:
                        state.imds_role = data["role"]
                if data.get("expire_tokens"):
                    with state.lock:
                        state.imds_tokens.clear()
                answer = state.describe()
            elif route == ("POST", "/_control/sso-login"):
                answer = state.sso_login(data)
                state.record(source="control", action="SsoLogin", status=200,
                             session_name=data.get("session_name"),
                             client_id=answer["token"].get("clientId"),
                             refresh="refreshToken" in answer["token"])
            elif route == ("POST", "/_control/sso"):
                if "token_lifetime" in data:
                    v = data["token_lifetime"]
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        raise ValueError("token_lifetime must be a non-negative integer")
                    with state.lock:
                        state.sso_token_lifetime = v
                if "rotate_refresh_tokens" in data:
                    if not isinstance(data["rotate_refresh_tokens"], bool):
                        raise ValueError("rotate_refresh_tokens must be true or false")
                    with state.lock:
                        state.rotate_refresh_tokens = data["rotate_refresh_tokens"]
                if data.get("expire_access_tokens"):
                    with state.lock:
                        state.sso_tokens.clear()
                if data.get("revoke_refresh_tokens"):
                    with state.lock:
                        state.refresh_tokens.clear()
                answer = state.describe()
            elif route == ("POST", "/_control/fail"):
                answer = {"faults": state.set_fault(data)}
            elif route == ("POST", "/_control/issue"):
                life = data.get("lifetime")
                if life is not None and (not isinstance(life, int) or isinstance(life, bool)):
                    raise ValueError("lifetime must be an integer (seconds, may be negative)")
                role_arn = data.get("role_arn", "arn:aws:iam::%s:role/control-issued"
                                    % state.account)
                cred = state.issue("control", role_arn, "control", life)
                state.record(source="control", action="Issue", status=200,
                             issued_access_key_id=cred["access_key_id"])
                answer = {"AccessKeyId": cred["access_key_id"],
                          "SecretAccessKey": cred["secret_access_key"],
                          "SessionToken": cred["session_token"],
                          "Expiration": cred["expiration"]}
            else:
                raise HttpAnswer(404, json.dumps({"message": "unknown control path"}),
                                 "application/json")
        except (ValueError, TypeError, AttributeError) as exc:
            raise HttpAnswer(400, json.dumps({"message": str(exc)}), "application/json")
        return 200, "application/json", json.dumps(answer).encode()


IMDS_ERR = {
    s: ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD '
        'XHTML 1.0 Transitional//EN"\n\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-'
        'transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" '
        'lang="en">\n <head>\n  <title>%d - %s</title>\n </head>\n <body>\n  <h1>%d - '
        '%s</h1>\n </body>\n</html>\n' % (s, t, s, t))
    for s, t in ((400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"),
                 (404, "Not Found"), (405, "Method Not Allowed"),
                 (500, "Internal Server Error"), (503, "Service Unavailable"))
}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kms-url", help="KMS test server (credentials are registered there)")
    p.add_argument("--kms-ca", help="CA bundle for --kms-url")
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--https-port", type=int, default=0)
    p.add_argument("--http-port-file")
    p.add_argument("--https-port-file")
    p.add_argument("--sso-port", type=int, default=0, help="SSO portal (HTTPS)")
    p.add_argument("--sso-port-file")
    p.add_argument("--oidc-port", type=int, default=0, help="SSO-OIDC (HTTPS)")
    p.add_argument("--oidc-port-file")
    p.add_argument("--cert", required=True,
                   help="certificate chain (PEM) of the HTTPS listeners")
    p.add_argument("--key", required=True, help="its private key (PEM)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="111122223333")
    p.add_argument("--base-credentials", help="JSON list like kms_server.py --credentials: "
                                              "who may call AssumeRole")
    p.add_argument("--lifetime", type=int, default=3600,
                   help="lifetime of issued credentials in seconds")
    p.add_argument("--parent-pid", type=int,
                   help="exit when this process is gone (polled every 0.5 s)")
    p.add_argument("--log", help="one line per request (no secrets)")
    return p.parse_args(argv)


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:        # a zombie (killed, not yet reaped) counts as gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def main(argv=None):
    opts = parse_args(argv)
    if opts.lifetime < 0:
        sys.exit("aws_standins: --lifetime must be >= 0")
    state = State(opts)

    http_srv = Server(state, "http", opts.http_port, HttpHandler)
    tls = (opts.cert, opts.key)
    https_srv = Server(state, "https", opts.https_port, HttpsHandler, tls=tls)
    sso_srv = Server(state, "sso", opts.sso_port, SsoHandler, tls=tls)
    oidc_srv = Server(state, "sso-oidc", opts.oidc_port, OidcHandler, tls=tls)
    servers = [http_srv, https_srv, sso_srv, oidc_srv]
    ports = [srv.server_address[1] for srv in servers]
    # The HTTPS port files last: kmsctl.sh waits for all of them.
    for path, port in zip((opts.http_port_file, opts.sso_port_file, opts.oidc_port_file,
                           opts.https_port_file), (ports[0], ports[2], ports[3], ports[1])):
        if path:
            write_port(path, port)
    sys.stderr.write("aws_standins: ECS/IMDS/control on http://127.0.0.1:%d, STS on "
                     "https://localhost:%d, SSO portal on https://localhost:%d, SSO-OIDC "
                     "on https://localhost:%d (region %s)\n"
                     % (ports[0], ports[1], ports[2], ports[3], opts.region))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                daemon=True) for s in servers]
    for t in threads:
        t.start()
    while not stop.wait(0.5):
        if opts.parent_pid and not pid_alive(opts.parent_pid):
            sys.stderr.write("aws_standins: parent %d is gone, exiting\n" % opts.parent_pid)
            break
    for s in servers:
        s.shutdown()
        s.server_close()


if __name__ == "__main__":
    main()
