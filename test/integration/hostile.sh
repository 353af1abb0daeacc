#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# hostile.sh BUILD_DIR SOURCE_DIR
#
# The KMS transport against hostile servers: test/hostile/hostile_server.py
# (one misbehaviour per instance) and, when `go` is installed, Go's stock
# net/http TLS server (test/hostile/h2server.go, h2 preferred in ALPN).
# Each case runs test/evp/evp_hostile, whose every call checks that the
# answer it got is the answer to its own input (the servers echo it:
# CiphertextBlob "NEWBLOB-FOR:<input>"), and then the server's log.
# A case asserts either the right answer or a clear error, never another
# request's answer, never a crash or a hang.
#
#   BUILD_DIR   holds kmsreencrypt.so
#   SOURCE_DIR  the repository root
#
# Environment:
#   EVP_HOSTILE_BIN  the evp_hostile binary (default BUILD_DIR/test/evp_hostile)
#   HOSTILE_PYTHON   interpreter for the servers (default python3)
#   FORK_ROUNDS      rounds of the fork case (default 50)
#   KEEP_TMP=1       keep the temporary directory (its path is printed)
#
# Prints ok/not ok lines and "N passed, M failed"; exits 1 on any failure,
# 2 on a usage error or a missing prerequisite. Helpers: lib.sh.
LIB_NEEDS_AWS=0
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

bin=${EVP_HOSTILE_BIN:-$BUILD_DIR/test/evp_hostile}
PY=${HOSTILE_PYTHON:-python3}
HOSTILE=$SOURCE_DIR/test/hostile
FORK_ROUNDS=${FORK_ROUNDS:-50}
# No evp_hostile run may take longer (a hang is reported as one).
EVP_GUARD_S=60
[ -x "$bin" ] || bail "no executable $bin (set EVP_HOSTILE_BIN)"
command -v "$PY" >/dev/null || bail "no $PY"
command -v timeout >/dev/null || bail "timeout (coreutils) is required"

SERVER_PIDS=()
stop_servers() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_servers; cleanup' EXIT

# ---- environment: made-up credentials, our CA, nothing from the machine --

unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
    AWS_CREDENTIAL_EXPIRATION AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_ENDPOINT_URL AWS_DEFAULT_REGION AWS_RETRY_MODE OPENSSL_CONF \
    KMSRE_DEBUG HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY \
    all_proxy NO_PROXY no_proxy
export AWS_ACCESS_KEY_ID=AKIAHOSTILETEST00000
export AWS_SECRET_ACCESS_KEY=hostile-test-secret-not-checked
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=3
: >"$WORK/aws-empty"
export AWS_CONFIG_FILE=$WORK/aws-empty AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-empty
bash "$SOURCE_DIR/test/kms-server/make-tls.sh" "$WORK/tls" ||
    die "make the test CA and server certificate"
export AWS_CA_BUNDLE=$WORK/tls/ca.pem

# make_cnf NAME KEY=VALUE...: $WORK/NAME.cnf, the provider with these keys.
make_cnf() {
    local name=$1
    shift
    provider_cnf "$WORK/$name.cnf" "$@"
}

# ---- servers -----------------------------------------------------------------

# wait_port FILE: the port a server wrote there, within 10 s.
wait_port() {
    local _
    for _ in $(seq 1 200); do
        [ -s "$1" ] && { cat "$1"; return 0; }
        sleep 0.05
    done
    return 1
}

# start_server NAME MODE [server args]: hostile_server.py, log $WORK/NAME.log;
# points AWS_ENDPOINT_URL_KMS at it (the IP literal: no resolver thread).
start_server() {
    local name=$1 mode=$2 port
    shift 2
    "$PY" "$HOSTILE/hostile_server.py" --mode "$mode" --tls-dir "$WORK/tls" \
        --port-file "$WORK/$name.port" --log "$WORK/$name.log" "$@" \
        2>"$WORK/$name.server.err" &
    SERVER_PIDS+=($!)
    SERVER_PID=$!
    port=$(wait_port "$WORK/$name.port") || die "start the $mode server"
    export AWS_ENDPOINT_URL_KMS=https://127.0.0.1:$port
    SERVER_PORT=$port
}

stop_server() { # the last one started
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# Counts in a server log.
count() { # count NAME REGEX
    grep -Ec -- "$2" "$WORK/$1.log" || true
}
show_log() { sed 's/^/#   server: /' "$WORK/$1.log"; }

# ---- the EVP program -----------------------------------------------------------

SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|ThreadSanitizer: |runtime error: '

# evp NAME [VAR=VALUE...] -- EVP_HOSTILE_ARGS...: one run under run_prog
# (ok/not ok lines, summary), bounded by EVP_GUARD_S; sets PROG_RC and MS.
# A signal, a sanitizer's report or the guard is reported as a crash or a
# hang.
evp() {
    local name=$1 t0 envs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    t0=$(date +%s%N)
    run_prog "$name" env ${envs[@]+"${envs[@]}"} timeout -k 5 "$EVP_GUARD_S" \
        "$bin" "$@" "$BUILD_DIR" kms:alias/x
    MS=$((($(date +%s%N) - t0) / 1000000))
    # A sanitizer turns a crash into its report and exit 1.
    if grep -Eq "$SANITIZER_REPORT" "$WORK/$name.err"; then
        not_ok "$name: sanitizer report: $(grep -Em1 "$SANITIZER_REPORT" "$WORK/$name.err")"
        return
    fi
    case $PROG_RC in
    0 | 1) ok "$name: no crash, no hang (exit $PROG_RC, $MS ms)" ;;
    124 | 137) not_ok "$name: hung until the ${EVP_GUARD_S} s guard" ;;
    *)
        if [ "$PROG_RC" -gt 128 ]; then
            not_ok "$name: crashed with signal $((PROG_RC - 128))"
        else
            not_ok "$name: exit $PROG_RC"
        fi
        ;;
    esac
}

# within NAME MIN_MS MAX_MS: the last run's elapsed time.
within() {
    if [ "$MS" -ge "$2" ] && [ "$MS" -le "$3" ]; then
        ok "$1: took $MS ms (bounds $2..$3 ms)"
    else
        not_ok "$1: took $MS ms, outside $2..$3 ms"
    fi
}

out_has() { # out_has NAME REGEX: in the program's ok lines
    if grep -Eq -- "$2" "$WORK/$1.out"; then ok "$1: says /$2/"; else
        not_ok "$1: no /$2/ in its output"
        sed 's/^/#   /' "$WORK/$1.out" | head -n 20
    fi
}

stderr_has() { # stderr_has NAME REGEX
    if grep -Eq -- "$2" "$WORK/$1.err"; then ok "$1: stderr says /$2/"; else
        not_ok "$1: no /$2/ in stderr"
        sed 's/^/#   /' "$WORK/$1.err" | head -n 20
    fi
}

# ---- normal: the baseline --------------------------------------------------------

start_server normal normal
evp normal -- -n 3
check "normal: 3 answers, 3 requests on one kept-alive connection" \
    [ "$(count normal ' answered$'):$(count normal ' open ')" = 3:1 ]
stop_server

# ---- idle close: the server closes an idle connection before the next call ----

for style in idle-close idle-close-rst; do
    start_server "$style" "$style" --idle-ms 500
    evp "$style" -- -n 2 -s 1000
    check "$style: no error shown (stderr empty)" [ ! -s "$WORK/$style.err" ]
    check "$style: the server closed connection 1 when idle" \
        grep -Eq '^conn=1 close reason=idle' "$WORK/$style.log"
    check "$style: the second call went on a new connection and was answered" \
        grep -Eq '^conn=2 req=1 .* input=INPUT-2 answered$' "$WORK/$style.log"
    [ "$PROG_RC" -eq 0 ] || show_log "$style"
    stop_server
done

# ---- stale bytes: a whole extra answer after each complete one ------------------

# The extra answer (for input EXTRA-C<conn>-R<req>) comes 100 ms after each
# answer as its own TLS record; the next call is 400 ms later. It must get
# its own answer (a retry, at any level, on a new connection is fine).
start_server extra-bytes extra-bytes --extra-ms 100
evp extra-bytes -- -n 4 -s 400 -A 0
if grep -q 'EXTRA-' "$WORK/extra-bytes.out"; then
    not_ok "extra-bytes: an extra answer was taken as a call's answer"
else
    ok "extra-bytes: no call took an extra answer"
fi
echo "# extra-bytes: $(count extra-bytes ' open ') connection(s) for $(count extra-bytes ' answered$') answered request(s)"
[ "$PROG_RC" -eq 0 ] || show_log extra-bytes
stop_server

# ---- framings: dribbled, chunked, Connection: close, 100 Continue ---------------

start_server dribble dribble
evp dribble -- -n 2
stop_server

start_server chunked chunked
evp chunked -- -n 3
echo "# chunked: $(count chunked ' open ') connection(s) for 3 calls"
stop_server

start_server connection-close connection-close
evp connection-close -- -n 3
check "connection-close: 3 requests, each on a connection of its own" \
    [ "$(count connection-close ' answered$'):$(count connection-close ' open ')" = 3:3 ]
stop_server

start_server continue continue
evp continue -- -n 2
stop_server

# ---- close in mid-body --------------------------------------------------------------

# Always: retried up to AWS_MAX_ATTEMPTS=3, then a clear error. Backoff is
# at most 1 s + 2 s.
start_server mid-body-always close-mid-body
evp mid-body-always AWS_MAX_ATTEMPTS=3 -- -x fail
stderr_has mid-body-always 'KMS request failed.*after 3 attempts'
out_has mid-body-always 'error-class transient'
check "mid-body-always: the server saw exactly 3 attempts" \
    [ "$(count mid-body-always 'input=INPUT-1 cut-mid-body$')" = 3 ]
within mid-body-always 0 6000
stop_server

# The first one or two answers cut, then a whole one: the call succeeds on
# the attempt after, and says so.
for n in 1 2; do
    start_server "mid-body-first$n" close-mid-body --count "$n"
    evp "mid-body-first$n" AWS_MAX_ATTEMPTS=3 -- -A $((n + 1))
    check "mid-body-first$n: the server cut $n and answered the next" \
        [ "$(count "mid-body-first$n" 'cut-mid-body$'):$(count "mid-body-first$n" 'input=INPUT-1 answered$')" = "$n:1" ]
    stop_server
done

# ---- silence: bounded by the timeouts ---------------------------------------------

# Never answers: 2 attempts x request-timeout-ms 1000, plus at most 1 s of
# backoff; and not much less (the timeout is what ends each attempt).
make_cnf never request-timeout-ms=1000 connect-timeout-ms=1000 max-attempts=2
start_server never-answer never-answer
evp never-answer -- -c "$WORK/never.cnf" -x fail
stderr_has never-answer 'KMS request failed.*([Tt]imed? ?out|[Tt]imeout)'
out_has never-answer 'error-class transient'
check "never-answer: the server got 2 requests (max-attempts=2), answered none" \
    [ "$(count never-answer 'unanswered$'):$(count never-answer ' answered$')" = 2:0 ]
within never-answer 1800 5000
stop_server

# Accepts TCP, never speaks TLS: connect-timeout-ms bounds each attempt.
make_cnf nohs request-timeout-ms=10000 connect-timeout-ms=700 max-attempts=2
start_server no-handshake no-handshake
evp no-handshake -- -c "$WORK/nohs.cnf" -x fail
stderr_has no-handshake 'KMS request failed.*([Tt]imed? ?out|[Tt]imeout)'
within no-handshake 1200 4500
stop_server

# ---- ALPN: a server that prefers h2 -----------------------------------------------

start_server alpn-h2 alpn-h2
evp alpn-h2 -- -n 2
check "alpn-h2: every connection negotiated http/1.1, none h2" \
    [ "$(count alpn-h2 ' open alpn=http/1.1$'):$(count alpn-h2 'alpn=h2|h2-negotiated')" = "$(count alpn-h2 ' open '):0" ]
[ "$PROG_RC" -eq 0 ] || show_log alpn-h2
stop_server

# Go's stock net/http TLS server (HTTP/2 on by default), built here, offline.
if command -v go >/dev/null 2>&1; then
    mkdir -p "$WORK/go/cache" "$WORK/go/path"
    if env GO111MODULE=off GOCACHE="$WORK/go/cache" GOPATH="$WORK/go/path" \
        GOFLAGS= GOPROXY=off CGO_ENABLED=0 go build -o "$WORK/h2server" \
        "$HOSTILE/h2server.go" >"$WORK/go-build.out" 2>&1; then
        ok "go build h2server.go"
        "$WORK/h2server" -tls-dir "$WORK/tls" -port-file "$WORK/go-h2.port" \
            -log "$WORK/go-h2.log" 2>"$WORK/go-h2.server.err" &
        SERVER_PIDS+=($!)
        SERVER_PID=$!
        port=$(wait_port "$WORK/go-h2.port") || die "start h2server"
        export AWS_ENDPOINT_URL_KMS=https://127.0.0.1:$port
        evp go-h2 -- -n 2
        check "go-h2: both requests reached Go's server over HTTP/1.1" \
            [ "$(count go-h2 'proto=HTTP/1.1 .* answered$'):$(count go-h2 'proto=HTTP/2')" = 2:0 ]
        [ "$PROG_RC" -eq 0 ] || show_log go-h2
        stop_server
    else
        not_ok "go build h2server.go"
        sed 's/^/#   /' "$WORK/go-build.out"
    fi
else
    echo "# skip - Go net/http h2 server: go not found (Debian: golang-go)"
fi

# ---- fork ------------------------------------------------------------------------------

# Each round the parent re-encrypts (its pool keeps a live connection), then
# forks 4 children that re-encrypt distinct inputs, released together; each
# child checks it got the answer for its own input. Children are
# single-threaded and guarded by alarm(20).
make_cnf fork request-timeout-ms=5000 connect-timeout-ms=2000
start_server fork normal
evp fork -- -c "$WORK/fork.cnf" -f 4 -r "$FORK_ROUNDS" -k 2 -a 20
want=$((FORK_ROUNDS * (1 + 4 * 2)))
check "fork: the server answered all $want requests, each once" \
    [ "$(count fork ' answered$'):$(sed -n 's/.* input=\([^ ]*\) answered$/\1/p' "$WORK/fork.log" | sort -u | wc -l)" = "$want:$want" ]
stop_server

# Credentials the parent fetched serve its children: a credential_process
# that counts its runs is run once, by the parent's first call, for 3
# rounds of 4 children.
cat >"$WORK/count-creds.sh" <<PROC
#!/bin/sh
echo run >>"$WORK/count-creds.runs"
echo '{"Version": 1, "AccessKeyId": "AKIAFORKCREDS0000000", "SecretAccessKey": "fork-creds-secret"}'
PROC
chmod +x "$WORK/count-creds.sh"
printf '%s\n' "[profile fork-creds]" "credential_process = $WORK/count-creds.sh" \
    >"$WORK/fork-creds.config"
start_server fork-creds normal
evp fork-creds -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    AWS_PROFILE=fork-creds AWS_CONFIG_FILE="$WORK/fork-creds.config" \
    -- -c "$WORK/fork.cnf" -f 4 -r 3 -k 1 -a 20
check "fork-creds: the server answered 15 requests, signed with the process's key" \
    [ "$(count fork-creds 'AKIAFORKCREDS0000000.* answered$')" = 15 ]
check "fork-creds: the credential process ran once ($(wc -l <"$WORK/count-creds.runs" 2>/dev/null || echo 0) runs)" \
    [ "$(wc -l <"$WORK/count-creds.runs")" = 1 ]
stop_server

# The same while 2 parent threads keep re-encrypting as the main thread
# forks (a ThreadSanitizer build joins them before each fork: see the
# program's "#" line). No child may deadlock on a lock a thread held.
start_server fork-threads normal
evp fork-threads -- -c "$WORK/fork.cnf" -f 4 -r 20 -k 2 -T 2 -a 20

# The first fork of a process is the dangerous one: 16 threads are then in
# their first KMS calls (first TLS handshakes, DRBGs instantiated, under
# OpenSSL's locks). Without the provider's fork barrier about 1 run in 8
# left a child blocked on such a lock. 30 fresh processes, each forking 8
# children that must all be answered.
hung=0 failed_runs=0
for run in $(seq 1 "${FORK_FRESH_RUNS:-30}"); do
    PROG_RC=0
    timeout -k 5 "$EVP_GUARD_S" "$bin" -c "$WORK/fork.cnf" -f 8 -r 1 -k 1 \
        -T 16 -a 5 "$BUILD_DIR" kms:alias/x >"$WORK/fresh.out" 2>&1 || PROG_RC=$?
    if [ "$PROG_RC" -ne 0 ]; then
        failed_runs=$((failed_runs + 1))
        grep -q 'SIGALRM' "$WORK/fresh.out" && hung=$((hung + 1))
        grep '^not ok' "$WORK/fresh.out" | head -n 3 | sed 's/^/#   /'
    fi
done
check "fork-fresh: ${FORK_FRESH_RUNS:-30} processes fork at once while 16 threads make their first calls: no child hung ($hung), no run failed ($failed_runs)" \
    [ "$hung:$failed_runs" = 0:0 ]
stop_server

# ---- through an HTTPS_PROXY CONNECT proxy ------------------------------------------------

start_server proxied normal
"$PY" "$SOURCE_DIR/test/kms-server/connect_proxy.py" "$WORK/proxy.port" \
    "$WORK/proxy.log" &
SERVER_PIDS+=($!)
proxy_pid=$!
pport=$(wait_port "$WORK/proxy.port") || die "start the CONNECT proxy"
evp proxied HTTPS_PROXY="http://127.0.0.1:$pport" -- -n 3
tunnels=$(grep -c "^CONNECT 127.0.0.1:$SERVER_PORT\$" "$WORK/proxy.log" || true)
in_clear=$(grep -c '^REFUSED' "$WORK/proxy.log" || true)
tunnelled() { [ "$tunnels" -ge 1 ] && [ "$in_clear" = 0 ]; }
check "proxied: $tunnels tunnel(s) to 127.0.0.1:$SERVER_PORT, $in_clear request(s) in the clear" \
    tunnelled
check "proxied: the server answered the 3 calls" [ "$(count proxied ' answered$')" = 3 ]
kill "$proxy_pid" 2>/dev/null || true
stop_server

# ---- TLS trust: a configured CA bundle is the only trust ------------------------------

# The test CA becomes trusted system-wide: libcurl's compiled-in CA file and
# directory (/etc/ssl/certs) are replaced, in a mount namespace of our own,
# by a directory holding only it. Then a call with no bundle succeeds (the
# system store is consulted), and a call whose configured bundle lacks the
# CA (AWS_CA_BUNDLE or cnf ca-bundle) must be refused, as the AWS CLI does.
in_namespace() { # in_namespace CMD...: with the test CA as the system store
    unshare --mount --propagation private -- bash -c \
        'mount --bind "$0" /etc/ssl/certs && exec "$@"' "$WORK/certs" "$@"
}
trust_run() { # trust_run NAME [VAR=VALUE...] -- EVP_HOSTILE_ARGS...
    local name=$1 envs=()
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    run_prog "$name" in_namespace env -u AWS_CA_BUNDLE ${envs[@]+"${envs[@]}"} \
        timeout -k 5 "$EVP_GUARD_S" "$bin" "$@" "$BUILD_DIR" kms:alias/x
}
if [ "$(id -u)" != 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
    echo "# skip: the trust cases need root and mount namespaces (unshare --mount)"
else
    bash "$SOURCE_DIR/test/kms-server/make-tls.sh" "$WORK/other" \
        "another test CA" >/dev/null || die "make a second CA"
    mkdir -p "$WORK/certs"
    cp "$WORK/tls/ca.pem" "$WORK/certs/ca-certificates.crt"
    cp "$WORK/tls/ca.pem" "$WORK/certs/kmsre-test-ca.pem"
    openssl rehash "$WORK/certs" 2>/dev/null || c_rehash "$WORK/certs" >/dev/null
    start_server trust normal
    trust_run trust-system -- -n 1
    check "trust: with no bundle, the system store trusts the test CA" \
        [ "$PROG_RC" -eq 0 ]
    trust_run trust-env AWS_CA_BUNDLE="$WORK/other/ca.pem" -- -n 1 -x fail
    stderr_has trust-env 'KMS request failed.*(certificate|SSL)'
    out_has trust-env 'error-class permanent'
    make_cnf trust "ca-bundle = $WORK/other/ca.pem"
    trust_run trust-cnf -- -c "$WORK/trust.cnf" -n 1 -x fail
    stderr_has trust-cnf 'KMS request failed.*(certificate|SSL)'
    check "trust: the server answered only the call without a bundle" \
        [ "$(count trust ' answered$')" = 1 ]
    stop_server
fi

finish
