"""The board under `kpitui serve`: Textual's web driver, bound to the server that started it."""

from __future__ import annotations

from textual.drivers.web_driver import WebDriver
from textual.messages import ExitApp


class SessionWebDriver(WebDriver):
    """Leaves when its input from the server ends without a goodbye: the server stopped or died, and no one can see
    or close this board any more (Textual's own driver would keep drawing into the void)."""

    def run_input_thread(self) -> None:
        """Read the server's packets; at their end, unless the board is already closing, exit."""
        try:
            super().run_input_thread()
        finally:
            if not self.exit_event.is_set():
                self._app.post_message(ExitApp())
