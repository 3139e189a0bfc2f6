"""What every pane shares: render a Snapshot in place."""

from __future__ import annotations

from datetime import datetime

from textual.containers import VerticalScroll

from kpitui.model import Snapshot


class Pane(VerticalScroll):
    """A scrollable pane that updates its widgets from each new Snapshot."""

    SECTION = ""
    can_focus = False

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Update every widget from the snapshot (called on each refresh)."""
        raise NotImplementedError

    def source_age(self, snapshot: Snapshot, now: datetime, kind: str) -> tuple[str, str]:
        """`as of 2 min ago` for this pane's sources, and a tile state when stale or missing."""
        from kpitui.formatting import age

        statuses = [s for s in snapshot.sources.values() if s.type == kind]
        if not statuses:
            return "no source configured", "missing"
        oldest = min((s.last_success for s in statuses if s.last_success), default=None)
        state = "stale" if any(s.status in ("stale", "error") for s in statuses) else ""
        return f"as of {age(oldest, now)}", state
