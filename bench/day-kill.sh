#!/usr/bin/env bash
# kill -9 during the day load, and restarts on the same checkpoints.
#
#  1. The day load checkpointed into A (every 10 s of event time, as serve does), to the end:
#     a digest of its final answers, and the bodies of its 20 busiest tokens.
#  2. The same stream checkpointed into B, killed with SIGKILL after KILL_AT eighths of it.
#  3. A restart on B: restore time (ready), then the rest of the stream; its final digest
#     must equal run 1's.
#  4. `swapstats serve` (release, embedded Kafka, CLOCK=event) on A: time from start to
#     /readyz answering 200, and the 20 bodies served, which must equal run 1's.
#
#   bash bench/day-kill.sh          # DAY_EVENTS=86400000 KILL_AT=4; a full run takes ~1 h
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${DAY_EVENTS:-86400000}
KILL_AT=${KILL_AT:-4}
swift build -c release --product swapstats >/dev/null
swift build -c release --package-path bench >/dev/null
bin=bench/.build/release/swapstats-bench
work="${WORK:-$(mktemp -d)}"
mkdir -p "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
echo "work: $work"

echo "== 1. uninterrupted, checkpointed into A"
DAY_EVENTS=$EVENTS DAY_STATE_DIR="$work/A/swaps-state" DAY_DIGEST="$work/uninterrupted.txt" \
    DAY_BODIES="$work/bodies.txt" /usr/bin/time -v "$bin" day >"$work/one.log" 2>&1
grep -E "one core|peak RSS|per event held|delta|capture|store|compaction|base bytes|Maximum resident" "$work/one.log"

echo "== 2. killed with SIGKILL after $KILL_AT/8 of the stream"
DAY_EVENTS=$EVENTS DAY_STATE_DIR="$work/B" "$bin" day >"$work/two.log" 2>&1 &
victim=$!
pids+=("$victim")
until [ "$(grep -c 'M/s, RSS' "$work/two.log" || true)" -ge "$KILL_AT" ]; do
    kill -0 "$victim" 2>/dev/null || { echo "run 2 ended before the kill"; exit 1; }
    sleep 1
done
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
tail -2 "$work/two.log"

echo "== 3. restarted on B"
DAY_EVENTS=$EVENTS DAY_STATE_DIR="$work/B" DAY_DIGEST="$work/restarted.txt" "$bin" day >"$work/three.log" 2>&1
grep -E "restore|base bytes|deltas /|events restored|regenerated" "$work/three.log"
echo "uninterrupted: $(cat "$work/uninterrupted.txt")"
echo "restarted:     $(cat "$work/restarted.txt")"
if cmp -s "$work/uninterrupted.txt" "$work/restarted.txt"; then echo "answers: equal"; else echo "answers: DIFFER"; fi

echo "== 4. swapstats serve on A"
mkdir -p "$work/serve-state"
mv "$work/A/swaps-state/swaps" "$work/serve-state/swaps"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start=$(date +%s.%N)
HTTP_HOST=127.0.0.1 HTTP_PORT=$port STATE_DIR="$work/serve-state" CLOCK=event EMBEDDED_PARTITIONS=1 \
    STATUS_INTERVAL=0 HTTP_RATE_LIMIT=0 .build/release/swapstats serve >"$work/serve.log" 2>&1 &
pids+=($!)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; do sleep 0.05; done
ready=$(date +%s.%N)
echo "ready after $(echo "$ready - $start" | bc) s (process start to /readyz 200)"
grep "restored from checkpoint" "$work/serve.log" | sed 's/^.*partition restored/partition restored/'
# The board gets each token's body when the shard adopts the partition and publishes it:
# ask each token until its body matches (at most 10 s in all).
same=0
total=0
deadline=$(($(date +%s) + 10))
while IFS=$'\t' read -r token body; do
    total=$((total + 1))
    while :; do
        got=$(curl -s "http://127.0.0.1:$port/tokens/$token/stats")
        if [ "$got" = "$body" ]; then same=$((same + 1)); break; fi
        [ "$(date +%s)" -lt "$deadline" ] || { echo "differs: $token"; break; }
        sleep 0.05
    done
done <"$work/bodies.txt"
echo "served bodies equal to the uninterrupted run's: $same of $total"
