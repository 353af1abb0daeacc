#!/usr/bin/env bash
# shellcheck disable=SC2030,SC2031,SC2153  # subshell env wrappers; vars from standins.sh
# test_standins.sh: self-test of aws_standins.py (STS, ECS container
# credentials, IMDSv2, the IAM Identity Center portal and SSO-OIDC, control
# API) through the real AWS CLI and botocore's own credential providers,
# against the KMS test server.
#
#   bash test/kms-server/test_standins.sh     # ok / not ok lines, "N passed, M failed"
#
# Needs: aws (CLI v1 or v2; --endpoint-url is always passed for KMS), curl, a
# python3 with botocore + cryptography (KMS_SERVER_PYTHON, like kmsctl.sh). The
# botocore checks also run under /usr/bin/python3 when that has a different
# botocore (Debian 12: 1.29); the SSO ones need a botocore that honours
# AWS_ENDPOINT_URL_SSO and report themselves skipped under an older one.
# Exit status 0 only if everything passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/standins-test.XXXXXX")
dir=$work/kms
pass=0
failed=0
standins_pid=""

cleanup() {
    "$here/kmsctl.sh" stop "$dir" >/dev/null 2>&1 || true
    if [ -n "$standins_pid" ] && kill -0 "$standins_pid" 2>/dev/null; then
        kill "$standins_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok $((pass + failed)) - $1"; }
not_ok() {
    failed=$((failed + 1))
    echo "not ok $((pass + failed)) - $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 15 | sed 's/^/#   /'; fi
}
bail() {
    echo "Bail out! $*"
    for f in server.log standins.log; do
        [ -f "$dir/$f" ] && sed "s/^/# $f: /" "$dir/$f"
    done
    exit 1
}

# check DESC CMD...: CMD must succeed.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}
# check_err DESC PATTERN CMD...: CMD must fail with PATTERN (grep -E) in its output.
check_err() {
    local desc=$1 pat=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        not_ok "$desc (it succeeded)" "$out"
    elif printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        ok "$desc"
    else
        not_ok "$desc (no /$pat/ in the output)" "$out"
    fi
}
# check_eq DESC WANT GOT
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

"$here/kmsctl.sh" start "$dir" >/dev/null || bail "kmsctl.sh start failed"
"$here/kmsctl.sh" standins "$dir" >/dev/null || bail "kmsctl.sh standins failed"
# shellcheck disable=SC1091
. "$dir/env.sh"
# shellcheck disable=SC1091
. "$dir/standins.sh"
standins_pid=$STANDINS_PID
py=$KMS_SERVER_PYTHON
# The CLI caches assumed-role and web-identity credentials in ~/.aws/cli/cache
# even with AWS_CONFIG_FILE set: keep it (and everything else) out of $HOME.
export HOME=$work/home
mkdir -p "$HOME"
ctl=$STANDINS_HTTP_URL/_control
acct=$KMS_ACCOUNT
base_akid=$AWS_ACCESS_KEY_ID
base_secret=$AWS_SECRET_ACCESS_KEY
command -v aws >/dev/null || bail "no aws CLI"
command -v curl >/dev/null || bail "no curl"

# Control calls and questions about the recorded calls.
post() { curl -sS -f -o /dev/null -X POST -H 'Content-Type: application/json' -d "$2" "$ctl/$1"; }
# calls_py EXPR: evaluates EXPR with c = list of recorded calls; prints the result.
calls_py() {
    curl -sS "$ctl/calls" | "$py" -c '
import json, sys
c = json.load(sys.stdin)
print(eval("(" + sys.argv[1] + ")"))' "$1"
}
# status_of METHOD URL [curl args...]: HTTP status only.
status_of() {
    local m=$1 u=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"
}

# Without any credential in the environment; IMDS stays disabled unless a test
# turns it on.
# (All these wrappers are subshells, so they can run shell functions too.)
noenv() (
    rm -rf "$HOME/.aws/cli/cache"      # the CLI caches assumed-role credentials there
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
        AWS_DEFAULT_PROFILE
    "$@"
)
kms_list() { aws kms list-keys --endpoint-url "$KMS_SERVER_URL" --output text "$@"; }

# ---------------------------------------------------------------- start-up
check_eq "standins.sh sets STANDINS_HTTP_URL" "http://127.0.0.1:$STANDINS_HTTP_PORT" \
    "$STANDINS_HTTP_URL"
check_eq "standins.sh sets STANDINS_STS_URL" "https://localhost:$STANDINS_HTTPS_PORT" \
    "$STANDINS_STS_URL"
check "stand-ins process is running (STANDINS_PID)" kill -0 "$STANDINS_PID"
check "GET /_control/state answers" curl -sS -f "$ctl/state"

# AWS CLIs before v1.29 / v2.13 (Debian 12's awscli is 2.9) ignore
# AWS_ENDPOINT_URL_STS and would call the real STS: the checks of the CLI's
# own STS-based providers need the override and are skipped without it.
# The probe names a closed port: a CLI that honours the variable says so.
AWS_ENDPOINT_URL_STS=https://127.0.0.1:1 AWS_ACCESS_KEY_ID=AKIDPROBE \
    AWS_SECRET_ACCESS_KEY=probe AWS_MAX_ATTEMPTS=1 timeout 60 \
    aws sts get-caller-identity >"$work/sts-probe.out" 2>&1 || true
if grep -q '127\.0\.0\.1:1/' "$work/sts-probe.out"; then
    sts_override=1
else
    sts_override=0
    echo "# SKIP: this AWS CLI ($(aws --version 2>&1 | cut -d' ' -f1)) ignores" \
        "AWS_ENDPOINT_URL_STS: the checks of its STS-based credential providers"
fi

# ---------------------------------------------------------------- web identity
printf 'good-token' >"$work/token"
printf 'bad-token' >"$work/bad-token"
wi_env() (
    export AWS_WEB_IDENTITY_TOKEN_FILE="$1" AWS_ROLE_ARN="arn:aws:iam::$acct:role/kms-web" \
        AWS_ROLE_SESSION_NAME=web-session AWS_ENDPOINT_URL_STS="$STANDINS_STS_URL"
    shift
    noenv "$@"
)
if [ "$sts_override" = 1 ]; then
check "web identity (env): aws kms list-keys with the issued credentials" \
    wi_env "$work/token" aws kms list-keys --endpoint-url "$KMS_SERVER_URL"
check_eq "web identity: AssumeRoleWithWebIdentity recorded with role and session" \
    "AssumeRoleWithWebIdentity arn:aws:iam::$acct:role/kms-web web-session True" \
    "$(calls_py 'c[-1]["action"], c[-1]["role_arn"], c[-1]["session_name"],
                 c[-1]["issued_access_key_id"].startswith("ASIA")' | tr -d "(),'")"
check_eq "web identity: the CLI really signs with the role session" \
    "arn:aws:sts::$acct:assumed-role/kms-web/web-session" \
    "$(wi_env "$work/token" aws sts get-caller-identity --endpoint-url "$STANDINS_STS_URL" \
        --query Arn --output text 2>&1)"
check_err "web identity: bad-token gives InvalidIdentityToken" InvalidIdentityToken \
    wi_env "$work/bad-token" aws kms list-keys --endpoint-url "$KMS_SERVER_URL"
post web-identity-tokens '{"tokens": ["only-this-one"]}'
check_err "web identity: token not in the control-set list is refused" InvalidIdentityToken \
    wi_env "$work/token" aws kms list-keys --endpoint-url "$KMS_SERVER_URL"
printf 'only-this-one' >"$work/token2"
check "web identity: token in the control-set list is accepted" \
    wi_env "$work/token2" aws kms list-keys --endpoint-url "$KMS_SERVER_URL"
post web-identity-tokens '{"tokens": null}'
fi

# Raw XML shape (what a C client parses).
"$py" - "$STANDINS_STS_URL" "$AWS_CA_BUNDLE" >"$work/xml.out" 2>&1 <<'EOF'
import re, ssl, sys, urllib.parse, urllib.request, xml.etree.ElementTree as ET
url, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
def post(params):
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(url + "/", data=data, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
base = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::111122223333:role/raw", "RoleSessionName": "raw"}
st, body = post(dict(base, WebIdentityToken="raw-token", DurationSeconds="900"))
root = ET.fromstring(body)
assert st == 200, st
assert root.tag == NS + "AssumeRoleWithWebIdentityResponse", root.tag
res = root.find(NS + "AssumeRoleWithWebIdentityResult")
cr = res.find(NS + "Credentials")
akid = cr.find(NS + "AccessKeyId").text
assert re.fullmatch(r"ASIA[A-Z0-9]{16}", akid), akid
assert len(cr.find(NS + "SessionToken").text) >= 250
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cr.find(NS + "Expiration").text)
assert len(cr.find(NS + "SecretAccessKey").text) == 40
assert res.find(NS + "SubjectFromWebIdentityToken").text
assert res.find(NS + "AssumedRoleUser/" + NS + "Arn").text == \
    "arn:aws:sts::111122223333:assumed-role/raw/raw"
assert root.find(NS + "ResponseMetadata/" + NS + "RequestId").text
st, body = post(dict(base, WebIdentityToken="bad-token"))
root = ET.fromstring(body)
assert st == 400, st
assert root.tag == NS + "ErrorResponse", root.tag
assert root.find(NS + "Error/" + NS + "Type").text == "Sender"
assert root.find(NS + "Error/" + NS + "Code").text == "InvalidIdentityToken"
assert root.find(NS + "RequestId").text
st, body = post(dict(base, WebIdentityToken="x", DurationSeconds="899"))
assert st == 400 and b"<Code>ValidationError</Code>" in body, (st, body)
st, body = post(dict(base, Action="AssumeRole", WebIdentityToken="x"))
assert st == 403 and b"<Code>MissingAuthenticationToken</Code>" in body, (st, body)
st, body = post({"Action": "Nope", "Version": "2011-06-15"})
assert st == 400 and b"<Code>InvalidAction</Code>" in body, (st, body)
print("xml ok")
EOF
if grep -q '^xml ok$' "$work/xml.out"; then
    ok "STS raw XML: result, error (InvalidIdentityToken), ValidationError, unsigned AssumeRole, unknown action"
else
    not_ok "STS raw XML shapes" "$(cat "$work/xml.out")"
fi

# ---------------------------------------------------------------- AssumeRole profiles
cat >"$work/credentials" <<EOF
[base]
aws_access_key_id = $base_akid
aws_secret_access_key = $base_secret

[wrong-secret]
aws_access_key_id = $base_akid
aws_secret_access_key = ${base_secret%????}XXXX

[unknown-key]
aws_access_key_id = AKIAUNKNOWNUNKNOWN00
aws_secret_access_key = $base_secret
EOF
cat >"$work/config" <<EOF
[profile ext]
role_arn = arn:aws:iam::$acct:role/needs-external-id-rotator
source_profile = base
external_id = expected-external-id
role_session_name = ext-session
duration_seconds = 1800

[profile ext-wrong]
role_arn = arn:aws:iam::$acct:role/needs-external-id-rotator
source_profile = base
external_id = wrong-external-id

[profile chained]
role_arn = arn:aws:iam::$acct:role/second-hop
source_profile = ext
role_session_name = hop2

[profile chained-long]
role_arn = arn:aws:iam::$acct:role/second-hop
source_profile = ext
duration_seconds = 7200

[profile ecs-role]
role_arn = arn:aws:iam::$acct:role/from-ecs
credential_source = EcsContainer
role_session_name = from-ecs

[profile imds-role]
role_arn = arn:aws:iam::$acct:role/from-imds
credential_source = Ec2InstanceMetadata
role_session_name = from-imds
EOF
prof() (
    export AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/credentials" \
        AWS_ENDPOINT_URL_STS="$STANDINS_STS_URL"
    noenv "$@"
)
if [ "$sts_override" = 1 ]; then
check "AssumeRole profile (source_profile + external_id): aws kms list-keys" \
    prof kms_list --profile ext
check_eq "AssumeRole recorded: role, session, external id, duration, source key" \
    "AssumeRole arn:aws:iam::$acct:role/needs-external-id-rotator ext-session expected-external-id 1800 $base_akid" \
    "$(calls_py 'c[-1]["action"], c[-1]["role_arn"], c[-1]["session_name"],
                 c[-1]["external_id"], c[-1]["duration_seconds"],
                 c[-1]["source_access_key_id"]' | tr -d "(),'")"
check_err "AssumeRole with the wrong external_id: AccessDenied" AccessDenied \
    prof kms_list --profile ext-wrong
check "role chaining (source_profile is itself a role): aws kms list-keys" \
    prof kms_list --profile chained
check_eq "role chaining: second AssumeRole signed by the first one's issued key" \
    "True hop2" \
    "$(calls_py '(c[-1]["source_access_key_id"] == c[-2]["issued_access_key_id"]
                 and c[-1]["source_access_key_id"].startswith("ASIA")), c[-1]["session_name"]' |
        tr -d "(),'")"
check_err "role chaining with DurationSeconds 7200: ValidationError (1 hour limit)" \
    "ValidationError.*1 hour" prof kms_list --profile chained-long
fi
check_err "AssumeRole signed with a wrong secret: SignatureDoesNotMatch" \
    SignatureDoesNotMatch prof aws sts assume-role --profile wrong-secret \
    --endpoint-url "$STANDINS_STS_URL" --role-arn "arn:aws:iam::$acct:role/x-role-1" \
    --role-session-name s1
check_err "AssumeRole with an unknown access key: InvalidClientTokenId" \
    InvalidClientTokenId prof aws sts assume-role --profile unknown-key \
    --endpoint-url "$STANDINS_STS_URL" --role-arn "arn:aws:iam::$acct:role/x-role-1" \
    --role-session-name s1
check_eq "GetCallerIdentity with the base credential" "arn:aws:iam::$acct:user/kms-test" \
    "$(prof aws sts get-caller-identity --profile base --endpoint-url "$STANDINS_STS_URL" \
        --query Arn --output text 2>&1)"

# ---------------------------------------------------------------- ECS
ecs_env() (
    export AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDINS_ECS_URL" \
        AWS_CONTAINER_AUTHORIZATION_TOKEN="$1"
    shift
    noenv "$@"
)
check "ECS container credentials (FULL_URI + token): aws kms list-keys" \
    ecs_env ecs-auth-token kms_list
check_eq "ECS: GET recorded with the Authorization header" "ecs GetCredentials present 200" \
    "$(calls_py 'c[-1]["source"], c[-1]["action"], c[-1]["authorization"], c[-1]["status"]' |
        tr -d "(),'")"
check_err "ECS with the wrong authorization token: refused (403)" "403" \
    ecs_env wrong-token kms_list
check_eq "ECS without Authorization: 401" 401 \
    "$(status_of GET "$STANDINS_ECS_URL")"
check_eq "ECS answer has AccessKeyId/SecretAccessKey/Token/Expiration/RoleArn" \
    "ASIA 40 True Z arn:aws:iam::$acct:role/ecs-task-role" \
    "$(curl -sS -H 'Authorization: ecs-auth-token' "$STANDINS_HTTP_URL/ecs/any/path" |
        "$py" -c 'import json,sys; d=json.load(sys.stdin)
print(d["AccessKeyId"][:4], len(d["SecretAccessKey"]), len(d["Token"]) > 250,
      d["Expiration"][-1], d["RoleArn"])')"
if [ "$sts_override" = 1 ]; then
check "profile credential_source=EcsContainer + role_arn: aws kms list-keys" \
    ecs_env ecs-auth-token prof kms_list --profile ecs-role
check_eq "credential_source=EcsContainer: AssumeRole signed with the ECS key" "True from-ecs" \
    "$(calls_py '(c[-1]["action"] == "AssumeRole" and c[-2]["source"] == "ecs" and
                  c[-1]["source_access_key_id"] == c[-2]["issued_access_key_id"]),
                 c[-1]["session_name"]' | tr -d "(),'")"
fi
post ecs '{"token": null}'
check_eq "ECS with the token requirement switched off: 200 without Authorization" 200 \
    "$(status_of GET "$STANDINS_ECS_URL")"
post ecs '{"token": "ecs-auth-token"}'

# ---------------------------------------------------------------- IMDSv2
imds_env() (
    unset AWS_EC2_METADATA_DISABLED
    # With the trailing slash that CLIs before v2.13 need (they append
    # "latest/..." to it); the newer ones accept it too.
    export AWS_EC2_METADATA_SERVICE_ENDPOINT="${STANDINS_IMDS_ENDPOINT%/}/"
    noenv "$@"
)
check "IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT): aws kms list-keys" imds_env kms_list
check_eq "IMDSv2: token PUT, role name and role credentials with the token" \
    "PutToken 21600 GetRoleName valid GetRoleCredentials valid kms-rotator" \
    "$(calls_py 'c[-3]["action"], c[-3]["ttl"], c[-2]["action"], c[-2]["token"],
                 c[-1]["action"], c[-1]["token"], c[-1]["role"]' | tr -d "(),'")"
if [ "$sts_override" = 1 ]; then
check "profile credential_source=Ec2InstanceMetadata + role_arn: aws kms list-keys" \
    imds_env prof kms_list --profile imds-role
fi
imds=$STANDINS_IMDS_ENDPOINT
creds_path=/latest/meta-data/iam/security-credentials/
check_eq "IMDS: GET without a token is 401 (IMDSv1 off)" 401 \
    "$(status_of GET "$imds$creds_path")"
check_eq "IMDS: PUT token without the TTL header is 400" 400 \
    "$(status_of PUT "$imds/latest/api/token")"
check_eq "IMDS: PUT token with TTL 0 is 400" 400 \
    "$(status_of PUT "$imds/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 0')"
check_eq "IMDS: PUT token with TTL 21601 is 400" 400 \
    "$(status_of PUT "$imds/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 21601')"
check_eq "IMDS: an unknown token is 401" 401 \
    "$(status_of GET "$imds$creds_path" -H 'X-aws-ec2-metadata-token: nope')"
tok=$(curl -sS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 1' "$imds/latest/api/token")
check_eq "IMDS: role name with a fresh token" kms-rotator \
    "$(curl -sS -H "X-aws-ec2-metadata-token: $tok" "$imds$creds_path")"
check_eq "IMDS: role credentials JSON (Code, Type, keys, Expiration)" \
    "Success AWS-HMAC ASIA True Z Z" \
    "$(curl -sS -H "X-aws-ec2-metadata-token: $tok" "${imds}${creds_path}kms-rotator" |
        "$py" -c 'import json,sys; d=json.load(sys.stdin)
print(d["Code"], d["Type"], d["AccessKeyId"][:4], len(d["Token"]) > 250,
      d["Expiration"][-1], d["LastUpdated"][-1])')"
sleep 1.1
check_eq "IMDS: an expired token (TTL 1 s) is 401" 401 \
    "$(status_of GET "$imds$creds_path" -H "X-aws-ec2-metadata-token: $tok")"
post imds '{"v1": true}'
check_eq "IMDS: with the v1 switch on, GET without a token is 200" 200 \
    "$(status_of GET "$imds$creds_path")"
post imds '{"v1": false}'

# ---------------------------------------------------------------- faults
post fail '{"source": "ecs", "fail": 1, "status": 500}'
check_eq "fault: ecs fail 1 x 500, then normal" "500 200" \
    "$(status_of GET "$STANDINS_ECS_URL" -H 'Authorization: ecs-auth-token') $(
        status_of GET "$STANDINS_ECS_URL" -H 'Authorization: ecs-auth-token')"
post fail '{"source": "imds", "fail": 2, "status": 503}'
check_eq "fault: imds fail 2 x 503, then normal" "503 503 200" \
    "$(for _ in 1 2 3; do status_of PUT "$imds/latest/api/token" \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 60'; echo; done | xargs)"
post fail '{"source": "sts", "fail": 1, "status": 500}'
sts_wi() {
    curl -s -o "$work/sts.out" -w '%{http_code}' --cacert "$AWS_CA_BUNDLE" \
        --data 'Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=fault&WebIdentityToken=t&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ffault' \
        "$STANDINS_STS_URL/"
}
sts1=$(sts_wi)
grep -q '<Code>InternalFailure</Code>' "$work/sts.out" && sts1="$sts1 InternalFailure"
check_eq "fault: sts fail 1 x 500 (XML InternalFailure), then normal" \
    "500 InternalFailure 200" "$sts1 $(sts_wi)"

# ---------------------------------------------------------------- expiry
post lifetime '{"seconds": 3}'
ecs_json=$(curl -sS -H 'Authorization: ecs-auth-token' "$STANDINS_ECS_URL")
t0=$(date +%s)
read -r e_akid e_secret e_token e_left <<<"$("$py" -c 'import json,sys,datetime
d=json.loads(sys.argv[1])
exp=datetime.datetime.strptime(d["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left=(exp-datetime.datetime.now(datetime.timezone.utc)).total_seconds()
print(d["AccessKeyId"], d["SecretAccessKey"], d["Token"], int(round(left)))' "$ecs_json")"
check_eq "lifetime 3 s: Expiration is 3 s ahead (whole seconds, rounded up)" True \
    "$([ "$e_left" -ge 2 ] && [ "$e_left" -le 4 ] && echo True || echo "left=$e_left")"
static() (
    export AWS_ACCESS_KEY_ID="$e_akid" AWS_SECRET_ACCESS_KEY="$e_secret" \
        AWS_SESSION_TOKEN="$e_token"
    "$@"
)
check "lifetime 3 s: the fresh credentials work at KMS" static kms_list
sleep $((t0 + 4 - $(date +%s)))
sleep 0.2
check_err "after 4 s: KMS answers ExpiredTokenException" ExpiredTokenException static kms_list
check_err "after 4 s: STS answers ExpiredToken for them too" ExpiredToken \
    static aws sts get-caller-identity --endpoint-url "$STANDINS_STS_URL"
post lifetime '{"seconds": 3600}'

# ---------------------------------------------------------------- botocore providers
cat >"$work/boto.py" <<'EOF'
import functools, json, os, ssl, sys, urllib.error, urllib.request
import botocore
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import (AssumeRoleCredentialFetcher,
                                  AssumeRoleWithWebIdentityCredentialFetcher,
                                  ContainerProvider, Credentials,
                                  InstanceMetadataProvider)
from botocore.exceptions import ClientError
from botocore.utils import InstanceMetadataFetcher

E = os.environ
kms, ca, region = E["KMS_SERVER_URL"], E["AWS_CA_BUNDLE"], E["AWS_DEFAULT_REGION"]
sts, http, acct = E["STANDINS_STS_URL"], E["STANDINS_HTTP_URL"], E["KMS_ACCOUNT"]
tag = "[botocore %s] " % botocore.__version__
ctx = ssl.create_default_context(cafile=ca)


def report(ok, desc, detail=""):
    print("%s - %s%s" % ("ok" if ok else "not ok", tag, desc))
    if not ok and detail:
        print("# " + str(detail)[:400])


def list_keys(akid, secret, token):
    body = b"{}"
    req = AWSRequest(method="POST", url=kms + "/", data=body, headers={
        "X-Amz-Target": "TrentService.ListKeys",
        "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(akid, secret, token), "kms", region).add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=body, headers=dict(p.headers.items()),
                               method="POST")
    try:
        with urllib.request.urlopen(r, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def run(desc, fn):
    try:
        st, ans = fn()
        report(st == 200 and "Keys" in ans, desc, (st, ans))
    except Exception as exc:
        report(False, desc, repr(exc))


sess = botocore.session.Session()
sts_client = functools.partial(sess.create_client, region_name=region,
                               endpoint_url=sts, verify=ca)


def web_identity():
    f = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=sts_client, web_identity_token_loader=lambda: "boto-token",
        role_arn="arn:aws:iam::%s:role/boto-web" % acct,
        extra_args={"RoleSessionName": "boto-web"})
    d = f.fetch_credentials()
    assert d["access_key"].startswith("ASIA"), d["access_key"]
    return list_keys(d["access_key"], d["secret_key"], d["token"])


def assume_role(ext="expected-external-id"):
    f = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=Credentials(E["BASE_AKID"], E["BASE_SECRET"]),
        role_arn="arn:aws:iam::%s:role/needs-external-id-boto" % acct,
        extra_args={"ExternalId": ext, "RoleSessionName": "boto-ar",
                    "DurationSeconds": 900})
    d = f.fetch_credentials()
    return list_keys(d["access_key"], d["secret_key"], d["token"])


def container():
    p = ContainerProvider(environ={
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": http + "/ecs/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-auth-token"})
    c = p.load().get_frozen_credentials()
    return list_keys(c.access_key, c.secret_key, c.token)


def imds():
    p = InstanceMetadataProvider(iam_role_fetcher=InstanceMetadataFetcher(
        timeout=2, num_attempts=1, base_url=http, env={}))
    c = p.load().get_frozen_credentials()
    return list_keys(c.access_key, c.secret_key, c.token)


run("AssumeRoleWithWebIdentityCredentialFetcher -> KMS ListKeys", web_identity)
run("AssumeRoleCredentialFetcher (ExternalId) -> KMS ListKeys", assume_role)
try:
    assume_role("wrong-external-id")
    report(False, "AssumeRole with a wrong ExternalId is AccessDenied", "succeeded")
except ClientError as e:
    report(e.response["Error"]["Code"] == "AccessDenied",
           "AssumeRole with a wrong ExternalId is AccessDenied", e.response["Error"])
run("ContainerProvider (FULL_URI + token) -> KMS ListKeys", container)
run("InstanceMetadataProvider (IMDSv2) -> KMS ListKeys", imds)

# Already expired at issue time (control /issue, lifetime 0): KMS says so.
req = urllib.request.Request(http + "/_control/issue", data=b'{"lifetime": 0}',
                             method="POST")
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.loads(r.read())
st, ans = list_keys(d["AccessKeyId"], d["SecretAccessKey"], d["SessionToken"])
report(st == 400 and ans.get("__type") == "ExpiredTokenException",
       "credential issued with lifetime 0 -> KMS ExpiredTokenException", (st, ans))
EOF
seen=""
for p in "$py" /usr/bin/python3; do
    command -v "$p" >/dev/null 2>&1 || continue
    ver=$("$p" -c 'import botocore; print(botocore.__version__)' 2>/dev/null) || continue
    case " $seen " in *" $ver "*) continue ;; esac
    seen="$seen $ver"
    out=$(BASE_AKID=$base_akid BASE_SECRET=$base_secret "$p" "$work/boto.py" 2>&1)
    n=0
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }"; n=$((n + 1)) ;;
        "not ok - "*) not_ok "${line#not ok - }"; n=$((n + 1)) ;;
        "# "*) echo "#   ${line#\# }" ;;
        esac
    done <<<"$out"
    [ "$n" -eq 6 ] || not_ok "botocore checks with $p ran $n of 6" "$out"
done

# ---------------------------------------------------------------- IAM Identity Center (SSO)
# The SSO portal (GetRoleCredentials) and SSO-OIDC (CreateToken) stand-ins,
# through the AWS CLI and botocore's own SSO credential and token providers:
# a cache file in ~/.aws/sso/cache "as aws sso login would have left it", made
# with POST /_control/sso-login, and a profile of each form.
check_eq "standins.sh sets STANDINS_SSO_URL and STANDINS_SSO_OIDC_URL" \
    "https://localhost:$STANDINS_SSO_PORT https://localhost:$STANDINS_SSO_OIDC_PORT" \
    "$STANDINS_SSO_URL $STANDINS_SSO_OIDC_URL"
sso_cache=$HOME/.aws/sso/cache
cat >"$work/sso-config" <<EOF
[sso-session standins]
sso_start_url = https://standins.awsapps.com/start
sso_region = $AWS_REGION
sso_registration_scopes = sso:account:access

[profile sso-sess]
sso_session = standins
sso_account_id = $acct
sso_role_name = KmsRotator
region = $AWS_REGION

[profile sso-legacy]
sso_start_url = https://legacy-standins.awsapps.com/start
sso_region = $AWS_REGION
sso_account_id = $acct
sso_role_name = KmsLegacy
region = $AWS_REGION

[profile sso-denied]
sso_session = standins
sso_account_id = $acct
sso_role_name = denied-role
region = $AWS_REGION

[profile sso-services]
sso_session = standins
sso_account_id = $acct
sso_role_name = KmsRotator
region = $AWS_REGION
services = standins-endpoints

[services standins-endpoints]
sso =
  endpoint_url = $STANDINS_SSO_URL
sso_oidc =
  endpoint_url = $STANDINS_SSO_OIDC_URL
EOF
sso_env() (
    export AWS_CONFIG_FILE="$work/sso-config" AWS_ENDPOINT_URL_SSO="$STANDINS_SSO_URL" \
        AWS_ENDPOINT_URL_SSO_OIDC="$STANDINS_SSO_OIDC_URL"
    noenv "$@"
)
# sso_login SPEC: POST /_control/sso-login, write the cache file, print its path.
sso_login() {
    curl -sS -f -X POST -H 'Content-Type: application/json' -d "$1" "$ctl/sso-login" |
        "$py" -c 'import json, os, sys
a = json.load(sys.stdin)
os.makedirs(sys.argv[1], exist_ok=True)
p = os.path.join(sys.argv[1], a["cache_file"])
with open(p, "w") as f:
    json.dump(a["token"], f)
os.chmod(p, 0o600)
print(p)' "$sso_cache"
}
json_get() { "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Raw wire shapes (what a C client parses).
cat >"$work/sso_raw.py" <<'EOF'
import json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

E = os.environ
SSO, OIDC, ca = E["STANDINS_SSO_URL"], E["STANDINS_SSO_OIDC_URL"], E["AWS_CA_BUNDLE"]
ctl = E["STANDINS_HTTP_URL"] + "/_control/"
ctx = ssl.create_default_context(cafile=ca)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def control(path, body):
    req = urllib.request.Request(ctl + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def http(method, url, headers=None, body=None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def portal(token, **params):
    q = urllib.parse.urlencode(params or {"account_id": "111122223333", "role_name": "Raw"})
    h = {} if token is None else {"x-amz-sso_bearer_token": token}
    return http("GET", SSO + "/federation/credentials?" + q, h)


def create_token(**members):
    return http("POST", OIDC + "/token", {"Content-Type": "application/json"},
                json.dumps(members).encode())


def error_is(resp, status, code, ns, body):
    st, h, raw = resp
    check(st == status, (code, "status", st))
    check(h.get("Content-Type") == "application/json", (code, "content type"))
    check(h.get("x-amzn-RequestId"), (code, "request id"))
    check(h.get("x-amzn-ErrorType") == "%s:http://internal.amazon.com/coral/%s/" % (code, ns),
          (code, "x-amzn-ErrorType", h.get("x-amzn-ErrorType")))
    check(json.loads(raw) == body, (code, "body", raw))


PORTAL = "com.amazonaws.switchboard.portal"
OIDC_NS = "com.amazonaws.sso.oidc"
UNAUTH = {"message": "Session token not found or invalid",
          "__type": PORTAL + "#UnauthorizedException"}

# GetRoleCredentials
login = control("sso-login", {"session_name": "raw", "expires_in": 3600})["token"]
t0 = time.time()
st, h, raw = portal(login["accessToken"])
check(st == 200 and h.get("Content-Type") == "application/json" and h.get("x-amzn-RequestId"),
      ("portal 200", st, dict(h)))
rc = json.loads(raw)["roleCredentials"]
check(sorted(rc) == ["accessKeyId", "expiration", "secretAccessKey", "sessionToken"], rc.keys())
check(rc["accessKeyId"].startswith("ASIA") and len(rc["secretAccessKey"]) == 40
      and len(rc["sessionToken"]) > 250, "credential shapes")
check(isinstance(rc["expiration"], int) and rc["expiration"] % 1000 == 0
      and t0 + 3600 <= rc["expiration"] / 1000 <= time.time() + 3601,
      ("expiration in epoch ms", rc["expiration"]))
error_is(portal(None), 401, "UnauthorizedException", PORTAL, UNAUTH)
error_is(portal("aoaAAAAAGnot-a-token"), 401, "UnauthorizedException", PORTAL, UNAUTH)
expired = control("sso-login", {"session_name": "raw2", "expires_in": -1})["token"]
error_is(portal(expired["accessToken"]), 401, "UnauthorizedException", PORTAL, UNAUTH)
error_is(portal(login["accessToken"], account_id="111122223333"), 400,
         "InvalidRequestException", PORTAL,
         {"message": "Missing required parameter(s): role_name",
          "__type": PORTAL + "#InvalidRequestException"})
error_is(portal(login["accessToken"], account_id="111122223333", role_name="denied-x"), 403,
         "ForbiddenException", PORTAL,
         {"message": "No access", "__type": PORTAL + "#ForbiddenException"})
st, h, _ = http("POST", SSO + "/federation/credentials", {}, b"")
check(st == 405 and h.get("x-amzn-ErrorType", "").startswith("MethodNotAllowedException:"),
      ("portal POST", st))
st, h, _ = http("GET", SSO + "/token")
check(st == 404, ("portal /token", st))
control("fail", {"source": "sso", "fail": 1, "status": 429})
error_is(portal(login["accessToken"]), 429, "TooManyRequestsException", PORTAL,
         {"message": "Too many requests (injected fault)",
          "__type": PORTAL + "#TooManyRequestsException"})

# CreateToken
base = {"clientId": login["clientId"], "clientSecret": login["clientSecret"],
        "grantType": "refresh_token"}
st, h, raw = create_token(refreshToken=login["refreshToken"], **base)
ans = json.loads(raw)
check(st == 200 and h.get("Content-Type") == "application/json", ("CreateToken", st, raw))
check(sorted(ans) == ["accessToken", "expiresIn", "refreshToken", "tokenType"]
      and ans["tokenType"] == "Bearer" and ans["expiresIn"] == 3600
      and ans["refreshToken"] != login["refreshToken"], ("CreateToken answer", ans))
check(portal(ans["accessToken"])[0] == 200, "new access token accepted at the portal")
check(portal(login["accessToken"])[0] == 200, "old access token still valid until expiry")
error_is(create_token(refreshToken=login["refreshToken"], **base), 400,
         "InvalidGrantException", OIDC_NS,
         {"error": "invalid_grant", "error_description": "Invalid refresh token provided"})
error_is(create_token(refreshToken=ans["refreshToken"], **dict(base, clientSecret="x")), 401,
         "InvalidClientException", OIDC_NS,
         {"error": "invalid_client", "error_description": "Invalid client provided"})
error_is(create_token(refreshToken=ans["refreshToken"],
                      **dict(base, grantType="urn:ietf:params:oauth:grant-type:device_code")),
         400, "UnsupportedGrantTypeException", OIDC_NS,
         {"error": "unsupported_grant_type", "error_description": "Unsupported grant type: "
          "urn:ietf:params:oauth:grant-type:device_code (the stand-in only refreshes)"})
error_is(create_token(grantType="refresh_token", refreshToken="x"), 400,
         "InvalidRequestException", OIDC_NS,
         {"error": "invalid_request", "error_description":
          "Missing required parameter(s): clientId, clientSecret"})
short = control("sso-login", {"session_name": "raw3", "refresh_expires_in": -1})["token"]
error_is(create_token(refreshToken=short["refreshToken"], clientId=short["clientId"],
                      clientSecret=short["clientSecret"], grantType="refresh_token"), 400,
         "ExpiredTokenException", OIDC_NS,
         {"error": "expired_token", "error_description": "Refresh token has expired"})
old = control("sso-login", {"session_name": "raw4", "registration_expires_in": -1})["token"]
error_is(create_token(refreshToken=old["refreshToken"], clientId=old["clientId"],
                      clientSecret=old["clientSecret"], grantType="refresh_token"), 401,
         "InvalidClientException", OIDC_NS,
         {"error": "invalid_client", "error_description": "Client registration has expired"})
control("fail", {"source": "sso-oidc", "fail": 1, "status": 500})
error_is(create_token(refreshToken=ans["refreshToken"], **base), 500,
         "InternalServerException", OIDC_NS,
         {"error": "server_error", "error_description": "Injected fault"})
st, _, _ = http("GET", OIDC + "/federation/credentials")
check(st == 404, ("OIDC has no portal path", st))

if failures:
    for f in failures:
        print("# " + str(f)[:300])
    sys.exit(1)
print("raw ok")
EOF
if "$py" "$work/sso_raw.py" >"$work/sso_raw.out" 2>&1 && grep -q '^raw ok$' "$work/sso_raw.out"; then
    ok "SSO raw shapes: roleCredentials (expiration epoch ms), 401 UnauthorizedException, 400/403/404/405/429, CreateToken answer and rotation, InvalidGrant/InvalidClient/UnsupportedGrantType/InvalidRequest/ExpiredToken/InternalServer (header x-amzn-ErrorType + JSON body)"
else
    not_ok "SSO raw shapes" "$(cat "$work/sso_raw.out")"
fi

# The AWS CLI's SSO provider (botocore underneath). CLIs before v1.29/v2.13
# ignore AWS_ENDPOINT_URL_SSO and would call the real portal: skipped there.
AWS_ENDPOINT_URL_SSO=https://127.0.0.1:1 AWS_MAX_ATTEMPTS=1 timeout 60 \
    aws sso get-role-credentials --role-name x --account-id "$acct" --access-token t \
    >"$work/sso-probe.out" 2>&1 || true
if grep -q '127\.0\.0\.1:1/' "$work/sso-probe.out"; then
    sso_login '{"session_name": "standins", "expires_in": 3600}' >/dev/null
    check "CLI: sso-session profile: aws kms list-keys with the SSO role credentials" \
        sso_env kms_list --profile sso-sess
    check_eq "CLI: GetRoleCredentials recorded (account, role, the cached token)" \
        "sso GetRoleCredentials $acct KmsRotator True control 200" \
        "$(calls_py 'c[-1]["source"], c[-1]["action"], c[-1]["account_id"],
                     c[-1]["role_name"], c[-1]["token_accepted"], c[-1]["token_origin"],
                     c[-1]["status"]' | tr -d "(),'")"
    sso_login '{"start_url": "https://legacy-standins.awsapps.com/start"}' >/dev/null
    check "CLI: legacy profile (sso_start_url in the profile): aws kms list-keys" \
        sso_env kms_list --profile sso-legacy
    f=$(sso_login '{"session_name": "standins", "expires_in": -60}')
    old_at=$(json_get "$f" accessToken)
    check "CLI: expired token + refresh token: aws kms list-keys" \
        sso_env kms_list --profile sso-sess
    check_eq "CLI: CreateToken, then GetRoleCredentials with its token; cache rewritten, mode 600" \
        "CreateToken 200 GetRoleCredentials create-token new 600" \
        "$(calls_py 'c[-2]["action"], c[-2]["status"], c[-1]["action"], c[-1]["token_origin"]' |
            tr -d "(),'") $([ "$(json_get "$f" accessToken)" != "$old_at" ] && echo new) $(
            stat -c %a "$f")"
    sso_login '{"session_name": "standins", "expires_in": -60, "refresh": false}' >/dev/null
    check_err "CLI: expired token, no refresh token: Token has expired and refresh failed" \
        "Token has expired and refresh failed" sso_env kms_list --profile sso-sess
    check_err "CLI: aws sso get-role-credentials with an unknown token: UnauthorizedException" \
        "UnauthorizedException.*Session token not found or invalid" \
        sso_env aws sso get-role-credentials --role-name KmsRotator --account-id "$acct" \
        --access-token not-a-token
    f=$(sso_login '{"session_name": "oidc-cli"}')
    check_err "CLI: aws sso-oidc create-token with an unknown refresh token: InvalidGrantException" \
        "InvalidGrantException" sso_env aws sso-oidc create-token \
        --client-id "$(json_get "$f" clientId)" --client-secret "$(json_get "$f" clientSecret)" \
        --grant-type refresh_token --refresh-token not-a-refresh-token
else
    echo "# SKIP: this AWS CLI ($(aws --version 2>&1 | cut -d' ' -f1)) ignores" \
        "AWS_ENDPOINT_URL_SSO: the CLI checks of its SSO credential provider"
fi
rm -rf "$sso_cache"

# botocore's own SSO credential provider (SSOProvider + SSOTokenProvider through
# Session(profile=...)), under every botocore here that honours
# AWS_ENDPOINT_URL_SSO; an older one (Debian 12: 1.29) is reported skipped.
cat >"$work/boto_sso.py" <<'EOF'
import datetime, hashlib, json, os, re, stat, sys, time, urllib.request

E = os.environ
# Without a botocore that honours AWS_ENDPOINT_URL_SSO (1.31+), its SSO
# provider would call the real portal: probe that first, without network.
import botocore
import botocore.session
from botocore.exceptions import ClientError

tag = "[botocore %s SSO] " % botocore.__version__
E["AWS_ENDPOINT_URL_SSO"] = "https://127.0.0.1:1"
try:
    probe = botocore.session.Session().create_client("sso", region_name="us-east-1")
    honoured = probe.meta.endpoint_url == "https://127.0.0.1:1"
except Exception as exc:      # noqa: BLE001 - any failure means "cannot be used"
    honoured = False
if not honoured:
    print("skip - botocore %s ignores AWS_ENDPOINT_URL_SSO (needs 1.31+): its SSO "
          "provider would call the real portal" % botocore.__version__)
    sys.exit(0)

kms, ca, acct = E["KMS_SERVER_URL"], E["AWS_CA_BUNDLE"], E["KMS_ACCOUNT"]
ctl = E["STANDINS_HTTP_URL"] + "/_control/"
SSO, OIDC = E["STANDINS_SSO_URL"], E["STANDINS_SSO_OIDC_URL"]
cache_dir = os.path.join(E["HOME"], ".aws", "sso", "cache")
E["AWS_ENDPOINT_URL_SSO"] = SSO
E["AWS_ENDPOINT_URL_SSO_OIDC"] = OIDC
SESSION_URL = "https://standins.awsapps.com/start"
LEGACY_URL = "https://legacy-standins.awsapps.com/start"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def report(ok, desc, detail=""):
    print("%s - %s%s" % ("ok" if ok else "not ok", tag, desc))
    if not ok and detail != "":
        print("# " + str(detail)[:600].replace("\n", " "))


def control(path, body=None):
    req = urllib.request.Request(ctl + path, method="POST" if body is not None else "GET",
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def calls(since=0):
    return [c for c in control("calls") if c["seq"] > since]


def last_seq():
    c = control("calls")
    return c[-1]["seq"] if c else 0


def login(**spec):
    """Writes the cache file as `aws sso login` would have; returns the answer."""
    ans = control("sso-login", spec)
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, ans["cache_file"])
    with open(path, "w") as f:
        json.dump(ans["token"], f)
    os.chmod(path, 0o600)
    ans["path"] = path
    return ans


def read(path):
    with open(path) as f:
        return f.read()


def creds(profile):
    c = botocore.session.Session(profile=profile).get_credentials()
    return c.get_frozen_credentials(), c.method


def kms_list_keys(profile, **kw):
    sess = botocore.session.Session(profile=profile)
    client = sess.create_client("kms", endpoint_url=kms, verify=ca, **kw)
    return client.list_keys()


def check(desc, fn):
    try:
        ok, detail = fn()
    except Exception as exc:  # noqa: BLE001
        ok, detail = False, "%s: %s" % (type(exc).__name__, exc)
    report(ok, desc, detail)


def expect_error(desc, fn, name, text=None, extra=None):
    """fn must raise an exception whose class is `name` (or a ClientError
    with that code); extra() -> (ok, detail) checked afterwards."""
    try:
        fn()
        report(False, desc, "no error")
        return
    except ClientError as exc:
        got = exc.response["Error"]["Code"]
        msg = str(exc)
    except Exception as exc:  # noqa: BLE001
        got, msg = type(exc).__name__, str(exc)
    ok = got == name and (text is None or text in msg)
    detail = "%s: %s" % (got, msg)
    if ok and extra:
        ok, detail = extra()
    report(ok, desc, detail)


def new_calls(seq, source=None):
    return [c for c in calls(seq) if source is None or c["source"] == source]


def sso_calls(seq):
    return [(c["source"], c["action"], c["status"], c.get("token_origin") or
             c.get("refresh_token"), c.get("error")) for c in calls(seq)
            if c["source"] in ("sso", "sso-oidc")]


# ---------------------------------------------------------------- session form
def session_form():
    ans = login(session_name="standins", expires_in=3600)
    before = read(ans["path"])
    seq = last_seq()
    c, method = creds("sso-sess")
    got = sso_calls(seq)
    cl = new_calls(seq, "sso")
    ok = (c.access_key.startswith("ASIA") and method == "sso"
          and ans["cache_key"] == hashlib.sha1(b"standins").hexdigest()
          and got == [("sso", "GetRoleCredentials", 200, "control", None)]
          and cl[0]["account_id"] == acct and cl[0]["role_name"] == "KmsRotator"
          and cl[0]["issued_access_key_id"] == c.access_key
          and read(ans["path"]) == before)
    return ok, (method, got, cl)


check("sso-session profile: credentials from GetRoleCredentials with the cached token "
      "(cache file sha1(session name), not rewritten 60 min before expiry)", session_form)
check("sso-session profile: botocore KMS client signs with them (ListKeys)",
      lambda: ("Keys" in kms_list_keys("sso-sess"), ""))


def legacy_form(fmt="%Y-%m-%dT%H:%M:%SZ"):
    ans = control("sso-login", {"start_url": LEGACY_URL, "expires_in": 3600})
    tok = ans["token"]
    exp = datetime.datetime.strptime(tok["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
    tok["expiresAt"] = exp.strftime(fmt)
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, hashlib.sha1(LEGACY_URL.encode()).hexdigest() + ".json")
    with open(path, "w") as f:
        json.dump(tok, f)
    seq = last_seq()
    c, method = creds("sso-legacy")
    got = sso_calls(seq)
    ok = (c.access_key.startswith("ASIA") and method == "sso"
          and set(tok) == {"startUrl", "region", "accessToken", "expiresAt"}
          and ans["cache_file"] == os.path.basename(path)
          and got == [("sso", "GetRoleCredentials", 200, "control", None)]
          and "Keys" in kms_list_keys("sso-legacy"))
    return ok, (got, ans["cache_file"])


check("legacy profile (sso_start_url in the profile): cache file sha1(start URL), "
      "credentials work at KMS", legacy_form)
check("legacy profile: expiresAt written as ...SSUTC (old CLI v2 format) is accepted",
      lambda: legacy_form("%Y-%m-%dT%H:%M:%SUTC"))


# ---------------------------------------------------------------- refresh
CACHE_KEYS = ["startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
              "registrationExpiresAt", "refreshToken"]


def refresh(expires_in, rotate=True):
    ans = login(session_name="standins", expires_in=expires_in)
    old = ans["token"]
    seq = last_seq()
    t0 = time.time()
    c, _ = creds("sso-sess")
    got = sso_calls(seq)
    raw = read(ans["path"])
    new = json.loads(raw)
    mode = stat.S_IMODE(os.stat(ans["path"]).st_mode)
    exp = datetime.datetime.strptime(new["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    keys = CACHE_KEYS if rotate else CACHE_KEYS[:-1]
    problems = []
    if got != [("sso-oidc", "CreateToken", 200, "valid", None),
               ("sso", "GetRoleCredentials", 200, "create-token", None)]:
        problems.append(("calls", got))
    if list(new) != keys:
        problems.append(("keys", list(new)))
    if raw != json.dumps(new):
        problems.append("not json.dumps() default separators")
    if mode != 0o600:
        problems.append("mode %o" % mode)
    if not ISO_Z.match(new["expiresAt"]) or not t0 + 3600 - 2 <= exp <= time.time() + 3600:
        problems.append(("expiresAt", new["expiresAt"]))
    for k in ("clientId", "clientSecret", "registrationExpiresAt", "startUrl", "region"):
        if new[k] != old[k]:
            problems.append(("changed", k))
    if new["accessToken"] == old["accessToken"]:
        problems.append("same accessToken")
    if rotate and new["refreshToken"] == old["refreshToken"]:
        problems.append("same refreshToken")
    if [f for f in os.listdir(cache_dir) if f.endswith(".tmp")]:
        problems.append("temp file left")
    if not c.access_key.startswith("ASIA"):
        problems.append("no credentials")
    return not problems, problems or old


check("token 14 min before expiry: botocore refreshes through CreateToken, writes the "
      "cache back (same keys + order, new accessToken/refreshToken, expiresAt = now + "
      "expiresIn as ...Z, mode 0600, client registration unchanged) and uses the new token",
      lambda: refresh(840))
check("token already expired but refresh token valid: refreshed the same way",
      lambda: refresh(-60))


def no_refresh_at(expires_in):
    ans = login(session_name="standins", expires_in=expires_in)
    before = read(ans["path"])
    seq = last_seq()
    creds("sso-sess")
    got = sso_calls(seq)
    return (got == [("sso", "GetRoleCredentials", 200, "control", None)]
            and read(ans["path"]) == before), got


check("token 16 min before expiry: no CreateToken, cache file untouched",
      lambda: no_refresh_at(960))


def old_refresh_rejected():
    ans = login(session_name="standins", expires_in=60)
    old = ans["token"]
    creds("sso-sess")           # rotates the refresh token
    oidc = botocore.session.Session().create_client("sso-oidc", region_name="us-east-1")
    try:
        oidc.create_token(clientId=old["clientId"], clientSecret=old["clientSecret"],
                          grantType="refresh_token", refreshToken=old["refreshToken"])
        return False, "old refresh token accepted"
    except ClientError as exc:
        e = exc.response["Error"]
        return (e["Code"] == "InvalidGrantException" and exc.response.get("error") ==
                "invalid_grant" and exc.response["ResponseMetadata"]["HTTPStatusCode"]
                == 400), exc.response


check("refresh tokens rotate: the replaced one gives InvalidGrantException "
      "(400, error invalid_grant) to botocore's sso-oidc client", old_refresh_rejected)

control("sso", {"rotate_refresh_tokens": False})
check("CreateToken answer without refreshToken: botocore writes the file WITHOUT one",
      lambda: refresh(600, rotate=False))
control("sso", {"rotate_refresh_tokens": True})


def refresh_fails_but_valid():
    ans = login(session_name="standins", expires_in=700)
    before = read(ans["path"])
    control("fail", {"source": "sso-oidc", "fail": 5, "status": 400})
    seq = last_seq()
    try:
        c, _ = creds("sso-sess")
    finally:
        control("fail", {"source": "sso-oidc", "fail": 0})
    got = sso_calls(seq)
    return (c.access_key.startswith("ASIA") and read(ans["path"]) == before and got == [
        ("sso-oidc", "CreateToken", 400, None, "InvalidRequestException"),
        ("sso", "GetRoleCredentials", 200, "control", None)]), got


check("refresh fails (CreateToken 400) while the token is still valid: botocore goes on "
      "with the old token, file untouched", refresh_fails_but_valid)


def portal_retry():
    login(session_name="standins", expires_in=3600)
    control("fail", {"source": "sso", "fail": 1, "status": 500})
    seq = last_seq()
    c, _ = creds("sso-sess")
    got = sso_calls(seq)
    return (c.access_key.startswith("ASIA") and got == [
        ("sso", "GetRoleCredentials", 500, None, "InternalServerException"),
        ("sso", "GetRoleCredentials", 200, "control", None)]), got


check("portal 500 once: botocore retries GetRoleCredentials and succeeds", portal_retry)


# ---------------------------------------------------------------- errors
def no_sso_call(seq):
    return lambda: (not [c for c in calls(seq) if c["source"] == "sso"], sso_calls(seq))


seq = last_seq()
login(session_name="standins", expires_in=-60, refresh=False)
expect_error("expired token, no refresh token: TokenRetrievalError, portal not called",
             lambda: creds("sso-sess"), "TokenRetrievalError",
             "Token has expired and refresh failed",
             lambda: (sso_calls(seq) == [], sso_calls(seq)))

login(session_name="standins", expires_in=-60)
control("sso", {"revoke_refresh_tokens": True})
seq = last_seq()
expect_error("expired token, refresh token unknown to OIDC: CreateToken "
             "InvalidGrantException, then TokenRetrievalError",
             lambda: creds("sso-sess"), "TokenRetrievalError", None,
             lambda: (sso_calls(seq) == [("sso-oidc", "CreateToken", 400, "unknown",
                                          "InvalidGrantException")], sso_calls(seq)))

login(session_name="standins", expires_in=-60, registration_expires_in=-10)
seq = last_seq()
expect_error("expired token, client registration expired: no CreateToken at all, "
             "TokenRetrievalError", lambda: creds("sso-sess"), "TokenRetrievalError", None,
             lambda: (sso_calls(seq) == [], sso_calls(seq)))

ans = control("sso-login", {"start_url": LEGACY_URL, "expires_in": -1})
with open(os.path.join(cache_dir, ans["cache_file"]), "w") as f:
    json.dump(ans["token"], f)
seq = last_seq()
# botocore 1.29 (Debian 12) refuses an expired legacy token itself; 1.37
# (Debian 13) sends it, and the portal's 401 ends the same way.
expect_error("legacy profile, expired token: UnauthorizedSSOTokenError, portal not "
             "called or refusing the token (401)",
             lambda: creds("sso-legacy"), "UnauthorizedSSOTokenError", None,
             lambda: (sso_calls(seq) in ([], [("sso", "GetRoleCredentials", 401, "control",
                                               "UnauthorizedException")]), sso_calls(seq)))

login(session_name="standins", expires_in=3600)
control("sso", {"expire_access_tokens": True})
seq = last_seq()
expect_error("token valid in the cache but unknown to the portal: 401 "
             "UnauthorizedException -> UnauthorizedSSOTokenError",
             lambda: creds("sso-sess"), "UnauthorizedSSOTokenError", None,
             lambda: ([(c["status"], c["error"], c["token"]) for c in calls(seq)
                       if c["source"] == "sso"] == [(401, "UnauthorizedException",
                                                     "unknown")], calls(seq)))

login(session_name="standins", expires_in=3600)
expect_error("role not assigned (name contains 'denied'): 403 ForbiddenException",
             lambda: creds("sso-denied"), "ForbiddenException", "No access")

for f in os.listdir(cache_dir):
    os.unlink(os.path.join(cache_dir, f))
expect_error("no cache file: SSOTokenLoadError (nothing sent)", lambda: creds("sso-sess"),
             "SSOTokenLoadError", "does not exist")

# ---------------------------------------------------------------- services section
login(session_name="standins", expires_in=3600)
for v in ("AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL"):
    E.pop(v, None)
seq = last_seq()
check("profile `services` section (sso / sso_oidc endpoint_url), no AWS_ENDPOINT_URL_*: "
      "credentials work at KMS",
      lambda: ("Keys" in kms_list_keys("sso-services") and
               sso_calls(seq) == [("sso", "GetRoleCredentials", 200, "control", None)],
               sso_calls(seq)))
ans = login(session_name="standins", expires_in=-5)
seq = last_seq()
check("services section: refresh goes to the sso_oidc endpoint_url",
      lambda: (creds("sso-services")[0].access_key.startswith("ASIA") and
               [c[:3] for c in sso_calls(seq)] == [("sso-oidc", "CreateToken", 200),
                                                  ("sso", "GetRoleCredentials", 200)],
               sso_calls(seq)))
EOF
seen=""
for p in "$py" /usr/bin/python3; do
    command -v "$p" >/dev/null 2>&1 || continue
    ver=$("$p" -c 'import botocore; print(botocore.__version__)' 2>/dev/null) || continue
    case " $seen " in *" $ver "*) continue ;; esac
    seen="$seen $ver"
    out=$(AWS_CONFIG_FILE=$work/sso-config noenv "$p" "$work/boto_sso.py" 2>&1)
    rm -rf "$sso_cache"
    if skip=$(printf '%s\n' "$out" | grep -m1 '^skip - '); then
        echo "# SKIP: ${skip#skip - }"
        continue
    fi
    n=0
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }"; n=$((n + 1)) ;;
        "not ok - "*) not_ok "${line#not ok - }"; n=$((n + 1)) ;;
        "# "*) echo "#   ${line#\# }" ;;
        esac
    done <<<"$out"
    [ "$n" -eq 20 ] || not_ok "botocore SSO checks with $p ran $n of 20" "$out"
done

# Tokens and client secrets never reach the call list or the request log.
sso_doc=$(curl -sS -X POST -d '{"session_name": "secrets-check"}' "$ctl/sso-login")
read -r sso_at sso_rt sso_cid sso_cs <<<"$("$py" -c 'import json, sys
t = json.loads(sys.argv[1])["token"]
print(t["accessToken"], t["refreshToken"], t["clientId"], t["clientSecret"])' "$sso_doc")"
curl -sS -o /dev/null --cacert "$AWS_CA_BUNDLE" -H "x-amz-sso_bearer_token: $sso_at" \
    "$STANDINS_SSO_URL/federation/credentials?account_id=$acct&role_name=SecretsCheck"
curl -sS -o /dev/null --cacert "$AWS_CA_BUNDLE" -H 'Content-Type: application/json' \
    -d "{\"clientId\": \"$sso_cid\", \"clientSecret\": \"$sso_cs\", \"grantType\": \"refresh_token\", \"refreshToken\": \"$sso_rt\"}" \
    "$STANDINS_SSO_OIDC_URL/token"
check_eq "SSO: the last calls were GetRoleCredentials and CreateToken with those tokens" \
    "GetRoleCredentials 200 CreateToken 200" \
    "$(calls_py 'c[-2]["action"], c[-2]["status"], c[-1]["action"], c[-1]["status"]' |
        tr -d "(),'")"
check_eq "SSO: calls and request log never contain an access/refresh token or client secret" \
    0 "$( (curl -sS "$ctl/calls"; cat "$dir/standins-requests.log") |
        grep -c -F -e "$sso_at" -e "$sso_rt" -e "$sso_cs")"

# ---------------------------------------------------------------- control, log, stop
check_eq "GET /_control/calls never contains a secret or token" 0 \
    "$(curl -sS "$ctl/calls" | grep -c -e "$base_secret" -e "$e_secret" -e "$e_token")"
check_eq "request log never contains a secret or token" 0 \
    "$(grep -c -e "$base_secret" -e "$e_secret" -e "$e_token" "$dir/standins-requests.log")"
check_eq "POST /_control/reset clears calls and settings" "0 3600 False" \
    "$(curl -sS -X POST "$ctl/reset" | "$py" -c 'import json,sys; d=json.load(sys.stdin)
print(d["calls"], d["lifetime"], d["imds_v1"])')"
check_eq "unknown control path is 404" 404 "$(status_of POST "$ctl/nope")"
check_eq "bad fault spec is 400" 400 \
    "$(status_of POST "$ctl/fail" -d '{"source": "kms"}')"

"$here/kmsctl.sh" stop "$dir" >/dev/null 2>&1
gone=no
for _ in $(seq 1 30); do
    # A zombie (exited, not yet reaped by init) counts as gone.
    case $(ps -o stat= -p "$standins_pid" 2>/dev/null) in
    "" | Z*) gone=yes; break ;;
    esac
    sleep 0.1
done
check_eq "kmsctl.sh stop: the stand-ins exit by themselves (parent pid gone)" yes "$gone"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
