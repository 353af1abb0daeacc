#!/usr/bin/env bash
# test_server.sh - self-test of the local KMS stand-in, driven by the real AWS
# CLI (v1 or v2) plus kms_raw.py for what the CLI cannot send.
# Prints "ok - NAME" / "not ok - NAME" per check and "N passed, M failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kms-server-test.XXXXXX")
kdir=$work/kms

cleanup() {
    "$here/kmsctl.sh" stop "$kdir" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v aws >/dev/null || { echo "not ok - aws CLI not found on PATH"; exit 1; }
"$here/kmsctl.sh" start "$kdir" >/dev/null || { echo "not ok - kmsctl start"; exit 1; }
# shellcheck disable=SC1091
. "$kdir/env.sh"

PY=$KMS_SERVER_PYTHON
# --endpoint-url explicitly: CLI v2 before 2.13 ignores AWS_ENDPOINT_URL.
KMS=(aws --endpoint-url "$KMS_SERVER_URL" kms)
RAW=("$PY" "$here/kms_raw.py")
ARN_PREFIX="arn:aws:kms:$AWS_REGION:$KMS_ACCOUNT"

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | head -5 | sed 's/^/#   /'
    failed=$((failed + 1))
}

# check NAME CMD...: CMD must succeed.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

# expect_error NAME CODE CMD...: CMD must fail with "(CODE)" in its output
# (the CLI prints "An error occurred (CODE) ...", kms_raw.py "400 (CODE) ...").
expect_error() {
    local name=$1 code=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        not_ok "$name" "unexpected success: $out"
    elif printf '%s' "$out" | grep -q "($code)"; then
        ok "$name"
    else
        not_ok "$name" "expected $code, got: $out"
    fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# expect_match NAME REGEX ACTUAL
expect_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1" "'$3' !~ /$2/"; fi
}

# b64out FILE CMD...: run CMD (which prints base64 text) and decode it into FILE.
b64out() {
    local file=$1 text
    shift
    text=$("$@") || return 1
    printf '%s' "$text" | base64 -d >"$file"
}

same_file() { cmp -s "$1" "$2"; }

W=$work
printf 'hello, kms test server' >"$W/pt"
head -c 32 /dev/urandom >"$W/pt32"

# ------------------------------------------------------------------ keys
SYM=$("${KMS[@]}" create-key --description "test symmetric" --query KeyMetadata.KeyId --output text)
SYM2=$("${KMS[@]}" create-key --query KeyMetadata.KeyId --output text)
R2=$("${KMS[@]}" create-key --key-spec RSA_2048 --key-usage ENCRYPT_DECRYPT --query KeyMetadata.KeyId --output text)
R3=$("${KMS[@]}" create-key --key-spec RSA_3072 --key-usage ENCRYPT_DECRYPT --query KeyMetadata.KeyId --output text)
R4=$("${KMS[@]}" create-key --customer-master-key-spec RSA_4096 --key-usage ENCRYPT_DECRYPT --query KeyMetadata.KeyId --output text)
RS=$("${KMS[@]}" create-key --key-spec RSA_2048 --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text)
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
for v in SYM SYM2 R2 R3 R4 RS; do
    expect_match "create-key $v returns a key id" "$uuid_re" "${!v}"
done
md=$("${KMS[@]}" describe-key --key-id "$SYM" --output text \
    --query 'KeyMetadata.[Arn,AWSAccountId,KeySpec,CustomerMasterKeySpec,KeyUsage,KeyState,Enabled,Origin,KeyManager,MultiRegion,Description]')
expect_eq "describe-key metadata (symmetric)" \
    "$(printf '%s\t' "$ARN_PREFIX:key/$SYM" "$KMS_ACCOUNT" SYMMETRIC_DEFAULT SYMMETRIC_DEFAULT \
        ENCRYPT_DECRYPT Enabled True AWS_KMS CUSTOMER False)test symmetric" "$md"
expect_eq "describe-key encryption algorithms (RSA)" "RSAES_OAEP_SHA_1	RSAES_OAEP_SHA_256" \
    "$("${KMS[@]}" describe-key --key-id "$R3" --query 'KeyMetadata.EncryptionAlgorithms' --output text)"
expect_eq "describe-key key spec RSA_4096 via CustomerMasterKeySpec" "RSA_4096" \
    "$("${KMS[@]}" describe-key --key-id "$R4" --query 'KeyMetadata.KeySpec' --output text)"
# CLI v1 prints timestamps as received (epoch seconds), v2 as ISO 8601.
expect_match "describe-key CreationDate is a timestamp" '^([0-9]{4}-|[0-9]{10})' \
    "$("${KMS[@]}" describe-key --key-id "$SYM" --query 'KeyMetadata.CreationDate' --output text)"
expect_error "create-key SIGN_VERIFY symmetric rejected" ValidationException \
    "${KMS[@]}" create-key --key-usage SIGN_VERIFY
expect_error "create-key ECC unsupported" UnsupportedOperationException \
    "${KMS[@]}" create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY

# ------------------------------------------------------------------ aliases
check "create-alias" "${KMS[@]}" create-alias --alias-name alias/test-sym --target-key-id "$SYM"
check "create-alias by key ARN" "${KMS[@]}" create-alias --alias-name alias/test-rsa3072 \
    --target-key-id "$ARN_PREFIX:key/$R3"
expect_error "create-alias duplicate" AlreadyExistsException \
    "${KMS[@]}" create-alias --alias-name alias/test-sym --target-key-id "$SYM2"
expect_error "create-alias alias/aws/ reserved" InvalidAliasNameException \
    "${KMS[@]}" create-alias --alias-name alias/aws/mine --target-key-id "$SYM2"
expect_error "create-alias without alias/ prefix" ValidationException \
    "${KMS[@]}" create-alias --alias-name nope --target-key-id "$SYM2"
for ref in "$SYM" "$ARN_PREFIX:key/$SYM" alias/test-sym "$ARN_PREFIX:alias/test-sym"; do
    expect_eq "describe-key by $ref" "$ARN_PREFIX:key/$SYM" \
        "$("${KMS[@]}" describe-key --key-id "$ref" --query KeyMetadata.Arn --output text)"
done
expect_error "describe-key unknown key id" NotFoundException \
    "${KMS[@]}" describe-key --key-id 00000000-0000-4000-8000-000000000000
expect_error "describe-key unknown alias" NotFoundException \
    "${KMS[@]}" describe-key --key-id alias/missing
expect_error "describe-key ARN of another region" NotFoundException \
    "${KMS[@]}" describe-key --key-id "arn:aws:kms:eu-west-1:$KMS_ACCOUNT:key/$SYM"
expect_error "describe-key ARN of another account" NotFoundException \
    "${KMS[@]}" describe-key --key-id "arn:aws:kms:$AWS_REGION:444455556666:key/$SYM"
keys=$("${KMS[@]}" list-keys --query 'Keys[].KeyId' --output text)
expect_match "list-keys lists all keys" "$SYM.*$SYM2.*$R2.*$R3.*$R4.*$RS" "$(echo $keys)"
expect_eq "list-keys pagination (page size 2)" 6 \
    "$("${KMS[@]}" list-keys --page-size 2 --query 'Keys[].KeyId' --output text | wc -w)"
expect_eq "list-aliases" "alias/test-rsa3072	alias/test-sym" \
    "$("${KMS[@]}" list-aliases --query 'Aliases[].AliasName' --output text)"
expect_eq "list-aliases --key-id" "$SYM" \
    "$("${KMS[@]}" list-aliases --key-id alias/test-sym --query 'Aliases[].TargetKeyId' --output text)"

# ------------------------------------------------------------------ encrypt / decrypt
check "encrypt without context" b64out "$W/ct0" \
    "${KMS[@]}" encrypt --key-id alias/test-sym --plaintext "fileb://$W/pt" --query CiphertextBlob --output text
check "decrypt without context" b64out "$W/pt0" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --query Plaintext --output text
check "decrypt round trip" same_file "$W/pt" "$W/pt0"
expect_eq "decrypt answers key ARN and algorithm" "$ARN_PREFIX:key/$SYM	SYMMETRIC_DEFAULT" \
    "$("${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --query '[KeyId,EncryptionAlgorithm]' --output text)"
check "encrypt with context" b64out "$W/ct1" \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" \
    --encryption-context purpose=test,dept=eng --query CiphertextBlob --output text
check "decrypt with context (other order, JSON form)" b64out "$W/pt1" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct1" \
    --encryption-context '{"dept":"eng","purpose":"test"}' --query Plaintext --output text
check "decrypt with context round trip" same_file "$W/pt" "$W/pt1"
expect_error "decrypt with wrong context" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct1" --encryption-context purpose=prod,dept=eng
expect_error "decrypt without the context" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct1"
expect_error "decrypt with context that was not used" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --encryption-context a=b
"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-5] ^= 1; open(sys.argv[2], "wb").write(b)' \
    "$W/ct0" "$W/ct0.bad"
expect_error "decrypt tampered blob" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0.bad"
head -c 100 /dev/urandom >"$W/junk"
expect_error "decrypt random bytes" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/junk"
check "decrypt with matching --key-id alias" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --key-id alias/test-sym
expect_error "decrypt with another key id" IncorrectKeyException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --key-id "$SYM2"
expect_error "encrypt RSA algorithm on symmetric key" InvalidKeyUsageException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --encryption-algorithm RSAES_OAEP_SHA_256
expect_error "encrypt SM2PKE" InvalidKeyUsageException \
    "${KMS[@]}" encrypt --key-id "$R2" --plaintext "fileb://$W/pt" --encryption-algorithm SM2PKE
expect_error "encrypt SYMMETRIC_DEFAULT on RSA key" InvalidKeyUsageException \
    "${KMS[@]}" encrypt --key-id "$R2" --plaintext "fileb://$W/pt"
expect_error "encrypt with SIGN_VERIFY key" InvalidKeyUsageException \
    "${KMS[@]}" encrypt --key-id "$RS" --plaintext "fileb://$W/pt" --encryption-algorithm RSAES_OAEP_SHA_256
expect_error "encrypt with bad algorithm name" ValidationException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --encryption-algorithm AES
expect_error "encrypt context with RSA key" ValidationException \
    "${KMS[@]}" encrypt --key-id "$R2" --plaintext "fileb://$W/pt" \
    --encryption-algorithm RSAES_OAEP_SHA_256 --encryption-context a=b
head -c 4097 /dev/zero >"$W/big"
expect_error "encrypt 4097 bytes" ValidationException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/big"
head -c 191 /dev/zero >"$W/pt191"
head -c 190 /dev/zero >"$W/pt190"
expect_error "RSA_2048 OAEP-SHA256 plaintext limit 190" ValidationException \
    "${KMS[@]}" encrypt --key-id "$R2" --plaintext "fileb://$W/pt191" --encryption-algorithm RSAES_OAEP_SHA_256
check "RSA_2048 OAEP-SHA256 190 bytes allowed" \
    "${KMS[@]}" encrypt --key-id "$R2" --plaintext "fileb://$W/pt190" --encryption-algorithm RSAES_OAEP_SHA_256

# ------------------------------------------------------------------ RSA
for k in R2 R3 R4; do
    for alg in RSAES_OAEP_SHA_1 RSAES_OAEP_SHA_256; do
        b64out "$W/rct" "${KMS[@]}" encrypt --key-id "${!k}" --plaintext "fileb://$W/pt32" \
            --encryption-algorithm $alg --query CiphertextBlob --output text
        b64out "$W/rpt" "${KMS[@]}" decrypt --key-id "${!k}" --ciphertext-blob "fileb://$W/rct" \
            --encryption-algorithm $alg --query Plaintext --output text
        if same_file "$W/pt32" "$W/rpt"; then ok "RSA round trip $k $alg"; else not_ok "RSA round trip $k $alg"; fi
    done
done
expect_eq "RSA_4096 ciphertext is the raw 512-byte block" 512 "$(wc -c <"$W/rct" | tr -d ' ')"
expect_error "RSA decrypt without KeyId" InvalidCiphertextException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/rct" --encryption-algorithm RSAES_OAEP_SHA_256
expect_error "RSA decrypt without algorithm" InvalidKeyUsageException \
    "${KMS[@]}" decrypt --key-id "$R4" --ciphertext-blob "fileb://$W/rct"
expect_error "RSA decrypt with the other OAEP hash" InvalidCiphertextException \
    "${KMS[@]}" decrypt --key-id "$R4" --ciphertext-blob "fileb://$W/rct" --encryption-algorithm RSAES_OAEP_SHA_1
check "get-public-key" b64out "$W/pub.der" \
    "${KMS[@]}" get-public-key --key-id "$R2" --query PublicKey --output text
expect_eq "get-public-key metadata" "$ARN_PREFIX:key/$R2	RSA_2048	ENCRYPT_DECRYPT" \
    "$("${KMS[@]}" get-public-key --key-id "$R2" --query '[KeyId,KeySpec,KeyUsage]' --output text)"
for md in sha256 sha1; do
    alg=RSAES_OAEP_SHA_256
    [ $md = sha1 ] && alg=RSAES_OAEP_SHA_1
    if openssl pkeyutl -encrypt -pubin -keyform DER -inkey "$W/pub.der" -in "$W/pt32" -out "$W/oct" \
        -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:$md -pkeyopt rsa_mgf1_md:$md 2>"$W/err"; then
        check "openssl OAEP-$md ciphertext decrypts in KMS" b64out "$W/opt" \
            "${KMS[@]}" decrypt --key-id "$R2" --ciphertext-blob "fileb://$W/oct" \
            --encryption-algorithm $alg --query Plaintext --output text
        check "openssl OAEP-$md round trip" same_file "$W/pt32" "$W/opt"
    else
        not_ok "openssl pkeyutl OAEP-$md" "$(cat "$W/err")"
    fi
done
expect_error "get-public-key on symmetric key" UnsupportedOperationException \
    "${KMS[@]}" get-public-key --key-id "$SYM"

# ------------------------------------------------------------------ generate-data-key
"${KMS[@]}" generate-data-key --key-id alias/test-sym --key-spec AES_256 \
    --encryption-context app=x --output json >"$W/dk.json" 2>&1
check "generate-data-key AES_256" grep -q CiphertextBlob "$W/dk.json"
"$PY" -c 'import json,base64,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],"wb").write(base64.b64decode(d["Plaintext"])); open(sys.argv[3],"wb").write(base64.b64decode(d["CiphertextBlob"]))' \
    "$W/dk.json" "$W/dk.pt" "$W/dk.ct"
expect_eq "generate-data-key AES_256 is 32 bytes" 32 "$(wc -c <"$W/dk.pt" | tr -d ' ')"
check "decrypt data key" b64out "$W/dk.pt2" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/dk.ct" --encryption-context app=x --query Plaintext --output text
check "decrypted data key matches" same_file "$W/dk.pt" "$W/dk.pt2"
check "generate-data-key --number-of-bytes 64" b64out "$W/dk64" \
    "${KMS[@]}" generate-data-key --key-id "$SYM" --number-of-bytes 64 --query Plaintext --output text
expect_eq "generate-data-key 64 bytes" 64 "$(wc -c <"$W/dk64" | tr -d ' ')"
check "generate-data-key AES_128" b64out "$W/dk16" \
    "${KMS[@]}" generate-data-key --key-id "$SYM" --key-spec AES_128 --query Plaintext --output text
expect_eq "generate-data-key AES_128 is 16 bytes" 16 "$(wc -c <"$W/dk16" | tr -d ' ')"
expect_error "generate-data-key with both KeySpec and NumberOfBytes" ValidationException \
    "${KMS[@]}" generate-data-key --key-id "$SYM" --key-spec AES_256 --number-of-bytes 32
expect_error "generate-data-key with neither" ValidationException \
    "${KMS[@]}" generate-data-key --key-id "$SYM"
expect_error "generate-data-key 1025 bytes" ValidationException \
    "${KMS[@]}" generate-data-key --key-id "$SYM" --number-of-bytes 1025
expect_error "generate-data-key on RSA key" InvalidKeyUsageException \
    "${KMS[@]}" generate-data-key --key-id "$R2" --key-spec AES_256

# ------------------------------------------------------------------ re-encrypt
out=$("${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct1" \
    --source-encryption-context purpose=test,dept=eng --destination-key-id "$SYM2" \
    --destination-encryption-context stage=2 --output text \
    --query '[CiphertextBlob,SourceKeyId,KeyId,SourceEncryptionAlgorithm,DestinationEncryptionAlgorithm]')
printf '%s' "$out" | cut -f1 | base64 -d >"$W/re1"
expect_eq "re-encrypt sym->sym answer" \
    "$ARN_PREFIX:key/$SYM	$ARN_PREFIX:key/$SYM2	SYMMETRIC_DEFAULT	SYMMETRIC_DEFAULT" \
    "$(printf '%s' "$out" | cut -f2-)"
check "re-encrypt sym->sym decrypts under destination" b64out "$W/re1.pt" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/re1" --encryption-context stage=2 \
    --key-id "$SYM2" --query Plaintext --output text
check "re-encrypt sym->sym round trip" same_file "$W/pt" "$W/re1.pt"
expect_error "re-encrypt with wrong source context" InvalidCiphertextException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct1" --destination-key-id "$SYM2"
expect_error "re-encrypt with wrong SourceKeyId" IncorrectKeyException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" --source-key-id "$SYM2" --destination-key-id "$SYM2"
check "re-encrypt sym->RSA" b64out "$W/re2" \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct1" --source-key-id alias/test-sym \
    --source-encryption-context purpose=test,dept=eng --destination-key-id alias/test-rsa3072 \
    --destination-encryption-algorithm RSAES_OAEP_SHA_1 --query CiphertextBlob --output text
check "re-encrypt sym->RSA decrypts" b64out "$W/re2.pt" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/re2" --key-id "$R3" \
    --encryption-algorithm RSAES_OAEP_SHA_1 --query Plaintext --output text
check "re-encrypt sym->RSA round trip" same_file "$W/pt" "$W/re2.pt"
expect_error "re-encrypt to RSA without algorithm" InvalidKeyUsageException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" --destination-key-id "$R3"
expect_error "re-encrypt to RSA with destination context" ValidationException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" --destination-key-id "$R3" \
    --destination-encryption-algorithm RSAES_OAEP_SHA_256 --destination-encryption-context a=b
check "re-encrypt RSA->sym" b64out "$W/re3" \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/re2" --source-key-id "$ARN_PREFIX:key/$R3" \
    --source-encryption-algorithm RSAES_OAEP_SHA_1 --destination-key-id "$SYM" \
    --destination-encryption-context back=home --query CiphertextBlob --output text
check "re-encrypt RSA->sym decrypts" b64out "$W/re3.pt" \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/re3" --encryption-context back=home \
    --query Plaintext --output text
check "re-encrypt RSA->sym round trip" same_file "$W/pt" "$W/re3.pt"
expect_error "re-encrypt RSA source without SourceKeyId" InvalidCiphertextException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/re2" \
    --source-encryption-algorithm RSAES_OAEP_SHA_1 --destination-key-id "$SYM"
expect_error "re-encrypt unknown destination" NotFoundException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" --destination-key-id alias/missing
head -c 300 /dev/urandom >"$W/pt300"
b64out "$W/ct300" "${KMS[@]}" encrypt --key-id "$R4" --plaintext "fileb://$W/pt300" \
    --encryption-algorithm RSAES_OAEP_SHA_1 --query CiphertextBlob --output text
expect_error "re-encrypt RSA->RSA too long for destination" ValidationException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct300" --source-key-id "$R4" \
    --source-encryption-algorithm RSAES_OAEP_SHA_1 --destination-key-id "$R2" \
    --destination-encryption-algorithm RSAES_OAEP_SHA_256 --query KeyId --output text
expect_error "re-encrypt without destination (raw)" ValidationException \
    "${RAW[@]}" ReEncrypt '{"CiphertextBlob":"AAAA"}'

# ------------------------------------------------------------------ key states
check "disable-key" "${KMS[@]}" disable-key --key-id alias/test-sym
expect_eq "describe-key Disabled" "Disabled	False" \
    "$("${KMS[@]}" describe-key --key-id "$SYM" --query 'KeyMetadata.[KeyState,Enabled]' --output text)"
expect_error "encrypt with disabled key" DisabledException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt"
expect_error "decrypt with disabled key" DisabledException \
    "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0"
expect_error "re-encrypt to disabled key" DisabledException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/re1" --source-encryption-context stage=2 \
    --destination-key-id "$SYM"
msg=$("${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" 2>&1)
expect_match "DisabledException message names the ARN" "$ARN_PREFIX:key/$SYM is disabled\\." "$msg"
check "enable-key" "${KMS[@]}" enable-key --key-id "$SYM"
check "encrypt after enable" "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt"
expect_error "schedule-key-deletion 3 days" ValidationException \
    "${KMS[@]}" schedule-key-deletion --key-id "$SYM2" --pending-window-in-days 3
expect_eq "schedule-key-deletion" "PendingDeletion	7" \
    "$("${KMS[@]}" schedule-key-deletion --key-id "$SYM2" --pending-window-in-days 7 \
        --query '[KeyState,PendingWindowInDays]' --output text)"
expect_error "encrypt with key pending deletion" KMSInvalidStateException \
    "${KMS[@]}" encrypt --key-id "$SYM2" --plaintext "fileb://$W/pt"
expect_error "re-encrypt from key pending deletion" KMSInvalidStateException \
    "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/re1" --source-encryption-context stage=2 \
    --destination-key-id "$SYM"
expect_error "enable-key pending deletion" KMSInvalidStateException \
    "${KMS[@]}" enable-key --key-id "$SYM2"
expect_match "describe-key shows DeletionDate" '^([0-9]{4}-|[0-9]{10})' \
    "$("${KMS[@]}" describe-key --key-id "$SYM2" --query KeyMetadata.DeletionDate --output text)"
expect_eq "cancel-key-deletion" "$ARN_PREFIX:key/$SYM2" \
    "$("${KMS[@]}" cancel-key-deletion --key-id "$SYM2" --query KeyId --output text)"
expect_eq "cancelled key is Disabled" Disabled \
    "$("${KMS[@]}" describe-key --key-id "$SYM2" --query KeyMetadata.KeyState --output text)"
expect_error "cancel-key-deletion twice" KMSInvalidStateException \
    "${KMS[@]}" cancel-key-deletion --key-id "$SYM2"
check "enable-key after cancel" "${KMS[@]}" enable-key --key-id "$SYM2"

# ------------------------------------------------------------------ grants
GT=$("${KMS[@]}" create-grant --key-id "$SYM" --grantee-principal "arn:aws:iam::$KMS_ACCOUNT:role/tester" \
    --operations Encrypt Decrypt ReEncryptFrom ReEncryptTo --query GrantToken --output text)
expect_match "create-grant returns a token" '^.{20,}$' "$GT"
check "encrypt with grant token" "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --grant-tokens "$GT"
check "re-encrypt with grant token" "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" \
    --destination-key-id "$SYM2" --grant-tokens "$GT"
expect_error "encrypt with unknown grant token" InvalidGrantTokenException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --grant-tokens not-a-token
expect_error "11 grant tokens" ValidationException \
    "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --grant-tokens t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11
msg=$("${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --grant-tokens t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 2>&1)
expect_match "11 grant tokens message" "1 validation error detected: Value '\\[t1, .*t11\\]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10" "$msg"
expect_error "create-grant bad operation" ValidationException \
    "${KMS[@]}" create-grant --key-id "$SYM" --grantee-principal x --operations Fly

# ------------------------------------------------------------------ dry run
if aws kms re-encrypt help 2>/dev/null | grep -q -- '--dry-run'; then
    expect_error "encrypt --dry-run" DryRunOperationException \
        "${KMS[@]}" encrypt --key-id "$SYM" --plaintext "fileb://$W/pt" --dry-run
    expect_error "decrypt --dry-run" DryRunOperationException \
        "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct0" --dry-run
    expect_error "re-encrypt --dry-run" DryRunOperationException \
        "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct0" --destination-key-id "$R2" \
        --destination-encryption-algorithm RSAES_OAEP_SHA_256 --dry-run
    expect_error "generate-data-key --dry-run" DryRunOperationException \
        "${KMS[@]}" generate-data-key --key-id "$SYM" --key-spec AES_256 --dry-run
    expect_error "create-grant --dry-run" DryRunOperationException \
        "${KMS[@]}" create-grant --key-id "$SYM" --grantee-principal x --operations Decrypt --dry-run
    expect_error "re-encrypt --dry-run still checks the context" InvalidCiphertextException \
        "${KMS[@]}" re-encrypt --ciphertext-blob "fileb://$W/ct1" --destination-key-id "$SYM2" --dry-run
    msg=$("${RAW[@]}" Encrypt "{\"KeyId\":\"$SYM\",\"Plaintext\":\"AA==\",\"DryRun\":true}")
    expect_match "DryRunOperationException is status 412" '^412 \(DryRunOperationException\) The request would have succeeded, but the DryRun option is set\.$' "$msg"
    if aws kms re-encrypt help 2>/dev/null | grep -q -- '--dry-run-modifiers'; then
        expect_error "re-encrypt IGNORE_CIPHERTEXT dry run" DryRunOperationException \
            "${KMS[@]}" re-encrypt --source-key-id "$SYM" --destination-key-id "$SYM2" \
            --dry-run --dry-run-modifiers IGNORE_CIPHERTEXT
    else
        echo "# skip: this aws CLI has no --dry-run-modifiers"
    fi
else
    echo "# skip: this aws CLI has no --dry-run (CLI too old for the DryRun member)"
fi
expect_error "IGNORE_CIPHERTEXT dry run (raw)" DryRunOperationException \
    "${RAW[@]}" ReEncrypt "{\"SourceKeyId\":\"$SYM\",\"DestinationKeyId\":\"$SYM2\",\"DryRun\":true,\"DryRunModifiers\":[\"IGNORE_CIPHERTEXT\"]}"
expect_error "IGNORE_CIPHERTEXT needs SourceKeyId (raw)" ValidationException \
    "${RAW[@]}" ReEncrypt "{\"DestinationKeyId\":\"$SYM2\",\"DryRun\":true,\"DryRunModifiers\":[\"IGNORE_CIPHERTEXT\"]}"
expect_error "IGNORE_CIPHERTEXT forbids CiphertextBlob (raw)" ValidationException \
    "${RAW[@]}" ReEncrypt "{\"CiphertextBlob\":\"AAAA\",\"SourceKeyId\":\"$SYM\",\"DestinationKeyId\":\"$SYM2\",\"DryRun\":true,\"DryRunModifiers\":[\"IGNORE_CIPHERTEXT\"]}"

# ------------------------------------------------------------------ protocol and SigV4
check "raw signed request works" "${RAW[@]}" ListKeys
msg=$("${RAW[@]}" ListKeys --repeat 3 --show-headers)
expect_eq "keep-alive: 3 answers on one connection" 3 "$(printf '%s\n' "$msg" | grep -c '^200 ')"
expect_match "x-amzn-RequestId header" 'header x-amzn-requestid: [0-9a-f-]{36}' "$msg"
expect_match "Content-Type header" 'header content-type: application/x-amz-json-1.1' "$msg"
expect_error "wrong secret" InvalidSignatureException "${RAW[@]}" ListKeys --secret "wrong$AWS_SECRET_ACCESS_KEY"
msg=$("${RAW[@]}" ListKeys --secret wrong)
expect_match "wrong secret message" 'The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.' "$msg"
expect_error "body changed after signing" InvalidSignatureException "${RAW[@]}" ListKeys '{"Limit":5}' --tamper-body
msg=$("${RAW[@]}" ListKeys --akid AKIAIOSFODNN7EXAMPLE)
expect_match "unknown access key" '\(UnrecognizedClientException\) The security token included in the request is invalid\.' "$msg"
msg=$("${RAW[@]}" ListKeys --region eu-west-1)
expect_match "wrong region scope" '\(InvalidSignatureException\) Credential should be scoped to a valid region\.' "$msg"
msg=$("${RAW[@]}" ListKeys --service s3)
expect_match "wrong service scope" "\\(InvalidSignatureException\\) Credential should be scoped to correct service: 'kms'\\." "$msg"
msg=$("${RAW[@]}" ListKeys --date-offset -600)
expect_match "X-Amz-Date 10 minutes old" '\(InvalidSignatureException\) Signature expired: [0-9]{8}T[0-9]{6}Z is now earlier than [0-9]{8}T[0-9]{6}Z \([0-9]{8}T[0-9]{6}Z - 5 min\.\)' "$msg"
msg=$("${RAW[@]}" ListKeys --date-offset 600)
expect_match "X-Amz-Date 10 minutes ahead" '\(InvalidSignatureException\) Signature not yet current: .* is still later than .* \(.* \+ 5 min\.\)' "$msg"
check "X-Amz-Date 4 minutes old accepted" "${RAW[@]}" ListKeys --date-offset -240
expect_error "no Authorization header" MissingAuthenticationTokenException "${RAW[@]}" ListKeys --auth-header ''
expect_error "malformed Authorization header" IncompleteSignatureException \
    "${RAW[@]}" ListKeys --auth-header 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request'
expect_error "unknown X-Amz-Target" UnknownOperationException "${RAW[@]}" ListKeys --target TrentService.Frobnicate
expect_error "body not a JSON object" SerializationException "${RAW[@]}" ListKeys '[1,2]'
expect_error "body not JSON" SerializationException "${RAW[@]}" ListKeys '{"Limit":'
expect_error "wrong member type" SerializationException "${RAW[@]}" DescribeKey '{"KeyId":5}'
expect_error "bad base64" SerializationException "${RAW[@]}" Decrypt '{"CiphertextBlob":"@@@"}'
expect_error "missing required member" ValidationException "${RAW[@]}" DescribeKey '{}'
expect_error "KeyId longer than 2048" ValidationException \
    "${RAW[@]}" DescribeKey "{\"KeyId\":\"$(head -c 2049 /dev/zero | tr '\0' a)\"}"
# Session credentials added at run time.
STS_AKID=ASIATESTSESSION00001
check "control: add session credential" "${RAW[@]}" --control POST /_control/credentials \
    "{\"access_key_id\":\"$STS_AKID\",\"secret_access_key\":\"sessionsecret\",\"session_token\":\"tok-123\"}"
check "session token signed" "${RAW[@]}" ListKeys --akid $STS_AKID --secret sessionsecret --token tok-123
expect_error "session token missing" UnrecognizedClientException \
    "${RAW[@]}" ListKeys --akid $STS_AKID --secret sessionsecret
expect_error "session token wrong" UnrecognizedClientException \
    "${RAW[@]}" ListKeys --akid $STS_AKID --secret sessionsecret --token tok-999
check "control: add expired credential" "${RAW[@]}" --control POST /_control/credentials \
    '{"access_key_id":"ASIATESTEXPIRED00001","secret_access_key":"s","session_token":"t","expiration":"2020-01-01T00:00:00Z"}'
msg=$("${RAW[@]}" ListKeys --akid ASIATESTEXPIRED00001 --secret s --token t)
expect_match "expired session credential" '\(ExpiredTokenException\) The security token included in the request is expired' "$msg"
check "CLI with session credential" env AWS_ACCESS_KEY_ID=$STS_AKID AWS_SECRET_ACCESS_KEY=sessionsecret \
    AWS_SESSION_TOKEN=tok-123 "${KMS[@]}" describe-key --key-id "$SYM"

# Concurrency: parallel ReEncrypt calls (RSA source) on separate connections.
b64ct=$(base64 -w0 <"$W/re2")
for i in 1 2 3 4 5 6 7 8; do
    "${RAW[@]}" ReEncrypt "{\"CiphertextBlob\":\"$b64ct\",\"SourceKeyId\":\"$R3\",\"SourceEncryptionAlgorithm\":\"RSAES_OAEP_SHA_1\",\"DestinationKeyId\":\"$SYM\",\"DestinationEncryptionContext\":{\"n\":\"$i\"}}" \
        >"$W/par.$i" 2>&1 &
done
wait
expect_eq "8 concurrent ReEncrypt calls succeed" 8 "$(cat "$W"/par.* | grep -c '^200 ')"

# ------------------------------------------------------------------ fault injection
ctl() { "${RAW[@]}" --control "$@"; }
stat_field() { ctl GET /_control/stats | cut -d' ' -f2- | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
check "control: reset-stats" ctl POST /_control/reset-stats
check "control: throttle once" ctl POST /_control/faults '{"mode":"throttle","count":1}'
msg=$(AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1 "${KMS[@]}" describe-key --key-id "$SYM" 2>&1)
expect_match "throttled call fails" '\(ThrottlingException\).*You have exceeded the rate at which you may call KMS\. Reduce the frequency of your calls\.' "$msg"
check "next call works" "${KMS[@]}" describe-key --key-id "$SYM"
expect_eq "stats count requests" 2 "$(stat_field 'd["requests"]')"
check "control: throttle twice" ctl POST /_control/faults '{"mode":"throttle","count":2}'
check "CLI retries through 2 throttles" "${KMS[@]}" describe-key --key-id "$SYM"
expect_eq "stats: 3 DescribeKey attempts more" 5 "$(stat_field 'd["by_op"]["DescribeKey"]')"
check "control: internal error for ReEncrypt only" ctl POST /_control/faults '{"mode":"internal","count":1,"ops":["ReEncrypt"]}'
check "op filter: DescribeKey unaffected" "${RAW[@]}" DescribeKey "{\"KeyId\":\"$SYM\"}"
msg=$("${RAW[@]}" ReEncrypt "{\"DestinationKeyId\":\"$SYM\"}")
expect_match "internal fault is 500 KMSInternalException" '^500 \(KMSInternalException\)' "$msg"
for mode in 500 502 503 504; do
    ctl POST /_control/faults "{\"mode\":\"$mode\"}" >/dev/null
    msg=$("${RAW[@]}" ListKeys)
    expect_match "fault $mode" "^$mode " "$msg"
done
ctl POST /_control/faults '{"mode":"garbage"}' >/dev/null
expect_match "fault garbage: 200 with non-JSON" '^200 <<this is not JSON' "$("${RAW[@]}" ListKeys | tr -d '\000')"
ctl POST /_control/faults '{"mode":"reset"}' >/dev/null
expect_match "fault reset: connection dropped" '^000 \(connection\)' "$("${RAW[@]}" ListKeys)"
ctl POST /_control/faults '{"mode":"truncate"}' >/dev/null
expect_match "fault truncate: short body" '^000 \(connection\) IncompleteRead' "$("${RAW[@]}" ListKeys)"
ctl POST /_control/faults '{"mode":"delay","delay_ms":1500}' >/dev/null
t0=$(date +%s%N)
"${RAW[@]}" ListKeys >/dev/null
t1=$(date +%s%N)
expect_match "fault delay: answered after >= 1.5 s" '^(1[5-9]|[2-9][0-9])' "$(( (t1 - t0) / 100000000 ))"
check "after faults: normal call works" "${RAW[@]}" ListKeys
ctl POST /_control/faults '{"mode":"oversize"}' >/dev/null
msg=$("$PY" - <<'EOF'
import http.client, os, ssl
from urllib.parse import urlsplit
u = urlsplit(os.environ["KMS_SERVER_URL"])
c = http.client.HTTPSConnection(u.hostname, u.port,
        context=ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"]))
c.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "TrentService.ListKeys"})
r = c.getresponse()
print(r.status, r.getheader("Content-Length"), len(r.read(1 << 20)))
EOF
)
expect_eq "fault oversize: 64 MiB announced" "200 67108864 1048576" "$msg"
expect_match "control: bad fault mode rejected" '^400 ' "$(ctl POST /_control/faults '{"mode":"explode"}')"
expect_match "stats: auth_failures counted" '^[1-9]' "$(stat_field 'd["auth_failures"]+1')"

# ------------------------------------------------------------------ hygiene
if grep -qF -- "$AWS_SECRET_ACCESS_KEY" "$kdir/requests.log" "$kdir/server.log"; then
    not_ok "logs hold no secret"
else
    ok "logs hold no secret"
fi
if grep -qF "hello, kms test server" "$kdir/requests.log" "$kdir/server.log"; then
    not_ok "logs hold no plaintext"
else
    ok "logs hold no plaintext"
fi
expect_match "request log has one line per request" '^[0-9T:-]+Z DescribeKey 200 - [0-9a-f-]{36}$' \
    "$(grep ' DescribeKey 200 ' "$kdir/requests.log" | head -1)"
check "server still alive" kill -0 "$KMS_SERVER_PID"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
