"""Freshness you cannot miss: a source older than `[app] stale_after` refresh intervals raises its own alert,
and threshold alerts on its stale values are held, not fired (DESIGN.md section 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kpitui.config import AlertRule, Config, SourceConfig
from kpitui.metrics.alerts import crossings, freshness_alerts, hold_stale, remembered_states
from kpitui.model import AlertState, SourceStatus

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def status(minutes_ago: float, interval: float = 300.0, kind: str = "tickets") -> SourceStatus:
    return SourceStatus(type=kind, status="ok", last_success=NOW - timedelta(minutes=minutes_ago), interval=interval)


def test_a_source_older_than_three_intervals_is_stale():
    """5-minute interval: 14 min old is fresh, 16 min old is stale (3 × 5 min = 15 min); a never-loaded one too."""
    statuses = {"fresh": status(14), "old": status(16), "never": SourceStatus(type="nps", interval=300.0)}
    alerts = freshness_alerts(statuses, NOW, stale_after=3)
    assert [(a.kpi, a.state) for a in alerts] == [("sources.old", "stale")]
    assert alerts[0].value == 16 * 60 and alerts[0].threshold == 15 * 60


def test_stale_after_is_a_setting():
    alerts = freshness_alerts({"old": status(16)}, NOW, stale_after=4)
    assert alerts == ()


def test_threshold_alerts_on_a_stale_section_are_held():
    """support's source is stale: its backlog alert is held (state `stale`, never a crossing); revenue's fires."""
    alerts = (AlertState("support.backlog", 40.0, 30.0, "warning"), AlertState("revenue.mrr", 90.0, 100.0, "warning"))
    statuses = {"desk": status(60), "billing": status(1, kind="stripe")}
    held = hold_stale(alerts, statuses, NOW, stale_after=3)
    assert [(a.kpi, a.value, a.state) for a in held] == [
        ("support.backlog", 40.0, "stale"),
        ("revenue.mrr", 90.0, "warning"),
    ]
    assert [a.kpi for a in crossings({"support.backlog": "ok"}, held)] == ["revenue.mrr"]
    assert remembered_states({"support.backlog": "warning"}, held) == {
        "support.backlog": "warning",
        "revenue.mrr": "warning",
    }


def test_a_stale_source_alert_is_a_crossing_once():
    stale = (AlertState("sources.desk", 3600.0, 900.0, "stale"),)
    assert crossings({}, stale) == list(stale)
    assert crossings({"sources.desk": "stale"}, stale) == []
    assert crossings({"sources.desk": "stale"}, ()) == []  # fresh again: it leaves the list


def test_the_snapshot_lists_stale_sources_and_holds_their_alerts(tmp_path):
    from pathlib import Path

    from connectors import tickets
    from kpitui.pipeline import compute_snapshot, failed, succeeded

    path = str(Path(__file__).parent / "data" / "tickets" / "zendesk.csv")
    source = SourceConfig("support", "tickets", 300.0, {"path": path})
    config = Config(sources={"support": source}, alerts=(AlertRule(kpi="support.backlog", above=1),))
    loaded = succeeded(source, tickets.load(source.options), NOW - timedelta(hours=2))
    state = failed(loaded, source, "503 from the helpdesk")
    snap = compute_snapshot(config, {"support": state}, NOW.date(), NOW)
    assert [(a.kpi, a.state) for a in snap.alerts] == [("support.backlog", "stale"), ("sources.support", "stale")]
    assert snap.alerts[1].value == 7200.0
