"""Weekday × hour heat map of ticket arrivals."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from kpitui.text import clean

_SHADES = " ░▒▓█"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class HeatMap(Widget):
    """Seven rows of 24 hourly cells, shaded by count."""

    DEFAULT_CSS = "HeatMap { height: 9; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: tuple[tuple[int, ...], ...] = ()
        self.timezone = "UTC"

    def set_grid(self, grid: tuple[tuple[int, ...], ...], timezone: str = "UTC") -> None:
        """Replace the counts (hours on the `timezone` clock) and redraw."""
        self.grid, self.timezone = grid, timezone
        self.refresh()

    def render(self) -> Text:
        """Hours across, days down; two characters per hour when there is room."""
        if not self.grid:
            return Text("no dated tickets", style="dim")
        cell = 2 if self.size.width >= 4 + 48 else 1
        top = max(max(row) for row in self.grid) or 1
        out = Text(no_wrap=True)
        out.append(
            "    " + "".join(str(h).ljust(3 * cell) for h in range(0, 24, 3)) + "\n",
            style="dim",
        )
        for day, row in zip(_DAYS, self.grid):
            out.append(f"{day} ", style="dim")
            for count in row:
                level = 0 if count == 0 else 1 + min(3, int(count / top * 4))
                out.append(_SHADES[level] * cell, style="bold")
            out.append("\n")
        out.append(f"    hours in {clean(self.timezone, limit=40)}; darkest = {top} tickets", style="dim")
        return out
