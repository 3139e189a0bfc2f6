"""Issue 7: time to first frame from stored data, idle CPU, memory over refresh cycles, pane switching.

Each figure is printed beside a floor measured in the same run. Run from the repo root:
    python -m bench.bench_board [--idle-seconds 60] [--cycles 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pty
import select
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.common import peak_rss_mb, report

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Header
class Bare(App):
    def compose(self):
        yield Header()
        yield Footer()
Bare().run()
"""
STORED_DATA = b"as of "  # a tile's age line: drawn only once numbers are on screen (labels come earlier)
TICKETS = Path(__file__).resolve().parents[1] / "tests" / "data" / "tickets" / "zendesk.csv"


def _spawn(argv: list[str], size: tuple[int, int] = (120, 40)) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"COLUMNS": str(size[0]), "LINES": str(size[1]), "TERM": "xterm-256color"})
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached as on a user's machine (`run_process`)
        os.execv(argv[0], argv)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    return pid, fd


def _until(fd: int, marker: bytes, timeout: float = 30.0) -> None:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError(marker)
        seen += os.read(fd, 1 << 16)


def _drain(fd: int, quiet: float = 0.0) -> None:
    """Read until the app has written nothing for `quiet` seconds."""
    while select.select([fd], [], [], quiet)[0]:
        try:
            os.read(fd, 1 << 16)
        except OSError:
            return


def _stop(pid: int, fd: int) -> None:
    """Hang up, reading what the app still writes so it can never block on a full pty."""
    os.kill(pid, signal.SIGHUP)
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if select.select([fd], [], [], 0.1)[0]:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                pass
    os.close(fd)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median_of(runs: int, measure) -> float:
    """The median of `runs` measurements (start-up times vary more than they drift)."""
    return sorted(measure() for _ in range(runs))[runs // 2]


def first_frame(argv: list[str], marker: bytes) -> float:
    start = time.perf_counter()
    pid, fd = _spawn(argv)
    _until(fd, marker)
    elapsed = time.perf_counter() - start
    _stop(pid, fd)
    return elapsed


def idle_cpu(argv: list[str], marker: bytes, seconds: float) -> float:
    """Share of one core used while idle, after the first frame."""
    pid, fd = _spawn(argv)
    _until(fd, marker)
    time.sleep(2)
    before, start = _cpu_seconds(pid), time.monotonic()
    while time.monotonic() - start < seconds:
        select.select([fd], [], [], 0.5)
        _drain(fd)
    used = (_cpu_seconds(pid) - before) / (time.monotonic() - start)
    _stop(pid, fd)
    return used


async def refresh_memory(cycles: int) -> tuple[float, float]:
    """RSS (MB) after 10 and after `cycles` full refreshes of the sources."""
    from kpitui.app import KpiApp
    from kpitui.config import Config, SourceConfig

    config = Config(sources={"support": SourceConfig("support", "tickets", 3600.0, {"path": str(TICKETS)})})
    app = KpiApp(config)
    marks = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        for cycle in range(1, cycles + 1):
            app.ready.clear()
            app.action_refresh_all()
            await app.ready.wait()
            await pilot.pause()
            if cycle in (10, cycles):
                marks[cycle] = _rss_mb()
    return marks[10], marks[cycles]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


PANE_MARKERS = {"3": b"Scores 0", "4": b"By channel", "5": b"By source"}
BARE_TABS = """
from textual.app import App
from textual.widgets import Footer, Header, Label, TabbedContent, TabPane
class Tabs(App):
    BINDINGS = [("3", "show('a')"), ("4", "show('b')"), ("5", "show('c')")]
    def compose(self):
        yield Header()
        with TabbedContent():
            for pane, text in (("a", "Scores 0"), ("b", "By channel"), ("c", "By source")):
                with TabPane(pane, id=pane):
                    yield Label(text)
        yield Footer()
    def action_show(self, pane):
        self.query_one(TabbedContent).active = pane
Tabs().run()
"""


def pane_switch_in_terminal(argv: list[str], switches: int = 30) -> float:
    """Median seconds from a number key written to the pty until the new pane's title has been painted."""
    pid, fd = _spawn(argv)
    try:
        _until(fd, b"Scores 0" if "-c" in argv else b"Backlog", timeout=60)
        _drain(fd, quiet=2.0)  # every source has answered and been drawn
        times = []
        for i in range(switches):
            key = "453"[i % 3]
            start = time.perf_counter()
            os.write(fd, key.encode())
            _until(fd, PANE_MARKERS[key])
            times.append(time.perf_counter() - start)
            _drain(fd, quiet=0.2)
        return sorted(times)[len(times) // 2]
    finally:
        _stop(pid, fd)


@contextlib.asynccontextmanager
async def demo_board(animate: bool) -> AsyncIterator[tuple[Any, Any]]:
    """The board on fresh demo data at 120×40 under Pilot, every source loaded: (app, pilot)."""
    from kpitui.app import KpiApp
    from kpitui.demo.setup import start_demo

    demo = start_demo(__import__("datetime").date(2026, 11, 22), directory=Path(tempfile.mkdtemp()))
    try:
        app = KpiApp(demo.config, animate=animate)
        async with app.run_test(size=(120, 40)) as pilot:
            await app.ready.wait()
            await app.workers.wait_for_complete()
            yield app, pilot
    finally:
        demo.stop()


async def pane_switch(switches: int = 40, animate: bool = False) -> tuple[float, float]:
    """Mean seconds from key press to the new pane painted, and the same for a no-op key (the floor).

    With animations on, Pilot also waits for the tab underline to finish sliding (about 0.5 s);
    the pane itself is painted before that.
    """
    async with demo_board(animate) as (_, pilot):
        times, floor = [], []
        for i in range(switches):
            start = time.perf_counter()
            await pilot.press("12345"[i % 5])
            await pilot.pause()
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            await pilot.press("F13")
            await pilot.pause()
            floor.append(time.perf_counter() - start)
    return sum(times) / len(times), sum(floor) / len(floor)


async def tick_cpu(ticks: int = 50) -> tuple[float, float]:
    """Median CPU seconds of one age tick (the 30-second `redraw_ages`) until the board is idle again, with all five
    panes mounted, at 120×40 on demo data; and of Pilot's wait alone (the floor, subtracted)."""
    async with demo_board(animate=False) as (app, pilot):
        await pilot.press("1", "2", "3", "4", "5", "1")  # every pane mounted and drawn once
        await pilot.pause()
        medians = []
        for job in (app.redraw_ages, lambda: None):
            used = []
            for _ in range(ticks):
                start = time.process_time()
                job()
                await pilot.pause()
                used.append(time.process_time() - start)
            medians.append(sorted(used)[len(used) // 2])
    return medians[0], medians[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    config = work / "config.toml"
    config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{TICKETS}"\n')
    board = [sys.executable, "-m", "kpitui", "board", "--config", str(config), "--data-dir", str(work)]
    bare = [sys.executable, "-c", BARE_APP]
    first_frame(board, STORED_DATA)  # fills the store, warms the disk cache
    board_start = median_of(5, lambda: first_frame(board, STORED_DATA))
    ok = report(
        "first frame with stored data (median of 5)", board_start, median_of(5, lambda: first_frame(bare, b"Bare")), 2.0
    )
    board_cpu, bare_cpu = idle_cpu(board, b"Backlog", args.idle_seconds), idle_cpu(bare, b"Bare", args.idle_seconds)
    print(
        f"idle CPU over {args.idle_seconds:.0f} s at 120x40: board {board_cpu:.2%} of a core, bare app "
        f"{bare_cpu:.2%} (goal < 2%) {'ok' if board_cpu < 0.02 else 'OVER'}"
    )
    ok &= board_cpu < 0.02
    after_10, after_n = asyncio.run(refresh_memory(args.cycles))
    grew = after_n / after_10 - 1
    print(
        f"memory after 10 refreshes {after_10:.0f} MB, after {args.cycles} {after_n:.0f} MB: {grew:+.1%} "
        f"(goal within 10%) {'ok' if grew <= 0.10 else 'OVER'}"
    )
    ok &= grew <= 0.10
    demo = [sys.executable, "-m", "kpitui", "demo", "--data-dir", str(work / "demo"), "--no-animation"]
    switch, bare_switch = pane_switch_in_terminal(demo), pane_switch_in_terminal([sys.executable, "-c", BARE_TABS])
    print(
        f"pane switch in a terminal, key to new pane painted: {switch * 1000:.1f} ms (median; a bare app with three "
        f"tabs {bare_switch * 1000:.1f} ms; goal < 50 ms) {'ok' if switch < 0.05 else 'OVER'}"
    )
    ok &= switch < 0.05
    pilot_switch, floor = asyncio.run(pane_switch())
    print(f"pane switch under Pilot: {pilot_switch * 1000:.1f} ms (a no-op key {floor * 1000:.1f} ms)")
    tick, wait = asyncio.run(tick_cpu())
    print(
        f"age tick, five panes mounted, 120x40: {(tick - wait) * 1000:.1f} ms of CPU ({tick * 1000:.1f} ms with "
        f"Pilot's wait for the screen, which alone takes {wait * 1000:.1f} ms; goal < 5 ms) "
        f"{'ok' if tick - wait < 0.005 else 'OVER'}"
    )
    ok &= tick - wait < 0.005
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
