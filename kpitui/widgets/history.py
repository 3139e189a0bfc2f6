"""A KPI's daily history, full size: bars of its stored values with its goal and alert thresholds drawn across."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, Static

_EIGHTHS = " ▁▂▃▄▅▆▇█"
_LINE_STYLES = {"goal": "green", "warning": "yellow", "critical": "red"}


@dataclass(frozen=True)
class Threshold:
    """A level drawn across the chart: the goal, or an alert's warning or critical bound."""

    kind: str  # goal, warning or critical
    value: float


def chart_rows(values: list[float], thresholds: list[Threshold], width: int, height: int) -> list[tuple[str, str]]:
    """The chart as `height` rows of `width` cells, top first, each with the threshold it draws ('' for none):
    the values averaged into one bar per column (oldest left), in eighths of a row, on a scale from one row
    below the lowest of values and thresholds (so the lowest bar still shows) to the highest; a threshold's row
    is a rule where no bar reaches it (and is drawn in the threshold's colour)."""
    if not values or width < 1 or height < 1:
        return [(" " * max(width, 0), "")] * max(height, 0)
    columns = [values[len(values) * c // width : max(len(values) * (c + 1) // width, len(values) * c // width + 1)]
               for c in range(min(width, len(values)))]  # fmt: skip
    bars = [sum(chunk) / len(chunk) for chunk in columns]
    levels = bars + [t.value for t in thresholds]
    low, high = min(levels), max(levels)
    low -= ((high - low) or abs(high) or 1.0) / height
    span = high - low
    eighths = [round((bar - low) / span * height * 8) for bar in bars]
    rules = {min(height - 1, int((t.value - low) / span * height)): t.kind for t in thresholds}
    rows = []
    for row in range(height - 1, -1, -1):
        cells = []
        for filled in eighths:
            part = min(max(filled - row * 8, 0), 8)
            cells.append(_EIGHTHS[part] if part or row not in rules else "─")
        rows.append(("".join(cells).ljust(width), rules.get(row, "")))
    return rows


class HistoryChart(Widget):
    """Bars of a KPI's daily values with its thresholds, filling the widget."""

    def __init__(self, values: list[float], thresholds: list[Threshold], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values, self.thresholds = values, thresholds

    def render(self) -> Text:
        """The chart at the widget's size."""
        text = Text()
        for cells, kind in chart_rows(self.values, self.thresholds, self.size.width, self.size.height):
            text.append(cells + "\n", style=_LINE_STYLES.get(kind, "bold blue"))
        return text


class HistoryScreen(ModalScreen[None]):
    """A KPI's last 12 months from the store, full size; `escape` returns to the board."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="history.close")]

    def __init__(self, title: str, points: list[tuple[str, float]], thresholds: list[Threshold],
                 text: Callable[[float], str]) -> None:  # fmt: skip
        super().__init__()
        self.title_text, self.points, self.thresholds, self.text = title, points, thresholds, text

    def compose(self) -> ComposeResult:
        """Title, chart, its range and what each rule is."""
        with Vertical(id="history-box"):
            yield Label(Text(self.title_text), id="history-title")
            if not self.points:
                yield Static("No daily history stored yet: kpitui records each KPI once a day it runs.")
                return
            yield HistoryChart([v for _, v in self.points], self.thresholds, id="history-chart")
            values = [v for _, v in self.points]
            summary = (
                f"{self.points[0][0]} … {self.points[-1][0]} · {len(values)} days · "
                f"low {self.text(min(values))} · high {self.text(max(values))} · now {self.text(values[-1])}"
            )
            rules = "   ".join(f"── {t.kind} {self.text(t.value)}" for t in self.thresholds)
            yield Static(Text(summary + (f"\n{rules}" if rules else "")), id="history-legend")
