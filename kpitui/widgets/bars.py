"""Horizontal bar chart drawn with block characters, labelled and escaped."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from kpitui.text import clean

_EIGHTHS = " ▏▎▍▌▋▊▉█"


@dataclass(frozen=True)
class Bar:
    """One labelled bar; `style` colours it."""

    label: str
    value: float
    text: str
    style: str = "$primary"


class BarChart(Widget):
    """Bars scaled to the widest value; the widget's width sets the bar length."""

    DEFAULT_CSS = "BarChart { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.bars: tuple[Bar, ...] = ()

    def set_bars(self, bars: list[Bar]) -> None:
        """Replace the bars and redraw."""
        self.bars = tuple(bars)
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        """One line per bar (at least one, for the empty message)."""
        return max(len(self.bars), 1)

    def render(self) -> Text:
        """Label, bar, value text per line."""
        if not self.bars:
            return Text("no data", style="dim")
        label_width = min(max(len(clean(b.label, limit=40)) for b in self.bars), 22)
        text_width = max(len(b.text) for b in self.bars)
        room = max(self.size.width - label_width - text_width - 3, 4)
        top = max((abs(b.value) for b in self.bars), default=0) or 1
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, bar in enumerate(self.bars):
            eighths = round(abs(bar.value) / top * room * 8)
            body = "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")
            style = self.app.get_css_variables().get(bar.style[1:], "") if bar.style.startswith("$") else bar.style
            out.append(clean(bar.label, limit=40)[:label_width].ljust(label_width) + " ")
            out.append(body.ljust(room), style=style)
            out.append(" " + bar.text.rjust(text_width))
            if i < len(self.bars) - 1:
                out.append("\n")
        return out
