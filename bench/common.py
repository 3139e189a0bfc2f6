"""Benchmark helpers: timing, peak memory, and the ratio line every benchmark prints."""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def dataset(name: str, generate: Callable[[Path], None], rows: int | None = None) -> Path:
    """bench/data/NAME, generated on first use in a forked process; prints its size.

    Generating in this process would make every child it starts afterwards report at least this process's peak
    memory (Linux counts the parent's memory copied at fork in the child's `ru_maxrss`)."""
    path = DATA / name
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        in_forked_process(generate, path)
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB" + (f", {rows:,} rows" if rows else ""))
    return path


def in_forked_process(job: Callable[..., Any], *args: Any) -> Any:
    """`job(*args)` run in a forked process, its result brought back: whatever memory it takes is not this
    process's (see `dataset`)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=lambda: send.send(job(*args)))  # forked: `job` need not pickle, its result must
    child.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:
        raise RuntimeError(f"{getattr(job, '__name__', job)} failed in its forked process") from None
    finally:
        child.join()
    return result


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


@dataclass(frozen=True)
class Run:
    """One whole process: its wall time, peak resident memory and what it printed."""

    seconds: float
    peak_mb: float
    stdout: str


def run_process(args: list[str], cwd: Path | None = None) -> Run:
    """Run `python ARGS…` as its own process, as a user would; its wall time and peak RSS (from wait4: never below
    this process's own resident memory when it starts the child, a floor the bench process keeps small)."""
    start = time.perf_counter()
    # the repo's modules from any working directory, with bytecode cached as on a user's machine (a sandbox that
    # sets PYTHONDONTWRITEBYTECODE would make every run compile kpitui's sources again)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(DATA.parents[1])
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, cwd=cwd, env=env)
    stdout = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {child.returncode}")
    return Run(seconds, usage.ru_maxrss / 1024, stdout)


def snapshot_args(config: Path, as_of: str, data_dir: Path) -> list[str]:
    """`kpitui snapshot --format json` on a config and as_of, with its own data dir."""
    return ["-m", "kpitui", "snapshot", "--format", "json", "--config", str(config), "--as-of", as_of,
            "--data-dir", str(data_dir)]  # fmt: skip


def in_turns(runs: int, floors: list[list[str]], config: Path, as_of: str, work: Path) -> tuple[list[Run], Run]:
    """Each floor process and `kpitui snapshot` run `runs` times in turns (so all see the same machine), each
    snapshot with a fresh data dir: the fastest run of each, with the highest peak memory seen."""
    floor_runs: list[list[Run]] = [[] for _ in floors]
    snapshots = []
    for n in range(runs):
        for floor, seen in zip(floors, floor_runs, strict=True):
            seen.append(run_process(floor, cwd=work))
        snapshots.append(run_process(snapshot_args(config, as_of, work / f"data-{n}")))
    return [_best(seen) for seen in floor_runs], _best(snapshots)


def _best(results: list[Run]) -> Run:
    """The fastest of several runs of one process, with the highest peak memory of them."""
    fastest = min(results, key=lambda r: r.seconds)
    return Run(fastest.seconds, max(r.peak_mb for r in results), fastest.stdout)
