"""`kpitui screenshot`: render every pane headless and save SVGs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from kpitui.config import Config


async def save_screenshots(config: Config, as_of: date, out: Path, size: tuple[int, int]) -> list[Path]:
    """One SVG per pane, with data loaded, a clock frozen at midday of `as_of` and no animation (each pane as it
    settles, the same on every run)."""
    from kpitui.app import PANES, KpiApp

    frozen = datetime.combine(as_of, time(12, 0), tzinfo=UTC)
    app = KpiApp(config, as_of=as_of, clock=lambda: frozen, animate=False)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    async with app.run_test(size=size) as pilot:
        await app.ready.wait()
        for pane_id, _, _ in PANES:
            app.action_show_pane(pane_id)
            await pilot.pause()
            written.append(Path(app.save_screenshot(filename=f"{pane_id}.svg", path=str(out))))
    return written
