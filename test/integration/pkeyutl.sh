#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `openssl pkeyutl -encrypt -inkey kms:...` end to end against the local
# KMS: every option of `aws kms re-encrypt`, the four key id forms, and the
# errors. Each blob the provider writes is opened again by `aws kms decrypt`.
# usage: pkeyutl.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
cd "$WORK"
printf 'rotate me, gently' >plain.txt

SRC=$(new_key)
DST=$(new_key)
RSA=$(new_key RSA_2048)
aws kms create-alias --alias-name alias/old --target-key-id "$SRC"
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws kms create-alias --alias-name alias/rsa --target-key-id "$RSA"
DST_ARN=$(key_arn "$DST")
SRC_ARN=$(key_arn "$SRC")
ALIAS_ARN="arn:aws:kms:${AWS_REGION}:${KMS_ACCOUNT}:alias/new"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context Dept=IT

decrypts_to_plain() { # decrypts_to_plain FILE [aws decrypt args]
    local f=$1; shift
    [ "$(aws_decrypt "$f" "$@")" = "rotate me, gently" ]
}

# --- the main job: symmetric to symmetric, with the four key id forms ---
for form in "alias/new" "$DST" "$DST_ARN" "$ALIAS_ARN"; do
    rm -f new.bin
    check "re-encrypt to kms:$form" reencrypt -inkey "kms:$form" \
        -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new.bin
    check "aws decrypts the blob made for $form" decrypts_to_plain new.bin
    check "the blob is under the destination key ($form)" bash -c \
        "aws kms decrypt --ciphertext-blob fileb://new.bin --query KeyId --output text | grep -qx '$DST_ARN'"
done

rm -f new.bin
check "kms:// URI with -pubin" reencrypt -pubin -inkey "kms://alias/new" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new.bin
check "aws decrypts the -pubin blob" decrypts_to_plain new.bin

# --- contexts: shorthand, JSON, a new context on the same key ---
rm -f new.bin
check "JSON source context" reencrypt -inkey kms:alias/new \
    -pkeyopt 'source-encryption-context:{"Dept":"IT"}' -in old.bin -out new.bin
rm -f same.bin
check "same key, new context" reencrypt -inkey kms:alias/old \
    -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt 'destination-encryption-context:Dept=Finance,Stage=prod run' \
    -in old.bin -out same.bin
check "new context opens the blob" decrypts_to_plain same.bin \
    --encryption-context 'Dept=Finance,Stage=prod run'
should_fail "old context no longer opens it" InvalidCiphertextException \
    aws_decrypt same.bin --encryption-context Dept=IT

# --- source key id and destination override ---
rm -f new.bin
check "source-key-id (alias) + destination-key-id override (ARN)" \
    reencrypt -inkey kms:alias/old -pkeyopt source-key-id:alias/old \
    -pkeyopt "destination-key-id:$DST_ARN" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new.bin
check "override decides the destination" bash -c \
    "aws kms decrypt --ciphertext-blob fileb://new.bin --query KeyId --output text | grep -qx '$DST_ARN'"
should_fail "wrong source-key-id" IncorrectKeyException \
    reencrypt -inkey kms:alias/new -pkeyopt "source-key-id:$DST" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new.bin

# --- asymmetric: symmetric -> RSA and RSA -> symmetric ---
rm -f rsa.bin
check "symmetric -> RSA_2048 (RSAES_OAEP_SHA_256)" reencrypt -inkey kms:alias/rsa \
    -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt destination-encryption-algorithm:RSAES_OAEP_SHA_256 \
    -in old.bin -out rsa.bin
check "RSA blob is one RSA block" test "$(stat -c %s rsa.bin)" -eq 256
check "aws decrypts the RSA blob" decrypts_to_plain rsa.bin --key-id "$RSA" \
    --encryption-algorithm RSAES_OAEP_SHA_256
aws_encrypt "$RSA" plain.txt rsa1.bin --encryption-algorithm RSAES_OAEP_SHA_1
rm -f back.bin
check "RSA (RSAES_OAEP_SHA_1) -> symmetric with a context" \
    reencrypt -inkey kms:alias/new -pkeyopt source-key-id:alias/rsa \
    -pkeyopt source-encryption-algorithm:RSAES_OAEP_SHA_1 \
    -pkeyopt destination-encryption-context:purpose=rotation \
    -in rsa1.bin -out back.bin
check "aws decrypts the RSA -> symmetric blob" decrypts_to_plain back.bin \
    --encryption-context purpose=rotation
should_fail "RSA source without source-key-id" \
    "KMS (ValidationException|InvalidCiphertextException|IncorrectKeyException)" \
    reencrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-algorithm:RSAES_OAEP_SHA_1 -in rsa1.bin -out x.bin
should_fail "RSA algorithm on a symmetric destination" InvalidKeyUsageException \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt destination-encryption-algorithm:RSAES_OAEP_SHA_1 -in old.bin -out x.bin

# --- grant tokens ---
TOKEN=$(aws kms create-grant --key-id "$DST" --grantee-principal \
    "arn:aws:iam::${KMS_ACCOUNT}:role/rotator" --operations ReEncryptTo \
    --query GrantToken --output text)
rm -f new.bin
check "grant token accepted" reencrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT -pkeyopt "grant-tokens:$TOKEN" \
    -in old.bin -out new.bin
check "aws decrypts the blob made with a grant token" decrypts_to_plain new.bin
should_fail "unknown grant token" InvalidGrantTokenException \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt "grant-tokens:$TOKEN,bogus-token" -in old.bin -out x.bin

# --- dry run: fails like the CLI, writes nothing ---
rm -f dry.bin
should_fail "dry-run reports DryRunOperationException" DryRunOperationException \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt dry-run:true -in old.bin -out dry.bin
check "dry run wrote no ciphertext" test ! -s dry.bin
should_fail "dry run still checks the context" InvalidCiphertextException \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=HR \
    -pkeyopt dry-run:yes -in old.bin -out dry.bin
: >empty.bin
should_fail "IGNORE_CIPHERTEXT dry run with no ciphertext" DryRunOperationException \
    reencrypt -inkey kms:alias/new -pkeyopt source-key-id:alias/old \
    -pkeyopt dry-run:1 -pkeyopt dry-run-modifiers:IGNORE_CIPHERTEXT \
    -in empty.bin -out dry.bin

# --- every KMS error, surfaced with its type and message ---
should_fail "wrong context" 'KMS InvalidCiphertextException' \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-context:Dept=HR \
    -in old.bin -out x.bin
head -c 40 /dev/urandom >garbage.bin
should_fail "garbage ciphertext" InvalidCiphertextException \
    reencrypt -inkey kms:alias/new -in garbage.bin -out x.bin
should_fail "unknown alias" "KMS NotFoundException: .*alias/nope" \
    reencrypt -inkey kms:alias/nope -pkeyopt source-encryption-context:Dept=IT \
    -in old.bin -out x.bin
OFF=$(new_key)
aws kms disable-key --key-id "$OFF"
should_fail "disabled destination" "KMS DisabledException" \
    reencrypt -inkey "kms:$OFF" -pkeyopt source-encryption-context:Dept=IT \
    -in old.bin -out x.bin
GONE=$(new_key)
aws kms schedule-key-deletion --key-id "$GONE" --pending-window-in-days 7 >/dev/null
should_fail "destination pending deletion" "KMS KMSInvalidStateException" \
    reencrypt -inkey "kms:$GONE" -pkeyopt source-encryption-context:Dept=IT \
    -in old.bin -out x.bin
SIGNER=$(aws kms create-key --key-spec RSA_2048 --key-usage SIGN_VERIFY \
    --query KeyMetadata.KeyId --output text)
should_fail "SIGN_VERIFY destination" "KMS InvalidKeyUsageException" \
    reencrypt -inkey "kms:$SIGNER" -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt destination-encryption-algorithm:RSAES_OAEP_SHA_256 -in old.bin -out x.bin
should_fail "wrong secret key" "KMS InvalidSignatureException" \
    env AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
if grep -q "wrongwrong" "$WORK/sf.err" || grep -qF "$AWS_SECRET_ACCESS_KEY" "$WORK/sf.err"; then
    not_ok "the signature error shows a secret key"
else ok "the signature error shows no secret key"; fi
should_fail "unknown access key" "KMS UnrecognizedClientException" \
    env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
should_fail "an ARN's region decides the signing scope" \
    "InvalidSignatureException: Credential should be scoped to a valid region" \
    reencrypt -inkey "kms:arn:aws:kms:eu-west-1:${KMS_ACCOUNT}:alias/new" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin

# --- refused before any request ---
: >empty.bin
local_failure "empty input" "empty input ciphertext" \
    reencrypt -inkey kms:alias/new -in empty.bin -out x.bin
head -c 6145 /dev/zero >big.bin
local_failure "input over 6144 bytes" "input ciphertext too large" \
    reencrypt -inkey kms:alias/new -in big.bin -out x.bin
local_failure "bad context syntax" "source-encryption-context" \
    reencrypt -inkey kms:alias/new -pkeyopt 'source-encryption-context:Dept' \
    -in old.bin -out x.bin
local_failure "bad JSON context" "source-encryption-context" \
    reencrypt -inkey kms:alias/new -pkeyopt 'source-encryption-context:{"a":1}' \
    -in old.bin -out x.bin
local_failure "unknown algorithm" "unknown algorithm" \
    reencrypt -inkey kms:alias/new -pkeyopt source-encryption-algorithm:AES_999 \
    -in old.bin -out x.bin
local_failure "eleven grant tokens" "grant" \
    reencrypt -inkey kms:alias/new -pkeyopt grant-tokens:a,b,c,d,e,f \
    -pkeyopt grant-tokens:g,h,i,j,k -in old.bin -out x.bin
local_failure "missing credentials" "no AWS credentials" \
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
local_failure "no region" "no AWS region:.*no region: use a key ARN" \
    env -u AWS_REGION -u AWS_DEFAULT_REGION \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out x.bin
local_failure "bad key URI (region with a line break)" "bad KMS key URI" \
    timeout 20 openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey "kms:alias/new?region=us-east-1%0d%0aX-Evil:1" -in old.bin -out x.bin
local_failure "unknown -pkeyopt" "parameter" \
    reencrypt -inkey kms:alias/new -pkeyopt no-such-option:1 -in old.bin -out x.bin
local_failure "dry-run is a boolean" "not a boolean" \
    reencrypt -inkey kms:alias/new -pkeyopt dry-run:maybe -in old.bin -out x.bin

# --- a failed load ends; OpenSSL must not spin on the store (eof) ---
should_fail "store failure ends promptly" "Could not (open|read)" \
    timeout 20 openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey "kms:" \
    -in old.bin -out x.bin

# --- the key prints as what it is: a reference, no material, no request ---
# pkey_text NAME PATTERN ARGS...: `openssl ARGS` succeeds, prints PATTERN,
# and sends nothing to KMS.
pkey_text() {
    local name=$1 pattern=$2 before after; shift 2
    before=$(kms_stats)
    if openssl "$@" >"$WORK/pt.out" 2>"$WORK/pt.err" &&
        grep -Eq -- "$pattern" "$WORK/pt.out"; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$WORK/pt.out" "$WORK/pt.err"; fi
    after=$(kms_stats)
    if [ "$before" = "$after" ]; then ok "$name: no request sent"; else
        not_ok "$name: $((after - before)) request(s) sent"; fi
}
pkey_text "pkey -text names the key, region and profile" \
    "alias name: alias/new" pkey "${PROV_FLAGS[@]}" -noout -text \
    -in "kms:alias/new?region=eu-west-1&profile=rotation"
check "pkey -text: the region of the URI" grep -q "region: eu-west-1" "$WORK/pt.out"
check "pkey -text: the profile of the URI" grep -q "profile: rotation" "$WORK/pt.out"
check "pkey -text: the material stays in KMS" grep -q "stays in AWS KMS" "$WORK/pt.out"
pkey_text "pkey -text of a key ARN shows its account" "account: ${KMS_ACCOUNT}" \
    pkey "${PROV_FLAGS[@]}" -noout -text -in "kms:$DST_ARN"
pkey_text "pkey -pubin -text: the public view" "public view" \
    pkey "${PROV_FLAGS[@]}" -pubin -noout -text -in kms:alias/new
pkey_text "pkey -pubout -text prints the reference" "alias name: alias/new" \
    pkey "${PROV_FLAGS[@]}" -pubout -text -noout -in kms:alias/new
pkey_text "storeutl -text prints the reference" "key id: $DST" \
    storeutl "${PROV_FLAGS[@]}" -text "kms:$DST"
should_fail "pkey -text of a bad URI fails" "bad KMS key URI" \
    openssl pkey "${PROV_FLAGS[@]}" -noout -text -in "kms:alias/new?colour=red"

finish
