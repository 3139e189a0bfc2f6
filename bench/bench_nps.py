"""Issue 5: 1M survey responses parsed and scored vs read_csv(pyarrow) + one value_counts.

Run from the repo root: python -m bench.bench_nps
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import against_floor, dataset, peak_rss_mb, report
from connectors.nps import load
from kpitui.metrics.nps import compute_nps

ROWS = 1_000_000


def generate(path: Path, rows: int = ROWS, seed: int = 2) -> None:
    """A Delighted-style export: id, email, score, comment, created_at (Unix seconds), plan."""
    rng = np.random.default_rng(seed)
    comments = np.array(["", "", "", "Love it", "Too slow, sadly", "Support was great", "Pricing [steep]"])
    pd.DataFrame(
        {
            "id": np.arange(rows),
            "person_email": "someone@example.com",
            "score": rng.integers(0, 11, rows),
            "comment": rng.choice(comments, rows),
            "created_at": 1_763_000_000 + rng.integers(0, 365 * 86400, rows),
            "plan": rng.choice(["Starter", "Pro", "Business"], rows),
        }
    ).to_csv(path, index=False)


def main() -> int:
    path = dataset("nps-1m.csv", generate, ROWS)
    floor, seconds, metrics = against_floor(
        5,
        lambda: pd.read_csv(path, engine="pyarrow")["score"].value_counts(),
        lambda: compute_nps(load({"path": str(path)}).frames["responses"], date(2026, 11, 22)),
    )
    print(f"NPS {metrics.score:.1f} ±{metrics.margin_of_error:.1f} over {metrics.responses:,} responses")
    ok = report("parse + score", seconds, floor, 1.5)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
