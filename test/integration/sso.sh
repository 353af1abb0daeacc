#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# IAM Identity Center (SSO) profiles through `openssl pkeyutl`, against the
# SSO portal and SSO-OIDC stand-ins (test/kms-server/aws_standins.py): both
# profile forms, a token refreshed and written back, expiry, the errors a
# user can act on, an SSO profile as a role's source_profile, and no token
# in any output. Each cache file is made "as aws sso login would have".
# usage: sso.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
bash "$SOURCE_DIR/test/kms-server/kmsctl.sh" standins "$WORK/kms" >/dev/null
. "$WORK/kms/standins.sh"
cd "$WORK"
export HOME=$WORK # the cache is $HOME/.aws/sso/cache
CACHE=$HOME/.aws/sso/cache
printf 'single sign-on' >plain.txt
SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin
ACCT=$KMS_ACCOUNT
START_URL=https://standins.awsapps.com/start
LEGACY_URL=https://legacy-standins.awsapps.com/start

cat >sso-config <<EOF
[sso-session standins]
sso_start_url = $START_URL
sso_region = $AWS_REGION
sso_registration_scopes = sso:account:access

[profile sso-dev]
sso_session = standins
sso_account_id = $ACCT
sso_role_name = KmsRotator

[profile sso-legacy]
sso_start_url = $LEGACY_URL
sso_region = $AWS_REGION
sso_account_id = $ACCT
sso_role_name = KmsLegacy

[profile sso-services]
sso_session = standins
sso_account_id = $ACCT
sso_role_name = KmsRotator
services = local

[services local]
sso =
  endpoint_url = $STANDINS_SSO_URL
sso_oidc =
  endpoint_url = $STANDINS_SSO_OIDC_URL

[profile sso-incomplete]
sso_session = standins
sso_account_id = $ACCT

[profile role-on-sso]
role_arn = arn:aws:iam::$ACCT:role/rotator
source_profile = sso-dev
EOF

control() { # control PATH JSON -> the answer
    curl -s -X POST -H 'Content-Type: application/json' -d "$2" \
        "$STANDINS_HTTP_URL/_control/$1"
}
calls() { # calls SOURCE ACTION: how many such calls the stand-ins saw
    curl -s "$STANDINS_HTTP_URL/_control/calls" | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin)
          if c.get("source") == sys.argv[1] and c.get("action") == sys.argv[2]))' "$1" "$2"
}
# sso_login SPEC: register a token at the stand-ins and write the cache file
# as `aws sso login` would; prints the file's path.
sso_login() {
    control sso-login "$1" | python3 -c '
import json, os, sys
a = json.load(sys.stdin)
os.makedirs(sys.argv[1], exist_ok=True)
p = os.path.join(sys.argv[1], a["cache_file"])
with open(p, "w") as f:
    json.dump(a["token"], f)
os.chmod(p, int(sys.argv[2], 8))
print(p)' "$CACHE" "${2:-600}"
}
json_get() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"; }
sha1() { printf '%s' "$1" | sha1sum | cut -c1-40; }

clean_env=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
           -u AWS_PROFILE -u AWS_ENDPOINT_URL AWS_CONFIG_FILE="$WORK/sso-config"
           AWS_ENDPOINT_URL_KMS="$KMS_SERVER_URL"
           AWS_ENDPOINT_URL_SSO="$STANDINS_SSO_URL"
           AWS_ENDPOINT_URL_SSO_OIDC="$STANDINS_SSO_OIDC_URL"
           AWS_ENDPOINT_URL_STS="$STANDINS_STS_URL"
           AWS_EC2_METADATA_DISABLED=true)
run() { # run PROFILE [VAR=value...]: one re-encryption through that profile
    local profile=$1
    shift
    "${clean_env[@]}" "$@" openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
        -inkey "kms:alias/new?profile=$profile" -in old.bin -out new.bin
}
opens() { [ "$(aws_decrypt new.bin)" = "single sign-on" ]; }

# --- the session form -----------------------------------------------------
file=$(sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": 3600}')
check "session form: the cache file is named by the session's SHA-1" \
    [ "$file" = "$CACHE/$(sha1 standins).json" ]
rm -f new.bin
check "session form (sso_session): re-encrypts through the portal" run sso-dev
check "  the blob opens" opens
check "  the portal saw GetRoleCredentials for KmsRotator" \
    [ "$(calls sso GetRoleCredentials)" -ge 1 ]
before=$(cat "$file")
check "  a token far from expiry is not refreshed, the file untouched" \
    [ "$(calls sso-oidc CreateToken):$(cat "$file")" = "0:$before" ]

# --- the legacy form ------------------------------------------------------
file=$(sso_login '{"session_name": null, "start_url": "'"$LEGACY_URL"'", "expires_in": 3600}')
check "legacy form: the cache file is named by the start URL's SHA-1" \
    [ "$file" = "$CACHE/$(sha1 "$LEGACY_URL").json" ]
rm -f new.bin
check "legacy form (sso_start_url in the profile)" run sso-legacy
check "  the blob opens" opens

# --- the profile's services section instead of AWS_ENDPOINT_URL_SSO*
rm -f new.bin
check "endpoints from the profile's services section" \
    run sso-services AWS_ENDPOINT_URL_SSO= AWS_ENDPOINT_URL_SSO_OIDC=
check "  the blob opens" opens

# --- refresh ---------------------------------------------------------------
file=$(sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": 600}' 640)
old_token=$(json_get "$file" accessToken)
old_refresh=$(json_get "$file" refreshToken)
old_exp=$(json_get "$file" expiresAt)
rm -f new.bin
check "a token 10 minutes from expiry: refreshed, then used" run sso-dev
check "  the blob opens" opens
check "  SSO-OIDC saw CreateToken" [ "$(calls sso-oidc CreateToken)" -eq 1 ]
check "  the file holds the new access and refresh tokens" \
    [ "$(json_get "$file" accessToken)" != "$old_token" -a \
      "$(json_get "$file" refreshToken)" != "$old_refresh" ]
check "  ... and a later expiry" \
    [ "$(json_get "$file" expiresAt)" \> "$old_exp" ]
check "  ... with the file's own mode kept (0640)" \
    [ "$(stat -c %a "$file")" = 640 ]
check "  ... and botocore's members, startUrl and region from the config" \
    [ "$(json_get "$file" startUrl):$(json_get "$file" region)" = "$START_URL:$AWS_REGION" ]
check "  no temporary file left beside it" \
    [ "$(find "$CACHE" -name '*.tmp-*' | wc -l)" -eq 0 ]

# --- expiry and the errors a user can act on -------------------------------
sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": -60, "refresh": false}' >/dev/null
should_fail "session form, expired, no refresh token: the advice" \
    'SSO session "standins" has no valid token.*run aws sso login --sso-session standins' \
    run sso-dev
sso_login '{"session_name": null, "start_url": "'"$LEGACY_URL"'", "expires_in": -60}' >/dev/null
should_fail "legacy form, expired: the advice with --profile" \
    'SSO profile "sso-legacy" has no valid token.*run aws sso login --profile sso-legacy' \
    run sso-legacy
file=$(sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": -60}')
control sso '{"revoke_refresh_tokens": true}' >/dev/null
should_fail "expired, and the refresh token refused: the advice" \
    'SSO session "standins" has no valid token.*aws sso login' run sso-dev
sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": 3600}' >/dev/null
control sso '{"expire_access_tokens": true}' >/dev/null
should_fail "the portal's UnauthorizedException: the advice" \
    'SSO session "standins" has no valid token \(the SSO portal refused it\): run aws sso login' \
    run sso-dev
rm -f "$CACHE/$(sha1 standins).json"
should_fail "no cached token: the advice" \
    'SSO session "standins" has no valid token \(no cached token\)' run sso-dev
printf 'not json {' >"$CACHE/$(sha1 standins).json"
should_fail "a cache file that is not JSON: its path and what is wrong" \
    "SSO token cache $CACHE/$(sha1 standins).json: it is not a JSON object" \
    run sso-dev
should_fail "an SSO profile without sso_role_name says so" \
    'profile "sso-incomplete": the SSO profile has no sso_role_name' \
    run sso-incomplete

# --- an SSO profile as the source_profile of a role -------------------------
sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": 3600}' >/dev/null
rm -f new.bin
check "role_arn + source_profile = an SSO profile" run role-on-sso
check "  the blob opens" opens
check "  STS saw AssumeRole" [ "$(curl -s "$STANDINS_HTTP_URL/_control/calls" |
    python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get("action")=="AssumeRole"))')" -ge 1 ]

# --- never a token in what the user sees -----------------------------------
file=$(sso_login '{"session_name": "standins", "start_url": "'"$START_URL"'", "expires_in": 600}')
secret_bits=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
print("\n".join(t[k][i:i + 12] for k in ("accessToken", "refreshToken", "clientSecret")
                for i in range(0, len(t[k]) - 11, 6)))' "$file")
rm -f new.bin
run sso-dev KMSRE_DEBUG=1 >debug.out 2>debug.err || true
control sso '{"expire_access_tokens": true}' >/dev/null
run sso-dev KMSRE_DEBUG=1 >>debug.out 2>>debug.err || true
check "the debug trace names the source and the refresh" \
    grep -q 'credentials: profile "sso-dev" (IAM Identity Center (SSO))' debug.err
leaks=$(printf '%s\n' "$secret_bits" | grep -F -f - debug.out debug.err | head -n 3 || true)
check "no piece of a token in the trace or the errors" [ -z "$leaks" ]

finish
