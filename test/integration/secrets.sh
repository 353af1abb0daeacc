#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Everything with the debug trace on (KMSRE_DEBUG=1) and temporary
# credentials: the trace shows the region, endpoint and credential source
# chosen (and why earlier sources were skipped), then endpoint, operation,
# attempt, status and request id of each attempt; no output of any run
# holds a secret key, a session token or the plaintext.
# usage: secrets.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
cd "$WORK"
LOG=$WORK/all.log
: >"$LOG"

# Temporary credentials (with a session token) that the server accepts.
AKID=ASIA$(head -c 12 /dev/urandom | base32 | tr -dc 'A-Z2-7' | head -c 16)
SECRET=$(head -c 30 /dev/urandom | base64 | tr -d '\n/+=' | head -c 40)
TOKEN=FwoG$(head -c 90 /dev/urandom | base64 | tr -d '\n')
curl -s --cacert "$AWS_CA_BUNDLE" -X POST "$KMS_SERVER_URL/_control/credentials" \
    -d "{\"access_key_id\": \"$AKID\", \"secret_access_key\": \"$SECRET\", \"session_token\": \"$TOKEN\"}" >/dev/null
PLAIN="the secret recipe: $(head -c 12 /dev/urandom | base64)"
printf '%s' "$PLAIN" >plain.txt
SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context Dept=IT
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN
export KMSRE_DEBUG=1

run() { # run [env...] -- pkeyutl args: everything it prints goes to the log
    reencrypt "$@" >>"$LOG" 2>&1 || true
}

run -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt destination-encryption-context:Dept=IT -in old.bin -out new.bin
check "the re-encrypted blob opens with the session credentials" \
    bash -c "[ \"\$(aws kms decrypt --ciphertext-blob fileb://new.bin --encryption-context Dept=IT --query Plaintext --output text | base64 -d)\" = '$PLAIN' ]"
run -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=HR -in old.bin -out x.bin
run -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt dry-run:true -in old.bin -out x.bin
kms_fault '{"mode": "throttle", "count": 2}'
run -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
kms_fault '{"mode": "garbage", "count": 1}'
run -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
kms_fault '{"mode": "none"}'
run -inkey kms:alias/new -pkeyopt 'source-encryption-context:Dept' -in old.bin -out x.bin
run -inkey kms:alias/new -pkeyopt grant-tokens:a,b,c,d,e,f,g,h,i,j,k -in old.bin -out x.bin
AWS_SECRET_ACCESS_KEY=${SECRET}x run -inkey kms:alias/new -in old.bin -out x.bin
AWS_SESSION_TOKEN=${TOKEN}x run -inkey kms:alias/new -in old.bin -out x.bin
cat "$WORK/kms/requests.log" >>"$LOG" 2>/dev/null || true

check "the trace names the region and where it came from" \
    grep -q "kmsreencrypt: region us-east-1 (from AWS_REGION)" "$LOG"
check "the trace names the endpoint and where it came from" \
    grep -Eq "kmsreencrypt: endpoint https://localhost:[0-9]+/ \(from AWS_ENDPOINT_URL\)" "$LOG"
check "the trace names the credential source chosen" \
    grep -q "kmsreencrypt: credentials: environment$" "$LOG"
# A profile with no keys, then the environment as a role's source would be
# another run; here: the chain's skips with a profile that has nothing.
printf '[profile empty]\nregion = us-east-1\n' >"$WORK/empty-config"
AWS_CONFIG_FILE=$WORK/empty-config AWS_EC2_METADATA_DISABLED=true \
    run -inkey "kms:alias/new?profile=empty" -in old.bin -out x.bin
check "the trace says why each source was skipped" \
    grep -q 'credentials: profile "empty" skipped: profile "empty" has no role_arn, SSO settings, static keys or credential_process' "$LOG"
check "  ... down to instance metadata" \
    grep -q "credentials: instance metadata skipped: AWS_EC2_METADATA_DISABLED is true" "$LOG"
check "debug lines name operation, endpoint, attempt and request id" \
    grep -Eq "kmsreencrypt: ReEncrypt https://localhost:[0-9]+/ region us-east-1 attempt 1/3: HTTP 200 request-id [0-9a-f-]+" "$LOG"
check "debug lines show the retries" grep -q "attempt 2/3: HTTP 400 ThrottlingException.*retrying in" "$LOG"
check "debug lines show KMS errors" grep -q "HTTP 400 InvalidCiphertextException" "$LOG"
check "KMS errors reached the error queue" grep -q "KMS InvalidSignatureException" "$LOG"

leaks() { # leaks NAME VALUE: the value, or any 12-character piece of it
    local name=$1 value=$2 i
    for ((i = 0; i + 12 <= ${#value}; i += 6)); do
        if grep -qF -- "${value:i:12}" "$LOG"; then
            not_ok "the logs hold part of the $name"; return
        fi
    done
    ok "no part of the $name in $(wc -l <"$LOG") lines of output"
}
leaks "secret access key" "$SECRET"
leaks "session token" "$TOKEN"
leaks "plaintext" "$PLAIN"
leaks "plaintext (base64)" "$(base64 -w0 <plain.txt)"

finish
