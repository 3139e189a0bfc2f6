"""The board driven with Pilot: navigation, every binding, failing sources and hostile text."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import DataTable, Input, TabbedContent

from kpitui.app import KpiApp
from kpitui.config import Config, SourceConfig
from kpitui.widgets.help import HelpScreen
from kpitui.widgets.status import SourceStatusBar
from kpitui.widgets.tile import KpiTile
from tests.board import workers_done
from tests.conftest import AS_OF, FROZEN

DATA = Path(__file__).parent / "data"


def app_for(config: Config) -> KpiApp:
    return KpiApp(config, as_of=AS_OF, clock=lambda: FROZEN)


async def test_number_keys_tab_and_shift_tab_switch_panes(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        tabs = app.query_one(TabbedContent)
        keys = (
            ("2", "revenue"),
            ("3", "nps"),
            ("4", "support"),
            ("5", "funnel"),
            ("6", "customers"),
            ("1", "overview"),
        )
        for key, pane in keys:
            await pilot.press(key)
            assert tabs.active == pane
        await pilot.press("tab")
        assert tabs.active == "revenue"
        await pilot.press("shift+tab", "shift+tab")
        assert tabs.active == "customers"


async def test_every_binding_has_an_id_and_is_in_the_footer(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(200, 60)):
        ids = [b.id for b in app.BINDINGS]
        assert all(ids) and len(set(ids)) == len(ids)
        shown = {b.binding.id for b in app.active_bindings.values() if b.binding.show}
        scrolling = {b.id for b in app.BINDINGS if b.id.startswith("scroll.")}
        # the pane-scrolling keys and `escape` back from a drill-down are listed by `?` (see below), not the footer
        assert set(ids) - scrolling - {"app.back"} <= shown
        assert len(scrolling) == 6  # PageDown, PageUp, End, Home, down/j, up/k


@pytest.mark.parametrize("pane", ["overview", "revenue", "nps", "support", "funnel", "customers"])
async def test_every_panes_last_row_is_reachable_by_keys_at_80x24(demo, pane):
    """No mouse over SSH: PageDown walks down, End reaches the bottom, Home goes back, arrows and j/k scroll."""
    app = app_for(demo.config)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.ready.wait()
        await pilot.press(str(["overview", "revenue", "nps", "support", "funnel", "customers"].index(pane) + 1))
        await pilot.pause()
        view = app.query_one(f"#pane-{pane}")
        if view.max_scroll_y == 0:
            return  # it fits
        await pilot.press("pagedown")
        assert 0 < view.scroll_y
        await pilot.press("end")
        assert view.scroll_y == view.max_scroll_y
        last = view.children[-1]
        assert last.region.bottom <= view.region.bottom + 1  # the last widget is on screen
        await pilot.press("k")
        assert view.scroll_y == view.max_scroll_y - 1
        await pilot.press("home")
        assert view.scroll_y == 0
        await pilot.press("down", "j")
        assert view.scroll_y == 2


async def test_a_table_is_focused_walked_and_sorted_by_keys_and_keeps_its_sort(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("4", "f")
        table = app.focused
        assert table is not None and table.id == "sup-priority"
        column = lambda i: [str(table.get_row_at(r)[i]) for r in range(table.row_count)]  # noqa: E731
        await pilot.press("s")  # by priority name
        assert column(0) == sorted(column(0))
        await pilot.press("s", "S")  # by ticket count, largest first
        counts = [int(v.replace(",", "")) for v in column(1)]
        assert counts == sorted(counts, reverse=True) and len(counts) > 1
        assert [str(c.label) for c in table.ordered_columns][:2] == ["Priority", "Tickets ▼"]
        await pilot.press("down")
        assert table.cursor_row == 1
        await pilot.press("R")  # a refresh redraws the table: the user's sort stays
        await workers_done(app)
        await pilot.pause()
        assert [int(v.replace(",", "")) for v in column(1)] == sorted(counts, reverse=True)
        app.redraw_ages()  # the 30-second tick redraws the panes: cursor and sort stay
        await pilot.pause()
        assert table.cursor_row == 1 and [int(v.replace(",", "")) for v in column(1)] == sorted(counts, reverse=True)
        await pilot.press("f")
        assert app.focused is not None and app.focused.id == "sup-channel"
        await pilot.press("escape")
        assert app.focused is None


async def test_overview_shows_real_numbers_from_the_demo(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)):
        await app.ready.wait()
        snapshot = app.snapshot
        mrr_tile = app.query_one("#tile-mrr", KpiTile)
        assert str(mrr_tile.query_one(".tile-value").render()) == f"${snapshot.revenue.mrr / 1000:.1f}k"
        backlog = app.query_one("#tile-backlog", KpiTile)
        assert str(backlog.query_one(".tile-value").render()) == str(snapshot.support.backlog)
        assert "as of just now" in str(mrr_tile.query_one(".tile-age").render())


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_customers_pane_lists_the_demos_accounts_at_risk_and_its_match_rates(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("6")
        c = app.snapshot.customers
        assert c.at_risk and c.matched["survey"].matched > 0 and c.matched["support"].matched > 0
        rows = _cells(app.query_one("#cus-risk", DataTable))
        first = c.at_risk[0]
        assert rows[0] == [first.customer, f"${first.mrr:,.0f}", ", ".join(first.reasons)]
        assert len(rows) == len(c.at_risk)
        survey = c.matched["survey"]
        tile = app.query_one("#cus-responses", KpiTile)
        assert f"{survey.matched:,} of {survey.rows:,}" in str(tile.query_one(".tile-delta").render())
        assert [r[0] for r in _cells(app.query_one("#cus-bands", DataTable))] == [
            "0–100", "100–1,000", "1,000–10,000", "10,000+"
        ]  # fmt: skip
        assert "@" not in "".join("".join(r) for r in rows)  # emails are join keys, never shown


async def test_the_funnel_pane_shows_engagement_retention_and_cost_per_channel(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("5")
        e, a = app.snapshot.engagement, app.snapshot.acquisition
        assert str(app.query_one("#fun-mau", KpiTile).query_one(".tile-value").render()) == f"{e.mau:,}"
        grid = _cells(app.query_one("#fun-retention", DataTable))
        assert [r[0] for r in grid] == [c.week for c in e.retention] and grid[0][2] == "100%"
        channels = _cells(app.query_one("#fun-channels", DataTable))
        assert [r[0] for r in channels] == [row.channel for row in a.by_channel]
        assert channels[0][1] == f"${a.by_channel[0].spend:,.0f}"


async def test_acquisition_and_engagement_tiles_can_be_chosen_and_open_the_funnel_pane(demo):
    from kpitui.config import TileChoice

    tiles = (TileChoice("acquisition.cac"), TileChoice("acquisition.ltv_to_cac"), TileChoice("engagement.stickiness"))
    app = app_for(dataclasses.replace(demo.config, tiles=tiles))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.ready.wait()
        shown = [
            (str(t.query_one(".tile-title").render()), str(t.query_one(".tile-value").render()))
            for t in app.query_one("#pane-overview").query(KpiTile)
        ]
        a, e = app.snapshot.acquisition, app.snapshot.engagement
        assert shown == [
            ("CAC", f"${a.cac:,.0f}"),  # compact only from $10k
            ("LTV:CAC", f"{a.ltv_to_cac:,.2f}"),
            ("Stickiness (DAU/MAU)", f"{e.stickiness * 100:.1f}%"),
        ]
        await pilot.press("f", "enter")
        assert app.query_one(TabbedContent).active == "funnel"


async def test_help_screen_lists_every_binding_and_closes(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        descriptions = {d for _, d in app.screen.rows}
        assert {"Overview", "Refresh", "Refresh all", "Pause", "Help", "Commands", "Quit"} <= descriptions
        assert {"Page down", "Bottom of the pane", "Next table", "Sort by next column", "Reverse sort"} <= descriptions
        assert {"Tile left", "Tile down", "Open", "Back"} <= descriptions
        assert ("PgDn", "Page down") in app.screen.rows
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_refresh_keys_reload_sources_and_pause_stops_polling(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.ready.wait()
        calls: list[str] = []
        original = app.refresh_source
        app.refresh_source = lambda name: (calls.append(name), original(name))
        requests = len(demo.server.log)
        await pilot.press("2", "r")
        await workers_done(app)
        await pilot.pause()
        assert calls == ["billing"] and len(demo.server.log) > requests
        await pilot.press("R")
        assert sorted(calls[1:]) == sorted(demo.config.sources)
        await workers_done(app)
        await pilot.pause()
        await pilot.press("p")
        assert app.scheduler.paused and not app.scheduler.timers
        await pilot.press("p")
        assert set(app.scheduler.timers) == set(demo.config.sources)


async def test_command_palette_opens(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        assert app.screen.__class__.__name__ == "CommandPalette"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Go to Revenue", "Refresh all sources", "Toggle dark / light"} <= set(titles)


async def test_quit(demo):
    app = app_for(demo.config)
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_failing_source_becomes_an_error_state_not_a_crash(tmp_path):
    config = Config(
        sources={
            "support": SourceConfig("support", "tickets", 60.0, {"path": str(DATA / "tickets/zendesk.csv")}),
            "survey": SourceConfig("survey", "nps", 60.0, {"path": str(tmp_path / "gone.csv")}),
        }
    )
    app = app_for(config)
    async with app.run_test(size=(120, 30)):
        await app.ready.wait()
        assert app.states["survey"].status.status == "error"
        status = str(app.query_one(SourceStatusBar).render())
        assert "gone.csv: no such file" in status and "retrying in 1m" in status
        assert "survey" in app.scheduler.timers  # retried later
        nps_tile = app.query_one("#tile-nps", KpiTile)
        assert str(nps_tile.query_one(".tile-value").render()) == "—"


async def test_stale_data_is_kept_when_a_refresh_fails(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes((DATA / "tickets/zendesk.csv").read_bytes())
    config = Config(sources={"support": SourceConfig("support", "tickets", 60.0, {"path": str(path)})})
    app = app_for(config)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.ready.wait()
        path.unlink()
        app.ready.clear()
        await pilot.press("R")
        await app.ready.wait()
        state = app.states["support"]
        assert state.status.status == "stale" and state.result is not None
        assert app.snapshot.support.tickets == 5


async def test_support_pane_shows_channels_and_the_helpdesk_clock():
    path = str(DATA / "tickets/zendesk.csv")
    config = Config(
        sources={"support": SourceConfig("support", "tickets", 60.0, {"path": path, "timezone": "Europe/Paris"})}
    )
    app = app_for(config)
    async with app.run_test(size=(120, 60)) as pilot:
        await app.ready.wait()
        await pilot.press("4")
        channels = app.query_one("#sup-channel", DataTable)
        rows = [[str(cell) for cell in channels.get_row_at(i)] for i in range(channels.row_count)]
        assert [row[:2] for row in rows] == [["email", "2"], ["web form", "2"], ["chat", "1"]]
        assert "hours in Europe/Paris" in str(app.query_one("#sup-heatmap").render())


async def test_support_pane_warns_of_sla_targets_that_match_nothing():
    path = str(DATA / "tickets/zendesk.csv")
    config = Config(
        sources={"support": SourceConfig("support", "tickets", 60.0, {"path": path})},
        sla_minutes={"normal": 60.0, "vip": 5.0},
    )
    app = app_for(config)
    async with app.run_test(size=(120, 60)) as pilot:
        await app.ready.wait()
        await pilot.press("4")
        notes = app.query_one("#sup-notes")
        assert notes.display
        assert "[sla] vip matches no priority in the export" in str(notes.render())


async def test_long_comments_wrap_to_the_width(tmp_path):
    words = "the export button times out on big accounts and support could not help " * 3
    survey = tmp_path / "survey.csv"
    survey.write_text(f"id,score,comment,created_at\n1,3,{words},2026-11-20 10:00\n2,9,Great,2026-11-19 10:00\n")
    config = Config(sources={"survey": SourceConfig("survey", "nps", 60.0, {"path": str(survey)})})
    app = app_for(config)
    async with app.run_test(size=(80, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("3")
        table = app.query_one("#nps-comments", DataTable)
        heights = [row.height for row in table.ordered_rows]
        width = table.columns[next(k for k in table.columns if k.value == "comment")].width
        assert heights[0] == -(-len(words.strip()) // width) > 1 and heights[1] == 1  # wrapped, not cut
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert table.ordered_rows[0].height < heights[0]  # re-wrapped to the wider screen


async def test_the_nps_pane_names_the_surveys_time_zone(tmp_path):
    """A survey source in Los Angeles: its window ends at midnight there, and the pane says so."""
    survey = tmp_path / "survey.csv"
    survey.write_text("id,score,created_at\n1,10,2026-11-20 10:00\n")
    options = {"path": str(survey), "timezone": "America/Los_Angeles"}
    app = app_for(Config(sources={"survey": SourceConfig("survey", "nps", 60.0, options)}))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.ready.wait()
        await pilot.press("3")
        summary = str(app.query_one("#nps-summary").render())
        assert summary == "last 90 days (America/Los_Angeles): 1 promoter · 0 passives · 0 detractors"


async def test_a_report_only_ga4_source_fills_the_visitor_tiles(tmp_path):
    report = tmp_path / "users.csv"
    report.write_text(
        "# Users\n# Start date: 20261101\n# End date: 20261122\nDate,Active users\n20261121,300\n20261122,500\n"
    )
    config = Config(sources={"web": SourceConfig("web", "ga4", 60.0, {"path": str(report)})})
    app = app_for(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("5")
        visitors = app.query_one("#fun-visitors", KpiTile)
        assert str(visitors.query_one(".tile-value").render()) == "27"  # 800 over the 30 days
        assert str(app.query_one("#fun-conversion", KpiTile).query_one(".tile-value").render()) == "—"


HOSTILE = [
    "[bold red]boom[/]",
    "[@click=app.quit]x[/]",
    "[link=https://evil.example]y[/link]",
    "unclosed [",
    "\x1b[2J\x1b[H cleared",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b]52;c;ZXZpbA==\x07clip",
    "\u202eevil\u202c",
    "宽字符😀" * 30,
    "a" * 5000,
    "\x00\x07\x08",
]


@contextlib.contextmanager
def hostile_board(text: str, tmp_path: Path):
    """A board whose every source carries the text: customer names, GA4 source/medium, ticket subjects,
    priorities and channels, survey comments and segments."""
    import csv
    import json

    from kpitui.config import FunnelConfig, FunnelStep
    from kpitui.demo.billing_api import BillingServer
    from kpitui.demo.billing_book import build_book

    tickets = tmp_path / "t.csv"
    with tickets.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Subject", "Status", "Priority", "Via", "Created at"])
        writer.writerow([text[:40] or "x", text, "Open", text, text, "2026-11-20 10:00"])
    survey = tmp_path / "s.csv"
    with survey.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "score", "comment", "created_at", "plan", "email"])
        writer.writerow(["1", "3", text, "2026-11-20 10:00", text, text])
    spend = tmp_path / "spend.csv"
    with spend.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([["date", "channel", "campaign", "spend"], ["2026-11-20", text, text, "10"]])
    events = tmp_path / "events.ndjson"
    stamp = int(FROZEN.timestamp() * 1_000_000) - 3_600_000_000
    params = [{"key": "source", "value": {"string_value": text}}, {"key": "medium", "value": {"string_value": text}}]
    rows = [
        {"event_timestamp": str(stamp + i), "event_name": name, "user_pseudo_id": f"u{u}", "event_params": params}
        for u in range(3)
        for i, name in enumerate(("session_start", "sign_up"))
    ]
    events.write_text("\n".join(json.dumps(r) for r in rows))
    book = build_book(6, AS_OF, customers=25)
    for customer in book.customers:
        customer["name"] = text
    server = BillingServer(book, api_key="sk_test_hostile001").start()
    billing = {"base_url": server.base_url, "api_key": "sk_test_hostile001"}
    config = Config(
        sources={
            "billing": SourceConfig("billing", "stripe", 60.0, billing),
            "web": SourceConfig("web", "ga4", 60.0, {"path": str(events)}),
            "support": SourceConfig("support", "tickets", 60.0, {"path": str(tickets)}),
            "survey": SourceConfig("survey", "nps", 60.0, {"path": str(survey)}),
            "ads": SourceConfig("ads", "spend", 60.0, {"path": str(spend)}),
        },
        fx={"eur": 1.1},
        funnel=FunnelConfig(steps=(FunnelStep("session_start", "session_start"), FunnelStep("sign_up", "sign_up"))),
    )
    try:
        yield app_for(config)
    finally:
        server.stop()


def table_cells(app: KpiApp) -> list[str]:
    """Every cell of every table on every pane."""
    return [str(c) for t in app.query(DataTable) for row in range(t.row_count) for c in t.get_row_at(row)]


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_is_shown_literally_and_never_interpreted(text, tmp_path):
    with hostile_board(text, tmp_path) as app:
        async with app.run_test(size=(100, 30)) as pilot:
            await app.ready.wait()
            for pane in "123456":
                await pilot.press(pane)
                await pilot.pause()
            assert app.is_running
            cells = table_cells(app)
            assert len(cells) > 20  # revenue movers, NPS comments, support tables and funnel breakdown
            assert not any("\x1b" in c or "\x07" in c or "\u202e" in c for c in cells)
            if text.startswith("[bold"):
                assert sum("[bold red]boom[/]" in c for c in cells) >= 4


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=80))
async def test_random_text_never_crashes_the_panes(tmp_path, text):
    with hostile_board(text, tmp_path) as app:
        async with app.run_test(size=(80, 24)) as pilot:
            await app.ready.wait()
            await pilot.press("2", "3", "4", "5", "6", "1")
            assert app.is_running
            assert not any("\x1b" in c for c in table_cells(app))


async def test_comment_filter(demo):
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("3", "slash")
        box = app.query_one("#nps-filter", Input)
        assert box.has_focus
        await pilot.press(*"slow")
        table = app.query_one("#nps-comments", DataTable)
        rows = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        assert rows and all("slow" in r.lower() for r in rows)


async def test_ansi_theme_and_dark_toggle(demo):
    app = app_for(dataclasses.replace(demo.config, theme="ansi-dark"))
    async with app.run_test(size=(80, 24)):
        assert app.theme == "ansi-dark"
        app.action_toggle_dark()
        assert app.theme == "ansi-light"  # an ANSI theme stays ANSI
        app.action_toggle_dark()
        assert app.theme == "ansi-dark"
        app.theme = "nord"
        app.action_toggle_dark()
        assert app.theme == "textual-light"


def test_the_configs_theme_list_is_textuals():
    from kpitui.config import THEMES

    assert sorted(THEMES) == sorted(app_for(Config()).available_themes)


async def test_billing_outage_keeps_last_good_data_and_recovers(tmp_path):
    """The API goes down (every request 503): the pane keeps its numbers and age, then recovers by itself."""
    from datetime import timedelta

    from kpitui.demo.billing_api import BillingServer, Fault
    from kpitui.demo.billing_book import build_book

    server = BillingServer(build_book(4, AS_OF, customers=40), api_key="sk_test_outage0001").start()
    now = [FROZEN]
    options = {"base_url": server.base_url, "api_key": "sk_test_outage0001", "max_retries": 1}
    config = Config(sources={"billing": SourceConfig("billing", "stripe", 60.0, options)}, fx={"eur": 1.1})
    app = KpiApp(config, as_of=AS_OF, clock=lambda: now[0])
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await app.ready.wait()
            mrr = app.snapshot.revenue.mrr
            server.faults.extend([Fault(503)] * 1000)
            now[0] = FROZEN + timedelta(minutes=30)
            app.ready.clear()
            await pilot.press("R")
            await app.ready.wait()
            status = app.states["billing"].status
            assert status.status == "stale" and "503 from 127.0.0.1" in status.error
            assert app.snapshot.revenue.mrr == mrr  # last good data kept
            assert "stale · 30 min ago" in str(app.query_one("#tile-mrr", KpiTile).query_one(".tile-age").render())
            assert "billing" in app.scheduler.timers  # a retry is scheduled
            server.faults.clear()
            app.ready.clear()
            app.scheduler.timers["billing"].stop()
            app.refresh_source("billing")  # what the armed timer does when it fires
            await app.ready.wait()
            assert app.states["billing"].status.status == "ok" and app.snapshot.revenue.mrr == mrr
    finally:
        server.stop()


async def test_status_line_counts_a_sources_warnings_and_lists_them():
    """Skipped rows are not only in `kpitui check`: the board says how many warnings a source has."""
    path = str(DATA / "bad/ragged.csv")
    app = app_for(Config(sources={"support": SourceConfig("support", "tickets", 60.0, {"path": path})}))
    async with app.run_test(size=(120, 30)):
        await app.ready.wait()
        bar = app.query_one(SourceStatusBar)
        assert "support just now · 2 warnings" in str(bar.render())
        assert str(bar.tooltip).splitlines() == [
            "support: 1 row(s) skipped, expected 8 fields, found 3: ragged.csv:3",
            "support: 1 row(s) skipped, expected 8 fields, found 10: ragged.csv:4",
        ]


def test_overview_tiles_fit_from_80x24_up():
    from kpitui.panes.overview import fit_tiles

    assert fit_tiles(8, 78, 18) == (4, 9, False)  # 80×24: four columns of full tiles, no scrolling
    assert fit_tiles(8, 78, 12) == (4, 5, True)  # a shorter window: compact tiles (label, value, change)
    assert fit_tiles(8, 118, 33) == (4, 16, False)  # 120×40: the tiles grow to fill the screen
    assert fit_tiles(8, 40, 12) == (2, 5, True)  # too small even compact: the Overview pages them
    assert fit_tiles(8, 198, 55) == (4, 27, False)  # 200×60: two rows of four cards, not eight tall strips


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40), (200, 60)])
async def test_every_overview_tile_is_on_screen_without_scrolling(demo, size):
    app = app_for(demo.config)
    async with app.run_test(size=size) as pilot:
        await app.ready.wait()
        await pilot.pause()
        pane = app.query_one("#pane-overview")
        assert pane.max_scroll_y == 0
        tiles = list(pane.query(KpiTile))
        assert len(tiles) == 8 and all(pane.region.contains_region(t.region) for t in tiles)
        await pilot.resize_terminal(80, 20)  # a resize lays them out again at once: compact now
        await pilot.pause()
        assert pane.max_scroll_y == 0 and all(t.has_class("-compact") for t in tiles)


async def test_the_board_shows_the_users_own_tiles(demo):
    """`[board] tiles`: short names and a snapshot path with its own label, in the user's order."""
    from kpitui.config import TileChoice

    tiles = (TileChoice("revenue.cmrr"), TileChoice("nps.score"), TileChoice("revenue.by_plan.0.mrr", "Top plan"))
    app = app_for(dataclasses.replace(demo.config, tiles=tiles))
    async with app.run_test(size=(100, 30)):
        await app.ready.wait()
        shown = [
            (str(t.query_one(".tile-title").render()), str(t.query_one(".tile-value").render()))
            for t in app.query_one("#pane-overview").query(KpiTile)
        ]
        revenue = app.snapshot.revenue
        assert shown == [
            ("CMRR", f"${revenue.cmrr / 1000:.1f}k"),
            ("NPS", f"{app.snapshot.nps.score:.0f} ±{app.snapshot.nps.margin_of_error:.0f}"),
            ("Top plan", f"${revenue.by_plan[0].mrr / 1000:.1f}k"),
        ]


async def test_keys_remap_bindings_shown_in_the_footer_and_help(demo):
    """`[keys]` gives a binding other keys (Textual keymaps): they run it, its old key no longer does, and the footer
    and `?` show the new ones."""
    from kpitui.config import parse_config

    keys = parse_config({"keys": {"refresh.pause": "f6", "app.help": "f1,h"}}).keys
    app = app_for(dataclasses.replace(demo.config, keys=keys))
    async with app.run_test(size=(200, 60)) as pilot:
        await app.ready.wait()
        footer = {key: b.binding.id for key, b in app.active_bindings.items() if b.binding.show}
        assert (footer.get("f6"), footer.get("f1"), "p" in footer) == ("refresh.pause", "app.help", False)
        await pilot.press("p")
        assert app.scheduler.paused is False
        await pilot.press("f6")
        assert app.scheduler.paused is True
        await pilot.press("h")
        assert isinstance(app.screen, HelpScreen)
        assert ("f6", "Pause") in app.screen.rows and ("f1,h", "Help") in app.screen.rows


def test_keys_name_known_bindings_and_real_keys(demo):
    from kpitui.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"\[keys\] refresh\.all: expected keys like"):
        parse_config({"keys": {"refresh.all": 5}})
    keys = parse_config({"keys": {"refresh.everything": "f5"}}).keys
    with pytest.raises(ConfigError, match=r"\[keys\] refresh\.everything: no such key binding; the bindings are "):
        app_for(dataclasses.replace(demo.config, keys=keys))


def test_rotation_counts_down_pauses_and_resumes():
    from kpitui.rotation import Rotation

    rotation = Rotation(3)
    assert [rotation.tick() for _ in range(7)] == [False, False, True, False, False, True, False]
    assert rotation.label("o") == "next pane in 2 s"
    rotation.pause()
    assert (rotation.tick(), rotation.label("o")) == (False, "rotation paused · o resumes")
    rotation.resume()
    assert (rotation.left, rotation.tick()) == (3, False)


async def test_kiosk_rotates_the_panes_and_any_key_pauses_it(demo):
    """`--rotate 3s`: the header counts down, each third second shows the next pane; a key pauses, `o` resumes."""
    app = app_for(dataclasses.replace(demo.config, rotate=3.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        app.rotation_timer.pause()  # its ticks are driven by hand from here, from the Overview
        app.action_show_pane("overview")
        app.rotation.resume()
        tabs = app.query_one(TabbedContent)
        for _ in range(2):
            app._rotation_tick()
        assert tabs.active == "overview" and app.sub_title.endswith("next pane in 1 s")
        app._rotation_tick()
        await pilot.pause()
        assert tabs.active == "revenue"
        await pilot.press("x")
        for _ in range(6):
            app._rotation_tick()
        await pilot.pause()
        assert tabs.active == "revenue" and app.sub_title.endswith("rotation paused · o resumes")
        await pilot.press("o")
        for _ in range(3):
            app._rotation_tick()
        await pilot.pause()
        assert tabs.active == "nps"


async def test_tiles_are_walked_by_arrows_and_open_their_detail(demo):
    """`f` puts the focus on the first Overview tile, the arrows move it across and down the grid (two rows of
    four at 120×40), `enter` opens the tile's pane scrolled to its detail and `escape` comes back to the tile."""
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("f")
        assert app.focused.id == "tile-mrr"
        await pilot.press("left", "up")  # the board's edge: the focus stays
        assert app.focused.id == "tile-mrr"
        await pilot.press("right", "down")
        assert app.focused.id == "tile-backlog"  # row 2, column 2 of [mrr customers nrr nps / first backlog csat conv]
        await pilot.press("enter")
        await pilot.pause()
        pane = app.query_one("#pane-support")
        table = pane.query_one("#sup-open").region
        assert app.query_one(TabbedContent).active == "support" and pane.scroll_y > 0
        assert pane.region.y <= table.y < pane.region.bottom  # the oldest open tickets are on screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "overview" and app.focused.id == "tile-backlog"
        await pilot.press("escape")  # leave the tiles: the arrows switch panes again
        assert app.focused is None or app.focused.id != "tile-backlog"
        await pilot.press("down")  # the Overview fits: `↓` steps from the tabs into the tiles
        assert app.focused.id == "tile-mrr"


def test_history_chart_rows_worked_example():
    """Three days at 0, 4 and 8 with a goal of 6, drawn 3 wide and 2 high: the scale runs from one row below the
    lowest value, −4, to 8, so a row is 6 and an eighth 0.75: bars of 5, 11 and 16 eighths. The goal (10 above
    −4) falls in the top row, drawn as a rule where no bar reaches it."""
    from kpitui.widgets.history import Threshold, chart_rows

    assert chart_rows([0, 4, 8], [Threshold("goal", 6)], 3, 2) == [("─▃█", "goal"), ("▅██", "")]
    # six days into three columns: each bar is the mean of its two days (0, 2, 4 on a scale from −4 to 4)
    assert chart_rows([0, 0, 2, 2, 4, 4], [], 3, 1) == [("▄▆█", "")]
    # fewer days than columns: each day spans its share of the width (two columns each here), not one at the left
    assert chart_rows([0, 4, 8], [Threshold("goal", 6)], 6, 2) == [("──▃▃██", "goal"), ("▅▅████", "")]


def test_history_axis_names_the_days_under_its_edges_and_middle():
    """Under a 40-column chart of five stored days (with a gap: the board did not run on the 4th), the left edge
    is the first day, the right edge the last, and the middle column (20 of 40: index 20 × 5 ÷ 40 = 2) the 3rd;
    at 30 columns the middle date would touch the first, so only the ends are shown; one day is shown alone."""
    from kpitui.widgets.history import axis_row

    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05", "2026-11-06"]
    assert axis_row(days, 40) == "2026-11-01     2026-11-03     2026-11-06"
    assert axis_row(days, 30) == "2026-11-01          2026-11-06"
    assert axis_row(days[:1], 30) == "2026-11-01".ljust(30)


async def test_a_tile_no_pane_details_opens_its_history_full_size(demo, tmp_path):
    """Paying customers has no detail on the Revenue pane: `enter` shows its 12 months from the store with the
    goal and the alert bound drawn across; `escape` comes back to the tile."""
    from datetime import timedelta

    from kpitui.config import AlertRule
    from kpitui.store import Store
    from kpitui.widgets.history import HistoryChart, HistoryScreen

    store = Store(tmp_path / "kpitui.sqlite3")
    for day in range(1, 201):  # 200 earlier days stored, all inside the chart's 12 months; today comes from the board
        store.record_kpis(AS_OF - timedelta(days=day), {"revenue.paying_customers": 250 + day % 50})
    store.record_kpis(AS_OF - timedelta(days=400), {"revenue.paying_customers": 999})  # older than 12 months
    alert = AlertRule("revenue.paying_customers", below=260)
    config = dataclasses.replace(demo.config, goals={"customers": 400.0}, alerts=(alert,))
    app = KpiApp(config, as_of=AS_OF, clock=lambda: FROZEN, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("f", "right", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        chart = app.screen.query_one(HistoryChart)
        assert len(chart.values) == 201 and max(chart.values[:-1]) == 299  # the 400-day-old value is left out
        assert chart.values[-1] == app.snapshot.revenue.paying_customers  # today's, recorded by this refresh
        legend = str(app.screen.query_one("#history-legend").render())
        assert "── goal 400" in legend and "── warning 260" in legend
        kinds = [kind for _, kind in chart_rows_of(chart)]
        assert "goal" in kinds and "warning" in kinds
        axis = chart.render().plain.splitlines()[-1]  # the dates under the bars: the first stored day to today
        assert axis.startswith((AS_OF - timedelta(days=200)).isoformat()) and axis.endswith(AS_OF.isoformat())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen) and app.focused.id == "tile-customers"


async def test_a_history_of_one_day_says_so_instead_of_drawing_one_bar(demo, tmp_path):
    """A fresh data dir holds only today's row: the screen names it and its value, and draws no chart."""
    from kpitui.store import Store
    from kpitui.widgets.history import HistoryChart, HistoryScreen

    app = KpiApp(demo.config, as_of=AS_OF, clock=lambda: FROZEN, store=Store(tmp_path / "kpitui.sqlite3"))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("f", "right", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen) and not app.screen.query(HistoryChart)
        legend = str(app.screen.query_one("#history-legend").render())
        customers = app.snapshot.revenue.paying_customers
        assert f"Only {AS_OF.isoformat()} is stored so far ({customers:,})" in legend


def chart_rows_of(chart) -> list[tuple[str, str]]:
    """The rows a history chart draws at its size on screen (above its date axis)."""
    from kpitui.widgets.history import chart_rows

    return chart_rows(chart.values, chart.thresholds, chart.size.width, chart.size.height - 1)


@pytest.mark.parametrize(("size", "wall"), [((200, 60), True), ((159, 60), False), ((120, 40), False)])
async def test_a_wall_screen_shows_the_values_in_large_figures(demo, size, wall):
    """From 160×45 the Overview draws each value in 3-row figures readable across a room (units small beside
    them); below that, in one bold line."""
    from textual.widgets import Digits

    app = app_for(demo.config)
    async with app.run_test(size=size) as pilot:
        await app.ready.wait()
        await pilot.pause()
        tile = app.query_one("#tile-backlog")
        digits, line = tile.query_one(Digits), tile.query_one(".tile-value")
        assert (digits.display, line.display) == (wall, not wall)
        assert digits.value == str(line.render()) == str(app.snapshot.support.backlog)
        if wall:
            assert digits.size.height == 3


async def test_more_tiles_than_fit_are_paged_and_say_so(demo):
    """Twenty tiles at 80×24 do not fit even compact (4 columns × 3 rows of 5 = 12 at most, a row kept for the
    page line: 4 × 3): they come in pages of 12, PgDn / PgUp turn them and the last line says which is shown."""
    from kpitui.config import TileChoice
    from kpitui.panes.overview import _TITLES, TILES

    paths = ([spec.kpi for spec in TILES] + list(_TITLES))[:20]
    app = app_for(dataclasses.replace(demo.config, tiles=tuple(TileChoice(path) for path in paths)))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.ready.wait()
        await pilot.pause()
        pane = app.query_one("#pane-overview")
        shown = lambda: [t.kpi for t in pane.query(KpiTile) if t.display]  # noqa: E731
        pager = pane.query_one("#overview-pages")
        assert len(paths) == 20 and shown() == paths[:12] and pane.max_scroll_y == 0
        assert pager.display and str(pager.render()).startswith("page 1 of 2")
        assert all(pane.region.contains_region(t.region) for t in pane.query(KpiTile) if t.display)
        await pilot.press("pagedown")
        await pilot.pause()
        assert shown() == paths[12:] and str(pager.render()).startswith("page 2 of 2")
        await pilot.press("pageup")
        await pilot.pause()
        assert shown() == paths[:12]
        await pilot.resize_terminal(120, 40)  # they all fit now: one page, no page line
        await pilot.pause()
        assert shown() == paths and not pager.display


async def test_a_cross_source_section_that_fails_says_why_on_its_pane(demo, monkeypatch):
    """The Customers and engagement figures read other sources' tables, which stay `ok` when such a section fails:
    the Customers pane said "Needs a billing source and a survey, helpdesk or GA4 one" with every source there, and
    the engagement tiles "as of 0 s ago". Now the panes name the failure, on the message line and the tiles."""
    from kpitui import pipeline
    from kpitui.metrics import customers, engagement

    def broken(*args, **kwargs):
        raise RuntimeError("injected [bold]fault[/]")

    monkeypatch.setattr(customers, "compute_customers", broken)
    monkeypatch.setattr(engagement, "compute_engagement", broken)
    for kept in ("_SECTIONS", "_LAST_GOOD"):  # no figures kept in this process from another test
        monkeypatch.setattr(pipeline, kept, {})
    app = app_for(demo.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.press("6")
        snapshot = app.snapshot
        assert snapshot.customers is None and snapshot.engagement is None
        assert all(s.status == "ok" for s in snapshot.sources.values())
        why = "not computed: unexpected RuntimeError: injected [bold]fault[/]"
        assert str(app.query_one("#cus-matches").render()) == why
        assert str(app.query_one("#cus-count", KpiTile).query_one(".tile-age").render()) == why
        await pilot.press("5")
        assert str(app.query_one("#fun-dau", KpiTile).query_one(".tile-age").render()) == why
