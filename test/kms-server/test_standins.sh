#!/usr/bin/env bash
# shellcheck disable=SC2030,SC2031,SC2153  # subshell env wrappers; vars from standins.sh
# test_standins.sh: self-test of aws_standins.py (STS, ECS container
# credentials, IMDSv2, control API) through the real AWS CLI and botocore's own
# credential providers, against the KMS test server.
#
#   bash test/kms-server/test_standins.sh     # ok / not ok lines, "N passed, M failed"
#
# Needs: aws (CLI v1 or v2; --endpoint-url is always passed for KMS), curl, a
# python3 with botocore + cryptography (KMS_SERVER_PYTHON, like kmsctl.sh). The
# botocore checks also run under /usr/bin/python3 when that has a different
# botocore (Debian 12: 1.29). Exit status 0 only if everything passed.
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
