"""What the board's workers report: each a typed message, posted from the worker's thread, taken in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from kpitui.model import Snapshot
    from kpitui.pipeline import SourceState


class WorkReport(Message):
    """Something a worker finished or failed (the app's `take_report` turns each into UI state)."""


class SourceFetched(WorkReport):
    """A source's poll returned its new state."""

    def __init__(self, name: str, state: SourceState) -> None:
        super().__init__()
        self.name, self.state = name, state


class SourceFailed(WorkReport):
    """A source's poll failed; `error` is already described and redacted."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__()
        self.name, self.error = name, error


class SnapshotComputed(WorkReport):
    """The KPIs over the sources' states as they were when the compute started."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ComputeFailed(WorkReport):
    """Computing the KPIs failed."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class StoredStatesRestored(WorkReport):
    """The sources' states the store kept from the last run (empty when it kept none)."""

    def __init__(self, states: dict[str, SourceState]) -> None:
        super().__init__()
        self.states = states


class RestoreFailed(WorkReport):
    """The store could not be read."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class AlertCommandFinished(WorkReport):
    """An alert command ended: None when it succeeded, else how it failed (never the command's text)."""

    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem
