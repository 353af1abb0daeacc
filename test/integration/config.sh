#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Loading through OPENSSL_CONF: the sample from cnf/ as it is, and one test
# per provider configuration key proving that it takes effect and wins over
# the environment.
# usage: config.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
cd "$WORK"
export OPENSSL_MODULES=$BUILD_DIR
printf 'configured' >plain.txt
SRC=$(new_key)
DST=$(new_key)
aws kms create-alias --alias-name alias/new --target-key-id "$DST"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context app=cnf

# conf_reencrypt CNF [pkeyutl args]: no -provider flags, only OPENSSL_CONF.
conf_reencrypt() {
    local cnf=$1; shift
    OPENSSL_CONF=$cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
        -pkeyopt source-encryption-context:app=cnf -in old.bin "$@"
}
opens() { [ "$(aws_decrypt "$1")" = configured ]; }

# A provider section with extra keys, everything else as in the sample.
make_cnf() { # make_cnf FILE KEY=VALUE...
    local out=$1; shift
    {
        # the sample up to and including the provider section's activate
        awk '{ print } /^\[kmsreencrypt_sect\]/ { s = 1 } s && /^activate/ { exit }' \
            "$SOURCE_DIR/cnf/kms-local.cnf"
        printf '%s\n' "$@"
    } >"$out"
}

# The sample as shipped, with the environment pointing nowhere useful.
rm -f new.bin
check "cnf/kms-local.cnf as shipped" env AWS_ENDPOINT_URL=https://127.0.0.1:9 \
    OPENSSL_CONF="$SOURCE_DIR/cnf/kms-local.cnf" openssl pkeyutl -encrypt \
    -inkey kms:alias/new -pkeyopt source-encryption-context:app=cnf \
    -in old.bin -out new.bin
check "aws decrypts the cnf-made blob" opens new.bin
check "provider listed from config" bash -c \
    "OPENSSL_CONF=$SOURCE_DIR/cnf/kms-local.cnf openssl list -providers | grep -q kmsreencrypt"

# endpoint: cnf wins over AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS.
make_cnf endpoint.cnf "endpoint = $KMS_SERVER_URL"
rm -f new.bin
check "endpoint from cnf wins over the environment" env \
    AWS_ENDPOINT_URL_KMS=https://127.0.0.1:9 AWS_ENDPOINT_URL=https://127.0.0.1:9 \
    OPENSSL_CONF=endpoint.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out new.bin
check "  and the blob opens" opens new.bin
make_cnf bad.cnf "endpoint = ftp://x"
should_fail "endpoint without https:// is refused" "endpoint must start with https://" \
    env OPENSSL_CONF=bad.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out x.bin

# region: cnf wins over AWS_REGION (a wrong region fails the signature scope).
make_cnf region.cnf "region = $AWS_REGION"
rm -f new.bin
check "region from cnf wins over AWS_REGION" env AWS_REGION=eu-west-3 \
    AWS_DEFAULT_REGION=eu-west-3 OPENSSL_CONF=region.cnf openssl pkeyutl \
    -encrypt -inkey kms:alias/new -pkeyopt source-encryption-context:app=cnf \
    -in old.bin -out new.bin
should_fail "  and without it AWS_REGION is used" "scoped to a valid region" \
    env AWS_REGION=eu-west-3 OPENSSL_CONF="$SOURCE_DIR/cnf/kms-local.cnf" \
    KMS_REGION=eu-west-3 openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out x.bin
should_fail "invalid region in cnf is reported at first use" "not a valid AWS region" \
    env KMS_REGION='us east' OPENSSL_CONF="$SOURCE_DIR/cnf/kms-local.cnf" \
    openssl pkeyutl -encrypt -inkey kms:alias/new -in old.bin -out x.bin

# profile: explicit, so the (wrong) environment keys are not used.
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<CREDS
[rotation]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
CREDS
make_cnf profile.cnf "profile = rotation"
rm -f new.bin
check "profile from cnf: keys from the credentials file" env \
    AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=nope \
    OPENSSL_CONF=profile.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out new.bin
check "  and the blob opens" opens new.bin
make_cnf noprofile.cnf "profile = absent"
should_fail "unknown cnf profile names itself" 'profile "absent"' \
    env OPENSSL_CONF=noprofile.cnf openssl pkeyutl -encrypt \
    -inkey kms:alias/new -in old.bin -out x.bin
rm -f new.bin
check "key URI profile" env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey "kms:alias/new?profile=rotation" \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out new.bin

# ca-bundle: cnf wins over AWS_CA_BUNDLE; verification is never off.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout other.key -out other-ca.pem -subj /CN=other -days 1 2>/dev/null
make_cnf ca.cnf "endpoint = $KMS_SERVER_URL" "ca-bundle = $AWS_CA_BUNDLE"
rm -f new.bin
check "ca-bundle from cnf wins over AWS_CA_BUNDLE" env \
    AWS_CA_BUNDLE="$WORK/other-ca.pem" OPENSSL_CONF=ca.cnf openssl pkeyutl \
    -encrypt -inkey kms:alias/new -pkeyopt source-encryption-context:app=cnf \
    -in old.bin -out new.bin
make_cnf otherca.cnf "endpoint = $KMS_SERVER_URL" "ca-bundle = $WORK/other-ca.pem"
should_fail "a server the CA bundle does not vouch for is refused" \
    "KMS request failed.*(certificate|SSL)" \
    env OPENSSL_CONF=otherca.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out x.bin
should_fail "the system store does not trust the test CA" \
    "KMS request failed.*(certificate|SSL)" \
    env -u AWS_CA_BUNDLE openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey kms:alias/new -pkeyopt source-encryption-context:app=cnf \
    -in old.bin -out x.bin

# request-timeout-ms: a server that answers late is cut off.
make_cnf slow.cnf "endpoint = $KMS_SERVER_URL" "request-timeout-ms = 500" "max-attempts = 1"
kms_fault '{"mode": "delay", "count": 1, "delay_ms": 4000}'
start=$(date +%s%N)
should_fail "request-timeout-ms cuts off a slow answer" "KMS request failed.*([Tt]imed out|[Tt]imeout)" \
    env OPENSSL_CONF=slow.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out x.bin
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -lt 3000 ]; then ok "  within ${ms} ms"; else not_ok "  took ${ms} ms"; fi

# connect-timeout-ms: a listener that never speaks TLS.
python3 -c '
import socket, time, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(30)' >mute.port &
MUTE=$!
for _ in $(seq 50); do [ -s mute.port ] && break; sleep 0.1; done
make_cnf mute.cnf "endpoint = https://127.0.0.1:$(cat mute.port)" \
    "connect-timeout-ms = 700" "request-timeout-ms = 20000" "max-attempts = 1"
start=$(date +%s%N)
should_fail "connect-timeout-ms bounds the TLS handshake" "KMS request failed.*([Tt]imed out|[Tt]imeout)" \
    env OPENSSL_CONF=mute.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:app=cnf -in old.bin -out x.bin
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill $MUTE 2>/dev/null || true
if [ "$ms" -lt 5000 ]; then ok "  within ${ms} ms"; else not_ok "  took ${ms} ms"; fi
make_cnf badms.cnf "connect-timeout-ms = soon"
should_fail "a bad timeout value is reported at first use" "connect-timeout-ms must be" \
    env OPENSSL_CONF=badms.cnf openssl pkeyutl -encrypt -inkey kms:alias/new \
    -in old.bin -out x.bin

finish
