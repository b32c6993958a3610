#!/usr/bin/env bash
# GET /tokens/{id}/stats on one instance of two: a token it owns (answered from its own
# board) against a token the other instance owns (answered from its Redis snapshot).
# `swapstats kafka` (4 partitions), a redis-server, two `swapstats serve` in one group with
# REDIS_URL, 20,000 swaps over 200 tokens; wrk -t1 -c50 on instance A, alternating. Everything
# started here listens on 127.0.0.1 and is stopped here by pid.
#
#   bash bench/cross-instance-get.sh          # ROUNDS=2 SECONDS_PER_RUN=10
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/packages.sh
ensure_packages wrk curl librdkafka-dev pkg-config zlib1g-dev libhiredis-dev redis-tools
ROUNDS=${ROUNDS:-2}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
swift build -c release --product swapstats >/dev/null
redis_bin=/usr/bin/redis-server
[ -x "$redis_bin" ] || redis_bin=/usr/bin/redis-check-rdb
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
ln -s "$redis_bin" "$work/redis-server"
"$work/redis-server" --port "$rport" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
pids+=($!)
.build/release/swapstats kafka --partitions 4 >"$work/kafka.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "^kafka bootstrap=" "$work/kafka.log" && break; sleep 0.1; done
brokers=$(sed -n 's/^kafka bootstrap=//p' "$work/kafka.log")
for name in a b; do
    HTTP_HOST=127.0.0.1 HTTP_PORT=0 HTTP_RATE_LIMIT=0 STATE_DIR="$work/state-$name" STATUS_INTERVAL=0 \
        KAFKA_BROKERS="$brokers" REDIS_URL="redis://127.0.0.1:$rport" LOG_LEVEL=info \
        .build/release/swapstats serve >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
done
.build/release/swapstats produce --brokers "$brokers" --count 20000 --tokens 200 --rate 0 >/dev/null 2>&1
sleep 8
a=$(sed -n 's/^http listening=//p' "$work/a.out")
owned=$(grep "assigned partitions" "$work/a.err" | tail -1 | sed 's/.*assigned partitions *//')
echo "instance A at $a owns partitions $owned"
# librdkafka's default partitioner: CRC32 of the key (the token) modulo the partitions.
read -r local remote < <(curl -s "http://$a/tokens/top?window=24h&by=txns&limit=200" | python3 -c '
import json, sys, zlib
owned = {int(p) for p in sys.argv[1].split(",") if p}
tokens = [t["token"] for t in json.load(sys.stdin)["tokens"]]
part = lambda t: zlib.crc32(t.encode()) % 4
print(next(t for t in tokens if part(t) in owned), next(t for t in tokens if part(t) not in owned))
' "$owned")
b=$(sed -n 's/^http listening=//p' "$work/b.out")
cmp <(curl -s "http://$a/tokens/$remote/stats") <(curl -s "http://$b/tokens/$remote/stats")
echo "same body for the remote token on both instances ($(curl -s "http://$a/tokens/$remote/stats" | wc -c) B)"
run() { # name url
    wrk -t1 -c50 -d"${SECONDS_PER_RUN}s" --latency "$2" >"$work/wrk.txt"
    printf "%-28s %10s req/s  p99 %s\n" "$1" "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")" \
        "$(awk '$1=="99%" {print $2}' "$work/wrk.txt")"
}
for r in $(seq "$ROUNDS"); do
    echo "round $r"
    run "local (own board)" "http://$a/tokens/$local/stats"
    run "cross-instance (Redis)" "http://$a/tokens/$remote/stats"
done
