"""Issue 6: a funnel over 2M GA4 events (NDJSON and Parquet) vs reading the file with pyarrow + one groupby.

Run from the repo root: python -m bench.bench_funnel
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from bench.common import against_floor, dataset, peak_rss_mb, report
from connectors.ga4 import load
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import compute_funnel

EVENTS = 2_000_000
AS_OF = date(2026, 11, 8)  # the events' last day: all but the first day's events fall in the period or the one before
CONFIG = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in ("session_start", "sign_up", "begin_checkout", "purchase")))


def generate(stem: Path, events: int = EVENTS, seed: int = 3) -> None:
    """BigQuery-shaped events over 60 days, written as NDJSON and Parquet (typed as BigQuery exports them)."""
    rng = np.random.default_rng(seed)
    names = rng.choice(
        ["session_start", "page_view", "sign_up", "begin_checkout", "purchase", "scroll"],
        events,
        p=[0.2, 0.45, 0.12, 0.08, 0.05, 0.1],
    )
    pseudo_ids = np.char.add(  # GA4's client ids: a random number, a dot, the first visit in Unix seconds
        rng.integers(10**9, 2 * 10**9, events // 8).astype(str),
        np.char.add(".", rng.integers(1_700_000_000, 1_789_000_000, events // 8).astype(str)),
    )
    users = pseudo_ids[rng.integers(0, events // 8, events)]
    stamps = 1_789_000_000_000_000 + rng.integers(0, 60 * 86400 * 10**6, events)
    sessions = stamps // (1800 * 10**6) * 1800  # a session id is its start in Unix seconds
    table = pa.table(
        {
            "event_date": pa.array(["20261101"] * events),
            "event_timestamp": pa.array(stamps),
            "event_name": pa.array(names),
            "user_pseudo_id": pa.array(users),
            "event_params": pa.array([[{"key": "ga_session_id", "value": {"int_value": int(s)}}] for s in sessions]),
        }
    )
    pq.write_table(table, stem.with_suffix(".parquet"))
    with stem.with_suffix(".ndjson").open("w") as handle:
        for row in table.to_pylist():  # BigQuery's JSON export writes INT64 values as strings
            row["event_timestamp"] = str(row["event_timestamp"])
            row["event_params"][0]["value"]["int_value"] = str(row["event_params"][0]["value"]["int_value"])
            handle.write(json.dumps(row) + "\n")


def main() -> int:
    stem = dataset("ga4-2m-bq.parquet", lambda path: generate(path.with_suffix(""))).with_suffix("")
    ok = True
    readers = {".ndjson": lambda p: pajson.read_json(p), ".parquet": lambda p: pq.read_table(p)}
    for suffix, read in readers.items():
        path = stem.with_suffix(suffix)
        floor, seconds, metrics = against_floor(
            5,
            lambda read=read, path=path: read(path).group_by("event_name").aggregate([("user_pseudo_id", "count")]),
            lambda path=path: compute_funnel(load({"path": str(path)}).frames["events"], CONFIG, AS_OF, 30),
        )
        print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB; steps {[s.users for s in metrics.steps]}")
        ok &= report(f"read + funnel ({suffix[1:]})", seconds, floor, 3.0)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
