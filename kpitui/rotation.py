"""Kiosk rotation: which second the next pane comes, paused by any key, resumed on request (no Textual here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Rotation:
    """Show each pane `seconds` long; `tick()` once a second says when to move on."""

    seconds: int
    left: int = 0
    paused: bool = False

    def __post_init__(self) -> None:
        self.left = self.seconds

    def tick(self) -> bool:
        """One second passed: True when the next pane is due (the countdown starts again)."""
        if self.paused:
            return False
        self.left -= 1
        if self.left > 0:
            return False
        self.left = self.seconds
        return True

    def pause(self) -> None:
        """Someone is using the board: stay on this pane."""
        self.paused = True

    def resume(self) -> None:
        """Rotate again, a whole interval on this pane first."""
        self.paused, self.left = False, self.seconds

    def label(self, resume_key: str) -> str:
        """The countdown for the header."""
        return f"rotation paused · {resume_key} resumes" if self.paused else f"next pane in {self.left} s"
