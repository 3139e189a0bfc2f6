"""Customers: one customer across billing, surveys, tickets and GA4: match rates, NPS and tickets by plan and MRR
band, the MRR detractors hold and the accounts at risk."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label

from kpitui import formatting as fmt
from kpitui.model import Snapshot, SourceMatch
from kpitui.panes.base import Pane, section_failure
from kpitui.text import clean
from kpitui.widgets.sortable_table import SortableTable
from kpitui.widgets.tile import KpiTile

_MATCHED = {"responses": "respondents", "tickets": "tickets", "users": "signed-in users"}


class CustomersPane(Pane):
    """Which paying accounts are unhappy, waiting on support or drifting away."""

    DETAILS = {"customers.at_risk": "cus-risk", "customers.nps_by_mrr_band": "cus-bands"}

    def compose(self) -> ComposeResult:
        """Tiles, the accounts at risk, figures by MRR band and by plan."""
        with Grid(classes="tiles"):
            yield KpiTile("MRR of detractors", id="cus-detractors")
            yield KpiTile("Accounts at risk", id="cus-count")
            yield KpiTile("Respondents matched", id="cus-responses")
            yield KpiTile("Tickets matched", id="cus-tickets")
        yield Label("Accounts at risk, largest MRR first", classes="section-title")
        yield SortableTable(id="cus-risk")
        yield Label("By MRR band", classes="section-title")
        yield SortableTable(id="cus-bands")
        yield Label("NPS by plan", classes="section-title")
        yield SortableTable(id="cus-plans")
        yield Label("", id="cus-matches", classes="note")

    def on_mount(self) -> None:
        """The tables' columns."""
        columns = {
            "cus-risk": ("Customer", "MRR", "Reasons"),
            "cus-bands": ("MRR band", "NPS", "Responses", "Tickets", "First response (median)"),
            "cus-plans": ("Plan", "NPS", "Responses"),
        }
        for table_id, labels in columns.items():
            table = self.query_one(f"#{table_id}", SortableTable)
            for label in labels:
                table.add_column(label)

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill the pane from `snapshot.customers`."""
        age, state = self.source_age(snapshot, now, "customers")
        c = snapshot.customers
        tiles = {k: self.query_one(f"#cus-{k}", KpiTile) for k in ("detractors", "count", "responses", "tickets")}
        if c is None:
            for tile in tiles.values():
                tile.show_missing(age, state)
            why = section_failure(snapshot, "customers") or "Needs a billing source and a survey, helpdesk or GA4 one."
            self.query_one("#cus-matches", Label).update(Text(why))
            return
        at_risk_mrr = sum(a.mrr for a in c.at_risk)
        tiles["detractors"].show(fmt.money(c.detractor_mrr, snapshot.currency, compact=True), age=age, state=state)
        tiles["count"].show(
            fmt.number(len(c.at_risk)), f"{fmt.money(at_risk_mrr, snapshot.currency, compact=True)} MRR", age=age,
            state=state,
        )  # fmt: skip
        for key, unit in (("responses", "responses"), ("tickets", "tickets")):
            matches = [m for m in c.matched.values() if m.unit == unit]
            if not matches:
                tiles[key].show_missing(age, state)
                continue
            matched, rows = sum(m.matched for m in matches), sum(m.rows for m in matches)
            tiles[key].show(fmt.percent(matched / rows if rows else None, 0), f"{matched:,} of {rows:,}", age=age,
                            state=state)  # fmt: skip
        self._fill(snapshot)
        self.query_one("#cus-matches", Label).update(Text(_matches(c.matched)))

    def _fill(self, snapshot: Snapshot) -> None:
        """The three tables."""
        c = snapshot.customers
        risk = self.query_one("#cus-risk", SortableTable)
        risk.clear()
        for account in c.at_risk:
            risk.add_row(
                Text(clean(account.customer, limit=40)),
                fmt.money(account.mrr, snapshot.currency),
                Text(clean(", ".join(account.reasons), limit=120)),
            )
        risk.apply_sort()
        bands = self.query_one("#cus-bands", SortableTable)
        bands.clear()
        scores, tickets = {b.band: b for b in c.nps_by_mrr_band}, {b.band: b for b in c.tickets_by_mrr_band}
        for band in dict.fromkeys([*scores, *tickets]):  # the same bands, from whichever sources there are
            nps, load = scores.get(band), tickets.get(band)
            bands.add_row(
                band,
                fmt.number(nps.score) if nps else "",
                fmt.number(nps.responses) if nps else "",
                fmt.number(load.tickets) if load else "",
                fmt.minutes(load.first_response_median) if load else "",
            )
        plans = self.query_one("#cus-plans", SortableTable)
        plans.clear()
        for plan in c.nps_by_plan:
            plans.add_row(Text(clean(plan.plan, limit=40)), fmt.number(plan.score), fmt.number(plan.responses))
        plans.apply_sort()


def _matches(matched: dict[str, SourceMatch]) -> str:
    """`survey: 127 of 454 respondents matched (3 ambiguous) · …`."""
    parts = []
    for name, m in matched.items():
        ambiguous = f" ({m.ambiguous} ambiguous)" if m.ambiguous else ""
        parts.append(f"{clean(name, limit=30)}: {m.matched:,} of {m.rows:,} {_MATCHED.get(m.unit, m.unit)} matched"
                     f"{ambiguous}")  # fmt: skip
    return " · ".join(parts)
