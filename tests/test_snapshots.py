"""Visual snapshots of every pane at 80×24, 120×40 and 200×60 (a wall screen), demo data, frozen clock."""

from __future__ import annotations

import dataclasses

import pytest

from kpitui.app import PANES, KpiApp
from tests.conftest import AS_OF, FROZEN


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
@pytest.mark.parametrize("pane", [p[0] for p in PANES])
def test_pane_snapshot(snap_compare, demo, pane, size):
    app = KpiApp(demo.config, as_of=AS_OF, clock=lambda: FROZEN)

    async def ready(pilot) -> None:
        await pilot.app.ready.wait()
        pilot.app.action_show_pane(pane)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_a_focused_overview_tile_has_a_ring(snap_compare, demo):
    """The tile the arrows moved to (`f`, right, down: Backlog) stands out; the footer offers `enter` to open it."""
    app = KpiApp(demo.config, as_of=AS_OF, clock=lambda: FROZEN)

    async def ready(pilot) -> None:
        await pilot.app.ready.wait()
        await pilot.press("f", "right", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=ready)


def test_the_kiosk_header_counts_down_to_the_next_pane(snap_compare, demo):
    """`--rotate 30s` on a wall screen: the header says when the next pane comes (the countdown is held at its
    start here, its timer stopped, so the picture does not depend on how long the board took to fill)."""
    app = KpiApp(dataclasses.replace(demo.config, rotate=30.0), as_of=AS_OF, clock=lambda: FROZEN)

    async def ready(pilot) -> None:
        await pilot.app.ready.wait()
        pilot.app.rotation_timer.stop()
        await pilot.press("o", "o")  # pause, then resume: a whole interval on this pane
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 45), run_before=ready)
