#!/usr/bin/env bash
# Ingest → WebSocket send latency at a given produce rate: swapstats serve (release,
# embedded Kafka), `swapstats produce --rate RATE` into it, and WebSocket subscribers (the
# bench's NIO client) on the 100 busiest tokens. The server's
# swapstats_ingest_to_send_seconds histogram is scraped before and after the measured
# window; its quantiles are printed. Everything started here listens on 127.0.0.1 and is
# stopped here by pid.
#
#   bash bench/ingest-to-send.sh          # RATE=100000 SECONDS_MEASURED=20 CONNECTIONS=100 PARTITIONS=32
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/packages.sh
ensure_packages curl librdkafka-dev pkg-config zlib1g-dev libhiredis-dev python3-venv
RATE=${RATE:-100000}
SECONDS_MEASURED=${SECONDS_MEASURED:-20}
CONNECTIONS=${CONNECTIONS:-100}
if ! .build/venv/bin/python -c 'import prometheus_client' 2>/dev/null; then
    python3 -m venv .build/venv
    .build/venv/bin/pip install --quiet 'prometheus-client==0.26.0'
fi
swift build -c release --product swapstats >/dev/null
swift build -c release --package-path bench >/dev/null

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
[ -z "${KEEP:-}" ] || echo "work: $work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HTTP_HOST=127.0.0.1 HTTP_PORT=$port HTTP_RATE_LIMIT=0 STATE_DIR="$work/state" STATUS_INTERVAL=0 \
    EMBEDDED_PARTITIONS=${PARTITIONS:-32} LOG_LEVEL=warning .build/release/swapstats serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "^kafka bootstrap=" "$work/serve.log" && break; sleep 0.1; done
brokers=$(sed -n 's/^kafka bootstrap=//p' "$work/serve.log")
total=$((RATE * (SECONDS_MEASURED + 15)))
.build/release/swapstats produce --brokers "$brokers" --rate "$RATE" --count "$total" --tokens 1000 \
    >"$work/produce.log" 2>&1 &
pids+=($!)
sleep 5
tokens=$(curl -s "http://127.0.0.1:$port/tokens/top?window=5m&by=txns&limit=100" |
    python3 -c 'import json,sys; print(",".join(t["token"] for t in json.load(sys.stdin)["tokens"]))')
SUB_PORT=$port SUB_CONNECTIONS=$CONNECTIONS SUB_TOKENS=$tokens SUB_SECONDS=$((SECONDS_MEASURED + 4)) \
    bench/.build/release/swapstats-bench subscribers &
pids+=($!)
sleep 2
curl -s "http://127.0.0.1:$port/metrics" >"$work/before.txt"
sleep "$SECONDS_MEASURED"
curl -s "http://127.0.0.1:$port/metrics" >"$work/after.txt"
consumed() { awk '/^swapstats_events_consumed_total/ {print $2}' "$1"; }
echo "consumed $(python3 -c "print(int(($(consumed "$work/after.txt") - $(consumed "$work/before.txt")) / $SECONDS_MEASURED))") events/s during the window"
.build/venv/bin/python bench/latency_from_metrics.py "$work/before.txt" "$work/after.txt" swapstats_ingest_to_send_seconds
wait "${pids[2]}" || true
echo "producer: $(tail -1 "$work/produce.log")"
