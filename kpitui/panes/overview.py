"""Overview: one tile per headline KPI."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import Resize

from kpitui import formatting as fmt
from kpitui.model import Snapshot
from kpitui.panes.base import Pane
from kpitui.widgets.tile import KpiTile

TILES = (
    ("mrr", "MRR", True),
    ("customers", "Paying customers", True),
    ("nrr", "NRR (12 mo)", True),
    ("nps", "NPS", True),
    ("first_response", "First response (median)", False),
    ("backlog", "Backlog", False),
    ("csat", "CSAT", True),
    ("conversion", "Funnel conversion", True),
)


class OverviewPane(Pane):
    """The board's front page."""

    def compose(self) -> ComposeResult:
        """A grid of tiles."""
        with Grid(id="overview-grid"):
            for key, title, up in TILES:
                yield KpiTile(title, good_when_up=up, id=f"tile-{key}")

    @on(Resize)
    def reflow(self, event: Resize) -> None:
        """Four columns on wide terminals, two on narrow ones."""
        columns = 4 if event.size.width >= 110 else 2
        self.query_one("#overview-grid", Grid).styles.grid_size_columns = columns

    def _tile(self, key: str) -> KpiTile:
        return self.query_one(f"#tile-{key}", KpiTile)

    def _state(self, snapshot: Snapshot, kpi: str, fallback: str) -> str:
        for alert in snapshot.alerts:
            if alert.kpi == kpi and alert.state in ("warning", "critical"):
                return alert.state
        return fallback

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill every tile; a missing section shows a dash, never a made-up number."""
        cur = snapshot.currency
        age, state = self.source_age(snapshot, now, "stripe")
        r = snapshot.revenue
        if r is not None:
            prev = r.history[-2].mrr if len(r.history) > 1 else None
            self._tile("mrr").show(
                fmt.money(r.mrr, cur, compact=True),
                *fmt.change(r.mrr, prev),
                [p.mrr for p in r.history],
                age,
                self._state(snapshot, "revenue.mrr", state),
            )
            self._tile("customers").show(fmt.number(r.paying_customers), age=age, state=state)
            self._tile("nrr").show(fmt.percent(r.nrr), age=age, state=self._state(snapshot, "revenue.nrr", state))
        else:
            for key in ("mrr", "customers", "nrr"):
                self._tile(key).show(fmt.DASH, age=age, state=state or "missing")
        age, state = self.source_age(snapshot, now, "nps")
        n = snapshot.nps
        if n is not None and n.score is not None:
            margin = f" ±{n.margin_of_error:.0f}" if n.margin_of_error is not None else ""
            self._tile("nps").show(
                f"{n.score:.0f}{margin}",
                *fmt.change(n.score, n.previous_score, "points"),
                [p.score for p in n.history],
                age,
                self._state(snapshot, "nps.score", state),
            )
        else:
            self._tile("nps").show(fmt.DASH, age=age, state=state or "missing")
        age, state = self.source_age(snapshot, now, "tickets")
        s = snapshot.support
        if s is not None:
            median = s.first_response_minutes.median
            self._tile("first_response").show(
                fmt.minutes(median),
                *fmt.change(median, s.previous_first_response_median),
                [p.first_response_median for p in s.history],
                age,
                self._state(snapshot, "support.first_response_minutes.median", state),
            )
            self._tile("backlog").show(
                fmt.number(s.backlog), age=age, state=self._state(snapshot, "support.backlog", state)
            )
            self._tile("csat").show(fmt.percent(s.csat), age=age, state=self._state(snapshot, "support.csat", state))
        else:
            for key in ("first_response", "backlog", "csat"):
                self._tile(key).show(fmt.DASH, age=age, state=state or "missing")
        age, state = self.source_age(snapshot, now, "ga4")
        f = snapshot.funnel
        if f is not None:
            self._tile("conversion").show(
                fmt.percent(f.overall_conversion),
                *fmt.change(f.overall_conversion, f.previous_overall_conversion, "rate"),
                [v for _, v in f.weekly],
                age,
                self._state(snapshot, "funnel.overall_conversion", state),
            )
        else:
            self._tile("conversion").show(fmt.DASH, age=age, state=state or "missing")
