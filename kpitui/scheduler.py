"""When each source is polled: never two polls of one source at once, the next armed only once the last finished."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol


class Stoppable(Protocol):
    """A pending timer (Textual's `Timer`, or a test's)."""

    def stop(self) -> None:
        """Cancel it."""


SetTimer = Callable[[float, Callable[[], None]], Stoppable]


class RefreshScheduler:
    """Polls each source every `intervals[name]` seconds, counted from the end of its last poll; pausable."""

    def __init__(self, intervals: dict[str, float], start: Callable[[str], None], set_timer: SetTimer) -> None:
        self.intervals = dict(intervals)
        self._start = start
        self._set_timer = set_timer
        self.loading: set[str] = set()
        self.timers: dict[str, Stoppable] = {}
        self.paused = False

    def poll(self, name: str) -> bool:
        """Start a poll of one source now (its armed timer is dropped); False when it is already polling or unknown."""
        if name in self.loading or name not in self.intervals:
            return False
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.stop()
        self.loading.add(name)
        self._start(name)
        return True

    def finished(self, name: str) -> None:
        """A poll ended, well or not: the next is due one interval from now (unless paused)."""
        self.loading.discard(name)
        self._arm(name)

    def toggle_pause(self) -> None:
        """Stop every timer, or arm again every source not polling now."""
        self.paused = not self.paused
        if self.paused:
            self._stop_timers()
        else:
            for name in self.intervals:
                if name not in self.loading:
                    self._arm(name)

    def set_intervals(self, intervals: dict[str, float]) -> None:
        """New intervals; the waiting timers restart with them (a running poll takes its new one when it ends)."""
        self.intervals = dict(intervals)
        waiting = list(self.timers)
        self._stop_timers()
        for name in waiting:
            self._arm(name)

    def _stop_timers(self) -> None:
        for timer in self.timers.values():
            timer.stop()
        self.timers.clear()

    def _arm(self, name: str) -> None:
        if not self.paused:
            self.timers[name] = self._set_timer(self.intervals[name], partial(self.poll, name))
