"""The source status line: each source's state, age and last error."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from kpitui.durations import format_seconds
from kpitui.formatting import age, counted
from kpitui.model import SourceStatus
from kpitui.text import clean

_MARKS = {"ok": ("●", "green"), "stale": ("●", "yellow"), "error": ("●", "red"), "pending": ("○", "dim")}


class SourceStatusBar(Static):
    """One line per refresh: `● billing 2 min ago · 1 warning  ● support: 503 from api, retrying in 4m`;
    the warnings themselves (skipped rows, guessed date order) in its tooltip."""

    shown: Text | None = None  # the line on screen

    def show(
        self,
        statuses: dict[str, SourceStatus],
        now: datetime,
        intervals: dict[str, float],
        loading: set[str],
        paused: bool,
        note: str = "",
    ) -> None:
        """Redraw from the current statuses, with a closing note (how the last alert command failed)."""
        line = Text(no_wrap=True, overflow="ellipsis")
        warnings: list[str] = []
        if paused:
            line.append("⏸ paused  ", style="bold yellow")
        for name, status in statuses.items():
            mark, colour = _MARKS.get(status.status, ("●", "dim"))
            line.append(f"{mark} ", style=colour)
            line.append(clean(name, limit=30))
            if name in loading:
                line.append(" refreshing…", style="dim")
            elif status.status == "ok":
                line.append(f" {age(status.last_success, now)}", style="dim")
                if status.warnings:
                    line.append(f" · {counted(len(status.warnings), 'warning')}", style="yellow")
                    warnings.extend(f"{name}: {warning}" for warning in status.warnings)
            elif status.error:
                when = format_seconds(intervals.get(name, 0))
                line.append(f": {clean(status.error, limit=120)}, retrying in {when}", style=colour)
            line.append("   ")
        if note:
            line.append(f"! {clean(note, limit=120)}", style="yellow")
        if line != self.shown:  # an unchanged line is not drawn again (the 30-second tick, mostly)
            self.shown = line
            self.update(line)
        tooltip = Text("\n".join(clean(w, limit=300) for w in warnings)) if warnings else None
        if tooltip != self.tooltip:
            self.tooltip = tooltip
