"""NPS: the score with its margin, the 0–10 distribution, the trend and what people said."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, Static
from textual.widgets.data_table import ColumnKey

from kpitui import formatting as fmt
from kpitui.model import NpsComment, Snapshot
from kpitui.panes.base import Pane
from kpitui.text import clean
from kpitui.widgets.bars import Bar, BarChart
from kpitui.widgets.sortable_table import SortableTable
from kpitui.widgets.tile import KpiTile

_FIXED_COLUMNS = (("Score", 5), ("Date", 10), ("Segment", 12))


def _group_style(score: int) -> str:
    return "$success" if score >= 9 else "$warning" if score >= 7 else "$error"


class NpsPane(Pane):
    """Net Promoter Score."""

    DETAILS = {"nps.score": "nps-distribution", "nps.comments": "nps-comments"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.comments: tuple[NpsComment, ...] = ()

    def compose(self) -> ComposeResult:
        """Score tile, distribution, segments, comments with a filter."""
        with Grid(classes="tiles"):
            yield KpiTile("NPS", id="nps-score")
            yield KpiTile("Responses", id="nps-responses")
        yield Static("", id="nps-summary")
        yield Label("Scores 0–10", classes="section-title")
        yield BarChart(id="nps-distribution")
        yield Label("Comments, detractors first (/ to filter)", classes="section-title")
        yield Input(placeholder="filter comments…", id="nps-filter")
        yield SortableTable(id="nps-comments")

    def on_mount(self) -> None:
        """Columns of the comment table; the filter starts hidden."""
        table = self.query_one("#nps-comments", SortableTable)
        for label, width in _FIXED_COLUMNS:
            table.add_column(label, key=label.lower(), width=width)
        table.add_column("Comment", key="comment", width=self._comment_width())
        self.query_one("#nps-filter", Input).display = False

    def _comment_width(self) -> int:
        """What is left of the screen's width for the comment column (comments wrap inside it)."""
        table = self.query_one("#nps-comments", SortableTable)
        used = sum(width for _, width in _FIXED_COLUMNS) + 2 * table.cell_padding * (len(_FIXED_COLUMNS) + 1)
        return max(20, self.app.size.width - used - 6)

    def on_resize(self) -> None:
        """Re-wrap the comments to the new width."""
        table = self.query_one("#nps-comments", SortableTable)
        column = table.columns[ColumnKey("comment")]
        if column.width != self._comment_width():
            self._fill_comments()

    def open_filter(self) -> None:
        """Show and focus the comment filter."""
        box = self.query_one("#nps-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#nps-filter")
    def refilter(self) -> None:
        """Re-list comments matching the filter text."""
        self._fill_comments()

    def _fill_comments(self) -> None:
        needle = self.query_one("#nps-filter", Input).value.strip().lower()
        table = self.query_one("#nps-comments", SortableTable)
        table.clear()
        table.columns[ColumnKey("comment")].width = self._comment_width()
        for c in self.comments:
            text = clean(c.comment, limit=300)
            if needle and needle not in text.lower() and needle not in c.segment.lower():
                continue
            colour = "green" if c.score >= 9 else "yellow" if c.score >= 7 else "red"
            table.add_row(
                Text(str(c.score), style=colour),
                c.responded_at.strftime("%Y-%m-%d") if c.responded_at else "",
                Text(clean(c.segment, limit=30)),
                Text(text),
                height=None,
            )
        table.apply_sort()

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill the pane from `snapshot.nps`."""
        age, state = self.source_age(snapshot, now, "nps")
        n = snapshot.nps
        score_tile = self.query_one("#nps-score", KpiTile)
        count_tile = self.query_one("#nps-responses", KpiTile)
        if n is None or n.score is None:
            score_tile.show_missing(age, state)
            count_tile.show_missing(age, state)
            return
        margin = f" ±{n.margin_of_error:.0f}" if n.margin_of_error is not None else ""
        score_tile.show(
            f"{n.score:.0f}{margin}",
            *fmt.change(n.score, n.previous_score, "points"),
            [p.score for p in n.history],
            age,
            state,
        )
        count_tile.show(fmt.number(n.responses), series=[p.responses for p in n.history], age=age, state=state)
        summary = Text()
        zone = "" if n.timezone == "UTC" else f" ({clean(n.timezone, limit=40)})"
        window = f"last {n.window_days} days{zone}" if n.windowed else "whole export (no dates)"
        summary.append(f"{window}: ", style="dim")
        summary.append(fmt.counted(n.promoters, "promoter"), style="green")
        summary.append(f" · {fmt.counted(n.passives, 'passive')} · ")
        summary.append(fmt.counted(n.detractors, "detractor"), style="red")
        if n.change_is_significant is not None:
            summary.append(
                "  change is " + ("beyond" if n.change_is_significant else "within") + " the margin of error",
                style="dim",
            )
        for name, score, count in n.segments[:4]:
            summary.append(f"\n{clean(name, limit=30)}: {fmt.number(score)} ({count})", style="dim")
        self.query_one("#nps-summary", Static).update(summary)
        self.query_one("#nps-distribution", BarChart).set_bars(
            [Bar(str(i), v, fmt.number(v), _group_style(i)) for i, v in enumerate(n.distribution)]
        )
        self.comments = n.comments
        self._fill_comments()
