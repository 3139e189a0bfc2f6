"""The Textual board: panes, bindings, and the per-source refresh loop."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.messages import ExitApp
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import MountError
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane
from textual.worker import get_current_worker

from kpitui.alert_notifier import AlertNotifier, Notice
from kpitui.config import Config, ConfigError
from kpitui.durations import format_period, format_seconds
from kpitui.messages import (
    AlertCommandFinished,
    ComputeFailed,
    RestoreFailed,
    SnapshotComputed,
    SourceFailed,
    SourceFetched,
    StoredStatesRestored,
    WorkReport,
)
from kpitui.model import Snapshot
from kpitui.panes.base import Pane
from kpitui.panes.customers import CustomersPane
from kpitui.panes.funnel import FunnelPane
from kpitui.panes.nps import NpsPane
from kpitui.panes.overview import OverviewPane
from kpitui.panes.revenue import RevenuePane
from kpitui.panes.support import SupportPane
from kpitui.rotation import Rotation
from kpitui.scheduler import RefreshScheduler
from kpitui.widgets.help import HelpScreen
from kpitui.widgets.status import SourceStatusBar
from kpitui.widgets.tile import BoardTile

if TYPE_CHECKING:
    from textual.driver import Driver

    from kpitui.store import Store
    from kpitui.widgets.history import HistoryScreen

PANES: tuple[tuple[str, str, type[Pane]], ...] = (  # id (the snapshot section it shows, but the overview), label
    ("overview", "Overview", OverviewPane),
    ("revenue", "Revenue", RevenuePane),
    ("nps", "NPS", NpsPane),
    ("support", "Support", SupportPane),
    ("funnel", "Funnel", FunnelPane),
    ("customers", "Customers", CustomersPane),
)
SHOWN_ON = {"engagement": "funnel", "acquisition": "funnel"}  # sections shown on another section's pane
PERIODS = (7, 30, 90, 365)
INTERVALS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
HANGUP_GRACE = 2.0  # seconds to exit normally once asked to, before leaving without cleanup
KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "plus": "+",
    "minus": "-",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "down,j": "↓ / j",
    "up,k": "↑ / k",
}


def utc_now() -> datetime:
    """The wall clock in UTC (tests pass a frozen clock instead)."""
    return datetime.now(UTC)


def step_interval(current: float, direction: int) -> float:
    """The next longer (+1) or shorter (-1) refresh interval from the ladder."""
    if direction > 0:
        return next((v for v in INTERVALS if v > current), INTERVALS[-1])
    return next((v for v in reversed(INTERVALS) if v < current), INTERVALS[0])


class KpiApp(App[None]):
    """kpitui's board."""

    CSS_PATH = "app.tcss"
    TITLE = "kpitui"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        *(
            Binding(str(i), f"show_pane('{pane_id}')", label, id=f"pane.{pane_id}")
            for i, (pane_id, label, _) in enumerate(PANES, start=1)
        ),
        Binding("r", "refresh_pane", "Refresh", id="refresh.pane"),
        Binding("R", "refresh_all", "Refresh all", id="refresh.all"),
        Binding("p", "toggle_pause", "Pause", id="refresh.pause"),
        Binding("left_square_bracket", "period(-1)", "Shorter period", id="period.shorter"),
        Binding("right_square_bracket", "period(1)", "Longer period", id="period.longer"),
        Binding("plus", "interval(1)", "Slower refresh", id="refresh.slower"),
        Binding("minus", "interval(-1)", "Faster refresh", id="refresh.faster"),
        Binding("slash", "filter_comments", "Filter", id="nps.filter"),
        Binding("f", "focus_table", "Next table", id="table.next"),
        Binding("o", "toggle_rotation", "Rotate", id="rotate.toggle"),
        Binding("escape", "back_to_board", "Back", id="app.back", show=False),
        Binding("pagedown", "scroll_pane('page_down')", "Page down", id="scroll.page_down", show=False),
        Binding("pageup", "scroll_pane('page_up')", "Page up", id="scroll.page_up", show=False),
        Binding("end", "scroll_pane('end')", "Bottom of the pane", id="scroll.end", show=False),
        Binding("home", "scroll_pane('home')", "Top of the pane", id="scroll.home", show=False),
        Binding("down,j", "scroll_pane('down')", "Scroll down", id="scroll.down", show=False),
        Binding("up,k", "scroll_pane('up')", "Scroll up", id="scroll.up", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+p", "command_palette", "Commands", id="app.commands"),
        Binding("tab", "cycle_pane(1)", "Next", id="pane.next", priority=True, key_display="⇥"),
        Binding("shift+tab", "cycle_pane(-1)", "Prev", id="pane.previous", priority=True, key_display="⇤"),
    ]

    snapshot: reactive[Snapshot | None] = reactive(None, init=False)

    def __init__(
        self,
        config: Config,
        as_of: date | None = None,
        clock: Callable[[], datetime] = utc_now,
        store: Store | None = None,
        animate: bool = True,
    ) -> None:
        super().__init__()
        from kpitui.pipeline import pending

        if problems := keymap_problems(config.keys):
            raise ConfigError(problems)
        self.config = config
        self.fixed_as_of = as_of
        self.clock = clock
        self.store = store
        self.states = {name: pending(source) for name, source in config.sources.items()}
        intervals = {name: source.refresh for name, source in config.sources.items()}
        self.scheduler = RefreshScheduler(intervals, self._fetch, self.set_timer)
        self.notifier = AlertNotifier(config.alerts, store)
        self.alert_problem: str | None = None  # how the last alert command failed
        self.ready = asyncio.Event()  # set once this run's figures are drawn, no source loading or compute pending
        self.computing = False  # a compute runs; one asked for meanwhile waits for it (`compute_again`)
        self.compute_again = False
        self.last_run_snapshot: Snapshot | None = None
        self.rotation = Rotation(round(config.rotate)) if config.rotate else None
        self._exit_deadline: threading.Timer | None = None  # armed once an exit is asked for
        self._sigterm_before: signal.Handlers | Callable | int | None = None
        self.drilled_from: BoardTile | None = None  # the Overview tile `escape` returns to
        self.detail_wanted: str | None = None  # the KPI whose detail the pane coming on screen scrolls to
        self.rotation_timer: Timer | None = None
        if not animate:
            self.animation_level = "none"

    @property
    def as_of(self) -> date:
        """The reference date: fixed by --as-of, else today (UTC)."""
        return self.fixed_as_of or self.clock().date()

    def compose(self) -> ComposeResult:
        """Header, status line, the panes (all but the first mounted after the first frame), footer."""
        yield Header()
        yield SourceStatusBar(id="status")
        with TabbedContent(id="panes"):
            for index, (pane_id, label, pane_class) in enumerate(PANES):
                with TabPane(label, id=pane_id):
                    if index == 0:
                        yield pane_class(id=f"pane-{pane_id}")
        yield Footer()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal; under `kpitui serve`, its web driver bound to the server's session."""
        driver = super().get_driver_class()
        if driver.__module__ == "textual.drivers.web_driver":
            from kpitui.web_session import SessionWebDriver

            return SessionWebDriver
        return driver

    def on_mount(self) -> None:
        """Theme and `[keys]`, SIGHUP and SIGTERM, then stored data at once (if any) and a refresh of every
        source."""
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        self.set_keymap(self.config.keys)
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.terminal_gone)
        except (NotImplementedError, RuntimeError, AttributeError, ValueError):
            pass
        if threading.current_thread() is threading.main_thread():  # run by Python between bytecodes, not the loop
            self._sigterm_before = signal.signal(signal.SIGTERM, lambda *_: self.post_message(ExitApp()))
        self._show_status()
        self.call_after_refresh(self._mount_hidden_panes)
        self.set_interval(30, self.redraw_ages)
        if self.rotation is not None:
            self.rotation_timer = self.set_interval(1, self._rotation_tick)
        if self.store is not None:
            from kpitui.pipeline import restore

            self._show_last_snapshot()
            self._tell_of_a_damaged_store()
            job = partial(restore, self.config, self.store)
            self.call_after_refresh(self._start_work, job, StoredStatesRestored, RestoreFailed, name="restore")
        else:
            self.call_after_refresh(self.action_refresh_all)

    async def _mount_hidden_panes(self) -> None:
        """Mount the panes not on screen after the first frame (they draw the current snapshot when mounted)."""
        for pane_id, _, pane_class in PANES[1:]:
            tab = self.query_one(f"#{pane_id}", TabPane)
            if not tab.is_attached:
                return
            try:
                await tab.mount(pane_class(id=f"pane-{pane_id}"))
            except MountError:  # the board is closing
                return

    def _show_last_snapshot(self) -> None:
        """Draw the snapshot the last run saved at once (with its ages) while stored frames load and recompute."""
        cached = self.store.load_snapshot()
        if cached is not None and set(cached.sources) == set(self.config.sources):
            self.last_run_snapshot = cached
            self.snapshot = cached

    def on_unmount(self) -> None:
        """The board has closed: the exit watchdog is not needed, and SIGTERM gets back its earlier handler."""
        if self._exit_deadline is not None:
            self._exit_deadline.cancel()
        if self._sigterm_before is not None:
            signal.signal(signal.SIGTERM, self._sigterm_before)

    def terminal_gone(self) -> None:
        """SIGHUP: the terminal went away; exit, and make sure a dead tty cannot keep us spinning."""
        self.post_message(ExitApp())

    def post_message(self, message: Message) -> bool:
        """Post a message; an exit asked for from any thread (the browser session's end under `kpitui serve`,
        SIGTERM, SIGHUP) is bounded: the process leaves within HANGUP_GRACE even if the event loop is stuck."""
        if isinstance(message, ExitApp) and self._exit_deadline is None:
            self._exit_deadline = threading.Timer(HANGUP_GRACE, os._exit, (0,))
            self._exit_deadline.daemon = True
            self._exit_deadline.start()
        return super().post_message(message)

    # refresh loop -----------------------------------------------------------------------------

    def _start_work(
        self, job: Callable[[], object], done: Callable[..., WorkReport], failed: Callable[[str], WorkReport], **options
    ) -> None:
        """Run a job in a thread that reports only by message: `done(result)`, or `failed(error)` with the error
        described and redacted (the one route every worker error takes to the screen); a job cancelled as the board
        closes says nothing."""

        def work() -> None:
            from kpitui.pipeline import describe_error

            try:
                report = done(job())
            except Exception as error:  # a source, a computation or a command failed: one line, never a crash
                report = failed(describe_error(error))
            if not get_current_worker().is_cancelled:
                self.post_message(report)

        self.run_worker(work, thread=True, exit_on_error=False, **options)

    def refresh_source(self, name: str) -> None:
        """Poll one source now unless it is already polling (polls never overlap)."""
        if self.scheduler.poll(name):
            self._show_status()

    def _fetch(self, name: str) -> None:
        """Load one source in a thread (the scheduler's way to start a poll)."""
        from kpitui.pipeline import fetch

        job = partial(fetch, name, self.config.sources[name], self.store, self.clock())
        self._start_work(job, partial(SourceFetched, name), partial(SourceFailed, name), group="sources")

    def _recompute(self) -> None:
        """Compute the KPIs over the sources' states; while a compute runs, the next waits for it and then reads
        the states as they are then (computes never overlap: the store's last write is from the newest states)."""
        if self.computing:
            self.compute_again = True
            return
        from kpitui.pipeline import compute_and_record

        self.computing, self.compute_again = True, False
        job = partial(compute_and_record, self.config, dict(self.states), self.as_of, self.clock(), self.store)
        self._start_work(job, SnapshotComputed, ComputeFailed, name="compute", group="compute")

    def _compute_ended(self) -> None:
        """A compute ended: start the one asked for meanwhile, if any."""
        self.computing = False
        if self.compute_again:
            self._recompute()

    @on(WorkReport)
    def take_report(self, report: WorkReport) -> None:
        """The one place where what the workers report becomes UI state."""
        if not self.is_running:
            return  # the board is shutting down: no screen left to show it on
        match report:
            case SourceFetched(name=name, state=state):
                self.states[name] = state
                self._source_done(name)
            case SourceFailed(name=name, error=error):
                from kpitui.pipeline import failed

                self.states[name] = failed(self.states.get(name), self.config.sources[name], error)
                self._source_done(name)
            case SnapshotComputed(snapshot=snapshot):
                self._compute_ended()
                self.snapshot = snapshot
            case ComputeFailed(error=error):
                self._compute_ended()
                self.notify(f"could not compute the KPIs: {error[:200]}", severity="error", markup=False)
            case StoredStatesRestored(states=states):
                if states:
                    self.states.update(states)
                    self._recompute()
                self.action_refresh_all()
            case RestoreFailed(error=error):
                self.notify(f"could not read the stored data: {error[:200]}", severity="warning", markup=False)
                self.action_refresh_all()
            case AlertCommandFinished(problem=problem):
                self.alert_problem = problem[:200] if problem else None
                if self.alert_problem:
                    self.notify(self.alert_problem, severity="warning", markup=False)
                self._show_status()
        self._tell_of_a_damaged_store()

    def _tell_of_a_damaged_store(self) -> None:
        """Say once that the store was found damaged, kept aside and started again."""
        notice = self.store.take_notice() if self.store is not None else None
        if notice:
            self.notify(notice, severity="warning", timeout=30, markup=False)

    def _source_done(self, name: str) -> None:
        """A poll ended: arm the next, show it, recompute the KPIs."""
        self.scheduler.finished(name)
        self._show_status()
        self._recompute()

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        """Hand the new snapshot to every pane (they update in place), then raise alert crossings once this run's
        first polls are in (what a restart restores is stale until then, and says so only on its tiles)."""
        if snapshot is None:
            return
        self._render_panes(snapshot)
        self._show_subtitle()
        self._show_status()
        if not self.scheduler.loading and not self.computing and snapshot is not self.last_run_snapshot:
            self.ready.set()
        if self.ready.is_set():
            self._raise_alerts(snapshot)

    def _show_subtitle(self) -> None:
        """As of, period and, in kiosk mode, the rotation's countdown."""
        parts = []
        if self.snapshot is not None:
            parts += [f"as of {self.snapshot.as_of.isoformat()}", f"period {format_period(self.snapshot.period_days)}"]
        if self.rotation is not None:
            parts.append(self.rotation.label(self.config.keys.get("rotate.toggle", "o").split(",")[0]))
        self.sub_title = " · ".join(parts)

    def _rotation_tick(self) -> None:
        """Once a second in kiosk mode: count down, show the next pane when due."""
        if self.rotation.tick():
            self.action_cycle_pane(1)
        self._show_subtitle()

    @on(events.Key)
    def pause_rotation(self, event: events.Key) -> None:
        """Any key pauses the kiosk rotation (the rotate key itself resumes it)."""
        toggle = self.config.keys.get("rotate.toggle", "o").split(",")
        if self.rotation is not None and not self.rotation.paused and event.key not in toggle:
            self.rotation.pause()
            self._show_subtitle()

    def action_toggle_rotation(self) -> None:
        """Resume or pause the kiosk rotation (`--rotate` or `[board] rotate`)."""
        if self.rotation is None:
            self.notify("start kpitui with --rotate 30s (or [board] rotate) to rotate the panes", markup=False)
        elif self.rotation.paused:
            self.rotation.resume()
        else:
            self.rotation.pause()
        self._show_subtitle()

    def _render_panes(self, snapshot: Snapshot) -> None:
        """Draw the pane on screen now; the others when they are shown."""
        now = self.clock()
        active = self._active_pane()
        for pane in self.query(Pane):
            pane.outdated = pane is not active
        if active is not None:
            active.show_snapshot(snapshot, now)

    @on(TabbedContent.TabActivated)
    def draw_shown_pane(self) -> None:
        """A pane coming on screen shows the latest snapshot and ages if it missed them, and the detail a tile
        asked for."""
        pane = self._active_pane()
        if pane is not None and pane.outdated and self.snapshot is not None:
            pane.outdated = False
            pane.show_snapshot(self.snapshot, self.clock())
        if pane is not None and self.detail_wanted is not None:
            kpi, self.detail_wanted = self.detail_wanted, None
            self.call_after_refresh(pane.call_after_refresh, pane.show_detail, kpi)  # once it is laid out

    def redraw_ages(self) -> None:
        """Every 30 s: refresh "n min ago" labels and staleness, even when no source answers."""
        self._show_status()
        if self.snapshot is None:
            return
        active = self._active_pane()
        for pane in self.query(Pane):
            pane.outdated = pane.outdated or pane is not active
        if active is not None:
            active.show_ages(self.snapshot, self.clock())

    def _raise_alerts(self, snapshot: Snapshot) -> None:
        """Show each new crossing; ring the bell and run the command its rule asks for."""
        for notice in self.notifier.notices(snapshot.alerts):
            timeout = None if notice.alert.state == "ok" else 30  # a crossing stays up longer than a recovery
            self.notify(notice.text, title=notice.title, severity=notice.severity, timeout=timeout, markup=False)
            if notice.bell:
                self.bell()
            if notice.command:
                self._run_alert_command(notice)

    def _run_alert_command(self, notice: Notice) -> None:
        from kpitui.alert_actions import run_alert_command

        job = partial(run_alert_command, notice.command, notice.alert)
        self._start_work(job, AlertCommandFinished, AlertCommandFinished, name="alert-command")

    def _show_status(self) -> None:
        statuses = {name: state.status for name, state in self.states.items()}
        intervals = {name: s.refresh for name, s in self.config.sources.items()}
        bar = self.query_one(SourceStatusBar)
        loading, paused = self.scheduler.loading, self.scheduler.paused
        bar.show(statuses, self.clock(), intervals, loading, paused, self.alert_problem or "")

    # actions ----------------------------------------------------------------------------------

    def action_show_pane(self, pane_id: str) -> None:
        """Switch to a pane."""
        self.query_one(TabbedContent).active = pane_id

    def action_cycle_pane(self, step: int) -> None:
        """Next or previous pane, wrapping around."""
        ids = [p[0] for p in PANES]
        current = self.query_one(TabbedContent).active
        self.action_show_pane(ids[(ids.index(current) + step) % len(ids)])

    def action_refresh_pane(self) -> None:
        """Refresh the sources behind the visible pane (all of them on the overview)."""
        from connectors.registry import feeds

        section = self.query_one(TabbedContent).active
        for name, source in self.config.sources.items():
            if section == "overview" or feeds(source.type, section):
                self.refresh_source(name)

    def action_refresh_all(self) -> None:
        """Refresh every source now."""
        for name in self.config.sources:
            self.refresh_source(name)

    def action_toggle_pause(self) -> None:
        """Stop or resume the automatic refreshes."""
        self.scheduler.toggle_pause()
        self._show_status()

    def action_period(self, step: int) -> None:
        """Move the reporting period along 7d, 30d, 90d, 12m; every pane follows."""
        current = min(PERIODS, key=lambda p: abs(p - self.config.period_days))
        index = max(0, min(len(PERIODS) - 1, PERIODS.index(current) + step))
        self.config = replace(self.config, period_days=PERIODS[index])
        self.notify(f"period: {format_period(PERIODS[index])}", timeout=3)
        self._recompute()

    def action_interval(self, step: int) -> None:
        """Lengthen (+) or shorten (-) every source's refresh interval and re-arm the timers."""
        sources = {n: replace(s, refresh=step_interval(s.refresh, step)) for n, s in self.config.sources.items()}
        self.config = replace(self.config, sources=sources)
        if sources:
            labels = sorted({format_seconds(s.refresh) for s in sources.values()})
            self.notify(f"refresh every {', '.join(labels)}", timeout=3)
        self.scheduler.set_intervals({name: source.refresh for name, source in sources.items()})
        self._show_status()

    def action_help(self) -> None:
        """Show every binding, with the keys `[keys]` gave it."""
        rows = []
        for binding in _bindings():
            keys = self.config.keys.get(binding.id or "", binding.key)
            rows.append((KEY_NAMES.get(keys, keys), binding.description))
        self.push_screen(HelpScreen(rows))

    def _active_pane(self) -> Pane | None:
        """The pane on screen (None while it is still being mounted: it draws the snapshot once it is)."""
        panes = self.query(f"#pane-{self.query_one(TabbedContent).active}")
        pane = panes.first(Pane) if panes else None
        return pane if pane is not None and pane.is_mounted else None

    def action_scroll_pane(self, how: str) -> None:
        """Scroll the pane on screen (keys a focused table or input does not take themselves); `↓` on an
        Overview with nothing to scroll steps down from the tabs into the tiles, PgDn / PgUp turn its pages."""
        pane = self._active_pane()
        if pane is None:
            return
        if how == "down" and isinstance(pane, OverviewPane) and pane.max_scroll_y == 0:
            pane.focus_first_tile()
            return
        if how in ("page_down", "page_up") and isinstance(pane, OverviewPane):
            if pane.turn_page(1 if how == "page_down" else -1):
                return
        getattr(pane, f"scroll_{how}")(animate=False)

    def action_focus_table(self) -> None:
        """Move the focus to the pane's next table (after the last one, back to the pane); on the Overview, to its
        first tile."""
        pane = self._active_pane()
        if pane is None:
            return
        if isinstance(pane, OverviewPane):
            pane.focus_first_tile()
            return
        tables = [t for t in pane.query(DataTable) if t.display]
        following = tables.index(self.focused) + 1 if self.focused in tables else 0
        if following < len(tables):
            tables[following].focus()
            pane.scroll_to_widget(tables[following], animate=False, top=True)
        else:
            self.set_focus(None)

    @on(BoardTile.Opened)
    def open_detail(self, event: BoardTile.Opened) -> None:
        """Drill down: the pane of the tile's KPI scrolled to its detail (`escape` comes back to the tile), or for a
        KPI no pane details, its daily history full size."""
        section = event.kpi.split(".")[0]
        panes = self.query(f"#pane-{SHOWN_ON.get(section, section)}")
        pane = panes.first(Pane) if panes else None
        if pane is None or isinstance(pane, OverviewPane) or pane.detail_of(event.kpi) is None:
            self.push_screen(self._history_screen(event.tile.title, event.kpi))
            return
        self.drilled_from, self.detail_wanted = event.tile, event.kpi
        self.set_focus(None)  # a focused tile would bring its tab back
        self.action_show_pane(pane.id.removeprefix("pane-"))

    def _history_screen(self, title: str, kpi: str) -> HistoryScreen:
        """A KPI's last 12 months from the store (else the snapshot's trend), with its goal and alert bounds."""
        from kpitui.goals import goal_for
        from kpitui.panes.overview import board_tiles
        from kpitui.widgets.history import HistoryScreen, Threshold

        snapshot = self.snapshot
        as_of = snapshot.as_of if snapshot else self.clock().date()
        if self.store is not None:
            points = self.store.kpi_history(as_of - timedelta(days=365)).get(kpi, ())
        else:
            points = (snapshot.trends or {}).get(kpi, ()) if snapshot else ()
        thresholds = [Threshold("goal", goal)] if (goal := goal_for(self.config.goals, kpi)) is not None else []
        for rule in (r for r in self.config.alerts if r.kpi == kpi):
            bounds = (("warning", rule.above), ("warning", rule.below), ("critical", rule.critical_above),
                      ("critical", rule.critical_below))  # fmt: skip
            thresholds += [Threshold(kind, value) for kind, value in bounds if value is not None]
        spec = next((s for s in board_tiles(self.config.tiles) if s.kpi == kpi), None)
        text = (lambda v: spec.text(snapshot, v)) if spec is not None and snapshot is not None else str
        return HistoryScreen(f"{title} · last 12 months", list(points), thresholds, text)

    def action_back_to_board(self) -> None:
        """Back to the Overview tile a drill-down started from."""
        tile, self.drilled_from = self.drilled_from, None
        if tile is not None:
            self.action_show_pane("overview")
            self.call_after_refresh(tile.focus)

    def action_filter_comments(self) -> None:
        """Go to the NPS pane and focus its comment filter."""
        self.action_show_pane("nps")
        self.query_one(NpsPane).open_filter()

    def action_toggle_dark(self) -> None:
        """Switch between the dark and light variant of the theme (an ANSI theme stays ANSI, for SSH terminals)."""
        family = "ansi" if self.theme.startswith("ansi-") else "textual"
        self.theme = f"{family}-light" if self.current_theme.dark else f"{family}-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Palette entries: jump to a pane, refresh, toggle dark/light (plus Textual's theme switcher)."""
        yield from super().get_system_commands(screen)
        for pane_id, label, _ in PANES:
            yield SystemCommand(f"Go to {label}", f"Show the {label} pane", partial(self.action_show_pane, pane_id))
        yield SystemCommand("Refresh all sources", "Reload every source now", self.action_refresh_all)
        yield SystemCommand("Refresh this pane", "Reload the sources behind this pane", self.action_refresh_pane)
        yield SystemCommand("Toggle dark / light", "Switch between dark and light themes", self.action_toggle_dark)
        yield SystemCommand("Pause / resume refreshes", "Stop or restart automatic polling", self.action_toggle_pause)


def _bindings() -> list[Binding]:
    """Every key binding of the board: the app's, its tables' and the Overview tiles'."""
    from kpitui.widgets.sortable_table import SortableTable

    every = (*KpiApp.BINDINGS, *SortableTable.BINDINGS, *OverviewPane.BINDINGS, *BoardTile.BINDINGS)
    return [b for b in every if isinstance(b, Binding)]


def binding_ids() -> list[str]:
    """The ids `[keys]` can remap."""
    return [b.id for b in _bindings() if b.id]


def keymap_problems(keys: dict[str, str]) -> list[str]:
    """One line per `[keys]` id that names no binding, listing those that do."""
    known = binding_ids()
    return [
        f"[keys] {name}: no such key binding; the bindings are {', '.join(known)}"
        for name in sorted(set(keys) - set(known))
    ]
