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
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from bench.common import against_floor, dataset, peak_rss_mb, report
from connectors.ga4 import load
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import compute_funnel

EVENTS = 2_000_000
AS_OF = date(2026, 11, 8)  # the events' last day: all but the first day's events fall in the period or the one before
CONFIG = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in ("session_start", "sign_up", "begin_checkout", "purchase")))


def _events(rng: np.random.Generator, events: int) -> tuple[np.ndarray, ...]:
    """Event names, GA4 client ids, timestamps (µs) and session ids of `events` events over 60 days."""
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
    return names, users, stamps, sessions


def generate(stem: Path, events: int = EVENTS, seed: int = 3) -> None:
    """BigQuery-shaped events over 60 days, one param each, written as NDJSON and Parquet (typed as BigQuery
    exports them)."""
    names, users, stamps, sessions = _events(np.random.default_rng(seed), events)
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


WIDE_PARAMS = {  # a web export's usual params: key → (value kind, values to pick from; None: the session ids)
    "ga_session_id": ("int_value", None),
    "ga_session_number": ("int_value", range(1, 40)),
    "page_location": (
        "string_value",
        [f"https://example.com/{p}" for p in ("", "pricing", "blog/a", "docs", "signup")],
    ),
    "page_title": ("string_value", ["Example", "Pricing · Example", "A post · Example", "Docs · Example"]),
    "page_referrer": ("string_value", ["https://www.google.com/", "https://example.com/", "https://t.co/"]),
    "engagement_time_msec": ("int_value", range(0, 60_000, 7)),
    "session_engaged": ("string_value", ["0", "1"]),
    "source": ("string_value", ["google", "newsletter", "linkedin", "github.com"]),
    "medium": ("string_value", ["organic", "email", "cpc", "referral"]),
    "batch_ordering_id": ("int_value", range(1, 60)),
}


def _array(values: np.ndarray) -> pa.Array:
    """A numpy array as one arrow array (arrow gives long text arrays in chunks)."""
    array = pa.array(values)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def generate_wide(path: Path, events: int = EVENTS, seed: int = 3) -> None:
    """The same events with the ten params a web export gives each (as Parquet): the params pivot's real load."""
    rng = np.random.default_rng(seed)
    names, users, stamps, sessions = _events(rng, events)
    strings, ints = [], []
    for kind, choices in WIDE_PARAMS.values():
        picked = sessions if choices is None else np.asarray(list(choices))[rng.integers(0, len(choices), events)]
        values = _array(picked)
        strings.append(values if kind == "string_value" else pa.nulls(events, pa.string()))
        ints.append(values if kind == "int_value" else pa.nulls(events, pa.int64()))
    width = len(WIDE_PARAMS)
    event_major = pa.array(np.arange(events * width).reshape(width, events).T.ravel())  # event e's param j: e*width+j
    value = pa.StructArray.from_arrays(
        [pc.take(pa.concat_arrays(strings), event_major), pc.take(pa.concat_arrays(ints), event_major)],
        ["string_value", "int_value"],
    )
    params = pa.StructArray.from_arrays([_array(np.tile(np.array(list(WIDE_PARAMS)), events)), value], ["key", "value"])
    offsets = pa.array(np.arange(0, events * width + 1, width, dtype=np.int32))
    table = pa.table(
        {
            "event_date": pa.array(["20261101"] * events),
            "event_timestamp": pa.array(stamps),
            "event_name": pa.array(names),
            "user_pseudo_id": pa.array(users),
            "event_params": pa.ListArray.from_arrays(offsets, params),
        }
    )
    pq.write_table(table, path)


def main() -> int:
    stem = dataset("ga4-2m-bq.parquet", lambda path: generate(path.with_suffix(""))).with_suffix("")
    wide = dataset("ga4-2m-10-params.parquet", generate_wide)
    ok = True
    cases = {  # what is measured: the file, how the floor reads it
        "ndjson": (stem.with_suffix(".ndjson"), pajson.read_json),
        "parquet": (stem.with_suffix(".parquet"), pq.read_table),
        "parquet, 10 params per event": (wide, pq.read_table),
    }
    for name, (path, read) in cases.items():
        floor, seconds, metrics = against_floor(
            5,
            lambda read=read, path=path: read(path).group_by("event_name").aggregate([("user_pseudo_id", "count")]),
            lambda path=path: compute_funnel(load({"path": str(path)}).frames["events"], CONFIG, AS_OF, 30),
        )
        print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB; steps {[s.users for s in metrics.steps]}")
        ok &= report(f"read + funnel ({name})", seconds, floor, 3.0)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
