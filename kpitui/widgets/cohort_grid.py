"""A cohort retention grid: one row per first-paid month, one column per month since; young cells greyed."""

from __future__ import annotations

from typing import Literal

from rich.text import Text

from kpitui import formatting as fmt
from kpitui.model import Cohort
from kpitui.widgets.sortable_table import SortableTable

MONTHS = 12


class CohortGrid(SortableTable):
    """Logo or revenue retention of each cohort, as percentages."""

    DEFAULT_CSS = "CohortGrid { max-height: 15; }"

    def __init__(self, kind: Literal["logo", "revenue"], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind

    def on_mount(self) -> None:
        """Cohort, its size and one column per month since its first payment."""
        self.add_column("Cohort", key="month")
        self.add_column(Text("Cust.", justify="right"), key="customers")
        for m in range(MONTHS):
            self.add_column(Text(f"M{m}", justify="right"), key=f"m{m}", width=5)

    def show(self, cohorts: tuple[Cohort, ...]) -> None:
        """Replace the rows: newest cohort last, as the months run."""
        self.clear()
        for cohort in cohorts:
            cells = getattr(cohort, self.kind)
            self.add_row(
                cohort.month,
                Text(fmt.number(cohort.customers), justify="right"),
                *(_cell(v) for v in cells[:MONTHS]),
                key=cohort.month,
            )
        self.apply_sort()


def _cell(value: float | None) -> Text:
    """`94%`, or a dim dot where the month has not happened (or the cohort is empty)."""
    if value is None:
        return Text("·", style="dim", justify="right")
    return Text(f"{value * 100:.0f}%", justify="right")
