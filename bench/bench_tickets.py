"""Issue 16: `kpitui snapshot` on a 1M-row Zendesk export against the floor a data person would write
(bench.floor_tickets: volume, backlog, first-reply and resolution median and P90, CSAT as one DuckDB query), whole
process against whole process, in turns; the figures must be equal.

Run from the repo root: python -m bench.bench_tickets
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.common import dataset, in_turns, report
from kpitui.demo.exports import ZENDESK_HEADER

ROWS = 1_000_000
AS_OF = date(2026, 11, 22)


def generate(path: Path, rows: int = ROWS, seed: int = 1) -> None:
    """Write a Zendesk-layout export of `rows` tickets over the last year (about 120 MB)."""
    import numpy as np
    import pandas as pd

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
    end = AS_OF + timedelta(days=1)
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "kpitui.toml"
        config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{path}"\n')
        floor_args = ["-m", "bench.floor_tickets", str(path), f"{end - timedelta(days=30)} 00:00:00", f"{end} 00:00:00"]
        (floor,), kpitui = in_turns(3, [floor_args], config, AS_OF.isoformat(), Path(work))
    expected, support = json.loads(floor.stdout), json.loads(kpitui.stdout)["support"]
    figures = {
        "tickets": support["tickets"],
        "backlog": support["backlog"],
        "first_response_minutes": [support["first_response_minutes"][k] for k in ("median", "p90")],
        "resolution_minutes": [support["resolution_minutes"][k] for k in ("median", "p90")],
        "csat": round(support["csat"], 6),
    }
    same = figures == {**expected, "csat": round(expected["csat"], 6)}
    print(f"figures {figures} {'= floor' if same else '≠ floor ' + str(expected)}")
    print(f"peak memory {kpitui.peak_mb:.0f} MB vs floor {floor.peak_mb:.0f} MB")
    return 0 if report("kpitui snapshot, every support KPI", kpitui.seconds, floor.seconds, 1.5) and same else 1


if __name__ == "__main__":
    sys.exit(main())
