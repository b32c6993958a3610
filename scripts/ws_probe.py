#!/usr/bin/env python3
"""A real WebSocket client (the `websockets` package from PyPI) for the tests.

    ws_probe.py URL [--send JSON] [--idle SECONDS] [--max SECONDS] [--stall SECONDS]
                    [--count N] [--trades N]

Connects, sends each --send message, prints `connected` once the first message arrived,
then reads until --count messages came, or nothing came for --idle seconds once --trades
trades came (or --max passed, or the server closed).
With --stall it prints `connected` at once and reads nothing for that long (a slow
client: the library's queue holds one message, then TCP pushes back), then reads on.

Prints one JSON object last: counts by type, trade ids in arrival order, each token's last
stats/snapshot `data` as the raw text the server sent, errors, and the close code.
"""
import argparse
import asyncio
import json
import sys
import time

import websockets


def raw_data(text):
    """The `data` member exactly as sent: the server writes it last in the object."""
    i = text.find('"data":')
    return text[i + 7 : -1] if i >= 0 else None


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--max", type=float, default=60.0)
    ap.add_argument("--stall", type=float, default=0.0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--trades", type=int, default=0)
    a = ap.parse_args()
    out = {"counts": {}, "trades": [], "last": {}, "errors": [], "close": None}
    started = time.monotonic()
    async with websockets.connect(a.url, max_queue=1 if a.stall else 4096, ping_interval=None) as ws:
        for m in a.send:
            await ws.send(m)
        announced = False
        try:
            if a.stall:
                print("connected", flush=True)
                announced = True
                await asyncio.sleep(a.stall)
            seen = 0
            while time.monotonic() - started < a.max:
                if a.count and seen >= a.count:
                    break
                waiting = a.idle if len(out["trades"]) >= a.trades else a.max
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=waiting)
                except asyncio.TimeoutError:
                    break
                seen += 1
                m = json.loads(text)
                kind = m["type"]
                out["counts"][kind] = out["counts"].get(kind, 0) + 1
                if kind == "trade":
                    out["trades"].append(m["data"]["id"])
                elif kind in ("stats", "snapshot"):
                    out["last"][m["token"]] = raw_data(text)
                elif kind == "error":
                    out["errors"].append(m["error"])
                if not announced:
                    announced = True
                    print("connected", flush=True)
        except websockets.ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            pass
        out["close"] = ws.close_code
    print(json.dumps(out), flush=True)


asyncio.run(main())
