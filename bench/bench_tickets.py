"""Issue 4: 1M Zendesk rows read + every support metric vs read_csv(pyarrow) + a median.

Run from the repo root: python -m bench.bench_tickets
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import against_floor, dataset, peak_rss_mb, report
from connectors.tickets import load
from kpitui.demo.exports import ZENDESK_HEADER
from kpitui.metrics.support import SupportSettings, compute_support

ROWS = 1_000_000
AS_OF = date(2026, 11, 22)


def generate(path: Path, rows: int = ROWS, seed: int = 1) -> None:
    """Write a Zendesk-layout export of `rows` tickets over the last year (about 90 MB)."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2026-11-22 23:00") - pd.to_timedelta(rng.integers(0, 365 * 86400, rows), unit="s")
    first = rng.lognormal(5, 1, rows).astype(int)
    full = first + rng.lognormal(7, 1, rows).astype(int)
    solved = created + pd.to_timedelta(full, unit="m")
    is_solved = solved < pd.Timestamp("2026-11-22 23:00")
    frame = pd.DataFrame({name: "" for name in ZENDESK_HEADER}, index=range(rows))
    frame["Id"] = np.arange(1, rows + 1)
    frame["Subject"] = rng.choice(["Cannot log in", "Invoice question", "Export fails, again", "SSO"], rows)
    frame["Status"] = np.where(is_solved, "Solved", "Open")
    frame["Priority"] = rng.choice(["Low", "Normal", "High", "Urgent"], rows)
    frame["Via"] = rng.choice(["Web form", "Email", "Chat"], rows)
    frame["Created at"] = created.strftime("%Y-%m-%d %H:%M")
    frame["Solved at"] = np.where(is_solved, solved.strftime("%Y-%m-%d %H:%M"), "")
    frame["Satisfaction Score"] = rng.choice(["Good", "Bad", "Offered", "Not Offered"], rows)
    frame["First reply time in minutes"] = first
    frame["Full resolution time in minutes"] = np.where(is_solved, full.astype(str), "")
    frame["Reopens"] = rng.integers(0, 2, rows)
    frame.to_csv(path, index=False)


def main() -> int:
    path = dataset("zendesk-1m.csv", generate, ROWS)
    settings = SupportSettings(30, (("urgent", 60.0), ("high", 240.0), ("normal", 1440.0)))
    floor, seconds, metrics = against_floor(
        3,
        lambda: pd.read_csv(path, engine="pyarrow")["First reply time in minutes"].median(),
        lambda: compute_support(load({"path": str(path)}).frames["tickets"], settings, AS_OF),
    )
    print(f"tickets in period {metrics.tickets:,}, median first reply {metrics.first_response_minutes.median}")
    ok = report("read + every support metric", seconds, floor, 1.5)
    print(f"peak memory {peak_rss_mb():.0f} MB (goal < 2048 MB) {'ok' if peak_rss_mb() < 2048 else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
