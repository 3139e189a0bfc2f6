"""DESIGN.md section 4's support rules, one worked example each, on canonical tickets and on real export layouts:
what had not happened by `end` is unknown at `as_of`, negative durations, business minutes never mixed with
calendar ones, Freshdesk's empty replies, CSAT labels, SLA warnings, reopened tickets."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from connectors import tickets as tickets_connector
from connectors.frames import conform
from kpitui.metrics.support import SupportSettings, compute_support
from tests.scans import scanned

AS_OF = date(2026, 11, 20)  # the period is [2026-10-22, 2026-11-21) UTC


def frame(rows: list[dict]) -> pd.DataFrame:
    """Canonical tickets from short dicts (times as UTC text)."""
    return conform("tickets", pd.DataFrame(rows))


BOOK = [
    # replied after 60 min, solved after 2 days, rated good
    {
        "ticket_id": "1",
        "created": "2026-11-10 10:00",
        "first_response_at": "2026-11-10 11:00",
        "solved_at": "2026-11-12 10:00",
        "status": "solved",
        "first_response_minutes": 60,
        "resolution_minutes": 2880,
        "first_response_minutes_business": 30,
        "resolution_minutes_business": 600,
        "satisfaction": 1.0,
        "priority": "normal",
    },
    # replied and solved after as_of, rated bad then: none of it is known on 11-20
    {
        "ticket_id": "2",
        "created": "2026-11-18 09:00",
        "first_response_at": "2026-11-21 09:00",
        "solved_at": "2026-11-22 09:00",
        "status": "solved",
        "first_response_minutes": 4320,
        "resolution_minutes": 5760,
        "first_response_minutes_business": 1000,
        "resolution_minutes_business": 2000,
        "satisfaction": 0.0,
        "priority": "high",
    },
    # solved on 11-06, reopened and open now: in the backlog, no resolution time; no business minutes
    {
        "ticket_id": "3",
        "created": "2026-11-05 08:00",
        "first_response_at": "2026-11-05 08:30",
        "solved_at": "2026-11-06 08:00",
        "status": "open",
        "first_response_minutes": 30,
        "resolution_minutes": 1440,
        "priority": "normal",
    },
    # a negative first reply (a data error): the ticket still counts, with its resolution and rating
    {
        "ticket_id": "4",
        "created": "2026-11-15 12:00",
        "solved_at": "2026-11-15 14:00",
        "status": "solved",
        "first_response_minutes": -5,
        "resolution_minutes": 120,
        "first_response_minutes_business": -5,
        "resolution_minutes_business": 120,
        "satisfaction": 1.0,
        "priority": "low",
    },
    # not replied yet
    {"ticket_id": "5", "created": "2026-11-19 10:00", "status": "new", "priority": "normal"},
]


def test_what_happened_after_as_of_is_unknown():
    m = compute_support(frame(BOOK), SupportSettings(30), AS_OF)
    assert m.tickets == 5
    # replies known on 11-20: 60 (1), 30 (3); 2's came later, 4's is negative, 5 has none
    assert (m.first_response_minutes.median, m.first_response_minutes.mean) == (45.0, 45.0)
    # resolutions: 2880 (1), 120 (4); 2 was solved later, 3 is open again
    assert m.resolution_minutes.median == 1500.0
    # backlog: 2 (solved only after as_of), 3 (reopened), 5
    assert m.backlog == 3
    # ratings of tickets solved before the end: 1 and 4, both good; 2's rating came with its later solve
    assert m.csat == 1.0
    assert m.invalid_durations == 1
    # open at the end (11-21 00:00), oldest first: 3 since 11-05 08:00, 2 since 11-18 09:00, 5 since 11-19 10:00
    assert [(t.ticket_id, t.age_minutes) for t in m.slowest_open] == [("3", 22_560.0), ("2", 3_780.0), ("5", 2_280.0)]


def test_the_same_book_a_week_later():
    """On 11-27 ticket 2's reply (4,320 min) and solve (5,760 min) and its bad rating are known."""
    m = compute_support(frame(BOOK), SupportSettings(30), date(2026, 11, 27))
    # 2 is solved now; 3 and 5 have aged a week (10,080 min) more
    assert [(t.ticket_id, t.age_minutes) for t in m.slowest_open] == [("3", 32_640.0), ("5", 12_360.0)]
    assert m.first_response_minutes.median == 60.0  # 30, 60, 4320
    assert m.resolution_minutes.median == 2880.0  # 120, 2880, 5760
    assert m.backlog == 2  # 3 and 5
    assert m.csat == pytest.approx(2 / 3)


EARLIER = [  # two tickets of the 30 days before the period
    {"ticket_id": "e1", "created": "2026-10-01 10:00", "first_response_at": "2026-10-01 11:40",
     "solved_at": "2026-10-01 18:20", "status": "solved", "first_response_minutes": 100, "resolution_minutes": 500,
     "priority": "normal"},
    {"ticket_id": "e2", "created": "2026-10-10 10:00", "first_response_at": "2026-10-10 13:20",
     "solved_at": "2026-10-11 01:00", "status": "solved", "first_response_minutes": 200, "resolution_minutes": 900,
     "priority": "normal"},
]  # fmt: skip


def test_the_previous_period_and_each_priority_at_two_dates():
    """The tiles' deltas compare with the 30 days before the period; each priority has its tickets, medians, breach
    rate and target (only a priority with a target is judged). On 11-20 the previous period [09-22, 10-22) holds
    e1 and e2; on 12-05 it is [10-07, 11-06): e2, and ticket 3 (reopened: no resolution), while e1 is older."""
    m = compute_support(frame(BOOK + EARLIER), SupportSettings(30, (("normal", 45.0),)), AS_OF)
    previous = (m.previous_tickets, m.previous_first_response_median, m.previous_resolution_median)
    assert previous == (2, 150.0, 700.0)
    by_priority = [(g.name, g.tickets, g.first_response_median, g.resolution_median, g.sla_breach_rate,
                    g.target_minutes) for g in m.by_priority]  # fmt: skip
    assert by_priority == [
        ("normal", 3, 45.0, 2880.0, 0.5, 45.0),  # 1: 60 (breach), 3: 30; resolved: 1 only (3 reopened, 5 open)
        ("high", 1, None, None, None, None),  # 2: its reply and solve came after as_of
        ("low", 1, None, 120.0, None, None),  # 4: a negative reply time is not used
    ]
    later = compute_support(frame(BOOK + EARLIER), SupportSettings(30, (("normal", 45.0),)), date(2026, 12, 5))
    previous = (later.previous_tickets, later.previous_first_response_median, later.previous_resolution_median)
    assert previous == (2, 115.0, 900.0)
    assert later.tickets == 4  # 1, 2, 4, 5


def test_business_minutes_are_never_mixed_with_calendar_ones():
    """Business mode: 1 (30 business minutes) counts; 3 has no business minutes and is left out, and said."""
    m = compute_support(frame(BOOK), SupportSettings(30, business=True), AS_OF)
    assert m.first_response_minutes.median == 30.0
    assert m.resolution_minutes.median == pytest.approx((600 + 120) / 2)
    assert m.without_business_minutes == 1
    assert m.minutes_basis == "business"


def test_sla_priorities_without_a_target_and_targets_without_a_priority_are_warnings():
    sla = (("normal", 45.0), ("urgent", 60.0))
    m = compute_support(frame(BOOK), SupportSettings(30, sla), AS_OF)
    assert m.sla_breach_rate == pytest.approx(1 / 2)  # normal: 60 > 45 breaches, 30 does not
    assert m.warnings == (
        "[sla] has no target for priorities high, low (they are left out of the breach rate)",
        "[sla] urgent matches no priority in the export",
    )


def test_half_open_period_in_the_sources_time_zone():
    """In Paris the period ends at 2026-11-21 00:00 local = 11-20 23:00 UTC: a ticket at 23:30 UTC is outside."""
    rows = [
        {"ticket_id": "a", "created": "2026-11-20 22:30", "status": "new"},
        {"ticket_id": "b", "created": "2026-11-20 23:30", "status": "new"},
        {"ticket_id": "c", "created": "2026-10-21 23:00", "status": "new"},  # 10-22 00:00 Paris: inside
    ]
    m = compute_support(frame(rows), SupportSettings(30, timezone="Europe/Paris"), AS_OF)
    assert (m.tickets, m.backlog) == (2, 2)
    assert m.daily[0] == ("2026-10-22", 1) and m.daily[-1] == ("2026-11-20", 1)  # local days


def _csv(tmp_path, text: str):
    path = tmp_path / "export.csv"
    path.write_text(text)
    return path


FRESHDESK_HEADER = (
    "Ticket ID,Subject,Status,Priority,Source,Created time,Resolved time,Initial response time,"
    "First response time (in hrs),Resolution time (in hrs),Survey results\n"
)


def test_freshdesk_empty_reply_is_no_reply_not_zero(tmp_path):
    """`00:00:00` business hours with an empty Initial response time: no reply. With a reply it is a real zero."""
    path = _csv(
        tmp_path,
        FRESHDESK_HEADER
        + "1,a,Open,Low,Email,2026-11-10 09:00:00,,,00:00:00,00:00:00,\n"
        + "2,b,Closed,Low,Email,2026-11-10 20:00:00,2026-11-11 10:00:00,2026-11-10 21:00:00,00:00:00,01:00:00,\n",
    )
    result = tickets_connector.load({"path": str(path)})
    t = scanned(result.frames["tickets"]).set_index("ticket_id")
    assert pd.isna(t.loc["1", "first_response_minutes_business"])
    assert t.loc["2", "first_response_minutes_business"] == 0.0
    m = compute_support(result.frames["tickets"], SupportSettings(30, business=True), AS_OF)
    assert m.first_response_minutes.median == 0.0  # only ticket 2


def test_freshdesk_csat_labels(tmp_path):
    rows = [
        "Extremely satisfied",
        "Mostly satisfied",
        "Slightly satisfied",
        "Neither satisfied nor dissatisfied",
        "Slightly dissatisfied",
        "Mostly dissatisfied",
        "Extremely dissatisfied",
        "Awesome",
        "Just okay",
        "Not good",
        "Ecstatic",
    ]
    body = "".join(
        f"{i},s,Closed,Low,Email,2026-11-10 09:00:00,2026-11-10 10:00:00,2026-11-10 09:30:00,,,{label}\n"
        for i, label in enumerate(rows, 1)
    )
    result = tickets_connector.load({"path": str(_csv(tmp_path, FRESHDESK_HEADER + body))})
    assert scanned(result.frames["tickets"])["satisfaction"].tolist()[:10] == [1.0] * 3 + [0.0] * 4 + [1.0, 0.0, 0.0]
    assert any("unknown satisfaction label 'Ecstatic'" in w for w in result.report.warnings)
    m = compute_support(result.frames["tickets"], SupportSettings(30), AS_OF)
    assert m.csat == pytest.approx(4 / 10)


def test_a_negative_duration_keeps_the_ticket(tmp_path):
    """Zendesk: a negative first reply is not used, the ticket still counts (volume, backlog, CSAT, resolution)."""
    path = _csv(
        tmp_path,
        "Id,Created at,Status,Priority,Solved at,Satisfaction Score,First reply time in minutes,"
        "Full resolution time in minutes\n"
        "1,2026-11-10 09:00:00,Solved,Normal,2026-11-10 11:00:00,Good,-30,120\n"
        "2,2026-11-11 09:00:00,Open,Normal,,,15,\n",
    )
    result = tickets_connector.load({"path": str(path)})
    assert result.report.skipped_rows == 0
    assert any("1 ticket has a negative first response minutes" in w for w in result.report.warnings)
    m = compute_support(result.frames["tickets"], SupportSettings(30), AS_OF)
    assert (m.tickets, m.backlog, m.csat, m.invalid_durations) == (2, 1, 1.0, 1)
    assert (m.first_response_minutes.median, m.resolution_minutes.median) == (15.0, 120.0)


@pytest.mark.parametrize(
    ("as_of", "tickets", "first_reply"),
    [
        (date(2026, 11, 20), 2, 15.0),  # ticket 1's reply lands at 01:00 on the 21st: unknown on the 20th
        (date(2026, 11, 21), 2, 67.5),  # known the next day: the median of 15 and 120
    ],
)
def test_a_zendesk_reply_given_in_minutes_is_dated_by_them(tmp_path, as_of, tickets, first_reply):
    """Zendesk gives the first reply as minutes after creation, not a time: the reply happened at created + minutes,
    so a backdated snapshot leaves out replies made after its end, as it does for Freshdesk's stamped ones."""
    path = _csv(
        tmp_path,
        "Id,Created at,Status,Priority,Solved at,First reply time in minutes\n"
        "1,2026-11-20 23:00:00,Open,Normal,,120\n"
        "2,2026-11-19 09:00:00,Open,Normal,,15\n",
    )
    result = tickets_connector.load({"path": str(path)})
    assert scanned(result.frames["tickets"])["first_response_at"].tolist() == [
        pd.Timestamp("2026-11-21 01:00", tz="UTC"),
        pd.Timestamp("2026-11-19 09:15", tz="UTC"),
    ]
    m = compute_support(result.frames["tickets"], SupportSettings(30), as_of)
    assert (m.tickets, m.first_response_minutes.median) == (tickets, first_reply)


def test_kpitui_check_names_sla_targets_that_match_nothing(tmp_path, capsys):
    from pathlib import Path

    from kpitui.cli import run

    data = Path(__file__).parent / "data" / "tickets" / "zendesk.csv"
    config = tmp_path / "kpitui.toml"
    config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{data}"\n[sla]\nnormal = "1h"\nvip = "5m"\n')
    run(["check", "--config", str(config)])
    out = capsys.readouterr().out
    assert "! [sla] vip matches no priority in the export" in out
    assert "! [sla] has no target for priorities high" in out


ZENDESK_SHORT = "Id,Created at,Status,Priority,Solved at,First reply time in minutes\n"


def test_the_newest_row_of_a_ticket_wins_across_a_glob_of_daily_exports(tmp_path):
    """Two daily exports: ticket 2 is open in the first and solved in the second, ticket 3 is listed twice in the
    second (the later row is the newer one). Each ticket counts once, as its last row read says."""
    (tmp_path / "tickets-1.csv").write_text(
        ZENDESK_SHORT + "1,2026-11-10 09:00,Open,Normal,,30\n2,2026-11-11 09:00,Open,Normal,,45\n"
    )
    (tmp_path / "tickets-2.csv").write_text(
        ZENDESK_SHORT + "2,2026-11-11 09:00,Solved,Normal,2026-11-12 09:00,45\n"
        "3,2026-11-12 09:00,Open,Low,,10\n3,2026-11-12 09:00,Open,High,,10\n"
    )
    result = tickets_connector.load({"path": str(tmp_path / "tickets-*.csv")})
    table = scanned(result.frames["tickets"])
    assert table[["ticket_id", "status", "priority"]].values.tolist() == [
        ["1", "open", "normal"], ["2", "solved", "normal"], ["3", "open", "high"]
    ]  # fmt: skip
    assert table["resolution_minutes"].tolist()[1] == 1440.0  # from the times: the export left it empty
    m = compute_support(result.frames["tickets"], SupportSettings(30), AS_OF)
    assert (m.tickets, m.backlog, m.resolution_minutes.median) == (3, 2, 1440.0)


def test_two_ticket_sources_count_as_one_helpdesk(tmp_path, capsys):
    """Two helpdesks (a Zendesk and a Freshdesk export) feed one Support section: their tickets add up."""
    import json

    from kpitui.cli import run

    zendesk = tmp_path / "zendesk.csv"
    zendesk.write_text(ZENDESK_SHORT + "1,2026-11-10 09:00,Open,Normal,,30\n2,2026-11-11 09:00,Open,Normal,,90\n")
    freshdesk = _csv(tmp_path, FRESHDESK_HEADER + "1,a,Open,Low,Email,2026-11-10 09:00:00,,2026-11-10 10:00:00,,,\n")
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.zendesk]\ntype = "tickets"\npath = "{zendesk}"\n'
        f'[sources.freshdesk]\ntype = "tickets"\npath = "{freshdesk}"\n'
    )
    argv = ["snapshot", "--config", str(config), "--as-of", "2026-11-20", "--format", "json"]
    assert run([*argv, "--data-dir", str(tmp_path / "data")]) == 0
    support = json.loads(capsys.readouterr().out)["support"]
    assert (support["tickets"], support["backlog"], support["first_response_minutes"]["median"]) == (3, 3, 60.0)


def test_ids_that_rise_row_by_row_are_told_in_a_sliced_column():
    """The duplicate check's shortcut reads integer ids where a column's chunk starts, also a chunk that is a
    slice of a larger buffer (its offset counts values, not bytes)."""
    import pyarrow as pa

    ids = pa.chunked_array([pa.array([9, 1, 2, 3], pa.int64()).slice(1), pa.array([4, 5], pa.int64())])
    assert tickets_connector._increasing(ids)
    assert not tickets_connector._increasing(pa.chunked_array([pa.array([9, 3, 2, 1], pa.int64()).slice(1)]))
