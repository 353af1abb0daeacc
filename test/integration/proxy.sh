#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# KMS calls through an HTTP CONNECT proxy (HTTPS_PROXY / https_proxy, as
# the AWS SDKs read them): the request goes through a tunnel, never in the
# clear; NO_PROXY is honoured; a proxy that refuses or is down gives a clear
# error and no ciphertext; a process with several calls reuses its tunnels.
# usage: proxy.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/lib.sh"

start_kms
cd "$WORK" || exit 2
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy \
    NO_PROXY no_proxy
PROXY_PIDS=()
stop_proxies() {
    local p
    for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap 'stop_proxies; cleanup' EXIT

start_proxy() { # start_proxy NAME [--refuse] -> sets PROXY_URL
    local name=$1
    shift
    python3 "$SOURCE_DIR/test/kms-server/connect_proxy.py" "$WORK/$name.port" \
        "$WORK/$name.log" "$@" &
    PROXY_PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
    [ -s "$WORK/$name.port" ] || die "start the $name proxy"
    PROXY_URL=http://127.0.0.1:$(cat "$WORK/$name.port")
}
tunnels() { grep -c "^CONNECT " "$WORK/$1.log" || true; }
in_clear() { grep -c "^REFUSED " "$WORK/$1.log" || true; }

KMS_HOSTPORT=${AWS_ENDPOINT_URL#https://}
KMS_HOSTPORT=${KMS_HOSTPORT%%/*}
printf 'proxied plaintext %s' "$(head -c 9 /dev/urandom | base64)" >plain.txt
SRC=$(new_key) || die "create the source key"
DST=$(new_key) || die "create the destination key"
aws_encrypt "$SRC" plain.txt old.bin --encryption-context Dept=IT ||
    die "aws kms encrypt"

start_proxy good
GOOD=$PROXY_URL
HTTPS_PROXY=$GOOD reencrypt -inkey "kms:$DST" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new.bin
check "HTTPS_PROXY: the re-encrypted blob opens under the destination key" \
    bash -c "[ \"\$(aws kms decrypt --ciphertext-blob fileb://new.bin --key-id $DST --query Plaintext --output text | base64 -d)\" = \"\$(cat plain.txt)\" ]"
check "HTTPS_PROXY: one tunnel to $KMS_HOSTPORT" \
    [ "$(grep -cx "CONNECT $KMS_HOSTPORT" "$WORK/good.log")" = 1 ]
https_proxy=$GOOD reencrypt -inkey "kms:$DST" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out new2.bin
check "https_proxy (lower case) is honoured too" \
    bash -c "[ -s new2.bin ] && [ $(tunnels good) = 2 ]"
should_fail "a KMS error comes back through the tunnel" \
    "InvalidCiphertextException" env HTTPS_PROXY="$GOOD" openssl pkeyutl \
    "${PROV_FLAGS[@]}" -encrypt -inkey "kms:$DST" \
    -pkeyopt source-encryption-context:Dept=HR -in old.bin -out bad.bin
check "nothing went to the proxy in the clear" [ "$(in_clear good)" = 0 ]

before=$(tunnels good)
HTTPS_PROXY=$GOOD NO_PROXY=localhost,127.0.0.1 reencrypt -inkey "kms:$DST" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out direct.bin
check "NO_PROXY: the call goes direct (blob written, no tunnel)" \
    bash -c "[ -s direct.bin ] && [ $(tunnels good) = $before ]"

start_proxy refusing --refuse
should_fail "a proxy that refuses the tunnel: clear error" \
    "CONNECT|[Pp]roxy|403" env HTTPS_PROXY="$PROXY_URL" AWS_MAX_ATTEMPTS=1 \
    openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt -inkey "kms:$DST" \
    -pkeyopt source-encryption-context:Dept=IT -in old.bin -out refused.bin
check "a refused tunnel writes no ciphertext" [ ! -s refused.bin ]

dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
should_fail "a proxy that is down: clear error" \
    "[Cc]onnect|[Pp]roxy" env HTTPS_PROXY="http://127.0.0.1:$dead" \
    AWS_MAX_ATTEMPTS=1 openssl pkeyutl "${PROV_FLAGS[@]}" -encrypt \
    -inkey "kms:$DST" -pkeyopt source-encryption-context:Dept=IT \
    -in old.bin -out down.bin
check "a dead proxy writes no ciphertext" [ ! -s down.bin ]

# Several calls in one process: the tunnels are kept and reused.
bin=$BUILD_DIR/test/evp_reencrypt
if [ -x "$bin" ]; then
    mkdir out
    before=$(tunnels good)
    run_prog evp_proxy env HTTPS_PROXY="$GOOD" "$bin" -t 2 -n 5 \
        "$BUILD_DIR" "kms:$DST" "$WORK/old.bin" "$WORK/out" Dept=IT
    calls=$(sed -n 's/^# kms-calls: //p' "$WORK/evp_proxy.out")
    opened=$(($(tunnels good) - before))
    reused() { [ "${calls:-0}" -ge 10 ] && [ "$opened" -ge 1 ] && [ "$opened" -lt "$calls" ]; }
    check "EVP program through the proxy: ${calls:-?} calls over $opened tunnels" reused
    check "still nothing in the clear" [ "$(in_clear good)" = 0 ]
fi

finish
