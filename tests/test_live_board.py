"""Issue 7: store, restart from store, staleness, periods, intervals, goals and alert crossings."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys

if sys.platform != "win32":
    import pty
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from connectors.paths import file_signatures
from connectors.tickets import load as load_tickets
from kpitui.app import KpiApp, step_interval
from kpitui.config import AlertRule, Config, SourceConfig
from kpitui.durations import format_period
from kpitui.metrics.alerts import crossings
from kpitui.model import AlertState, Snapshot
from kpitui.pipeline import succeeded
from kpitui.store import Store, scalar_kpis
from kpitui.widgets.status import SourceStatusBar
from kpitui.widgets.tile import KpiTile
from tests.board import workers_done
from tests.conftest import AS_OF, FROZEN

DATA = Path(__file__).parent / "data"
ZENDESK = str(DATA / "tickets/zendesk.csv")


def tickets_config(path: str = ZENDESK, **extra) -> Config:
    return Config(sources={"support": SourceConfig("support", "tickets", 60.0, {"path": path})}, **extra)


async def settled(app: KpiApp, pilot) -> None:
    """Wait until the board has its first snapshot, every worker has finished and the screen has caught up."""
    await app.ready.wait()
    await workers_done(app)
    await pilot.pause()


def ringing(app: KpiApp) -> list[int]:
    """The terminal bells the board rings, one 1 each."""
    bells: list[int] = []
    app.bell = lambda: bells.append(1)
    return bells


def tile_text(app: KpiApp, key: str, part: str) -> str:
    return str(app.query_one(f"#tile-{key}", KpiTile).query_one(f".tile-{part}").render())


def test_store_round_trips_statuses_signatures_book_and_history(tmp_path):
    """A billing source's frames come back as saved; a file source keeps its status and file signatures, never
    its rows."""
    store = Store(tmp_path / "s.sqlite3")
    source = SourceConfig("support", "tickets", 60.0, {"path": ZENDESK})
    state = succeeded(source, load_tickets(source.options), FROZEN, file_signatures(ZENDESK))
    store.save_source("support", state.status, None, state.signature)
    book = {"customers": pd.DataFrame({"customer_id": ["c1", "c2"], "name": ["Ada", "Grace"]})}
    store.save_source("billing", state.status, book)
    assert store.load_sources({"support", "billing"}) == {
        "support": (state.status, file_signatures(ZENDESK)),
        "billing": (state.status, None),
    }
    assert store.load_frames("support") is None
    pd.testing.assert_frame_equal(store.load_frames("billing").frames["customers"], book["customers"])
    store.record_kpis(date(2026, 11, 1), {"support.backlog": 4.0})
    store.record_kpis(date(2026, 11, 2), {"support.backlog": 6.0})
    store.record_kpis(date(2026, 11, 2), {"support.backlog": 7.0})  # the latest of a day wins
    assert store.kpi_history(date(2026, 11, 1)) == {"support.backlog": (("2026-11-01", 4.0), ("2026-11-02", 7.0))}
    store.close()


def test_scalar_kpis_keeps_numbers_only():
    plain = {
        "revenue": {"mrr": 10.0, "history": [{"mrr": 1}], "movements": {"new": 2.0}, "ltv": None},
        "sources": {"x": {"rows": 3}},
        "nps": None,
    }
    assert scalar_kpis(plain) == {"revenue.mrr": 10.0, "revenue.movements.new": 2.0}


def test_kill_9_during_writes_loses_nothing_committed(tmp_path):
    db = tmp_path / "crash.sqlite3"
    script = textwrap.dedent(f"""
        import sys
        from datetime import date, timedelta
        from pathlib import Path
        from kpitui.store import Store
        store = Store(Path({str(db)!r}))
        for i in range(1_000_000):
            store.record_kpis(date(2000, 1, 1) + timedelta(days=i), {{"k": float(i)}})
            print(i, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last >= 300, "the writer never got going"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = con.execute("SELECT COUNT(*), MAX(value) FROM kpi_daily").fetchone()
    assert stored[0] >= last + 1 and stored[1] >= last


async def run_once(tmp_path: Path) -> tuple[Path, Store, KpiApp]:
    """A board run once over a copy of the Zendesk export: its store holds frames, status and snapshot."""
    path = tmp_path / "t.csv"
    path.write_bytes(Path(ZENDESK).read_bytes())
    store = Store(tmp_path / "s.sqlite3")
    first = KpiApp(tickets_config(str(path)), as_of=AS_OF, clock=lambda: FROZEN, store=store)
    async with first.run_test(size=(120, 30)):
        await first.ready.wait()
    return path, store, first


async def test_restart_shows_stored_data_at_once_with_its_age(tmp_path):
    """A second board over the same store paints the stored numbers before any source answers."""
    path, store, _ = await run_once(tmp_path)
    path.unlink()  # the source is gone now: only the store can provide numbers
    later = FROZEN + timedelta(hours=3)
    second = KpiApp(tickets_config(str(path)), as_of=AS_OF, clock=lambda: later, store=store)
    async with second.run_test(size=(120, 30)):
        await second.ready.wait()
        assert second.states["support"].status.status == "stale"
        assert tile_text(second, "backlog", "value") == "2"
        assert "stale · 3 h ago" in tile_text(second, "backlog", "age")  # in words, not only dimmed
        assert "no such file" in str(second.query_one(SourceStatusBar).render())
    store.close()


class HeldStore(Store):
    """A store whose stored frames come back only when the test says so."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def load_sources(self, names):
        self.release.wait(30)
        return super().load_sources(names)


async def test_the_last_snapshot_is_drawn_before_stored_frames_load(tmp_path):
    """Start-up draws the last run's snapshot (no pandas, no parsing); the recomputed one replaces it."""
    path, store, first = await run_once(tmp_path)
    store.close()
    assert Store(tmp_path / "s.sqlite3").load_snapshot() == first.snapshot  # saved whole, details included
    held = HeldStore(tmp_path / "s.sqlite3")
    second = KpiApp(tickets_config(str(path)), as_of=AS_OF, clock=lambda: FROZEN + timedelta(hours=3), store=held)
    async with second.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert second.snapshot is second.last_run_snapshot and not second.ready.is_set()
        assert tile_text(second, "backlog", "value") == "2"
        assert "stale · 3 h ago" in tile_text(second, "backlog", "age")  # in words, not only dimmed
        held.release.set()
        await second.ready.wait()
        assert second.snapshot is not second.last_run_snapshot
    held.close()


class HeldCompute:
    """`compute_and_record` whose first call waits until the test lets it go; it records the order the calls end
    in and the most running at once."""

    def __init__(self, compute) -> None:
        self.compute, self.calls, self.running, self.most = compute, 0, 0, 0
        self.ended: list[int] = []
        self.proceed = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            call = self.calls
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if call == 1:
                self.proceed.wait(30)
            return self.compute(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1
                self.ended.append(call)


async def test_computes_never_overlap_so_the_store_keeps_the_newest_numbers(tmp_path, monkeypatch):
    """At start the board computes from the stored state, and again once the export is read (one more ticket open:
    backlog 3). The second waits for the first: before, both ran at once and the older could end last, leaving the
    store (the next start's first frame, today's KPI row, month closings) older than the screen."""
    from kpitui import pipeline

    path, store, _ = await run_once(tmp_path)
    path.write_bytes(path.read_bytes().replace(b",Solved,Urgent,", b",Open,Urgent,"))
    compute = HeldCompute(pipeline.compute_and_record)
    monkeypatch.setattr(pipeline, "compute_and_record", compute)
    board = KpiApp(tickets_config(str(path)), as_of=AS_OF, clock=lambda: FROZEN + timedelta(hours=1), store=store)
    polled, source_done = asyncio.Event(), board._source_done

    def taken_in(name: str) -> None:  # the export's poll has been taken in, a compute asked for
        source_done(name)
        polled.set()

    board._source_done = taken_in
    async with board.run_test(size=(120, 30)) as pilot:
        await polled.wait()
        assert len([w for w in board.workers if w.name == "compute" and not w.is_finished]) == 1
        compute.proceed.set()
        await settled(board, pilot)
        assert compute.ended == [1, 2] and compute.most == 1  # the last write to the store is the newest
        assert tile_text(board, "backlog", "value") == "3"
        assert store.load_snapshot() == board.snapshot
    store.close()


def test_a_snapshot_for_other_sources_is_not_drawn(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.save_snapshot(Snapshot(as_of=AS_OF, generated_at=FROZEN, currency="USD", sources={}))
    app = KpiApp(tickets_config(), as_of=AS_OF, clock=lambda: FROZEN, store=store)
    app._show_last_snapshot()
    assert app.last_run_snapshot is None and app.snapshot is None
    store.close()


async def test_data_older_than_three_intervals_is_marked_stale():
    now = [FROZEN]
    app = KpiApp(tickets_config(), as_of=AS_OF, clock=lambda: now[0])
    async with app.run_test(size=(120, 30)) as pilot:
        await app.ready.wait()
        tile = app.query_one("#tile-backlog", KpiTile)
        assert not tile.has_class("-stale")
        now[0] = FROZEN + timedelta(minutes=4)  # interval is 60 s
        app.redraw_ages()  # what the 30 s tick does
        await pilot.pause()
        assert tile.has_class("-stale")
        assert tile_text(app, "backlog", "age") == "stale · 4 min ago"


async def test_period_keys_change_every_pane():
    app = KpiApp(tickets_config(), as_of=date(2026, 11, 20), clock=lambda: FROZEN)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.ready.wait()
        assert app.snapshot.support.tickets == 5 and app.snapshot.period_days == 30
        await pilot.press("left_square_bracket")
        await workers_done(app)
        await pilot.pause()
        assert app.snapshot.period_days == 7 and app.snapshot.support.tickets == 1  # only 105, created 14 Nov
        assert "period 7d" in app.sub_title
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await workers_done(app)
        await pilot.pause()
        assert app.snapshot.period_days == 365 and format_period(365) == "12m"


async def test_plus_and_minus_change_the_refresh_interval_and_re_arm():
    app = KpiApp(tickets_config(), as_of=AS_OF, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.ready.wait()
        old_timer = app.scheduler.timers["support"]
        await pilot.press("plus")
        assert app.config.sources["support"].refresh == 120.0
        assert app.scheduler.timers["support"] is not old_timer
        await pilot.press("minus", "minus")
        assert app.config.sources["support"].refresh == 30.0
    assert step_interval(3600.0, 1) == 3600.0 and step_interval(30.0, -1) == 30.0


def test_crossings_fire_once_per_change():
    warn = (AlertState("k", 5.0, 3.0, "warning"),)
    assert crossings({}, warn) == list(warn)
    assert crossings({"k": "warning"}, warn) == []
    critical = (AlertState("k", 9.0, 8.0, "critical"),)
    assert crossings({"k": "warning"}, critical) == list(critical)
    ok = (AlertState("k", 1.0, 3.0, "ok"),)
    assert crossings({"k": "critical"}, ok) == list(ok)
    assert crossings({}, ok) == []


async def test_alert_notifies_once_rings_and_runs_its_command(tmp_path):
    out = tmp_path / "alert.json"
    command = f"{sys.executable} -c \"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())\""
    rule = AlertRule(kpi="support.backlog", above=1, bell=True, command=command)
    app = KpiApp(tickets_config(alerts=(rule,), goals={"backlog": 5}), as_of=date(2026, 11, 20), clock=lambda: FROZEN)
    bells = ringing(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(app, pilot)
        warnings = [n for n in app._notifications if n.title == "Warning"]
        assert len(warnings) == 1 and "support.backlog = 2.00 crossed 1.00" in warnings[0].message
        assert bells == [1]
        assert json.loads(out.read_text()) == {
            "kpi": "support.backlog",
            "value": 2.0,
            "threshold": 1.0,
            "state": "warning",
        }
        assert app.query_one("#tile-backlog", KpiTile).has_class("-warning")
        assert "goal met" in tile_text(app, "backlog", "delta")
        await pilot.press("R")  # refresh again: same state, no second notification
        await workers_done(app)
        await pilot.pause()
        assert len([n for n in app._notifications if n.title == "Warning"]) == 1 and bells == [1]


async def test_a_timed_out_alert_command_is_reported_without_its_secret(tmp_path, monkeypatch):
    """The command's webhook URL holds a key; it times out: the status line says so, with no trace of the URL."""
    from kpitui import alert_actions

    monkeypatch.setattr(alert_actions, "COMMAND_TIMEOUT", 0.2)
    secret = "https://hooks.example.invalid/T000/sk_live_51Hsecretsecret9z8y"
    command = f'{sys.executable} -c "import time; time.sleep(30)" {secret}'
    rule = AlertRule(kpi="support.backlog", above=1, command=command)
    app = KpiApp(tickets_config(alerts=(rule,)), as_of=date(2026, 11, 20), clock=lambda: FROZEN)
    async with app.run_test(size=(160, 30)) as pilot:
        await settled(app, pilot)
        status = str(app.query_one(SourceStatusBar).render())
        assert "the alert command for support.backlog timed out after 0.2 s" in status
        shown = status + " ".join(n.message for n in app._notifications)
        assert "sk_live" not in shown and "hooks.example" not in shown and "sleep" not in shown


async def test_a_restart_does_not_raise_the_same_crossing_again(tmp_path):
    """The alert fired once; a second board over the same store (cached snapshot, then a recompute) stays quiet."""
    runs = tmp_path / "runs.txt"
    command = f"{sys.executable} -c \"open({str(runs)!r}, 'a').write('x')\""
    rule = AlertRule(kpi="support.backlog", above=1, bell=True, command=command)
    store = Store(tmp_path / "s.sqlite3")
    for run in range(2):
        now = FROZEN + timedelta(minutes=5 * run)
        app = KpiApp(tickets_config(alerts=(rule,)), as_of=date(2026, 11, 20), clock=lambda now=now: now, store=store)
        bells = ringing(app)
        async with app.run_test(size=(120, 30)) as pilot:
            await settled(app, pilot)
            warnings = [n for n in app._notifications if n.title == "Warning"]
        if runs.read_text() == "x" and bells == [1]:
            continue  # the first run: it fired
        assert (warnings, bells) == ([], [])
    assert runs.read_text() == "x"
    store.close()


@pytest.mark.parametrize("answers", [True, False])
async def test_a_restart_hours_later_raises_a_stale_alert_only_for_a_source_that_does_not_answer(tmp_path, answers):
    """The board was closed for three hours: what it restores is stale until the first poll. When that answers, no
    `Stale` notice, no bell, no alert command (a webhook would page someone): nothing went wrong. When the export
    is gone, one `Stale` notice, one bell, the command run once. Alerts speak once this run's first polls are in."""
    runs = tmp_path / "runs.txt"
    command = f"{sys.executable} -c \"open({str(runs)!r}, 'a').write('x')\""
    rule = AlertRule(kpi="sources.support", bell=True, command=command)
    path, store, _ = await run_once(tmp_path)
    if not answers:
        path.unlink()
    later = FROZEN + timedelta(hours=3)
    app = KpiApp(tickets_config(str(path), alerts=(rule,)), as_of=AS_OF, clock=lambda: later, store=store)
    bells = ringing(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(app, pilot)
        assert app.states["support"].status.status == ("ok" if answers else "stale")
        notices = [n.title for n in app._notifications]
        assert (notices, bells, runs.exists() and runs.read_text()) == (
            ([], [], False) if answers else (["Stale"], [1], "x")
        )
    store.close()


async def test_history_gives_trends_to_current_state_kpis(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for days_ago, backlog in ((40, 9.0), (31, 8.0), (10, 4.0)):
        store.record_kpis(date(2026, 11, 20) - timedelta(days=days_ago), {"support.backlog": backlog})
    app = KpiApp(tickets_config(), as_of=date(2026, 11, 20), clock=lambda: FROZEN, store=store)
    async with app.run_test(size=(120, 30)):
        await app.ready.wait()
        assert [v for _, v in app.snapshot.trends["support.backlog"]] == [9.0, 8.0, 4.0, 2.0]
        assert tile_text(app, "backlog", "delta") == "▼ 75.0%"  # 2 now vs 8 one period (30 d) ago
    store.close()


def _board_in_pty(tmp_path: Path) -> tuple[int, int]:
    """Start `kpitui board` on the Zendesk fixture in a pseudo-terminal and wait for its first frame."""
    pid, fd = pty.fork()
    if pid == 0:  # child: run the board on a small fixture
        config = tmp_path / "c.toml"
        config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{ZENDESK}"\n')
        data = str(tmp_path / "data")
        os.execv(sys.executable, [sys.executable, "-m", "kpitui", "board", "--config", str(config), "--data-dir", data])
    seen = b""
    while b"Backlog" not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, "the board did not paint"
        seen += os.read(fd, 65536)
    return pid, fd


def _wait_exit(pid: int, fd: int | None, seconds: float = 20) -> tuple[int, int]:
    """Wait for the child, reading its output meanwhile (so it never blocks writing); kill it on timeout."""
    deadline = time.monotonic() + seconds
    while (found := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        if fd is not None and select.select([fd], [], [], 0.1)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                fd = None
        elif fd is None:
            select.select([], [], [], 0.1)
    if found == (0, 0):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX")
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_hangup_or_kill_exits_cleanly(tmp_path, signum):
    """The board exits with code 0 on SIGHUP (its terminal went away) and on SIGTERM (`kill PID`: a server
    stopping its boards, a service manager)."""
    pid, fd = _board_in_pty(tmp_path)
    os.kill(pid, signum)
    found = _wait_exit(pid, fd)
    os.close(fd)
    assert found != (0, 0) and os.WIFEXITED(found[1]) and os.WEXITSTATUS(found[1]) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX")
def test_closed_terminal_exits_instead_of_spinning(tmp_path):
    """Closing the terminal (the pty master) hangs up the board; it must exit, not spin on a dead tty."""
    pid, fd = _board_in_pty(tmp_path)
    os.close(fd)
    found = _wait_exit(pid, None)
    assert found != (0, 0), "the board kept running after its terminal closed"
    assert os.WIFEXITED(found[1]) and os.WEXITSTATUS(found[1]) == 0


def test_an_unchanged_file_is_not_read_again_and_its_rows_never_stored(tmp_path, monkeypatch):
    """A refresh of a file nobody touched reuses the last load and only updates the stored status; no refresh
    writes the tickets into the store, and a new ticket is read."""
    from kpitui.pipeline import fetch

    path = tmp_path / "t.csv"
    path.write_bytes(Path(ZENDESK).read_bytes())
    source = tickets_config(str(path)).sources["support"]
    writes: list[int] = []
    to_parquet = pd.DataFrame.to_parquet
    monkeypatch.setattr(
        pd.DataFrame, "to_parquet", lambda frame, *a, **k: writes.append(1) or to_parquet(frame, *a, **k)
    )
    store = Store(tmp_path / "s.sqlite3")
    first = fetch("support", source, store, FROZEN)
    again = fetch("support", source, store, FROZEN + timedelta(minutes=5))
    assert again.result is first.result and again.signature == first.signature
    status, signature = store.load_sources({"support"})["support"]
    assert (status.last_success, signature) == (FROZEN + timedelta(minutes=5), first.signature)
    row = Path(ZENDESK).read_text().splitlines()[1].replace(",101,", ",999,")  # a new ticket arrives
    with path.open("a") as handle:
        handle.write(row + "\n")
    grown = fetch("support", source, store, FROZEN + timedelta(minutes=10))
    assert grown.result is not first.result and grown.status.rows == first.status.rows + 1
    assert grown.signature != first.signature and store.load_frames("support") is None and writes == []
    store.close()


def test_a_section_is_recomputed_only_when_its_sources_change(tmp_path, monkeypatch):
    """Another source's refresh reuses the section's metrics; a new result for its own source recomputes it."""
    from kpitui import pipeline

    survey = str(DATA / "nps/delighted.csv")
    config = Config(
        sources={
            "support": SourceConfig("support", "tickets", 60.0, {"path": ZENDESK}),
            "survey": SourceConfig("survey", "nps", 60.0, {"path": survey}),
        }
    )
    states = {name: pipeline.fetch(name, source, None, FROZEN) for name, source in config.sources.items()}
    computed: list[str] = []
    section = pipeline._section
    monkeypatch.setattr(pipeline, "_section", lambda name, *args: computed.append(name) or section(name, *args))
    first = pipeline.compute_snapshot(config, states, AS_OF, FROZEN)
    assert sorted(computed) == ["acquisition", "customers", "engagement", "funnel", "nps", "revenue", "support"]
    computed.clear()
    states["support"] = succeeded(config.sources["support"], load_tickets({"path": ZENDESK}), FROZEN)
    again = pipeline.compute_snapshot(config, states, AS_OF, FROZEN)
    assert computed == ["support", "customers"] and again.nps is first.nps  # customers links the tickets
    assert again.support == first.support and again.support is not first.support


async def test_a_stale_source_says_so_and_raises_its_alert_once(tmp_path):
    """The helpdesk stops answering: once its data is older than 3 intervals the tile says `stale · …`, the source's
    own alert rings once (not on every later refresh), and the backlog alert on its stale value is held."""
    path = tmp_path / "t.csv"
    path.write_bytes(Path(ZENDESK).read_bytes())
    now = [FROZEN]
    rules = (AlertRule(kpi="sources.support", bell=True), AlertRule(kpi="support.backlog", above=1))
    app = KpiApp(tickets_config(str(path), alerts=rules), as_of=date(2026, 11, 20), clock=lambda: now[0])
    bells = ringing(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(app, pilot)
        assert [n.title for n in app._notifications] == ["Warning"]  # the backlog crossed 1
        path.unlink()
        for minutes in (2, 5, 6):  # 60-second interval: stale after 3 minutes
            now[0] = FROZEN + timedelta(minutes=minutes)
            await pilot.press("R")
            await workers_done(app)
            await pilot.pause()
        stale = [n for n in app._notifications if "no fresh data" in n.message]
        assert len(stale) == 1 and stale[0].message.startswith("support: no fresh data for 5m")
        assert bells == [1]
        assert [(a.kpi, a.state) for a in app.snapshot.alerts] == [
            ("support.backlog", "stale"),
            ("sources.support", "stale"),
        ]
        assert tile_text(app, "backlog", "age").startswith("stale · ")
        assert [n.title for n in app._notifications] == ["Warning", "Stale"]  # no new backlog crossing while held


def test_a_board_and_a_cron_snapshot_share_one_store(tmp_path):
    """Two processes writing the same store at once (a board's refreshes, a cron run's): each waits its turn, none
    fails with `database is locked`, and every row both wrote is there."""
    db = tmp_path / "shared.sqlite3"
    script = textwrap.dedent(f"""
        import sys
        from datetime import date, timedelta
        from pathlib import Path
        from kpitui.store import Store
        store = Store(Path({str(db)!r}))
        who = sys.argv[1]
        for i in range(300):
            store.record_kpis(date(2026, 1, 1) + timedelta(days=i), {{who: float(i)}})
            store.save_section(who, str(i), {{"written": i}})
        store.close()
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script, who], stderr=subprocess.PIPE) for who in "ab"]
    errors = [writer.communicate(timeout=120)[1].decode() for writer in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    store = Store(db)
    history = store.kpi_history(date(2026, 1, 1))
    store.close()
    assert {kpi: len(rows) for kpi, rows in history.items()} == {"a": 300, "b": 300}


async def test_an_age_tick_updates_only_ages_and_hidden_panes_wait_until_shown(monkeypatch):
    """The 30-second tick touches the Overview's ages, not its numbers, and draws no pane off screen; a pane
    shown later catches up on the ages it missed."""
    from kpitui.panes.base import Pane
    from kpitui.panes.overview import OverviewPane

    now = [FROZEN]
    app = KpiApp(tickets_config(), as_of=AS_OF, clock=lambda: now[0])
    async with app.run_test(size=(120, 30)) as pilot:
        await app.ready.wait()
        await pilot.press("4", "1")  # the Support pane is mounted and drawn once, then hidden
        await pilot.pause()
        drawn: list[str] = []
        for pane_class in {type(p) for p in app.query(Pane)}:
            original = pane_class.show_snapshot
            monkeypatch.setattr(
                pane_class, "show_snapshot", lambda self, *a, o=original: drawn.append(self.id) or o(self, *a)
            )
        now[0] = FROZEN + timedelta(minutes=2)
        app.redraw_ages()
        await pilot.pause()
        assert drawn == [] and tile_text(app, "backlog", "age") == "as of 2 min ago"
        assert isinstance(app.query_one("#pane-overview"), OverviewPane)
        await pilot.press("4")
        await pilot.pause()
        first_reply_age = str(app.query_one("#sup-first", KpiTile).query_one(".tile-age").render())
        assert drawn == ["pane-support"] and first_reply_age.endswith("2 min ago")


def test_an_exit_asked_for_while_the_loop_is_stuck_still_ends_the_process(tmp_path):
    """Under `kpitui serve` the browser session's end reaches the board as an exit posted from the web driver's
    input thread. A board whose event loop is stuck (seen: spinning in the compositor) must still be gone within
    HANGUP_GRACE of it, not left behind at 100 % CPU."""
    import subprocess

    config = tmp_path / "c.toml"
    config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{ZENDESK}"\n')
    script = f"""
import threading, time
from pathlib import Path
from textual.messages import ExitApp
import kpitui.app
from kpitui.app import KpiApp
from kpitui.config import load_config

class StuckBoard(KpiApp):
    CSS_PATH = str(Path(kpitui.app.__file__).with_name("app.tcss"))

    def on_ready(self):
        threading.Timer(0.5, self.post_message, (ExitApp(),)).start()  # as the web driver's input thread does
        self.call_later(self.stick)

    def stick(self):
        time.sleep(60)  # the loop never comes back

StuckBoard(load_config(Path({str(config)!r}))).run(headless=True)
"""
    (tmp_path / "stuck.py").write_text(script)  # Textual reads an app class's source file
    started = time.monotonic()
    done = subprocess.run([sys.executable, tmp_path / "stuck.py"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (0, "")
    assert time.monotonic() - started < 15  # the process start and the app's own start, plus HANGUP_GRACE
