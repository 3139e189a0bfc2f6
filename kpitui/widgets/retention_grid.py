"""User retention by first-visit week: one row per cohort week, one column per week since (GA4's cohort table)."""

from __future__ import annotations

from rich.text import Text

from kpitui import formatting as fmt
from kpitui.model import RetentionCohort
from kpitui.widgets.sortable_table import SortableTable

WEEKS = 9


class RetentionGrid(SortableTable):
    """The share of each first-visit week's users active in each week since."""

    DEFAULT_CSS = "RetentionGrid { max-height: 12; }"

    def on_mount(self) -> None:
        """Week, its new users and one column per week since."""
        self.add_column("First visit", key="week")
        self.add_column(Text("Users", justify="right"), key="users")
        for w in range(WEEKS):
            self.add_column(Text(f"W{w}", justify="right"), key=f"w{w}", width=5)

    def show(self, cohorts: tuple[RetentionCohort, ...]) -> None:
        """Replace the rows: the newest week last."""
        self.clear()
        for cohort in cohorts:
            cells = [Text("" if v is None else fmt.percent(v, 0), justify="right") for v in cohort.returning]
            blank = [Text("")] * (WEEKS - len(cells))
            self.add_row(cohort.week, Text(fmt.number(cohort.users), justify="right"), *cells, *blank)
        self.apply_sort()
