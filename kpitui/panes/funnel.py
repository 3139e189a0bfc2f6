"""Funnel: step bars with conversion, overall conversion trend, source/medium breakdown, traffic; then engagement
(active users, stickiness, retention by first-visit week) and what acquisition costs per channel."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label

from kpitui import formatting as fmt
from kpitui.model import Snapshot
from kpitui.panes.base import Pane
from kpitui.text import clean
from kpitui.widgets.bars import Bar, BarChart
from kpitui.widgets.retention_grid import RetentionGrid
from kpitui.widgets.sortable_table import SortableTable
from kpitui.widgets.tile import KpiTile

_ENGAGEMENT = (("dau", "DAU"), ("wau", "WAU"), ("mau", "MAU"), ("stickiness", "Stickiness"), ("leads", "Lead velocity"))


class FunnelPane(Pane):
    """Where users drop between visit and purchase."""

    DETAILS = {
        "funnel.overall_conversion": "fun-steps",
        "funnel.breakdown": "fun-breakdown",
        "engagement": "fun-engagement",
        "acquisition": "fun-channels",
    }

    def compose(self) -> ComposeResult:
        """Tiles, the funnel, the breakdown."""
        with Grid(classes="tiles"):
            yield KpiTile("Overall conversion", id="fun-conversion")
            yield KpiTile("Visitors / day", id="fun-visitors")
            yield KpiTile("Sign-ups / day", id="fun-signups")
            yield KpiTile("Unique visitors", id="fun-users")
        yield Label("Funnel", classes="section-title", id="fun-title")
        yield BarChart(id="fun-steps")
        yield Label("By source / medium", classes="section-title")
        yield SortableTable(id="fun-breakdown")
        yield Label("Engagement", classes="section-title", id="fun-engagement")
        with Grid(classes="tiles"):
            for key, title in _ENGAGEMENT:
                yield KpiTile(title, id=f"fun-{key}")
        yield Label("Retention by first-visit week", classes="section-title")
        yield RetentionGrid(id="fun-retention")
        yield Label("Acquisition cost by channel", classes="section-title", id="fun-acquisition")
        yield SortableTable(id="fun-channels")

    def on_mount(self) -> None:
        """Columns of the breakdown and channel tables."""
        for label in ("Source", "Medium", "Entered", "Completed", "Conversion"):
            self.query_one("#fun-breakdown", SortableTable).add_column(label)
        for label in ("Channel", "Spend", "New customers", "CAC"):
            self.query_one("#fun-channels", SortableTable).add_column(label)

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill the pane from `snapshot.funnel`, `engagement` and `acquisition`."""
        self._show_engagement(snapshot, now)
        self._show_acquisition(snapshot, now)
        self._show_funnel(snapshot, now)

    def _show_engagement(self, snapshot: Snapshot, now: datetime) -> None:
        """Active users and stickiness with their daily trend, the lead velocity, the retention grid."""
        age, state = self.source_age(snapshot, now, "engagement")
        e = snapshot.engagement
        tiles = {key: self.query_one(f"#fun-{key}", KpiTile) for key, _ in _ENGAGEMENT}
        if e is None:
            for tile in tiles.values():
                tile.show_missing(age, state)
            self.query_one("#fun-retention", RetentionGrid).clear()
            return
        daily = [n for _, n in e.daily_active]
        tiles["dau"].show(fmt.number(e.dau), "", series=daily, age=age, state=state)
        tiles["wau"].show(fmt.number(e.wau), age=age, state=state)
        tiles["mau"].show(fmt.number(e.mau), age=age, state=state)
        tiles["stickiness"].show(fmt.percent(e.stickiness), "mean DAU ÷ MAU", age=age, state=state)
        leads = f"{fmt.number(e.leads)} vs {fmt.number(e.previous_leads)} {clean(e.lead_event, limit=30)}"
        tiles["leads"].show(fmt.percent(e.lead_velocity_rate), leads, age=age, state=state)
        self.query_one("#fun-retention", RetentionGrid).show(e.retention)

    def _show_acquisition(self, snapshot: Snapshot, now: datetime) -> None:
        """Spend, new customers and CAC per channel."""
        age, _ = self.source_age(snapshot, now, "acquisition")
        a = snapshot.acquisition
        title = self.query_one("#fun-acquisition", Label)
        table = self.query_one("#fun-channels", SortableTable)
        table.clear()
        if a is None:
            title.update(Text(f"Acquisition cost by channel · {age}"))
            return
        cac = fmt.money(a.cac, snapshot.currency)
        title.update(Text(f"Acquisition cost by channel · CAC {cac} · {age}"))
        for row in a.by_channel:
            table.add_row(
                Text(clean(row.channel, limit=40)),
                fmt.money(row.spend, snapshot.currency),
                fmt.number(row.new_customers),
                fmt.money(row.cac, snapshot.currency),
            )
        table.apply_sort()

    def _show_funnel(self, snapshot: Snapshot, now: datetime) -> None:
        """Tiles, step bars and the source / medium breakdown."""
        age, state = self.source_age(snapshot, now, "funnel")
        f = snapshot.funnel
        tiles = {k: self.query_one(f"#fun-{k}", KpiTile) for k in ("conversion", "visitors", "signups", "users")}
        if f is None:
            for tile in tiles.values():
                tile.show_missing(age, state)
            return
        tiles["conversion"].show(
            fmt.percent(f.overall_conversion),
            *fmt.change(f.overall_conversion, f.previous_overall_conversion, "rate"),
            [v for _, v in f.weekly],
            age,
            state,
        )
        sessions = "" if f.sessions is None else f"{fmt.number(f.sessions)} sessions"
        for key, series, note in (("visitors", f.daily_visitors, sessions), ("signups", f.daily_signups, "")):
            values = [c for _, c in series]
            mean = sum(values) / len(values) if values else None
            tiles[key].show(
                fmt.number(mean),
                note,
                series=values,
                age="pre-aggregated export" if f.preaggregated else age,
                state=state,
            )
        bars = []
        for step in f.steps:
            rate = (
                ""
                if step.conversion_from_previous is None
                else f" ({fmt.percent(step.conversion_from_previous)} of prev.)"
            )
            bars.append(Bar(step.name, step.users, f"{fmt.number(step.users)}{rate}"))
        self.query_one("#fun-steps", BarChart).set_bars(bars)
        self.query_one("#fun-title", Label).update(_title(f.provisional_after))
        month = "" if f.monthly_visitors is None else f"{fmt.number(f.monthly_visitors)} this month"
        tiles["users"].show(fmt.number(f.users), month, age=age, state=state)
        table = self.query_one("#fun-breakdown", SortableTable)
        table.clear()
        for row in f.breakdown:
            table.add_row(
                Text(clean(row.source, limit=40)),
                Text(clean(row.medium, limit=30)),
                fmt.number(row.entered),
                fmt.number(row.completed),
                fmt.percent(row.conversion),
            )
        table.apply_sort()


def _title(provisional_after: str | None) -> str:
    """The funnel's title, saying when its last days may still change."""
    if provisional_after is None:
        return "Funnel"
    since = datetime.fromisoformat(provisional_after).strftime("%b %-d %H:%M UTC")
    return f"Funnel · provisional since {since} (GA4 still rewrites the last 72 hours)"
