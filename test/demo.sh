#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job end to end on the bundled local KMS: start it, make two keys,
# encrypt with the AWS CLI, re-encrypt with `openssl pkeyutl` through the
# provider, decrypt with the AWS CLI, and show each step.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/test/install-deps.sh" --demo
cmake -S "$here" -B "$here/build" >/dev/null
cmake --build "$here/build" --target kmsreencrypt -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/kmsre-demo.XXXXXX")
trap 'bash "$here/test/kms-server/kmsctl.sh" stop "$work/kms" >/dev/null 2>&1; rm -rf "$work"' EXIT
bash "$here/test/kms-server/kmsctl.sh" start "$work/kms" >/dev/null
. "$work/kms/env.sh"
cd "$work"

# Debian's AWS CLI v2.9 ignores AWS_ENDPOINT_URL: name the endpoint.
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" >&2; "$@"; }

step "A local KMS (HTTPS, SigV4 checked by botocore) listens on $KMS_SERVER_URL"
old=$(aws kms create-key --description "old key" --query KeyMetadata.KeyId --output text)
new=$(aws kms create-key --description "new key" --query KeyMetadata.KeyId --output text)
show aws kms create-alias --alias-name alias/old --target-key-id "$old"
show aws kms create-alias --alias-name alias/new --target-key-id "$new"

step "Encrypt a secret under alias/old with the AWS CLI"
printf 'the launch codes are 0000' >secret.txt
show aws kms encrypt --key-id alias/old --plaintext fileb://secret.txt \
    --encryption-context Dept=IT --query CiphertextBlob --output text >old.b64
base64 -d old.b64 >old.bin
echo "old.bin: $(stat -c %s old.bin) bytes"

step "Re-encrypt it under alias/new with openssl pkeyutl (KMS ReEncrypt)"
show openssl pkeyutl -provider-path "$here/build" -provider kmsreencrypt \
    -provider default -encrypt -inkey kms:alias/new \
    -pkeyopt source-encryption-context:Dept=IT \
    -pkeyopt destination-encryption-context:Dept=IT -in old.bin -out new.bin
echo "new.bin: $(stat -c %s new.bin) bytes"

step "Decrypt the new blob with the AWS CLI"
show aws kms decrypt --ciphertext-blob fileb://new.bin --encryption-context Dept=IT \
    --query '[KeyId, Plaintext]' --output text | tee out.txt
plain=$(cut -f2 out.txt | base64 -d)
key=$(cut -f1 out.txt)
echo "plaintext: $plain"
echo "key:       $key"

step "Result"
if [ "$plain" = "$(cat secret.txt)" ] && [ "$key" = "$(aws kms describe-key --key-id alias/new --query KeyMetadata.Arn --output text)" ]; then
    echo "OK: the ciphertext moved from alias/old to alias/new without the plaintext leaving KMS."
else
    echo "FAILED: unexpected plaintext or key" >&2
    exit 1
fi
