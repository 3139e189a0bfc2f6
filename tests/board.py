"""Waiting for the board in tests without sleeping."""

from __future__ import annotations

import contextlib

from textual.app import App
from textual.worker import WorkerCancelled


async def workers_done(app: App) -> None:
    """Wait until none of the app's workers runs. A recompute superseded by a newer one ends cancelled, as the
    board means it to; Textual's `wait_for_complete` raises for that, so a test using it failed now and then."""
    while unfinished := [worker for worker in app.workers if not worker.is_finished]:
        for worker in unfinished:
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
