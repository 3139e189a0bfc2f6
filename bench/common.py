"""Benchmark helpers: timing, peak memory, and the ratio line every benchmark prints."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def dataset(name: str, generate: Callable[[Path], None], rows: int | None = None) -> Path:
    """bench/data/NAME, generated on first use; prints its size."""
    path = DATA / name
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        generate(path)
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB" + (f", {rows:,} rows" if rows else ""))
    return path


def best_of(runs: int, job: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `runs` timings of `job` and its last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = job()
        best = min(best, time.perf_counter() - start)
    return best, result


def against_floor(runs: int, floor: Callable[[], Any], job: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best times of the floor and the job, run in turns so both see the same machine; and the job's result."""
    floor_best = job_best = float("inf")
    result = None
    for _ in range(runs):
        floor_best = min(floor_best, best_of(1, floor)[0])
        seconds, result = best_of(1, job)
        job_best = min(job_best, seconds)
    return floor_best, job_best, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, seconds: float, floor: float, goal: float) -> bool:
    """Print `name: 1.23 s vs floor 0.80 s = 1.54× (goal ≤ 1.5×) ok|OVER` and return whether it met the goal."""
    ratio = seconds / floor
    ok = ratio <= goal
    print(f"{name}: {seconds:.3f} s vs floor {floor:.3f} s = {ratio:.2f}× (goal ≤ {goal}×) {'ok' if ok else 'OVER'}")
    return ok
