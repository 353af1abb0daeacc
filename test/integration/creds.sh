#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The credential chain against local stand-ins for STS, ECS and IMDSv2
# (test/kms-server/aws_standins.py). Every credential they issue is
# registered at the test KMS, so a case passes only when the re-encryption
# signed with it verifies there.
# usage: creds.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
bash "$SOURCE_DIR/test/kms-server/kmsctl.sh" standins "$WORK/kms" >/dev/null
. "$WORK/kms/standins.sh"
cd "$WORK"
export HOME=$WORK # nothing from the real ~/.aws, no CLI cache
printf 'chained' >plain.txt
SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin
BASE_AKID=$AWS_ACCESS_KEY_ID
BASE_SECRET=$AWS_SECRET_ACCESS_KEY
ROLE="arn:aws:iam::${KMS_ACCOUNT}:role/rotator"

control() { # control PATH JSON
    curl -s -X POST -d "$2" "$STANDINS_HTTP_URL/_control/$1" >/dev/null
}
calls() { # calls ACTION: how many such calls the stand-ins saw
    curl -s "$STANDINS_HTTP_URL/_control/calls" | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin) if c.get("action") == sys.argv[1]))' "$1"
}
last_call() { # last_call FIELD: that field of the last recorded call
    curl -s "$STANDINS_HTTP_URL/_control/calls" | python3 -c '
import json, sys
calls = [c for c in json.load(sys.stdin) if c.get("source") != "control"]
print(calls[-1].get(sys.argv[1], "") if calls else "")' "$1"
}
# Nothing but what a case sets: no env keys, no files, no IMDS.
clean_env=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
           -u AWS_PROFILE AWS_ENDPOINT_URL_STS="$STANDINS_STS_URL"
           AWS_EC2_METADATA_DISABLED=true)
run() { # run [VAR=value...]: one re-encryption with only those settings
    "${clean_env[@]}" "$@" openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
        -inkey kms:alias/new -in old.bin -out new.bin
}
opens() { [ "$(aws_decrypt new.bin)" = chained ]; }

# --- 1. environment ---------------------------------------------------
rm -f new.bin
check "environment keys" run AWS_ACCESS_KEY_ID="$BASE_AKID" \
    AWS_SECRET_ACCESS_KEY="$BASE_SECRET"
check "  the blob opens" opens

# --- 2. web identity from the environment -------------------------------
printf 'oidc-token-1' >token
rm -f new.bin
check "web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)" run \
    AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE" \
    AWS_ROLE_SESSION_NAME=rotation-job
check "  the blob opens" opens
check "  STS saw AssumeRoleWithWebIdentity with the session name" \
    test "$(last_call session_name)" = rotation-job
printf 'bad-token' >badtoken
should_fail "web identity refused by STS names STS's error" \
    "web identity \(STS\): STS InvalidIdentityToken" \
    run AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/badtoken" AWS_ROLE_ARN="$ROLE"
should_fail "unreadable token file" "cannot read a token from $WORK/nope" \
    run AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/nope" AWS_ROLE_ARN="$ROLE"
should_fail "token file without AWS_ROLE_ARN" "AWS_ROLE_ARN is not" \
    run AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token"

# --- 3. shared files ------------------------------------------------------
ISSUED=$(curl -s -X POST -d '{"lifetime": 3600}' "$STANDINS_HTTP_URL/_control/issue")
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ISSUED" "$1"; }
cat >process.sh <<PROC
#!/bin/sh
cat <<JSON
{"Version": 1, "AccessKeyId": "$(field AccessKeyId)",
 "SecretAccessKey": "$(field SecretAccessKey)",
 "SessionToken": "$(field SessionToken)", "Expiration": "$(field Expiration)"}
JSON
PROC
printf '#!/bin/sh\necho "token service unreachable" >&2\nexit 3\n' >failing.sh
printf '#!/bin/sh\necho "{\\"Version\\": 2}"\n' >v2.sh
chmod +x process.sh failing.sh v2.sh
cat >credentials <<INI
[static]
aws_access_key_id = $BASE_AKID
aws_secret_access_key = $BASE_SECRET
[wrong]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wrong
INI
cat >config <<INI
[profile proc]
credential_process = "$WORK/process.sh" --unused 'argument with spaces'
[profile proc-fails]
credential_process = $WORK/failing.sh
[profile proc-v2]
credential_process = $WORK/v2.sh
[profile role]
role_arn = arn:aws:iam::${KMS_ACCOUNT}:role/needs-external-id
source_profile = static
external_id = expected-external-id
role_session_name = from-profile
duration_seconds = 1800
[profile role-bad-external-id]
role_arn = arn:aws:iam::${KMS_ACCOUNT}:role/needs-external-id
source_profile = static
external_id = guessed
[profile chained]
role_arn = arn:aws:iam::${KMS_ACCOUNT}:role/second
source_profile = role
[profile loop-a]
role_arn = $ROLE
source_profile = loop-b
[profile loop-b]
role_arn = $ROLE
source_profile = loop-a
[profile role-ecs]
role_arn = $ROLE
credential_source = EcsContainer
[profile role-web]
role_arn = $ROLE
web_identity_token_file = $WORK/token
INI
files=(AWS_SHARED_CREDENTIALS_FILE="$WORK/credentials" AWS_CONFIG_FILE="$WORK/config")

rm -f new.bin
check "static keys of AWS_PROFILE" run "${files[@]}" AWS_PROFILE=static
check "  the blob opens" opens
rm -f new.bin
check "environment wins over the files" run "${files[@]}" AWS_PROFILE=wrong \
    AWS_ACCESS_KEY_ID="$BASE_AKID" AWS_SECRET_ACCESS_KEY="$BASE_SECRET"
rm -f new.bin
check "an explicit profile (key URI) wins over AWS_PROFILE and the environment" \
    "${clean_env[@]}" "${files[@]}" AWS_PROFILE=wrong AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
    AWS_SECRET_ACCESS_KEY=wrong openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey "kms:alias/new?profile=static" -in old.bin -out new.bin
rm -f new.bin
check "credential_process (quoted arguments, no shell)" run "${files[@]}" AWS_PROFILE=proc
check "  the blob opens" opens
should_fail "credential_process exiting 3 says so, with its stderr" \
    "credential_process .*failing.sh: exit status 3: token service unreachable" \
    run "${files[@]}" AWS_PROFILE=proc-fails
should_fail "credential_process with Version 2" '"Version": 1' \
    run "${files[@]}" AWS_PROFILE=proc-v2
rm -f new.bin
check "role_arn + source_profile + external_id" run "${files[@]}" AWS_PROFILE=role
check "  STS saw the external id" test "$(last_call external_id)" = expected-external-id
check "  and the session name and duration" \
    test "$(last_call session_name)/$(last_call duration_seconds)" = from-profile/1800
check "  signed with the source profile's key" \
    test "$(last_call source_access_key_id)" = "$BASE_AKID"
check "  the blob opens" opens
should_fail "role with a wrong external id names STS's error" "STS AccessDenied" \
    run "${files[@]}" AWS_PROFILE=role-bad-external-id
rm -f new.bin
check "role chain (role -> role)" run "${files[@]}" AWS_PROFILE=chained
should_fail "a source_profile loop is refused" "chain longer than" \
    run "${files[@]}" AWS_PROFILE=loop-a
rm -f new.bin
check "role_arn + web_identity_token_file in the profile" run "${files[@]}" AWS_PROFILE=role-web
should_fail "an unknown explicit profile names itself" 'profile "absent" not found' \
    "${clean_env[@]}" "${files[@]}" openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey "kms:alias/new?profile=absent" -in old.bin -out x.bin

# --- 4. container credentials ----------------------------------------------
rm -f new.bin
check "ECS full URI + authorization token" run \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDINS_ECS_URL" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$STANDINS_ECS_TOKEN"
check "  the blob opens" opens
printf '%s\n' "$STANDINS_ECS_TOKEN" >ecs-token
rm -f new.bin
check "ECS token file wins over the token" run \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDINS_ECS_URL" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/ecs-token"
should_fail "ECS with a wrong token" "container credentials: .* answered HTTP 403" \
    run AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDINS_ECS_URL" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong
local_failure "ECS over http to a non-loopback host is refused" \
    "must be https, or http to a loopback" \
    run AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1/creds
rm -f new.bin
check "role_arn + credential_source = EcsContainer" run "${files[@]}" AWS_PROFILE=role-ecs \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDINS_ECS_URL" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$STANDINS_ECS_TOKEN"

# --- 5. EC2 instance metadata (IMDSv2) ----------------------------------------
rm -f new.bin
before=$(calls PutToken)
check "IMDSv2" run AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$STANDINS_IMDS_ENDPOINT"
check "  the blob opens" opens
check "  a session token was asked for (PUT)" test "$(calls PutToken)" -gt "$before"
control fail '{"source": "imds", "fail": 1, "status": 500}'
should_fail "IMDS failing to give a token says so" "EC2 instance metadata: no session token" \
    run AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$STANDINS_IMDS_ENDPOINT"
control fail '{"source": "imds", "fail": 0}'

# --- 6. nothing anywhere -------------------------------------------------------
start=$(date +%s%N)
should_fail "no credentials: one message naming every source" \
    "no credentials found; tried: environment .*web identity .*profile \"default\" .*container credentials .*EC2 instance metadata" \
    run AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null \
    AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -lt 3000 ]; then ok "  no IMDS costs ${ms} ms"; else not_ok "  no IMDS cost ${ms} ms"; fi

# --- 7. expiry and refresh under threads ------------------------------------------
control lifetime '{"seconds": 4}'
before=$(calls AssumeRoleWithWebIdentity)
"${clean_env[@]}" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE" \
    "${EVP_REFRESH_BIN:-$BUILD_DIR/test/evp_refresh}" "$BUILD_DIR" kms:alias/new \
    old.bin 10 4 >refresh.out 2>refresh.err && rc=0 || rc=$?
fetched=$(( $(calls AssumeRoleWithWebIdentity) - before ))
control lifetime '{"seconds": 3600}'
if [ "$rc" -eq 0 ]; then ok "4 threads x 10 s with 4-second credentials: $(cat refresh.out)"
else not_ok "refresh under load (exit $rc)"; sed 's/^/#   /' refresh.err | head -20; fi
# 10 s of 2-second refresh intervals: about 5 fetches, never one per request.
if [ "$fetched" -ge 3 ] && [ "$fetched" -le 12 ]; then
    ok "  credentials fetched $fetched times, refreshed ahead of expiry"
else not_ok "  credentials fetched $fetched times"; fi

finish
