"""Waiting for the board in tests without sleeping."""

from __future__ import annotations

import asyncio

from textual.app import App


async def workers_done(app: App) -> None:
    """Wait until none of the app's workers runs and the board has no compute still to start (one asked for while
    another ran starts once that one's report has been taken in)."""
    while True:
        if unfinished := [worker for worker in app.workers if not worker.is_finished]:
            for worker in unfinished:
                await worker.wait()
        elif getattr(app, "computing", False):
            await asyncio.sleep(0)  # the last compute's report is queued: let the app take it in
        else:
            return
