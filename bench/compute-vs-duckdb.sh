#!/usr/bin/env bash
# `swapstats compute` against DuckDB's SQL over the same JSON-lines files, same machine,
# same run, both on both cores. Wall time, events/s and peak RSS from /usr/bin/time -v.
#   bash bench/compute-vs-duckdb.sh [events...]     (default: 1000000 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product swapstats >&2
if ! .build/venv/bin/python -c 'import duckdb' 2>/dev/null; then
    python3 -m venv .build/venv && .build/venv/bin/pip install --quiet 'duckdb==2.0.0'
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
measure() { # name, events, command...
    local name=$1 n=$2
    shift 2
    /usr/bin/time -v "$@" > /dev/null 2> "$dir/time.txt"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/time.txt" | awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.txt")
    printf '%-34s %9d events %8.2f s %8.2f M events/s %8d MB peak RSS\n' "$name" "$n" "$wall" \
        "$(echo "$n / $wall / 1000000" | bc -l)" "$((rss / 1024))"
}
for n in "${@:-1000000 5000000}"; do
    for events in $n; do
        file="$dir/swaps-$events.jsonl"
        # An hour of swaps over 10,000 Zipf tokens, 1 % duplicates, 2 s jitter, 0.1 % late.
        .build/release/swapstats produce --output "$file" --count "$events" --rate 0 --tokens 10000 \
            --wallets 50000 --start 1763800000000
        asof=$(.build/release/swapstats compute "$file" --no-progress 2>&1 >/dev/null | sed -n 's/.*asOf \([0-9]*\).*/\1/p')
        echo "file: $events swaps, $(($(stat -c %s "$file") / 1000000)) MB, asOf $asof"
        for round in 1 2; do
            measure "compute (2 shards), round $round" "$events" .build/release/swapstats compute "$file" --no-progress
            measure "duckdb (2 threads), round $round" "$events" .build/venv/bin/python bench/duckdb_stats.py \
                "$file" "$asof" 5m:300000,1h:3600000,24h:86400000 --threads 2 --quiet
        done
        rm -f "$file"
    done
done
