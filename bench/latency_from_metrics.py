#!/usr/bin/env python3
"""p50/p90/p99 of a Prometheus histogram between two /metrics scrapes.

    latency_from_metrics.py BEFORE.txt AFTER.txt swapstats_ingest_to_send_seconds

Quantiles are bucket upper bounds (the smallest bound holding the quantile), as
Prometheus' histogram_quantile would bound them, without interpolation."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def buckets(path, name):
    out = {}
    for family in text_string_to_metric_families(open(path).read()):
        for s in family.samples:
            if s.name == name + "_bucket":
                out[float(s.labels["le"])] = s.value
    return out


before, after, name = sys.argv[1], sys.argv[2], sys.argv[3]
b, a = buckets(before, name), buckets(after, name)
delta = sorted((le, a[le] - b.get(le, 0.0)) for le in a)
total = delta[-1][1]
print(f"{name}: {int(total)} samples")
for q in (0.5, 0.9, 0.99, 0.999):
    bound = next(le for le, n in delta if n >= q * total)
    print(f"  p{q * 100:g} <= {bound * 1000:g} ms")
