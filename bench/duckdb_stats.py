#!/usr/bin/env python3
"""The final contract §3 stats of a JSON-lines swap file, computed by DuckDB in SQL.

The independent peer of `swapstats compute` (tests and bench): valid swaps only, each id
counted once (its first line), window membership asOf - L <= ts < asOf, exact distinct
wallets, open/close by (ts, id), population standard deviation.

usage: duckdb_stats.py FILE AS_OF NAME:MILLIS[,NAME:MILLIS...] [--threads N] [--quiet]
Prints one JSON object per token (sorted) unless --quiet; timing on stderr.
"""
import json
import sys
import time

import duckdb

path, as_of, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3]
threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
quiet = "--quiet" in sys.argv
windows = [(name, int(ms)) for name, ms in (w.split(":") for w in spec.split(","))]
largest = max(ms for _, ms in windows)

started = time.time()
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET preserve_insertion_order = true")
con.execute(
    """
    CREATE TEMP TABLE swaps AS
    WITH ev AS (
        SELECT row_number() OVER () AS rn, id, lower(token) AS token, who, side,
               CAST(amount AS DOUBLE) AS amount, CAST(usd AS DOUBLE) AS usd, ts, price AS price0
        FROM read_json(?, format = 'newline_delimited', columns = {
            id: 'VARCHAR', token: 'VARCHAR', who: 'VARCHAR', side: 'VARCHAR', amount: 'VARCHAR',
            usd: 'VARCHAR', ts: 'BIGINT', price: 'DOUBLE'})
    )
    SELECT id, token, who, side, amount, usd, ts, coalesce(price0, usd / amount) AS price
    FROM ev
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY rn) = 1
    """,
    [path],
)
results = {}
for name, ms in windows:
    rows = con.execute(
        """
        SELECT token, count(*), count(*) FILTER (side = 'buy'), count(*) FILTER (side = 'sell'),
               fsum(usd), coalesce(fsum(usd) FILTER (side = 'buy'), 0), coalesce(fsum(usd) FILTER (side = 'sell'), 0),
               fsum(amount), count(DISTINCT who), count(DISTINCT who) FILTER (side = 'buy'),
               count(DISTINCT who) FILTER (side = 'sell'),
               first(price ORDER BY ts, id), max(price), min(price), last(price ORDER BY ts, id),
               stddev_pop(price), last(id ORDER BY ts, id)
        FROM swaps WHERE ts >= ? - ? AND ts < ? GROUP BY token
        """,
        [as_of, ms, as_of],
    ).fetchall()
    for r in rows:
        t = results.setdefault(r[0], {"token": r[0], "windows": {}})
        o, c, vol, vtok = r[11], r[14], r[4], r[7]
        t["windows"][name] = {
            "txns": r[1], "buys": r[2], "sells": r[3], "volumeUsd": vol, "buyVolumeUsd": r[5],
            "sellVolumeUsd": r[6], "volumeToken": vtok, "uniqueWallets": r[8], "uniqueBuyers": r[9],
            "uniqueSellers": r[10], "open": o, "high": r[12], "low": r[13], "close": c,
            "priceChangePct": None if o == 0 else (c - o) / o * 100, "vwap": vol / vtok, "priceStdDev": r[15],
        }
        if ms == largest:
            t["lastTradeId"] = r[16]
elapsed = time.time() - started
empty = {"txns": 0, "buys": 0, "sells": 0, "volumeUsd": 0.0, "buyVolumeUsd": 0.0, "sellVolumeUsd": 0.0,
         "volumeToken": 0.0, "uniqueWallets": 0, "uniqueBuyers": 0, "uniqueSellers": 0, "open": None,
         "high": None, "low": None, "close": None, "priceChangePct": None, "vwap": None, "priceStdDev": None}
if not quiet:
    out = sys.stdout
    for token in sorted(results):
        t = results[token]
        if "lastTradeId" not in t:
            continue
        for name, _ in windows:
            t["windows"].setdefault(name, dict(empty))
        out.write(json.dumps(t) + "\n")
print(f"duckdb: {len(results)} tokens in {elapsed:.2f} s with {threads} threads", file=sys.stderr)
