"""Issue 6: a funnel over 2M GA4 events (NDJSON and Parquet) vs reading the file with pyarrow + one groupby.

Run from the repo root: python -m bench.bench_funnel
"""

from __future__ import annotations

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
    """BigQuery-shaped events over 60 days, written as NDJSON and Parquet."""
    rng = np.random.default_rng(seed)
    names = rng.choice(
        ["session_start", "page_view", "sign_up", "begin_checkout", "purchase", "scroll"],
        events,
        p=[0.2, 0.45, 0.12, 0.08, 0.05, 0.1],
    )
    users = rng.integers(0, events // 8, events)
    stamps = 1_789_000_000_000_000 + rng.integers(0, 60 * 86400 * 10**6, events)
    sessions = (stamps // (1800 * 10**6)).astype(str)
    table = pa.table(
        {
            "event_date": pa.array(["20261101"] * events),
            "event_timestamp": pa.array(stamps.astype(str)),
            "event_name": pa.array(names),
            "user_pseudo_id": pa.array(users.astype(str)),
            "event_params": pa.array([[{"key": "ga_session_id", "value": {"int_value": s}}] for s in sessions]),
        }
    )
    pq.write_table(table, stem.with_suffix(".parquet"))
    import json

    with stem.with_suffix(".ndjson").open("w") as handle:
        for row in table.to_pylist():
            handle.write(json.dumps(row) + "\n")


def main() -> int:
    stem = dataset("ga4-2m.parquet", lambda path: generate(path.with_suffix(""))).with_suffix("")
    ok = True
    readers = {".ndjson": lambda p: pajson.read_json(p), ".parquet": lambda p: pq.read_table(p)}
    for suffix, read in readers.items():
        path = stem.with_suffix(suffix)
        floor, seconds, metrics = against_floor(
            3,
            lambda read=read, path=path: read(path).group_by("event_name").aggregate([("user_pseudo_id", "count")]),
            lambda path=path: compute_funnel(load({"path": str(path)}).frames["events"], CONFIG, AS_OF, 30),
        )
        print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB; steps {[s.users for s in metrics.steps]}")
        ok &= report(f"read + funnel ({suffix[1:]})", seconds, floor, 3.0)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
