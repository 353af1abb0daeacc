#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Everything with the debug log on (KMSRE_DEBUG=1) and temporary
# credentials: the log shows endpoint, operation, attempt, status and
# request id, and no output of any run holds a secret key, a session token
# or the plaintext.
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
