#!/usr/bin/env bash
# GET /tokens/{id}/stats: swapstats serve (release) against nginx serving the same bytes from
# a file, with the same connections, in the same run, both on loopback, alternating rounds.
# HTTP/1.1 with wrk, HTTP/2 (prior knowledge) with h2load. Everything started here listens
# on 127.0.0.1 and is stopped here by pid.
#
#   bash bench/serve-vs-nginx.sh            # ROUNDS=2 SECONDS_PER_RUN=10 CONNECTIONS=50
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/packages.sh
ensure_packages wrk nghttp2-client curl librdkafka-dev pkg-config zlib1g-dev libhiredis-dev
extract_tool nginx usr/sbin/nginx
ROUNDS=${ROUNDS:-2}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-50}

swift build -c release --product swapstats >/dev/null
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# swapstats serve: embedded Kafka, one shard, one event loop thread (2 cores: the load
# generator gets the other), no rate limit, with 20,000 swaps over 200 tokens.
port=$(free_port)
HTTP_HOST=127.0.0.1 HTTP_PORT=$port HTTP_RATE_LIMIT=0 STATE_DIR="$work/state" SHARDS=1 STATUS_INTERVAL=0 \
    LOG_LEVEL=warning .build/release/swapstats serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "^kafka bootstrap=" "$work/serve.log" && break; sleep 0.1; done
brokers=$(sed -n 's/^kafka bootstrap=//p' "$work/serve.log")
.build/release/swapstats produce --brokers "$brokers" --count 20000 --tokens 200 --rate 0 >/dev/null 2>&1
for _ in $(seq 100); do
    token=$(curl -s "http://127.0.0.1:$port/tokens/top?limit=1" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] && break
    sleep 0.2
done
path="/tokens/$token/stats"
curl -s "http://127.0.0.1:$port$path" >"$work/body.json"
echo "token $token, body $(wc -c <"$work/body.json") bytes"

# nginx: one worker, the same body from a file at the same path.
nport=$(free_port)
mkdir -p "$work/nginx/tokens/$token" "$work/nginx/logs"
cp "$work/body.json" "$work/nginx/tokens/$token/stats"
chmod -R a+rX "$work"  # nginx workers run as nobody when started by root
cat >"$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    default_type application/json;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nport;
        listen 127.0.0.1:$((nport + 1)) http2;
        root $work/nginx;
    }
}
EOF
.build/tools/nginx -p "$work/nginx" -c "$work/nginx.conf" &
pids+=($!)
sleep 0.5
curl -s "http://127.0.0.1:$nport$path" >"$work/nginx-body.json"
cmp "$work/nginx-body.json" "$work/body.json" || { head -c 300 "$work/nginx-body.json"; cat "$work/nginx/logs/error.log"; exit 1; }
echo "nginx serves the same bytes"

wrk_run() { # name url → "req/s p99"
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$2" >"$work/wrk.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
    printf "%-10s HTTP/1.1 wrk -t1 -c%s: %10s req/s  p99 %s\n" "$1" "$CONNECTIONS" "$rps" "$p99"
}
h2_run() { # name url
    h2load -c"$CONNECTIONS" -m10 -D"$SECONDS_PER_RUN" "$2" >"$work/h2.txt" 2>&1
    rps=$(awk '/^finished in/ {print $4}' "$work/h2.txt")
    p99=$(awk '/time for request:/ {print $6" (max "$5")"}' "$work/h2.txt")
    printf "%-10s HTTP/2 h2load -c%s -m10: %10s req/s  mean %s\n" "$1" "$CONNECTIONS" "$rps" "$p99"
}
for r in $(seq "$ROUNDS"); do
    echo "round $r"
    wrk_run swapstats "http://127.0.0.1:$port$path"
    wrk_run nginx "http://127.0.0.1:$nport$path"
    h2_run swapstats "http://127.0.0.1:$port$path"
    h2_run nginx "http://127.0.0.1:$((nport + 1))$path"
done
