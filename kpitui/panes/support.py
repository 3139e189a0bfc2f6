"""Support: response and resolution times, SLA, load by day and hour, oldest open tickets."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label, Sparkline, Static

from kpitui import formatting as fmt
from kpitui.model import GroupStats, Snapshot
from kpitui.panes.base import Pane
from kpitui.text import clean
from kpitui.widgets.heatmap import HeatMap
from kpitui.widgets.sortable_table import SortableTable
from kpitui.widgets.tile import KpiTile


class SupportPane(Pane):
    """Helpdesk KPIs."""

    DETAILS = {
        "support.first_response_minutes": "sup-priority",
        "support.resolution_minutes": "sup-priority",
        "support.sla_breach_rate": "sup-priority",
        "support.tickets": "sup-daily-title",
        "support.backlog": "sup-open",
    }

    def compose(self) -> ComposeResult:
        """Tiles, per-priority and per-channel tables, daily volume, heat map, oldest open tickets."""
        with Grid(classes="tiles"):
            yield KpiTile("First response (median)", good_when_up=False, id="sup-first")
            yield KpiTile("Resolution (median)", good_when_up=False, id="sup-resolution")
            yield KpiTile("SLA breaches", good_when_up=False, id="sup-sla")
            yield KpiTile("Backlog", good_when_up=False, id="sup-backlog")
        yield Label("By priority", classes="section-title")
        yield Static("", id="sup-notes")
        yield SortableTable(id="sup-priority")
        yield Label("By channel", classes="section-title")
        yield SortableTable(id="sup-channel")
        yield Label("Tickets per day", classes="section-title", id="sup-daily-title")
        yield Sparkline([], id="sup-daily")
        yield Label("When tickets arrive (weekday × hour)", classes="section-title")
        yield HeatMap(id="sup-heatmap")
        yield Label("Oldest open tickets", classes="section-title")
        yield SortableTable(id="sup-open")

    def on_mount(self) -> None:
        """Columns of both tables."""
        for label in ("Priority", "Tickets", "First resp.", "Resolution", "Target", "Breaches"):
            self.query_one("#sup-priority", SortableTable).add_column(label)
        for label in ("Channel", "Tickets", "First resp.", "Resolution", "Breaches"):
            self.query_one("#sup-channel", SortableTable).add_column(label)
        for label in ("Ticket", "Priority", "Age", "Subject"):
            self.query_one("#sup-open", SortableTable).add_column(label)

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill the pane from `snapshot.support`."""
        age, state = self.source_age(snapshot, now, "support")
        s = snapshot.support
        tiles = {k: self.query_one(f"#sup-{k}", KpiTile) for k in ("first", "resolution", "sla", "backlog")}
        if s is None:
            for tile in tiles.values():
                tile.show_missing(age, state)
            return
        note = "" if s.has_created else "no created time in the export"
        tiles["first"].show(
            fmt.minutes(s.first_response_minutes.median),
            *fmt.change(s.first_response_minutes.median, s.previous_first_response_median),
            [p.first_response_median for p in s.history],
            note or age,
            state,
        )
        tiles["resolution"].show(
            fmt.minutes(s.resolution_minutes.median),
            *fmt.change(s.resolution_minutes.median, s.previous_resolution_median),
            None,
            f"P90 {fmt.minutes(s.resolution_minutes.p90)}",
            state,
        )
        breach_state = next((a.state for a in snapshot.alerts if a.kpi == "support.sla_breach_rate"), "")
        tiles["sla"].show(
            fmt.percent(s.sla_breach_rate),
            age=f"CSAT {fmt.percent(s.csat)}",
            state=breach_state if breach_state in ("warning", "critical") else state,
        )
        tiles["backlog"].show(
            fmt.number(s.backlog), age=f"{fmt.number(s.tickets)} tickets in {snapshot.period_days}d", state=state
        )
        notes = list(s.warnings)
        if s.without_business_minutes:
            notes.append(
                f"{fmt.number(s.without_business_minutes)} replied tickets have no business minutes: "
                "left out of the business-hours figures"
            )
        notes_widget = self.query_one("#sup-notes", Static)
        notes_widget.update(Text("\n".join(f"! {clean(n, limit=200)}" for n in notes), style="yellow"))
        notes_widget.display = bool(notes)
        self._fill_groups(self.query_one("#sup-priority", SortableTable), s.by_priority, with_target=True)
        self._fill_groups(self.query_one("#sup-channel", SortableTable), s.by_channel, with_target=False)
        self.query_one("#sup-daily", Sparkline).data = [c for _, c in s.daily]
        if s.daily:
            self.query_one("#sup-daily-title", Label).update(
                Text(f"Tickets per day, {s.daily[0][0]} → {s.daily[-1][0]} (max {max(c for _, c in s.daily)})")
            )
        self.query_one("#sup-heatmap", HeatMap).set_grid(s.heatmap, s.timezone)
        open_table = self.query_one("#sup-open", SortableTable)
        open_table.clear()
        for t in s.slowest_open:
            open_table.add_row(
                Text(clean(t.ticket_id, limit=20)),
                Text(clean(t.priority, limit=12)),
                fmt.minutes(t.age_minutes),
                Text(clean(t.subject, limit=120)),
            )
        open_table.apply_sort()

    @staticmethod
    def _fill_groups(table: SortableTable, groups: tuple[GroupStats, ...], *, with_target: bool) -> None:
        """One row per priority or channel; breach rates over 10 % in red."""
        table.clear()
        for g in groups:
            breach = fmt.percent(g.sla_breach_rate)
            style = "red" if (g.sla_breach_rate or 0) > 0.1 else "green" if g.sla_breach_rate is not None else ""
            target = (fmt.minutes(g.target_minutes),) if with_target else ()
            table.add_row(
                Text(clean(g.name, limit=20)),
                fmt.number(g.tickets),
                fmt.minutes(g.first_response_median),
                fmt.minutes(g.resolution_median),
                *target,
                Text(breach, style=style),
            )
        table.apply_sort()
