#!/usr/bin/env python3
"""Parses Prometheus text exposition (0.0.4) from stdin with the reference Python client's
parser, which raises on malformed input, and prints every sample as one JSON object:
{"name{label=value,...}": value}. Labels are sorted. Used by the end-to-end tests."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        samples[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(samples))
