"""What every pane shares: render a Snapshot in place."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual import on
from textual.containers import Grid, VerticalScroll
from textual.events import Resize
from textual.geometry import Size

from kpitui.model import Snapshot
from kpitui.text import clean


def tile_columns(tiles: int, width: int, min_width: int = 24) -> int:
    """The most columns that fit and divide the tiles evenly (or hold them all in one row)."""
    fit = max(1, width // min_width)
    return max(c for c in range(1, min(fit, tiles) + 1) if tiles % c == 0 or c == tiles)


class Pane(VerticalScroll):
    """A scrollable pane that updates its widgets from each new Snapshot."""

    SECTION = ""
    DETAILS: dict[str, str] = {}  # a KPI's snapshot path (or its start) → the id of the widget detailing it
    can_focus = False
    outdated = False  # a newer snapshot or age tick came while the pane was off screen

    def on_mount(self) -> None:
        """A pane mounted late (lazily) shows the data the board already has."""
        if self.app.snapshot is not None:
            self.show_snapshot(self.app.snapshot, self.app.clock())

    @on(Resize)
    def reflow_tiles(self, event: Resize) -> None:
        """Lay the tiles out again for the new size."""
        for grid in self.query(".tiles").results(Grid):
            self.lay_out_tiles(grid, event.size)

    def lay_out_tiles(self, grid: Grid, size: Size) -> None:
        """As many even columns as fit (at least 24 cells wide each)."""
        grid.styles.grid_size_columns = tile_columns(len(grid.children), size.width)

    def detail_of(self, kpi: str) -> str | None:
        """The id of the widget detailing a KPI: the longest path in DETAILS the KPI's path starts with."""
        found = max((path for path in self.DETAILS if kpi == path or kpi.startswith(path + ".")), key=len, default=None)
        return None if found is None else self.DETAILS[found]

    def show_detail(self, kpi: str) -> None:
        """Scroll to the widget detailing a KPI."""
        self.scroll_to_widget(self.query_one(f"#{self.detail_of(kpi)}"), animate=False, top=True)

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Update every widget from the snapshot (called on each refresh)."""
        raise NotImplementedError

    def show_ages(self, snapshot: Snapshot, now: datetime) -> None:
        """The 30-second tick: bring the data's ages up to date (by default, draw the snapshot again)."""
        self.show_snapshot(snapshot, now)

    def source_age(self, snapshot: Snapshot, now: datetime, section: str) -> tuple[str, str]:
        """`as of 2 min ago` (or `stale · 3 h ago`) for the sources feeding a section, and a tile state when stale or
        missing.

        Data is stale when its last refresh failed or it is older than `[app] stale_after` refresh intervals.
        """
        from connectors.registry import feeds
        from kpitui.formatting import age

        statuses = [s for s in snapshot.sources.values() if feeds(s.type, section)]
        if not statuses:
            return "no source configured", "missing"
        oldest = min((s.last_success for s in statuses if s.last_success), default=None)
        failed = any(s.status in ("stale", "error") for s in statuses)
        why = section_failure(snapshot, section)
        if why and not failed:  # a section no source owns failed: its sources are fine, the section says why
            return why, "stale"
        old = any(
            s.last_success is not None
            and s.interval
            and (now - s.last_success).total_seconds() > self.app.config.stale_after * s.interval
            for s in statuses
        )
        stale = failed or old
        return f"{'stale ·' if stale else 'as of'} {age(oldest, now)}", "stale" if stale else ""


def section_failure(snapshot: Snapshot, section: str) -> str:
    """`not computed: why` when the section could not be computed at this refresh, else ''."""
    why = (snapshot.failed_sections or {}).get(section)
    return f"not computed: {clean(why, limit=200)}" if why else ""


def trend(snapshot: Snapshot, kpi: str) -> tuple[list[float], float | None]:
    """A KPI's stored daily series and its value one period ago (from the history store)."""
    points = (snapshot.trends or {}).get(kpi, ())
    series = [v for _, v in points]
    cutoff = (snapshot.as_of - timedelta(days=snapshot.period_days)).isoformat()
    earlier = [v for day, v in points if day <= cutoff]
    return series, earlier[-1] if earlier else None
