"""The Textual board: panes, bindings, and the per-source refresh loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import partial

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from kpitui.config import Config
from kpitui.model import Snapshot
from kpitui.panes.base import Pane
from kpitui.panes.funnel import FunnelPane
from kpitui.panes.nps import NpsPane
from kpitui.panes.overview import OverviewPane
from kpitui.panes.revenue import RevenuePane
from kpitui.panes.support import SupportPane
from kpitui.widgets.help import HelpScreen
from kpitui.widgets.status import SourceStatusBar

PANES: tuple[tuple[str, str, type[Pane], str | None], ...] = (
    ("overview", "Overview", OverviewPane, None),
    ("revenue", "Revenue", RevenuePane, "stripe"),
    ("nps", "NPS", NpsPane, "nps"),
    ("support", "Support", SupportPane, "tickets"),
    ("funnel", "Funnel", FunnelPane, "ga4"),
)
SOURCE_WORKER = "source:"


def utc_now() -> datetime:
    """The wall clock in UTC (tests pass a frozen clock instead)."""
    return datetime.now(UTC)


class KpiApp(App[None]):
    """kpitui's board."""

    CSS_PATH = "app.tcss"
    TITLE = "kpitui"
    BINDINGS = [
        *(
            Binding(str(i), f"show_pane('{pane_id}')", label, id=f"pane.{pane_id}")
            for i, (pane_id, label, _, _) in enumerate(PANES, start=1)
        ),
        Binding("tab", "cycle_pane(1)", "Next pane", id="pane.next", priority=True),
        Binding("shift+tab", "cycle_pane(-1)", "Prev pane", id="pane.previous", priority=True),
        Binding("r", "refresh_pane", "Refresh", id="refresh.pane"),
        Binding("R", "refresh_all", "Refresh all", id="refresh.all"),
        Binding("p", "toggle_pause", "Pause", id="refresh.pause"),
        Binding("slash", "filter_comments", "Filter comments", id="nps.filter"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+p", "command_palette", "Commands", id="app.commands"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    snapshot: reactive[Snapshot | None] = reactive(None, init=False)
    paused: reactive[bool] = reactive(False)

    def __init__(self, config: Config, as_of: date | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__()
        from kpitui.pipeline import pending

        self.config = config
        self.fixed_as_of = as_of
        self.clock = clock
        self.states = {name: pending(source) for name, source in config.sources.items()}
        self.loading: set[str] = set()
        self.timers: dict[str, Timer] = {}
        self.ready = asyncio.Event()

    @property
    def as_of(self) -> date:
        """The reference date: fixed by --as-of, else today (UTC)."""
        return self.fixed_as_of or self.clock().date()

    def compose(self) -> ComposeResult:
        """Header, status line, the five panes, footer."""
        yield Header()
        yield SourceStatusBar(id="status")
        with TabbedContent(id="panes"):
            for pane_id, label, pane_class, _ in PANES:
                with TabPane(label, id=pane_id):
                    yield pane_class(id=f"pane-{pane_id}")
        yield Footer()

    def on_mount(self) -> None:
        """Apply the theme, then start every source after the first frame is painted."""
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        self._show_status()
        self.set_interval(30, self._show_status)
        self.call_after_refresh(self.action_refresh_all)

    # refresh loop -----------------------------------------------------------------------------

    def refresh_source(self, name: str) -> None:
        """Load one source in a thread unless it is already loading (refreshes never overlap)."""
        if name in self.loading or name not in self.config.sources:
            return
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.stop()
        from kpitui.pipeline import load_source

        self.loading.add(name)
        self._show_status()
        self.run_worker(
            partial(load_source, self.config.sources[name]),
            name=SOURCE_WORKER + name,
            group="sources",
            thread=True,
            exit_on_error=False,
        )

    def _arm(self, name: str) -> None:
        """Schedule the next poll of a source, only after the previous one finished."""
        if not self.paused:
            self.timers[name] = self.set_timer(self.config.sources[name].refresh, partial(self.refresh_source, name))

    def _recompute(self) -> None:
        from kpitui.pipeline import compute_snapshot

        job = partial(compute_snapshot, self.config, dict(self.states), self.as_of, self.clock())
        self.run_worker(job, name="compute", group="compute", thread=True, exclusive=True, exit_on_error=False)

    @on(Worker.StateChanged)
    def worker_finished(self, event: Worker.StateChanged) -> None:
        """The one place where worker results and errors become UI state."""
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if worker.name.startswith(SOURCE_WORKER):
            from kpitui.pipeline import describe_error, failed, succeeded

            name = worker.name.removeprefix(SOURCE_WORKER)
            source = self.config.sources[name]
            previous = self.states.get(name)
            if state == WorkerState.SUCCESS:
                self.states[name] = succeeded(previous, source, worker.result, self.clock())
            else:
                self.states[name] = failed(previous, source, describe_error(worker.error))
            self.loading.discard(name)
            self._arm(name)
            self._show_status()
            self._recompute()
        elif worker.name == "compute":
            if state == WorkerState.SUCCESS:
                self.snapshot = worker.result
            else:
                self.notify(f"could not compute the KPIs: {worker.error!r}"[:200], severity="error", markup=False)

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        """Hand the new snapshot to every pane (they update in place)."""
        if snapshot is None:
            return
        now = self.clock()
        for pane in self.query(Pane):
            pane.show_snapshot(snapshot, now)
        self._show_status()
        if not self.loading:
            self.ready.set()

    def _show_status(self) -> None:
        statuses = {name: state.status for name, state in self.states.items()}
        intervals = {name: s.refresh for name, s in self.config.sources.items()}
        self.query_one(SourceStatusBar).show(statuses, self.clock(), intervals, self.loading, self.paused)

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
        kind = dict((p[0], p[3]) for p in PANES)[self.query_one(TabbedContent).active]
        for name, source in self.config.sources.items():
            if kind is None or source.type == kind:
                self.refresh_source(name)

    def action_refresh_all(self) -> None:
        """Refresh every source now."""
        for name in self.config.sources:
            self.refresh_source(name)

    def action_toggle_pause(self) -> None:
        """Stop or resume the automatic refreshes."""
        self.paused = not self.paused
        if self.paused:
            for timer in self.timers.values():
                timer.stop()
            self.timers.clear()
        else:
            for name in self.config.sources:
                if name not in self.loading:
                    self._arm(name)
        self._show_status()

    def action_help(self) -> None:
        """Show every binding."""
        rows = [(b.key_display or b.key, b.description) for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(rows))

    def action_filter_comments(self) -> None:
        """Go to the NPS pane and focus its comment filter."""
        self.action_show_pane("nps")
        self.query_one(NpsPane).open_filter()

    def action_toggle_dark(self) -> None:
        """Switch between the dark and light variant of the theme."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Palette entries: jump to a pane, refresh, toggle dark/light (plus Textual's theme switcher)."""
        yield from super().get_system_commands(screen)
        for pane_id, label, _, _ in PANES:
            yield SystemCommand(f"Go to {label}", f"Show the {label} pane", partial(self.action_show_pane, pane_id))
        yield SystemCommand("Refresh all sources", "Reload every source now", self.action_refresh_all)
        yield SystemCommand("Refresh this pane", "Reload the sources behind this pane", self.action_refresh_pane)
        yield SystemCommand("Toggle dark / light", "Switch between dark and light themes", self.action_toggle_dark)
        yield SystemCommand("Pause / resume refreshes", "Stop or restart automatic polling", self.action_toggle_pause)
