"""A DataTable sorted from the keyboard (`s` next column, `S` reverse) or by clicking a header, by cell value."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.geometry import Offset
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

_NUMBER = re.compile(r"^[^\d.-]*(-?[\d,]*\.?\d+)")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")


def sort_value(cell: object) -> tuple[int, float | str]:
    """What a cell sorts by: durations (`2d 4h`, `3h 20m`) and numbers (`$1,234`, `-5.2%`) by value, text after."""
    text = (cell.plain if isinstance(cell, Text) else str(cell)).strip()
    duration = _DURATION.match(text)
    if text and duration and any(duration.groups()):
        days, hours, minutes = (int(g or 0) for g in duration.groups())
        return 0, days * 1440 + hours * 60 + minutes
    number = _NUMBER.match(text)
    if number:
        sign = -1 if text.startswith(("-", "−")) or "-$" in text[:3] else 1
        return 0, sign * abs(float(number.group(1).replace(",", "")))
    return 1, text.lower()


class SortableTable(DataTable):
    """A row-cursor table whose sort, cursor and scroll survive refills (refreshes, age ticks)."""

    BINDINGS = [
        Binding("s", "sort_next", "Sort by next column", id="table.sort"),
        Binding("S", "sort_reverse", "Reverse sort", id="table.reverse"),
        Binding("escape", "leave", "Leave table", id="table.leave"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sort_column: int | None = None
        self.sort_reverse = False
        self._kept: tuple[int, Offset] | None = None  # cursor row and scroll while the rows are refilled
        self._plain_labels: dict[ColumnKey, Text] = {}  # the column labels without the sort arrow

    def clear(self, columns: bool = False) -> SortableTable:
        """Empty the rows for a refill, remembering the cursor and scroll that `apply_sort` puts back."""
        self._kept = (self.cursor_row, self.scroll_offset)
        super().clear(columns)
        return self

    def action_sort_next(self) -> None:
        """Sort by the next column (the first one after the last)."""
        columns = len(self.ordered_columns)
        if columns:
            self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % columns
            self.sort_reverse = False
            self.apply_sort()

    def action_sort_reverse(self) -> None:
        """Reverse the current sort (sorting by the first column if none yet)."""
        if self.sort_column is None:
            self.sort_column = 0
        else:
            self.sort_reverse = not self.sort_reverse
        self.apply_sort()

    def action_leave(self) -> None:
        """Give the keys back to the pane (it scrolls again)."""
        self.screen.set_focus(None)

    def _mark_sorted_column(self) -> None:
        """An arrow after the sorted column's label: ▲ ascending, ▼ descending."""
        for index, column in enumerate(self.ordered_columns):
            label = self._plain_labels.setdefault(column.key, column.label.copy()).copy()
            if index == self.sort_column:
                label.append(" ▼" if self.sort_reverse else " ▲")
            column.label = label
            if column.auto_width:
                column.content_width = max(column.content_width, label.cell_len)
        self.refresh(layout=True)

    @on(DataTable.HeaderSelected)
    def sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; a second click reverses."""
        event.stop()
        if event.column_index == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = event.column_index, False
        self.apply_sort()

    def apply_sort(self) -> None:
        """After a refill: the user's sort, cursor row and scroll again."""
        if self.sort_column is not None and self.sort_column < len(self.ordered_columns):
            key = self.ordered_columns[self.sort_column].key
            self.sort(key, key=sort_value, reverse=self.sort_reverse)
            self._mark_sorted_column()
        if self._kept is not None and self.row_count:
            row, offset = self._kept
            self.move_cursor(row=min(row, self.row_count - 1), animate=False, scroll=False)
            self.scroll_to(offset.x, offset.y, animate=False, immediate=True)
        self._kept = None
