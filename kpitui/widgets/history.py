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
    the values averaged into one bar per column (oldest left; with fewer values than columns each spans its share
    of the width), in eighths of a row, on a scale from one row
    below the lowest of values and thresholds (so the lowest bar still shows) to the highest; a threshold's row
    is a rule where no bar reaches it (and is drawn in the threshold's colour)."""
    if not values or width < 1 or height < 1:
        return [(" " * max(width, 0), "")] * max(height, 0)
    bars = []
    for column in range(width):
        drawn = _drawn_in(len(values), column, width)
        bars.append(sum(values[i] for i in drawn) / len(drawn))
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


def _drawn_in(count: int, column: int, width: int) -> range:
    """The indices of the values (of `count`) a column of a chart `width` wide draws: its share, at least one."""
    first = count * column // width
    return range(first, max(count * (column + 1) // width, first + 1))


def axis_row(days: list[str], width: int) -> str:
    """The dates under a chart of these days' values: the first at its left edge, the last at its right, and the
    day drawn in the middle column between them where it fits with a space either side."""
    row = [" "] * width
    labels = [(0, days[0])]
    if len(days) > 1:
        labels.append((width - len(days[-1]), days[-1]))
        middle = days[_drawn_in(len(days), width // 2, width)[0]]
        start = width // 2 - len(middle) // 2
        if len(days[0]) < start and start + len(middle) < width - len(days[-1]):
            labels.append((start, middle))
    for start, label in labels:
        row[max(start, 0) : max(start, 0) + len(label)] = label
    return "".join(row)[:width].ljust(width)


class HistoryChart(Widget):
    """Bars of a KPI's daily values with its thresholds, filling the widget, and their dates beneath."""

    def __init__(self, points: list[tuple[str, float]], thresholds: list[Threshold], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days, self.values = [d for d, _ in points], [v for _, v in points]
        self.thresholds = thresholds

    def render(self) -> Text:
        """The chart at the widget's size, its last row the date axis."""
        text = Text()
        for cells, kind in chart_rows(self.values, self.thresholds, self.size.width, self.size.height - 1):
            text.append(cells + "\n", style=_LINE_STYLES.get(kind, "bold blue"))
        text.append(axis_row(self.days, self.size.width), style="dim")
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
            if len(self.points) < 2:  # one bar would fill the chart and say nothing
                (day, value), *_ = self.points or [("", None)]
                so_far = f"Only {day} is stored so far ({self.text(value)}). " if value is not None else ""
                yield Static(Text(f"{so_far}kpitui records each KPI once a day it runs; the chart fills in as the "
                                  "days pass."), id="history-legend")  # fmt: skip
                return
            yield HistoryChart(self.points, self.thresholds, id="history-chart")
            values = [v for _, v in self.points]
            summary = (
                f"{self.points[0][0]} … {self.points[-1][0]} · {len(values)} days stored · "
                f"low {self.text(min(values))} · high {self.text(max(values))} · now {self.text(values[-1])}"
            )
            rules = "   ".join(f"── {t.kind} {self.text(t.value)}" for t in self.thresholds)
            yield Static(Text(summary + (f"\n{rules}" if rules else "")), id="history-legend")
