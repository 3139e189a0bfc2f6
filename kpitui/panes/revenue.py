"""Revenue: MRR, ARR, history, this month's movements, churn, the largest movers, commitments, plans, cohorts."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label, Static

from kpitui import formatting as fmt
from kpitui.model import Snapshot
from kpitui.panes.base import Pane
from kpitui.text import clean
from kpitui.widgets.bars import Bar, BarChart
from kpitui.widgets.cohort_grid import CohortGrid
from kpitui.widgets.sortable_table import SortableTable
from kpitui.widgets.tile import KpiTile

_MOVES = (
    ("new", "$success"),
    ("expansion", "$success"),
    ("reactivation", "$accent"),
    ("contraction", "$warning"),
    ("churn", "$error"),
)


class RevenuePane(Pane):
    """Everything about recurring revenue."""

    DETAILS = {
        "revenue.mrr": "rev-history",
        "revenue.movements": "rev-moves",
        "revenue.nrr": "rev-ratios",
        "revenue.by_plan": "rev-plans",
        "revenue.cohorts": "rev-cohort-logo",
    }

    def compose(self) -> ComposeResult:
        """Tiles, charts, ratios and the movers table."""
        with Grid(classes="tiles"):
            yield KpiTile("MRR", id="rev-mrr")
            yield KpiTile("ARR", id="rev-arr")
            yield KpiTile("ARPA", id="rev-arpa")
        yield Label("MRR, last 12 months", classes="section-title")
        yield BarChart(id="rev-history")
        yield Label("Movements this month", classes="section-title")
        yield BarChart(id="rev-moves")
        yield Static("", id="rev-ratios")
        yield Label("Largest movements by customer", classes="section-title")
        yield SortableTable(id="rev-movers")
        yield Label("Committed MRR", classes="section-title")
        yield Static("", id="rev-commitments")
        yield Label("MRR by plan", classes="section-title")
        yield BarChart(id="rev-plans")
        yield Label("MRR by billing interval", classes="section-title")
        yield BarChart(id="rev-intervals")
        yield Label("Cohorts: customers still paying, by month since their first payment", classes="section-title")
        yield CohortGrid("logo", id="rev-cohort-logo")
        yield Label("Cohorts: MRR as a share of the first month's", classes="section-title")
        yield CohortGrid("revenue", id="rev-cohort-revenue")

    def on_mount(self) -> None:
        """Set up the movers table's columns."""
        table = self.query_one("#rev-movers", SortableTable)
        for key, label in (
            ("name", "Customer"),
            ("kind", "Movement"),
            ("old", "Old MRR"),
            ("new", "New MRR"),
            ("delta", "Change"),
        ):
            table.add_column(label, key=key)

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill the pane from `snapshot.revenue`."""
        age, state = self.source_age(snapshot, now, "revenue")
        r, cur = snapshot.revenue, snapshot.currency
        tiles = [self.query_one(f"#rev-{k}", KpiTile) for k in ("mrr", "arr", "arpa")]
        if r is None:
            for tile in tiles:
                tile.show_missing(age, state)
            return
        prev = r.history[-2].mrr if len(r.history) > 1 else None
        series = [p.mrr for p in r.history]
        tiles[0].show(fmt.money(r.mrr, cur), *fmt.change(r.mrr, prev), series, age, state)
        tiles[1].show(fmt.money(r.arr, cur), *fmt.change(r.arr, None if prev is None else 12 * prev), None, age, state)
        tiles[2].show(fmt.money(r.arpa, cur), age=age, state=state)
        self.query_one("#rev-history", BarChart).set_bars(
            [Bar(p.month, p.mrr, fmt.money(p.mrr, cur, compact=True)) for p in r.history]
        )
        m = r.movements
        bars = [
            Bar(k, getattr(m, k), ("-" if k in ("contraction", "churn") else "+") + fmt.money(getattr(m, k), cur), s)
            for k, s in _MOVES
        ]
        bars.append(Bar("net new", m.net_new, fmt.money(m.net_new, cur), "$primary"))
        self.query_one("#rev-moves", BarChart).set_bars(bars)
        ratios = _pairs(
            ("Customer churn", fmt.percent(r.customer_churn_rate)),
            ("Gross MRR churn", fmt.percent(r.gross_mrr_churn_rate)),
            ("Net MRR churn", fmt.percent(r.net_mrr_churn_rate)),
            ("NRR", fmt.percent(r.nrr)),
            ("LTV", fmt.money(r.ltv, cur)),
            ("Quick ratio", fmt.number(r.quick_ratio, 2)),
            ("Paying customers", fmt.number(r.paying_customers)),
        )
        self.query_one("#rev-ratios", Static).update(ratios)
        self.query_one("#rev-commitments", Static).update(
            _pairs(
                ("CMRR", fmt.money(r.cmrr, cur)),
                ("MRR at risk of a scheduled cancellation", fmt.money(r.mrr_at_risk, cur)),
                ("ACV", fmt.money(r.acv, cur)),
                (f"Trial conversion ({snapshot.period_days}d)", fmt.percent(r.trial_conversion)),
            )
        )
        self.query_one("#rev-plans", BarChart).set_bars(
            [Bar(p.plan, p.mrr, f"{fmt.money(p.mrr, cur)} · {fmt.number(p.customers)} cust.") for p in r.by_plan]
        )
        self.query_one("#rev-intervals", BarChart).set_bars(
            [
                Bar(fmt.interval(i.interval), i.mrr, f"{fmt.money(i.mrr, cur)} · {fmt.number(i.customers)} cust.")
                for i in r.by_interval
            ]
        )
        for grid in self.query(CohortGrid).results(CohortGrid):
            grid.show(r.cohorts)
        table = self.query_one("#rev-movers", SortableTable)
        table.clear()
        for move in r.top_movements:
            delta = move.new_mrr - move.old_mrr
            table.add_row(
                Text(clean(move.name, limit=60)),
                move.kind,
                Text(fmt.money(move.old_mrr, cur), justify="right"),
                Text(fmt.money(move.new_mrr, cur), justify="right"),
                Text(
                    ("+" if delta >= 0 else "") + fmt.money(delta, cur),
                    justify="right",
                    style="green" if delta >= 0 else "red",
                ),
            )
        table.apply_sort()


def _pairs(*pairs: tuple[str, str]) -> Text:
    """`Label value   Label value …`, labels dim, values bold."""
    out = Text()
    for label, value in pairs:
        out.append(f"{label} ", style="dim")
        out.append(f"{value}   ", style="bold")
    return out
