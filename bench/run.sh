#!/usr/bin/env bash
# Side-by-side benchmark on loopback: countersign (1 worker) in each
# jwt-signer scenario of issue #7 against nginx (plain proxy, 1 worker) and
# HAProxy 2.6 (jwt_verify, 1 thread), all driven by the same wrk settings in
# one run. Writes the results into docs/benchmarks.md (between the
# `results` markers; the rest of the file, e.g. the analysis, is kept).
#
#   bash bench/run.sh                       # build ./build (Release) and run
#   COUNTERSIGN_BIN=build-x/countersign DURATION=3s bash bench/run.sh
#
# Settings (environment):
#   COUNTERSIGN_BIN   binary to test (copied at start); default: build it
#                     with scripts/build.sh into BUILD_DIR (default build)
#   DURATION=10s WARMUP=3s THREADS=1 CONNECTIONS=32     wrk settings
#   ROUNDS=3                   every target is measured ROUNDS times, in
#                              rounds over all targets; the report takes
#                              each target's median round (this VM's
#                              neighbours come and go within one run)
#   ROTATION_TOKENS=10000      tokens of scenario (c)
#   DISTINCT_TOKENS=auto       tokens of scenario (d); auto = 25000 per
#                              second of DURATION (if a run sends more
#                              requests than this, tokens repeat: reported)
#   IDLE_CONNECTIONS=10000     idle keep-alive connections test
#   OUTPUT=docs/benchmarks.md  "-" = print the results section only
#   TOKENS_DIR=dir             keep the IdP key and tokens there and reuse
#                              them on later runs (< 12 h old); default: temp
#   KEEP_TMP=1                 keep the temp dir (configs, logs, wrk output)
#
# Needs root (or sudo) only to apt-get install missing tools:
# nginx-light haproxy wrk python3-cryptography curl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
PY=/usr/bin/python3

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
ROTATION_TOKENS=${ROTATION_TOKENS:-10000}
ROUNDS=${ROUNDS:-3}
DISTINCT_TOKENS=${DISTINCT_TOKENS:-auto}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
OUTPUT=${OUTPUT:-$repo/docs/benchmarks.md}
BUILD_DIR=${BUILD_DIR:-build}

log() { printf '[bench] %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------
install_tools() {
    local want=(nginx-light haproxy wrk python3 python3-cryptography curl) missing=() p
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        "${sudo_cmd[@]}" apt-get update -qq
        "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    }
}
install_tools
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

seconds_of() {  # 10s / 2m / 500ms -> whole seconds (at least 1)
    case "$1" in
        *ms) echo 1 ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}
if [ "$DISTINCT_TOKENS" = auto ]; then
    DISTINCT_TOKENS=$(( $(seconds_of "$DURATION") * 25000 ))
fi

# --- work dir, processes, cleanup -------------------------------------------
work=$(mktemp -d /tmp/countersign-bench.XXXXXX)
chmod 755 "$work"  # nginx workers (user nobody) read below it
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Descriptors: as many as allowed (the idle-connections test needs > 10,000).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)

# --- countersign binary ------------------------------------------------------
if [ -z "${COUNTERSIGN_BIN:-}" ]; then
    log "building countersign (Release) into $BUILD_DIR"
    BUILD_TYPE=Release BUILD_DIR=$BUILD_DIR bash "$repo/scripts/build.sh" --target countersign >&2
    COUNTERSIGN_BIN=$repo/$BUILD_DIR/countersign
fi
cp "$COUNTERSIGN_BIN" "$work/countersign"
CS=$work/countersign
log "countersign: $("$CS" --version 2>&1 | head -1) (from $COUNTERSIGN_BIN)"

read -r P_UP P_NGINX P_HAP P_IDP P_CS <<<"$($PY -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')"

wait_port() {
    local i
    for i in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    log "nothing listens on port $1"
    return 1
}

# --- keys and tokens ---------------------------------------------------------
# TOKENS_DIR: keep the key and tokens there and reuse them while they are
# younger than 12 hours (they expire after 24) and numerous enough.
tokens_usable() {  # dir
    [ -f "$1/jwks.json" ] && [ -f "$1/tokens_distinct.txt" ] && [ -f "$1/tokens_rotation.txt" ] &&
        [ -z "$(find "$1/jwks.json" -mmin +720)" ] &&
        [ "$(wc -l <"$1/tokens_rotation.txt")" -eq "$ROTATION_TOKENS" ] &&
        [ "$(wc -l <"$1/tokens_distinct.txt")" -ge "$DISTINCT_TOKENS" ]
}
tokens_dir=${TOKENS_DIR:-$work/tokens}
mkdir -p "$tokens_dir"
if tokens_usable "$tokens_dir"; then
    log "reusing the IdP key and tokens in $tokens_dir"
else
    log "generating the IdP key and $((1 + ROTATION_TOKENS + DISTINCT_TOKENS)) RS256 tokens"
    t0=$(date +%s)
    $PY "$here/tokens.py" "$tokens_dir" "$ROTATION_TOKENS" "$DISTINCT_TOKENS"
    log "tokens ready in $(( $(date +%s) - t0 ))s"
fi
for f in idp_rs256.pub.pem jwks.json token_same.txt tokens_rotation.txt; do cp "$tokens_dir/$f" "$work/$f"; done
head -n "$DISTINCT_TOKENS" "$tokens_dir/tokens_distinct.txt" >"$work/tokens_distinct.txt"
TOKEN=$(cat "$work/token_same.txt")
# Same header and payload, signature of another token: must be refused.
TAMPERED=${TOKEN%.*}.$(head -1 "$work/tokens_rotation.txt" | cut -d. -f3)
OPAQUE=bench-opaque-access-token-0123456789
NOW=$(date +%s)

# --- nginx instances ---------------------------------------------------------
nginx_conf() {  # dir, http-block body
    mkdir -p "$1/tmp"
    cat >"$1/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections $((NOFILE > 20100 ? 20000 : NOFILE - 100)); }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
$2
}
EOF
}
start_nginx() {  # name port
    "$NGINX" -p "$work/$1" -c "$work/$1/nginx.conf" -e "$work/$1/error.log" &
    pids+=($!)
    eval "PID_$1=$!"
    wait_port "$2"
}
nginx_pids() {  # master pid -> "master,worker..."
    local kids
    kids=$(pgrep -P "$1" | paste -sd, -)
    echo "$1${kids:+,$kids}"
}

# upstream: a fixed 200
nginx_conf "$work/upstream" "
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_UP;
        location / { default_type text/plain; return 200 'ok'; }
    }"
start_nginx upstream "$P_UP"

# nginx as a plain reverse proxy (same keep-alive limits as countersign's defaults)
nginx_conf "$work/proxy" "
    keepalive_requests 10000;
    keepalive_timeout 75s;
    upstream app { server 127.0.0.1:$P_UP; keepalive 512; keepalive_requests 10000; }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
start_nginx proxy "$P_NGINX"

# IdP for countersign: the JWKS and an introspection endpoint that says "active"
JWKS=$(cat "$work/jwks.json")
INTROSPECTION="{\"active\":true,\"sub\":\"alice\",\"client_id\":\"bench-client\",\"scope\":\"openid orders:read\",\"iss\":\"https://idp.bench\",\"aud\":\"orders-api\",\"token_type\":\"Bearer\",\"iat\":$NOW,\"exp\":$((NOW + 86400))}"
nginx_conf "$work/idp" "
    server {
        listen 127.0.0.1:$P_IDP;
        default_type application/json;
        location = /jwks { return 200 '$JWKS'; }
        location = /introspect { return 200 '$INTROSPECTION'; }
    }"
start_nginx idp "$P_IDP"

# --- HAProxy 2.6 with jwt_verify (docs: ../shared/docs/peers.md §4a) -----------
cat >"$work/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $(( (NOFILE - 200) / 2 ))

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s

frontend api
    bind 127.0.0.1:$P_HAP
    http-request set-var(txn.bearer) http_auth_bearer
    http-request return status 401 content-type text/plain string "missing bearer token" hdr WWW-Authenticate "Bearer" unless { var(txn.bearer) -m found }
    http-request set-var(txn.alg)   var(txn.bearer),jwt_header_query('\$.alg')
    http-request set-var(txn.iss)   var(txn.bearer),jwt_payload_query('\$.iss')
    http-request set-var(txn.aud)   var(txn.bearer),jwt_payload_query('\$.aud')
    http-request set-var(txn.exp)   var(txn.bearer),jwt_payload_query('\$.exp','int')
    http-request set-var(txn.scope) var(txn.bearer),jwt_payload_query('\$.scope')
    http-request return status 401 content-type text/plain string "bad alg" unless { var(txn.alg) -m str RS256 }
    http-request return status 401 content-type text/plain string "bad signature" unless { var(txn.bearer),jwt_verify("RS256","$work/idp_rs256.pub.pem") -m int 1 }
    http-request return status 401 content-type text/plain string "bad issuer" unless { var(txn.iss) -m str https://idp.bench }
    http-request return status 401 content-type text/plain string "bad audience" unless { var(txn.aud) -m str orders-api }
    http-request return status 401 content-type text/plain string "no exp" unless { var(txn.exp) -m found }
    http-request set-var(txn.now) date()
    http-request return status 401 content-type text/plain string "expired" if { var(txn.exp),sub(txn.now) -m int lt 0 }
    http-request return status 403 content-type text/plain string "insufficient scope" unless { var(txn.scope) -m reg (^|\ )orders:read(\ |\$) }
    http-request set-header X-Auth-Sub %[var(txn.bearer),jwt_payload_query('\$.sub')]
    http-request del-header Authorization
    default_backend app

backend app
    server up1 127.0.0.1:$P_UP
EOF
"$HAPROXY" -c -q -f "$work/haproxy.cfg"
"$HAPROXY" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
PID_haproxy=$!
wait_port "$P_HAP"

# --- countersign -------------------------------------------------------------
cs_config() {  # scenario, plugin YAML (may be empty)
    cat >"$work/cs-$1.yaml" <<EOF
_format_version: "3.0"
countersign:
  proxy_listen: "127.0.0.1:$P_CS"
  admin_listen: "off"
  workers: 1
  data_dir: "$work/cs-data"
  log_level: warn
  access_log: "off"
  error_log: "$work/cs-$1.log"
services:
  - name: upstream
    url: http://127.0.0.1:$P_UP
    routes:
      - name: all
        paths: ["/"]
$2
EOF
}
JWKS_URI=http://127.0.0.1:$P_IDP/jwks
INTROSPECT_URI=http://127.0.0.1:$P_IDP/introspect
jwt_access() {  # signing algorithm
    cat <<EOF
plugins:
  - name: jwt-signer
    config:
      access_token_jwks_uri: $JWKS_URI
      access_token_issuers_allowed: ["https://idp.bench"]
      access_token_audiences_allowed: ["orders-api"]
      access_token_scopes_required: ["orders:read"]
      access_token_issuer: https://gateway.bench
      access_token_keyset: bench
      access_token_signing_algorithm: $1
EOF
}
introspect_access() {
    cat <<EOF
plugins:
  - name: jwt-signer
    config:
      access_token_introspection_endpoint: $INTROSPECT_URI
      access_token_introspection_authorization: "Basic YmVuY2g6c2VjcmV0"
      cache_access_token_introspection: true
      access_token_issuer: https://gateway.bench
      access_token_keyset: bench
      access_token_signing_algorithm: ES256
EOF
}
both_tokens() {
    introspect_access
    cat <<EOF
      channel_token_request_header: X-JWT-channel-client
      channel_token_jwks_uri: $JWKS_URI
      channel_token_issuers_allowed: ["https://idp.bench"]
      channel_token_audiences_allowed: ["orders-api"]
      channel_token_scopes_required: ["orders:read"]
      channel_token_upstream_header: X-JWT-channel-upstream
      channel_token_issuer: https://gateway.bench
      channel_token_keyset: bench
      channel_token_signing_algorithm: ES256
EOF
}
cs_config a ""
cs_config b "$(jwt_access ES256)"
cs_config c "$(jwt_access ES256)"
cs_config d-es256 "$(jwt_access ES256)"
cs_config d-rs256 "$(jwt_access RS256)"
cs_config e "$(introspect_access)"
cs_config f "$(both_tokens)"

PID_cs=""
start_cs() {  # scenario
    "$CS" check "$work/cs-$1.yaml" >/dev/null
    (cd "$work" && exec "$CS" --config "$work/cs-$1.yaml" >>"$work/cs-$1.log" 2>&1) &
    PID_cs=$!
    pids+=("$PID_cs")
    wait_port "$P_CS" || { cat "$work/cs-$1.log" >&2; exit 1; }
}
stop_cs() {
    kill "$PID_cs" 2>/dev/null || true
    wait "$PID_cs" 2>/dev/null || true
    PID_cs=""
}

# --- checks: each target really authenticates ---------------------------------
URL_PATH=/api/orders/42
expect_status() {  # want, url, curl args...
    local want=$1 url=$2 got
    shift 2
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url")
    if [ "$got" != "$want" ]; then
        log "check failed: $url $* -> $got (want $want)"
        exit 1
    fi
}

# --- measuring -----------------------------------------------------------------
manifest=$work/manifest.tsv
: >"$manifest"
vm_hwm_kb() {  # comma-separated pids -> sum of VmHWM
    local total=0 p v
    for p in ${1//,/ }; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
# measure NAME LABEL PIDS URL [wrk args]; TOKENS_FILE / TOKENS_WARMUP /
# TOKEN_HEADER / EXTRA_HEADER / EXTRA_VALUE in the environment select the
# Lua token rotation (tokens.lua).
measure() {
    local name=$1 label=$2 pids_csv=$3 url=$4
    shift 4
    local lua=()
    [ -n "${TOKENS_FILE:-}" ] && lua=(-s "$here/tokens.lua")
    local out="$work/wrk-$name-r$ROUND.txt"
    log "$name (round $ROUND of $ROUNDS): warm-up $WARMUP, then $DURATION"
    TOKENS_FILE=${TOKENS_WARMUP:-${TOKENS_FILE:-}} WRK_THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${lua[@]}" "$@" "$url" >"$work/wrk-$name-r$ROUND-warmup.txt"
    WRK_THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${lua[@]}" "$@" "$url" >"$out"
    local tokens=0
    [ -n "${TOKENS_FILE:-}" ] && tokens=$(wc -l <"$TOKENS_FILE")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "$out" "$(vm_hwm_kb "$pids_csv")" "$tokens" "$ROUND" >>"$manifest"
    grep -E 'Requests/sec|99%|Non-2xx' "$out" | tr -s ' ' | paste -sd' ' - | sed "s/^/[bench]   /" >&2
}

AUTH="Authorization: Bearer $TOKEN"
ROT=$work/tokens_rotation.txt
DIS=$work/tokens_distinct.txt

for ROUND in $(seq 1 "$ROUNDS"); do
measure upstream "upstream nginx, direct (reference)" "$(nginx_pids "$PID_upstream")" "http://127.0.0.1:$P_UP$URL_PATH"
measure nginx "nginx plain proxy" "$(nginx_pids "$PID_proxy")" "http://127.0.0.1:$P_NGINX$URL_PATH"

expect_status 200 "http://127.0.0.1:$P_HAP$URL_PATH" -H "$AUTH"
expect_status 401 "http://127.0.0.1:$P_HAP$URL_PATH" -H "Authorization: Bearer $TAMPERED"
measure haproxy "HAProxy jwt_verify RS256, same token" "$PID_haproxy" "http://127.0.0.1:$P_HAP$URL_PATH" -H "$AUTH"
TOKENS_FILE=$ROT measure haproxy-rotation "HAProxy jwt_verify RS256, $ROTATION_TOKENS tokens in rotation" \
    "$PID_haproxy" "http://127.0.0.1:$P_HAP$URL_PATH"

start_cs a
expect_status 200 "http://127.0.0.1:$P_CS$URL_PATH"
measure cs-a "(a) countersign plain proxy" "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH"
stop_cs

start_cs b
expect_status 200 "http://127.0.0.1:$P_CS$URL_PATH" -H "$AUTH"
expect_status 401 "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $TAMPERED"
measure cs-b "(b) countersign RS256 verify + ES256 re-sign, same token" "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH" -H "$AUTH"
stop_cs

start_cs c
TOKENS_FILE=$ROT measure cs-c "(c) countersign RS256 verify + ES256 re-sign, $ROTATION_TOKENS tokens in rotation" \
    "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH"
stop_cs

start_cs d-es256
TOKENS_FILE=$DIS TOKENS_WARMUP=$ROT measure cs-d-es256 "(d) countersign RS256 verify + ES256 re-sign, every token distinct" \
    "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH"
stop_cs

start_cs d-rs256
TOKENS_FILE=$DIS TOKENS_WARMUP=$ROT measure cs-d-rs256 "(d) countersign RS256 verify + RS256 re-sign, every token distinct" \
    "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH"
stop_cs

start_cs e
expect_status 200 "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $OPAQUE"
expect_status 401 "http://127.0.0.1:$P_CS$URL_PATH"
measure cs-e "(e) countersign opaque token, introspection cached, ES256 re-sign" "$PID_cs" \
    "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $OPAQUE"
stop_cs

start_cs f
expect_status 200 "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $OPAQUE" -H "X-JWT-channel-client: $TOKEN"
expect_status 401 "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $OPAQUE" -H "X-JWT-channel-client: $TAMPERED"
measure cs-f "(f) countersign both tokens: opaque access (introspection, cached) + RS256 channel JWT, both re-signed ES256" \
    "$PID_cs" "http://127.0.0.1:$P_CS$URL_PATH" -H "Authorization: Bearer $OPAQUE" -H "X-JWT-channel-client: $TOKEN"
stop_cs
done

# --- idle keep-alive connections ------------------------------------------------
log "idle connections: $IDLE_CONNECTIONS to countersign (a)"
start_cs a
expect_status 200 "http://127.0.0.1:$P_CS$URL_PATH"
idle_cs=$($PY "$here/idle_conns.py" "$P_CS" "$IDLE_CONNECTIONS" "$PID_cs")
stop_cs
log "  countersign: $idle_cs"
log "idle connections: $IDLE_CONNECTIONS to nginx"
idle_nginx=$($PY "$here/idle_conns.py" "$P_NGINX" "$IDLE_CONNECTIONS" "$(nginx_pids "$PID_proxy")")
log "  nginx: $idle_nginx"

# --- report ------------------------------------------------------------------------
cmd="DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS CONNECTIONS=$CONNECTIONS"
cmd+=" ROUNDS=$ROUNDS ROTATION_TOKENS=$ROTATION_TOKENS DISTINCT_TOKENS=$DISTINCT_TOKENS IDLE_CONNECTIONS=$IDLE_CONNECTIONS bash bench/run.sh"
CS_VERSION=$("$CS" --version 2>&1 | paste -sd, - | sed "s/,/, /g") \
GIT_REV=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$repo" && git diff --quiet HEAD 2>/dev/null || echo "+local changes") \
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up run), $ROUNDS rounds over all targets" \
RUN_CMD=$cmd IDLE_CS=$idle_cs IDLE_NGINX=$idle_nginx IDLE_COUNT=$IDLE_CONNECTIONS \
    $PY "$here/report.py" "$manifest" "$OUTPUT"
log "done"
