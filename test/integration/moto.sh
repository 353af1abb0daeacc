#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main flows against moto_server, a third-party KMS emulator, so that a
# mistake our client and our test server share cannot hide. Moto is looser
# than KMS (no SourceKeyId or key-state checks, no RSA, no algorithm members
# in answers): only what it models faithfully is asserted here.
# Exit 77 (skipped) where moto cannot be had.
# usage: moto.sh BUILD_DIR SOURCE_DIR
MOTO=$(command -v moto_server || true)
if [ -z "$MOTO" ] || ! "$MOTO" --help >/dev/null 2>&1; then
    echo "skipped: moto_server is not installed"
    exit 77
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MOTO" -H 127.0.0.1 -p "$port" >moto.log 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
    sleep 0.1
done

export AWS_ACCESS_KEY_ID=AKIAMOTOEXAMPLE00001 AWS_SECRET_ACCESS_KEY=moto-secret
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
printf 'moto says hello' >plain.txt

SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/moto-new --target-key-id "$DST"
DST_ARN=$(key_arn "$DST")
aws_encrypt "$SRC" plain.txt old.bin --encryption-context Dept=IT

opens_with() { # opens_with FILE [aws decrypt args]
    local f=$1; shift
    [ "$(aws_decrypt "$f" "$@")" = "moto says hello" ]
}

for form in alias/moto-new "$DST" "$DST_ARN"; do
    rm -f new.bin
    check "moto: re-encrypt to kms:$form" reencrypt -inkey "kms:$form" \
        -pkeyopt source-encryption-context:Dept=IT \
        -pkeyopt destination-encryption-context:Dept=Ops \
        -in old.bin -out new.bin
    check "moto: aws decrypts it with the new context" opens_with new.bin \
        --encryption-context Dept=Ops
done
check "moto: the blob names the destination key" bash -c \
    "aws kms decrypt --ciphertext-blob fileb://new.bin --encryption-context Dept=Ops --query KeyId --output text | grep -q '$DST'"
should_fail "moto: wrong source context refused" InvalidCiphertextException \
    reencrypt -inkey kms:alias/moto-new -pkeyopt source-encryption-context:Dept=HR \
    -in old.bin -out x.bin
should_fail "moto: unknown destination" NotFoundException \
    reencrypt -inkey kms:alias/missing -pkeyopt source-encryption-context:Dept=IT \
    -in old.bin -out x.bin
rm -f new.bin
check "moto: grant tokens pass through" reencrypt -inkey kms:alias/moto-new \
    -pkeyopt source-encryption-context:Dept=IT -pkeyopt grant-tokens:t1,t2 \
    -in old.bin -out new.bin

finish
