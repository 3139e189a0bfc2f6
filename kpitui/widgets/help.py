"""The `?` help screen: every key binding and what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    """A modal list of bindings; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        """The binding table."""
        with VerticalScroll(id="help-box"):
            yield Label("kpitui — keys", id="help-title")
            text = Text()
            width = max(len(k) for k, _ in self.rows)
            for key, description in self.rows:
                text.append(key.ljust(width + 2), style="bold")
                text.append(description + "\n")
            text.append("\nMouse works too: click tabs, column headers and rows.", style="dim")
            yield Static(text)
