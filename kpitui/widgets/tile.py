"""A KPI tile: title, big value, change vs the previous period, sparkline and data age."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Digits, Label, Sparkline, Static

from kpitui.formatting import DASH


class KpiTile(Vertical):
    """One headline KPI."""

    DEFAULT_CLASSES = "tile"

    def __init__(self, title: str, *, good_when_up: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.good_when_up = good_when_up

    def compose(self) -> ComposeResult:
        """Title, value (and its large figures), delta, sparkline, age."""
        yield Label(Text(self.title), classes="tile-title")
        yield Static("…", classes="tile-value")
        yield Digits("", classes="tile-digits")  # the value in large figures, on a wall screen (`-wall`)
        yield Static("", classes="tile-delta")
        yield Sparkline([], classes="tile-spark")
        yield Static("", classes="tile-age")

    def show(
        self,
        value: str,
        delta: str = "",
        direction: int = 0,
        series: list[float] | None = None,
        age: str = "",
        state: str = "",
        goal: str = "",
    ) -> None:
        """Update the tile in place (no re-mount)."""
        self.query_one(".tile-value", Static).update(Text(value))
        self.query_one(Digits).update(value)
        delta_widget = self.query_one(".tile-delta", Static)
        delta_widget.update(Text(" · ".join(part for part in (delta, goal) if part)))
        good = direction == 0 or (direction > 0) == self.good_when_up
        delta_widget.set_class(direction != 0 and good, "good")
        delta_widget.set_class(direction != 0 and not good, "bad")
        spark = self.query_one(Sparkline)
        spark.data = [v for v in (series or []) if v is not None]
        spark.display = len(spark.data) > 1
        self.show_age(age, state)

    def show_age(self, age: str, state: str = "") -> None:
        """Update only the data's age and the tile's state (the 30-second tick); an unchanged age is not redrawn
        (a label's update lays the screen out again)."""
        label = self.query_one(".tile-age", Static)
        if str(label.render()) != age:
            label.update(Text(age))
        for name in ("warning", "critical", "stale", "missing"):
            self.set_class(state == name, f"-{name}")

    def show_missing(self, age: str, state: str) -> None:
        """A dash, never a made-up number, for a KPI without data (dimmed as missing unless already stale)."""
        self.show(DASH, age=age, state=state or "missing")


class BoardTile(KpiTile, can_focus=True):
    """An Overview tile the keyboard can reach: `enter` opens the KPI's pane at its detail."""

    BINDINGS = [
        Binding("enter", "open", "Open", id="tile.open"),
        Binding("escape", "leave", "Leave tiles", id="tile.leave"),
    ]

    @dataclass
    class Opened(Message):
        """The user asked for the detail behind a tile's KPI (a snapshot JSON path)."""

        tile: BoardTile
        kpi: str

    def __init__(self, title: str, kpi: str, *, good_when_up: bool = True, id: str | None = None) -> None:
        super().__init__(title, good_when_up=good_when_up, id=id)
        self.kpi = kpi

    def action_open(self) -> None:
        """Ask for the KPI's detail."""
        self.post_message(self.Opened(self, self.kpi))

    def action_leave(self) -> None:
        """Give the focus back to the pane tabs."""
        self.screen.set_focus(None)
