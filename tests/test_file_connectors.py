"""Ticket, survey and GA4 connectors on real export layouts, with hand-checked figures."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import files, ga4, nps, tickets
from connectors.base import ConnectorError
from connectors.frames import conform
from connectors.scan import TableScan
from connectors.sql_text import DATE_ORDER_HINT
from kpitui.cli import run
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import compute_funnel
from kpitui.metrics.funnel_reports import funnel_from_steps, with_report_traffic
from kpitui.metrics.nps import compute_nps
from kpitui.metrics.support import SupportSettings, compute_support
from kpitui.model import SupportPoint
from tests.scans import scanned

DATA = Path(__file__).parent / "data"
SLA = (("urgent", 60.0), ("high", 240.0), ("normal", 1440.0), ("low", 2880.0))


def test_zendesk_export_worked_example():
    result = tickets.load({"path": str(DATA / "tickets/zendesk.csv"), "timezone": "Europe/Paris"})
    assert result.report.layout == "Zendesk"
    assert [(s.line, s.reason) for s in result.report.skipped] == [
        (8, "missing ticket id"),
        (9, "unreadable 'Created at' date"),
    ]
    frame = scanned(result.frames["tickets"])
    assert frame.loc[0, "created"] == pd.Timestamp("2026-11-02 08:00", tz="UTC")  # 09:00 Paris
    m = compute_support(frame, SupportSettings(30, SLA), date(2026, 11, 20))
    # first replies 30, 90, 300, 15 → median 60, P90 90 + 0.7 × 210 = 237, mean 108.75
    assert (m.first_response_minutes.median, m.first_response_minutes.p90) == (60.0, pytest.approx(237.0))
    assert m.first_response_minutes.mean == pytest.approx(108.75)
    # full resolutions of solved tickets 120, 1440, 120 → median 120, P90 120 + 0.8 × 1320 = 1176
    assert (m.resolution_minutes.median, m.resolution_minutes.p90) == (120.0, pytest.approx(1176.0))
    assert m.sla_breach_rate == pytest.approx(1 / 4)  # only the high ticket (300 > 240)
    assert (m.backlog, m.csat, m.tickets) == (2, 0.5, 5)
    assert [t.ticket_id for t in m.slowest_open] == ["103", "105"]
    assert m.reopen_rate == pytest.approx(1 / 3)  # solved 101, 102, 104 with 0, 1, 0 reopens
    assert (len(m.history), m.history[0].month, m.history[-1]) == (12, "2025-12", SupportPoint("2026-11", 5, 60.0))
    assert all((p.tickets, p.first_response_median) == (0, None) for p in m.history[:-1])
    assert (m.daily[0], m.daily[-1], len(m.daily)) == (("2026-10-22", 0), ("2026-11-20", 0), 30)
    assert [d for d, n in m.daily if n] == ["2026-11-02", "2026-11-03", "2026-11-10", "2026-11-12", "2026-11-14"]
    hours = lambda grid: {(day, hour) for day, row in enumerate(grid) for hour, n in enumerate(row) if n}  # noqa: E731
    assert hours(m.heatmap) == {(0, 8), (1, 9), (1, 7), (3, 13), (5, 6)}  # UTC
    # on the helpdesk's clock (Paris, UTC+1 in November): Mon 9h, Tue 10h and 8h, Thu 14h, Sat 7h
    local = compute_support(frame, SupportSettings(30, SLA, timezone="Europe/Paris"), date(2026, 11, 20))
    assert hours(local.heatmap) == {(0, 9), (1, 10), (1, 8), (3, 14), (5, 7)}
    assert [
        (g.name, g.tickets, g.first_response_median, g.resolution_median, g.sla_breach_rate) for g in m.by_channel
    ] == [
        ("email", 2, 90.0, 1440.0, 0.0),
        ("web form", 2, 22.5, 120.0, 0.0),
        ("chat", 1, 300.0, 120.0, 1.0),
    ]


def test_fast_and_careful_reads_agree(tmp_path, monkeypatch):
    """A clean file is read with types in one pass; one bad row sends it through the careful path: same tickets."""
    text = (DATA / "tickets/zendesk.csv").read_text().replace("Export fails\non big files", "Export fails")
    lines = text.splitlines(keepends=True)
    clean = tmp_path / "clean.csv"
    clean.write_text("".join(line for line in lines if "No id row" not in line and "Bad date" not in line))
    messy = tmp_path / "messy.csv"
    messy.write_text(clean.read_text() + lines[-1])
    careful = tickets.load({"path": str(messy), "timezone": "Europe/Paris"})
    assert [s.reason for s in careful.report.skipped] == ["unreadable 'Created at' date"]
    monkeypatch.setattr(files._ArrowReader, "careful", None)  # the clean file must not need it
    fast = tickets.load({"path": str(clean), "timezone": "Europe/Paris"})
    assert scanned(fast.frames["tickets"])["created"].notna().all()
    pd.testing.assert_frame_equal(scanned(fast.frames["tickets"]), scanned(careful.frames["tickets"]))


def test_freshdesk_business_hours_and_timestamps():
    result = tickets.load({"path": str(DATA / "tickets/freshdesk.csv")})
    assert result.report.layout == "Freshdesk/Freshservice"
    frame = scanned(result.frames["tickets"]).set_index("ticket_id")
    assert frame.loc["1", "first_response_minutes_business"] == 60.0  # 01:00:00
    assert frame.loc["1", "first_response_minutes"] == 60.0  # recomputed from Initial response time
    assert frame.loc["2", "first_response_minutes"] == 210.0
    assert frame.loc["2", "resolution_minutes"] == 1440.0
    calendar = compute_support(result.frames["tickets"], SupportSettings(30), date(2026, 11, 20))
    assert calendar.sla_breach_rate == pytest.approx(1 / 2)  # the export's own SLA flags
    business = compute_support(result.frames["tickets"], SupportSettings(30, business=True), date(2026, 11, 20))
    # ticket 2 has no business minutes: left out, never mixed with its 210 calendar minutes (DESIGN.md §4)
    assert (business.first_response_minutes.median, business.without_business_minutes) == (60.0, 1)


def test_customer_support_dataset_has_no_created_time():
    result = tickets.load({"path": str(DATA / "tickets/customer_support_dataset.csv")})
    assert result.report.layout == "Customer Support Ticket Dataset"
    assert "no created time" in result.report.warnings[0]
    m = compute_support(result.frames["tickets"], SupportSettings(30), date(2026, 11, 20))
    assert (m.tickets, m.has_created, m.first_response_minutes.median) == (3, False, None)
    assert m.csat == pytest.approx(1 / 2)  # 4.0 is satisfied, 2.0 is not


def test_column_override_and_unknown_layout(tmp_path):
    path = tmp_path / "custom.csv"
    path.write_text("Ref;Opened on;Answered\nA1;2026-11-01 10:00;2026-11-01 10:30\n")
    result = tickets.load(
        {"path": str(path), "columns": {"ticket_id": "Ref", "created": "Opened on", "first_response_at": "Answered"}}
    )
    assert scanned(result.frames["tickets"]).loc[0, "first_response_minutes"] == 30.0
    path.write_text("foo,bar\n1,2\n")
    with pytest.raises(ConnectorError, match=r"custom\.csv: no ticket id column; found: foo, bar"):
        tickets.load({"path": str(path)})


def test_surveymonkey_two_header_rows():
    result = nps.load({"path": str(DATA / "nps/surveymonkey.csv")})
    assert result.report.columns_used["score"].startswith("How likely")
    assert {s.reason for s in result.report.skipped} == {"no score", "score is not a whole number 0–10"}
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    assert (m.score, m.promoters, m.passives, m.detractors) == (25.0, 2, 1, 1)
    assert m.margin_of_error == pytest.approx(1.96 * 100 * (0.6875 / 4) ** 0.5)
    assert m.comments[0].score == 3  # detractors first


def test_surveymonkey_numerical_value_export_holds_choice_positions():
    """SurveyMonkey's "numerical value" export writes the choice position (1–11), not the score: 11, 11, 10, 8, 4,
    1, 11, 9 are the scores 10, 10, 9, 7, 3, 0, 10, 8 → 4 promoters, 2 passives, 2 detractors, NPS 25. Three 11s and
    no 0 tell it apart from an export of scores (where 11 is an error); the report says how it was read."""
    result = nps.load({"path": str(DATA / "nps/surveymonkey_numerical.csv")})
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    assert (m.responses, m.promoters, m.passives, m.detractors, m.score) == (8, 4, 2, 2, 25.0)
    assert result.report.skipped == []
    assert any("choice positions 1–11" in w and 'score_values = "scores"' in w for w in result.report.warnings)
    as_scores = nps.load({"path": str(DATA / "nps/surveymonkey_numerical.csv"), "score_values": "scores"})
    assert [s.reason for s in as_scores.report.skipped] == ["score is not a whole number 0–10"] * 3
    assert not any("positions" in w for w in as_scores.report.warnings)


def test_a_single_score_of_11_is_an_error_with_a_hint_not_a_reason_to_shift_every_score():
    """surveymonkey.csv has one 11 among five scores and no 0: too few to be sure of positions, so the 11 is
    skipped, the scores stand, and a warning says how to read the export as positions if it is one."""
    result = nps.load({"path": str(DATA / "nps/surveymonkey.csv")})
    assert compute_nps(result.frames["responses"], date(2026, 11, 20)).score == 25.0
    assert [w for w in result.report.warnings if "positions" in w] == [
        'surveymonkey.csv: 1 response scores 11 and none 0: if this is SurveyMonkey\'s "numerical value" export '
        '(choice positions 1–11), set score_values = "positions"'
    ]
    forced = nps.load({"path": str(DATA / "nps/surveymonkey.csv"), "score_values": "positions"})
    m = compute_nps(forced.frames["responses"], date(2026, 11, 20))
    assert (m.promoters, m.passives, m.detractors) == (2, 1, 2)  # 10, 9, 7, 3, 11 read as 9, 8, 6, 2, 10


def test_qualtrics_three_header_rows():
    result = nps.load({"path": str(DATA / "nps/qualtrics.csv")})
    assert result.report.columns_used["score"] == "Q1"
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    assert (m.responses, m.score) == (3, pytest.approx(100 * (1 - 2) / 3))


def test_export_without_dates_is_scored_as_a_whole():
    result = nps.load({"path": str(DATA / "nps/r_written_no_dates.csv")})
    assert "no response dates" in result.report.warnings[0]
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    assert (m.responses, m.score, m.windowed, m.history) == (2, 50.0, False, ())


def test_delighted_worked_example():
    result = nps.load({"path": str(DATA / "nps/delighted.csv")})
    assert [(s.line, s.reason) for s in result.report.skipped] == [
        (11, "no score"),
        (12, "score is not a whole number 0–10"),
    ]
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    # window (Aug 22, Nov 20]: 10, 9, 3, 7, 0, 10 → 3 promoters, 1 passive, 2 detractors
    assert (m.responses, m.promoters, m.passives, m.detractors) == (6, 3, 1, 2)
    assert m.score == pytest.approx(100 / 6)
    # 1.96 × 100 × sqrt((p + d − (p − d)²) / n) with p = 1/2, d = 1/3, n = 6
    assert m.margin_of_error == pytest.approx(196 * ((5 / 6 - 1 / 36) / 6) ** 0.5)
    assert (m.previous_score, m.change_is_significant) == (-100.0, True)  # 2 and 4 in the window before
    assert m.distribution == (1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2)
    history = {p.month: (p.score, p.responses) for p in m.history}
    assert (len(m.history), m.history[0].month) == (12, "2025-12")  # October 2025 is outside
    assert history["2026-11"] == (pytest.approx(100 / 3), 3)
    assert (history["2026-10"], history["2026-09"], history["2026-07"]) == ((0.0, 1), (0.0, 2), (-100.0, 1))
    assert history["2026-08"] == (None, 0)
    assert m.segments == (("Pro", pytest.approx(100 / 3), 3), ("Starter", 0.0, 2), ("Business", 0.0, 1))
    # detractors first (newest first), then passives, then promoters; blank comments left out
    assert [(c.score, c.comment, c.segment) for c in m.comments] == [
        (3, "Too slow", "Pro"),
        (0, "Hate the <b>UI</b>, [red]x[/]", "Starter"),
        (7, "ok", "Business"),
        (10, "Love it", "Pro"),
    ]
    assert (m.windowed, m.window_days) == (True, 90)


def _epoch(text: str) -> int:
    """Seconds since the epoch of a UTC time written `YYYY-MM-DD HH:MM`."""
    return int(datetime.fromisoformat(text + "+00:00").timestamp())


def test_survey_window_and_months_are_the_sources_time_zone(tmp_path, capsys):
    """`timezone` on a survey source sets its window and months (DESIGN.md: the midnight after `as_of` in the
    source's zone). In Los Angeles on 2026-11-20 the 90-day window is [08-23 07:00, 11-21 08:00) UTC."""
    answers = [
        ("a", "2026-11-21 05:00", 10),  # 11-20 21:00 in LA: in the window (after midnight UTC)
        ("b", "2026-11-21 09:00", 0),  # 11-21 01:00 in LA: after as_of's day
        ("c", "2026-08-23 06:00", 3),  # 08-22 23:00 in LA: before the window, in the one before it
        ("d", "2026-10-01 12:00", 9),
        ("f", "2026-11-01 03:00", 7),  # 10-31 20:00 in LA: October's
    ]
    export = tmp_path / "delighted.csv"
    export.write_text("id,score,created_at\n" + "".join(f"{i},{n},{_epoch(t)}\n" for i, t, n in answers))
    responses = nps.load({"path": str(export), "timezone": "America/Los_Angeles"}).frames["responses"]
    m = compute_nps(responses, date(2026, 11, 20), timezone="America/Los_Angeles")
    # a, d, f: promoters 10 and 9, passive 7
    assert (m.responses, m.promoters, m.passives, m.detractors, m.score) == (3, 2, 1, 0, pytest.approx(200 / 3))
    assert m.previous_score == -100.0  # c alone
    history = {p.month: (p.score, p.responses) for p in m.history}
    assert (history["2026-08"], history["2026-10"], history["2026-11"]) == ((-100.0, 1), (50.0, 2), (100.0, 1))
    config = tmp_path / "kpitui.toml"
    config.write_text(f'[sources.survey]\ntype = "nps"\npath = "{export}"\ntimezone = "America/Los_Angeles"\n')
    assert run(["snapshot", "--config", str(config), "--as-of", "2026-11-20", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)["nps"]
    assert (shown["responses"], shown["previous_score"]) == (3, -100.0)


@pytest.mark.parametrize("extra", ["", "3,soon,open\n"])  # an unreadable date: the column is read as text
def test_a_ticket_time_column_named_utc_is_read_as_utc(tmp_path, extra):
    """A helpdesk in Paris whose export names its creation column `(UTC)`: 2026-11-20 23:30 is UTC (00:30 on
    11-21 in Paris), not Paris time."""
    export = tmp_path / "tickets.csv"
    export.write_text(f"Id,Created (UTC),Status\n1,2026-11-20 23:30,open\n2,2026-11-20 10:00,open\n{extra}")
    options = {"path": str(export), "timezone": "Europe/Paris", "columns": {"created": "Created (UTC)"}}
    created = scanned(tickets.load(options).frames["tickets"])["created"].astype(str)
    assert list(created) == ["2026-11-20 23:30:00+00:00", "2026-11-20 10:00:00+00:00"]


@pytest.mark.parametrize("extra", ["", "c,5,completed,soon\n"])  # an unreadable date: the column is read as text
def test_a_date_column_named_utc_is_read_as_utc_whatever_the_sources_zone(tmp_path, extra):
    """Typeform writes `Submit Date (UTC)`: with `timezone = "America/Los_Angeles"` (for the window's days) its
    2026-11-21 05:00:00 is still 05:00 UTC, the evening of 11-20 in Los Angeles: in the window ending 11-20."""
    export = tmp_path / "typeform.csv"
    export.write_text(
        "#,How likely are you to recommend us?,Response Type,Submit Date (UTC)\n"
        f"a,10,completed,2026-11-21 05:00:00\nb,0,completed,2026-11-21 09:00:00\n{extra}"
    )
    result = nps.load({"path": str(export), "timezone": "America/Los_Angeles"})
    assert list(scanned(result.frames["responses"])["responded_at"].astype(str)) == [
        "2026-11-21 05:00:00+00:00",
        "2026-11-21 09:00:00+00:00",
    ]
    m = compute_nps(result.frames["responses"], date(2026, 11, 20), timezone="America/Los_Angeles")
    assert (m.responses, m.score) == (1, 100.0)  # a; b is 01:00 on 11-21 in Los Angeles


@pytest.mark.parametrize(
    ("as_of", "window", "previous", "november", "comments", "segments"),
    [
        # window [18 Aug, 16 Nov): 3, 7, 0, 10 → 1 promoter, 2 detractors; before it 2 and 4; the replies of 18
        # and 19 November are unknown on the 15th, in the window and in November's point alike
        (
            date(2026, 11, 15),
            (4, 1, 1, 2, -25.0),
            -100.0,
            (-100.0, 1),
            [3, 0, 7],
            (("Pro", 0.0, 2), ("Business", 0.0, 1), ("Starter", -100.0, 1)),
        ),
        # window [21 Aug, 19 Nov): 9 (18 Nov), 3, 7, 0, 10; 10 of 19 November is the next day's
        (
            date(2026, 11, 18),
            (5, 2, 1, 2, 0.0),
            -100.0,
            (0.0, 2),
            [3, 0, 7],
            (("Pro", 0.0, 2), ("Starter", 0.0, 2), ("Business", 0.0, 1)),
        ),
    ],
)
def test_delighted_at_earlier_dates(as_of, window, previous, november, comments, segments):
    """A backdated NPS is what the board showed that day: nothing stamped on or after the midnight after as_of."""
    m = compute_nps(nps.load({"path": str(DATA / "nps/delighted.csv")}).frames["responses"], as_of)
    assert (m.responses, m.promoters, m.passives, m.detractors, m.score) == window
    assert m.previous_score == previous
    assert {p.month: (p.score, p.responses) for p in m.history}["2026-11"] == november
    assert [c.score for c in m.comments] == comments
    assert m.segments == segments


def test_typed_and_text_survey_reads_agree(tmp_path, monkeypatch):
    """Whole-number scores and Unix times are read typed; a score that is not a number sends the file through text."""
    clean = tmp_path / "clean.csv"
    clean.write_text((DATA / "nps/delighted.csv").read_text())
    messy = tmp_path / "messy.csv"
    messy.write_text(
        clean.read_text() + "12,lu@x.example,8.5,half,1793520000,Pro\n13,mo@x.example,ten,,1793520000,Pro\n"
    )
    monkeypatch.setattr(files._ArrowReader, "careful", None)  # neither file needs the careful pass
    typed, text = nps.load({"path": str(clean)}), nps.load({"path": str(messy)})
    assert [(s.line, s.reason) for s in text.report.skipped][-2:] == [
        (13, "score is not a whole number 0–10"),
        (14, "score is not a whole number 0–10"),
    ]
    responses = scanned(typed.frames["responses"])
    assert responses["score"].tolist()[:2] == [10, 9]
    assert responses["responded_at"].iloc[0] == pd.Timestamp("2026-11-19 10:00", tz="UTC")
    pd.testing.assert_frame_equal(responses, scanned(text.frames["responses"]))


def test_survey_times_that_are_not_unix_seconds_are_skipped(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,score,created_at\n1,9,1795082400\n2,3,17950824\n")
    result = nps.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(3, "unreadable 'created_at' date")]
    assert list(scanned(result.frames["responses"])["score"]) == [9]


@pytest.mark.parametrize(
    ("name", "score_column", "comment_column", "score", "comments"),
    [
        (
            "typeform.csv",
            "How likely are you to recommend <strong>Acme</strong> to a friend?",
            "Why?",
            100 / 3,  # 9, 6, 10
            ["Pricing\nis steep", "Fast, reliable"],
        ),
        (
            "google_forms.csv",
            "How likely is it that you would recommend us to a colleague?",
            "What is the main reason for your score?",
            0.0,  # 8, 10, 5
            ["Too many bugs", "Good support", "Love the API"],
        ),
    ],
)
def test_typeform_and_google_forms(name, score_column, comment_column, score, comments):
    result = nps.load({"path": str(DATA / "nps" / name)})
    assert (result.report.columns_used["score"], result.report.columns_used["comment"]) == (
        score_column,
        comment_column,
    )
    responses = scanned(result.frames["responses"])
    assert responses["responded_at"].notna().all() and result.report.skipped == []
    assert responses["responded_at"].min() >= pd.Timestamp("2026-11-01", tz="UTC")  # 01/11 is 1 November
    m = compute_nps(result.frames["responses"], date(2026, 11, 20))
    assert m.score == pytest.approx(score)
    assert [c.comment for c in m.comments] == comments


def test_slash_dates_are_read_in_one_order(tmp_path):
    """`03/11/2026` is read month-first unless the export says otherwise: by `date_order`, or by a later date
    such as `25/11/2026`, which turns the whole column day-first (never a mix of both orders)."""
    header = "Timestamp,How likely is it that you would recommend us to a colleague?\n"
    short = tmp_path / "short.csv"
    short.write_text(header + "03/11/2026 10:00:00,9\n05/11/2026 10:00:00,3\n")
    days = lambda result: [str(t.date()) for t in scanned(result.frames["responses"])["responded_at"]]  # noqa: E731
    guessed = nps.load({"path": str(short)})
    assert days(guessed) == ["2026-03-11", "2026-05-11"]
    assert guessed.report.warnings == [f"short.csv: {DATE_ORDER_HINT}"]  # the user is told it was a guess
    told = nps.load({"path": str(short), "date_order": "day-first"})
    assert days(told) == ["2026-11-03", "2026-11-05"] and told.report.warnings == []
    tickets_file = tmp_path / "tickets.csv"
    tickets_file.write_text("Id,Created at,Solved at\n1,03/11/2026 10:00,03/12/2026 10:00\n")
    assert f"tickets.csv: {DATE_ORDER_HINT}" in tickets.load({"path": str(tickets_file)}).report.warnings
    long = tmp_path / "long.csv"
    long.write_text(header + "03/11/2026 10:00:00,9\n" * 4000 + "25/11/2026 10:00:00,7\n")
    assert long.stat().st_size > 65536  # the later date is past the sample the read plans from
    result = nps.load({"path": str(long)})
    assert result.report.skipped == [] and set(days(result)) == {"2026-11-03", "2026-11-25"}
    assert result.report.warnings == []  # 25/11 settled it
    assert days(nps.load({"path": str(long), "date_order": "month-first"})).count("2026-03-11") == 4000
    assert [s.line for s in nps.load({"path": str(long), "date_order": "month-first"}).report.skipped] == [4002]


def test_ga4_ui_report_tables_and_totals():
    result = ga4.load({"path": str(DATA / "ga4/pages_report.csv")})
    traffic = result.frames["traffic"]
    views = traffic[(traffic["metric"] == "Views")].set_index("dimension_value")["value"]
    assert views.to_dict() == {"/listen-online": 6225.0, "/": 1025.0}  # totals row dropped, "1,025" parsed
    daily = traffic[traffic["dimension"] == "Date"].sort_values("date")
    assert list(daily["value"]) == [120.0, 1140.0]
    assert daily["date"].iloc[1] == pd.Timestamp("2026-09-22", tz="UTC")


def _traffic(name: str) -> tuple[str, pd.DataFrame]:
    result = ga4.load({"path": str(DATA / "ga4" / name)})
    return result.report.layout, result.frames["traffic"]


def test_universal_analytics_report():
    layout, traffic = _traffic("ua_audience_overview.csv")
    assert layout == "Universal Analytics report"
    google = traffic[traffic["dimension_value"] == "google / organic"].set_index("metric")["value"]
    # "1,234" users; 45.67% → a fraction; 00:02:31 → seconds; "$1,250.50" → a number; totals row dropped
    assert google.to_dict() == {
        "Users": 1234.0,
        "Sessions": 1500.0,
        "Bounce Rate": pytest.approx(0.4567),
        "Avg. Session Duration": 151.0,
        "Revenue": 1250.5,
    }
    assert set(traffic["dimension_value"].dropna()) == {"google / organic", "(direct) / (none)"}
    assert (traffic["date"][traffic["dimension"] == "Source / Medium"] == pd.Timestamp("2015-04-30", tz="UTC")).all()
    days = traffic[traffic["dimension"] == "Day Index"].set_index("date")["value"]
    assert days.to_dict() == {pd.Timestamp("2015-04-16", tz="UTC"): 120.0, pd.Timestamp("2015-04-17", tz="UTC"): 1140.0}


def test_localised_universal_analytics_report():
    """German export: `2.546` is two thousand, `"99,88%"` a rate, `16.04.15` a date; the header names are German."""
    layout, traffic = _traffic("ua_localised.csv")
    assert layout == "Universal Analytics report"
    google = traffic[traffic["dimension_value"] == "google / organic"].set_index("metric")["value"]
    assert google.to_dict() == {"Nutzer": 2546.0, "Sitzungen": 3100.0, "Absprungrate": pytest.approx(0.9988)}
    days = traffic[traffic["dimension"] == "Tagesindex"].set_index("date")["value"]
    assert days.to_dict() == {pd.Timestamp("2015-04-16", tz="UTC"): 120.0, pd.Timestamp("2015-04-17", tz="UTC"): 1140.0}


def test_report_traffic_reaches_the_funnel_section():
    _, traffic = _traffic("pages_report.csv")
    m = with_report_traffic(None, traffic, date(2026, 9, 23))
    daily = dict(m.daily_visitors)
    assert (daily["2026-09-21"], daily["2026-09-22"], daily["2026-09-23"], len(daily)) == (120, 1140, 0, 30)
    assert (m.steps, m.overall_conversion, m.preaggregated) == ((), None, True)
    steps = ga4.load({"path": str(DATA / "ga4/funnel_exploration.csv")}).frames["funnel_steps"]
    both = with_report_traffic(funnel_from_steps(steps), traffic, date(2026, 9, 23))
    assert [s.users for s in both.steps] == [1000, 400, 200] and both.daily_visitors == m.daily_visitors


@pytest.mark.parametrize("name", ["events_flattened.csv", "events_export.ndjson"])
def test_flattened_csv_and_ndjson_event_exports(name):
    """The same four events as a flattened CSV and as BigQuery's NDJSON export (INT64 values as strings)."""
    result = ga4.load({"path": str(DATA / "ga4" / name)})
    events = scanned(result.frames["events"])
    assert list(events["session_id"]) == ["11", "11", "21", "31"]  # the key may sit in any slot
    assert list(events["param.page_location"].fillna("")) == ["https://x.example/", "https://x.example/join", "", ""]
    # a session's own source param wins over the user's first touch (traffic_source.*)
    assert list(events["source"].fillna("")) == ["google", "google", "newsletter", ""]
    steps = (FunnelStep("s", "session_start"), FunnelStep("u", "sign_up"))
    m = compute_funnel(result.frames["events"], FunnelConfig(steps=steps), date(2026, 11, 20))
    assert [s.users for s in m.steps] == [3, 1]


def test_ga4_funnel_exploration_is_shown_as_given():
    result = ga4.load({"path": str(DATA / "ga4/funnel_exploration.csv")})
    m = funnel_from_steps(result.frames["funnel_steps"])
    assert [s.users for s in m.steps] == [1000, 400, 200]
    assert m.overall_conversion == 0.2 and m.preaggregated


def _events(rows):
    return [
        {
            "event_date": "20261110",
            "event_timestamp": str(ts),
            "event_name": name,
            "user_pseudo_id": user,
            "event_params": [{"key": "ga_session_id", "value": {"int_value": "1"}}],
        }
        for user, name, ts in rows
    ]


FUNNEL = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600)
T = 1_794_300_000_000_000  # 2026-11-10 µs


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_ga4_event_export_funnel_worked_example(tmp_path, fmt):
    minute = 60_000_000
    rows = [
        ("u1", "a", T),
        ("u1", "b", T + 5 * minute),
        ("u1", "c", T + 6 * minute),
        ("u2", "a", T),
        ("u2", "c", T + minute),
        ("u2", "b", T + 2 * minute),  # c before b: stops at b
        ("u3", "b", T - minute),
        ("u3", "a", T),  # b before a: only a
        ("u4", "a", T),
        ("u4", "b", T),
        ("u4", "c", T),  # ties count
        ("u5", "a", T),
        ("u5", "b", T + 61 * minute),  # outside the 1 h window
        ("u6", "b", T),
    ]  # never entered
    path = tmp_path / f"events.{fmt}"
    if fmt == "ndjson":
        path.write_text("\n".join(json.dumps(r) for r in _events(rows)) + "\n{broken\n")
    else:
        pq.write_table(pa.Table.from_pylist(_events(rows)), path)
    result = ga4.load({"path": str(path)})
    m = compute_funnel(result.frames["events"], FUNNEL, date(2026, 11, 20))
    assert [s.users for s in m.steps] == [5, 3, 2]
    assert [s.conversion_from_previous for s in m.steps] == [None, pytest.approx(3 / 5), pytest.approx(2 / 3)]
    assert [s.conversion_from_start for s in m.steps] == [1.0, pytest.approx(3 / 5), pytest.approx(2 / 5)]
    assert [s.abandonments for s in m.steps] == [2, 1, 0]
    assert m.overall_conversion == pytest.approx(2 / 5)
    if fmt == "ndjson":
        assert [(s.line, s.reason) for s in result.report.skipped] == [(len(rows) + 1, "not a JSON object")]


WORKED_ROWS = [  # (user, event, minutes after T, session, page)
    ("u1", "a", 0, "1", "/"),
    ("u1", "b", 5, "1", "/pricing"),
    ("u1", "c", 6, "2", "/"),  # a new session
    ("u2", "a", 0, "1", "/"),
    ("u2", "c", 1, "1", "/"),
    ("u2", "b", 2, "1", "/blog"),  # c before b: stops at b
    ("u3", "b", -1, "1", "/blog"),
    ("u3", "a", 0, "1", "/"),  # b before a: only a
    ("u4", "a", 0, "1", "/"),
    ("u4", "b", 0, "1", "/blog"),
    ("u4", "c", 0, "1", "/"),  # ties count, in step order
    ("u5", "a", 0, "1", "/"),
    ("u5", "b", 61, "1", "/blog"),  # outside the 1 h window
    ("u6", "b", 0, "1", "/blog"),  # never entered
]


def _worked_events() -> list[dict]:
    """WORKED_ROWS as BigQuery export rows."""
    return [
        {
            "event_timestamp": T + minutes * 60_000_000,
            "event_name": name,
            "user_pseudo_id": user,
            "event_params": [
                {"key": "ga_session_id", "value": {"int_value": int(session)}},  # INT64, as BigQuery has it
                {"key": "page_location", "value": {"string_value": page}},
            ],
        }
        for user, name, minutes, session, page in WORKED_ROWS
    ]


@pytest.mark.parametrize(
    ("settings", "counts"),
    [
        ({}, [5, 3, 2]),
        ({"direct": True}, [5, 2, 2]),  # u2's a is followed by c, not b
        ({"open": True}, [5, 6, 3]),  # u3, u5, u6 enter at b; u2 at c
        ({"per_session": True}, [5, 3, 1]),  # u1's c is in another session
        ({"pricing": True}, [5, 1, 1]),  # b only on /pricing: u1's
    ],
)
def test_funnel_rules_worked_example(tmp_path, settings, counts):
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pylist(_worked_events()), path)
    pricing = settings.pop("pricing", False)
    steps = tuple(FunnelStep(n, n, {"page_location": "/pricing"} if pricing and n == "b" else {}) for n in "abc")
    config = FunnelConfig(steps=steps, window=3600, **settings)
    scan = ga4.load({"path": str(path)}).frames["events"]
    m = compute_funnel(scan, config, date(2026, 11, 20))
    frame = scanned(scan, ("page_location",))
    assert compute_funnel(frame, config, date(2026, 11, 20)) == m  # the same events as a frame
    assert [s.users for s in m.steps] == counts
    assert (m.users, m.sessions, m.monthly_visitors) == (6, 7, 6)  # u1 has two sessions
    assert m.overall_conversion == pytest.approx(counts[-1] / counts[0])
    row = m.breakdown[0]
    assert (row.source, row.medium, row.entered, row.completed) == ("(direct)", "(none)", 5, counts[-1])
    weekly = dict(m.weekly)
    assert weekly["2026-11-13"] == pytest.approx(counts[-1] / 5)  # the week with 10 November
    assert sum(v is not None for v in weekly.values()) == 1
    daily = dict(m.daily_visitors)
    assert (daily["2026-11-10"], daily["2026-11-09"], len(daily)) == (6, 0, 30)
    week = compute_funnel(frame, config, date(2026, 11, 20), period_days=7)
    empty = compute_funnel(frame, config, date(2027, 6, 1))  # nothing in any window
    assert ([s.users for s in empty.steps], empty.users, empty.sessions, empty.monthly_visitors) == ([0, 0, 0], 0, 0, 0)
    assert sum(n for _, n in empty.daily_visitors) == 0 and empty.overall_conversion is None
    assert (week.users, week.monthly_visitors, len(week.daily_visitors)) == (0, 6, 7)  # 10 Nov: this month, not week
    # the same events again 35 days earlier (the previous period), a year earlier, after as_of and with no time
    shifted, far, later = (frame.assign(event_time=frame["event_time"] + pd.Timedelta(days=d)) for d in (-35, -365, 20))
    timeless = frame.assign(event_time=pd.Series(pd.NaT, index=frame.index, dtype=frame["event_time"].dtype))
    # and once more with no user id, and once more with no session id: neither adds a user or a session (a
    # directly-followed funnel sees the session-less copies as the users' next events: they are left out there)
    anonymous, sessionless = (
        frame.assign(**{c: pd.Series(pd.NA, frame.index, "string")}) for c in ("user_id", "session_id")
    )
    parts = [far, shifted, timeless, anonymous, frame, later] + ([] if config.direct else [sessionless])
    longer = compute_funnel(pd.concat(parts, ignore_index=True), config, date(2026, 11, 20))
    assert longer.previous_overall_conversion == m.overall_conversion
    assert (longer.steps, longer.users, longer.sessions, longer.monthly_visitors) == (
        m.steps,
        m.users,
        m.sessions,
        m.monthly_visitors,
    )
    assert (longer.breakdown, longer.daily_visitors) == (m.breakdown, m.daily_visitors)


def test_a_glob_of_files_and_several_sources_count_as_one_export(tmp_path):
    """Parquet (in pyarrow's older list naming, `event_params.list.item.key`) and NDJSON files of one glob, and the
    same files as two sources, give the events in file order and the funnel of the one-file export."""
    events = _worked_events()
    whole = tmp_path / "whole"
    whole.mkdir()
    pq.write_table(pa.Table.from_pylist(events), whole / "events.parquet")
    pq.write_table(pa.Table.from_pylist(events[:7]), tmp_path / "events_1.parquet", use_compliant_nested_type=False)
    (tmp_path / "events_2.ndjson").write_text("".join(json.dumps(event) + "\n" for event in events[7:]))
    scan = ga4.load({"path": str(tmp_path / "events_*")}).frames["events"]
    frame = scanned(scan)
    assert frame["event_name"].tolist() == [name for _, name, *_ in WORKED_ROWS]
    assert frame["session_id"].tolist() == [session for *_, session, _ in WORKED_ROWS]  # numbers as text
    config = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600, per_session=True)
    expected = compute_funnel(
        ga4.load({"path": str(whole / "events.parquet")}).frames["events"], config, date(2026, 11, 20)
    )
    assert [s.users for s in expected.steps] == [5, 3, 1]
    assert compute_funnel(scan, config, date(2026, 11, 20)) == expected
    two_sources = TableScan.stack(
        [ga4.load({"path": str(tmp_path / f"events_{n}.*")}).frames["events"] for n in (1, 2)]
    )
    assert compute_funnel(two_sources, config, date(2026, 11, 20)) == expected


def _csv_export(events: list[dict], layout: str) -> str:
    """Events as BigQuery's table saved as CSV: nested fields as JSON cells (pretty-printed: a record of the
    worked example spans 14 lines), flattened into `event_params.N.*` columns, or one column per param."""
    head = ["event_timestamp", "event_name", "user_pseudo_id"]
    kinds = ("string_value", "int_value")

    def cells(params: list[dict]) -> list:
        if layout == "json":
            return [json.dumps(params, indent=1)]
        if layout == "flattened":
            return [cell for p in params for cell in (p["key"], *(p["value"].get(kind) for kind in kinds))]
        return [value for p in params for value in p["value"].values()]

    if layout == "json":
        names = ["event_params"]
    elif layout == "flattened":
        names = [f"event_params.{n}.{part}" for n in range(2) for part in ("key", *(f"value.{k}" for k in kinds))]
    else:
        names = ["ga_session_id", "page_location"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head + names)
    writer.writerows([event[k] for k in head] + cells(event["event_params"]) for event in events)
    return out.getvalue()


@pytest.mark.parametrize("layout", ["json", "flattened", "columns"])
def test_a_csv_event_export_gives_the_parquet_exports_figures_and_its_bad_rows_by_line(tmp_path, layout):
    """Each CSV layout of the worked example: the same events in file order and the same funnels as the Parquet
    export (closed, direct, open, per session, with a param filter); a row without a readable time and one whose
    `event_params` cell is not a JSON list are skipped, reported at the file line where their record starts."""
    text = _csv_export(_worked_events(), layout)
    if layout == "json":  # 14 records of 14 lines after the header: lines 2-197
        text += 'soon,a,u9,[]\n1794300000000000,a,u9,"[{""key"": ""ga_session_id"",\n ""value"": {}"\n'
        expected = [(198, "no readable event_timestamp"), (199, "event_params is not a JSON list")]
    else:  # 14 records, lines 2-15
        text += "soon,a,u9" + "," * (text.split("\n")[0].count(",") - 2) + "\n"
        expected = [(16, "no readable event_timestamp")]
    path, parquet = tmp_path / "events.csv", tmp_path / "events.parquet"
    path.write_text(text)
    pq.write_table(pa.Table.from_pylist(_worked_events()), parquet)
    result = ga4.load({"path": str(path)})
    assert sorted((s.line, s.reason) for s in result.report.skipped) == expected
    scan = result.frames["events"]
    assert scan.parts[0].source.startswith("csv_")  # read into the engine once, not kept as Python objects
    frame = scanned(scan, ("page_location",))
    assert frame["event_name"].tolist() == [name for _, name, *_ in WORKED_ROWS] + ["a"]
    assert frame["session_id"].tolist()[:3] == ["1", "1", "2"]
    for settings in ({}, {"direct": True}, {"open": True}, {"per_session": True}):
        config = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600, **settings)
        expected_funnel = compute_funnel(ga4.load({"path": str(parquet)}).frames["events"], config, date(2026, 11, 20))
        assert compute_funnel(scan, config, date(2026, 11, 20)) == expected_funnel
    pricing = FunnelConfig(
        steps=tuple(FunnelStep(n, n, {"page_location": "/pricing"} if n == "b" else {}) for n in "abc"), window=3600
    )
    assert [s.users for s in compute_funnel(scan, pricing, date(2026, 11, 20)).steps] == [5, 1, 1]


def test_a_csv_exports_empty_params_first_touch_and_literal_cells(tmp_path):
    """An empty `event_params` cell is an event without params (it was reported as bad JSON); a `traffic_source`
    JSON cell is the user's first touch, a session's own source param winning over it; a param column's `-` is
    the value `-`, not a missing one."""
    path = tmp_path / "events.csv"
    path.write_text(
        "event_timestamp,event_name,user_pseudo_id,event_params,traffic_source,page_location\n"
        '1794300000000000,session_start,u1,,"{""source"": ""google"", ""medium"": ""organic""}",-\n'
        '1794300000000001,session_start,u2,"[{""key"": ""source"", ""value"": {""string_value"": ""mail""}}]",'
        '"{""source"": ""(direct)"", ""medium"": ""(none)""}",\n'
        "1794300000000002,session_start,u3,[],,/x\n"
    )
    result = ga4.load({"path": str(path)})
    assert result.report.skipped == []
    events = scanned(result.frames["events"], ("page_location",))
    assert events["source"].fillna("?").tolist() == ["google", "mail", "?"]
    assert events["medium"].fillna("?").tolist() == ["organic", "(none)", "?"]
    assert events["param.page_location"].fillna("?").tolist() == ["-", "?", "/x"]


def test_unknown_file_is_one_clear_error(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n1,2\n")
    with pytest.raises(ConnectorError, match=r"notes\.csv: not a GA4 export"):
        ga4.load({"path": str(path)})


@pytest.mark.parametrize(
    ("name", "layout", "ids", "first_median", "resolution_median", "backlog", "csat"),
    [
        # replies after 20, 60, 5 min → 20; closed after 120 and 30 min → 75; ratings 5 and 2
        ("intercom.csv", "Intercom", ["215", "216", "217"], 20.0, 75.0, 1, 0.5),
        # replies after 90, 45, 10 min → 45; closed after 1440 and 250 min → 845
        ("hubspot.csv", "HubSpot", ["9001", "9002", "9003"], 45.0, 845.0, 1, None),
        # Jira's 12-hour dates; resolved after 240 and 1080 min → 660; no reply times
        ("jira.csv", "Jira Service Management", ["HELP-11", "HELP-12", "HELP-13"], None, 660.0, 1, None),
        # Help Scout's API field names and UTC offsets; closed after 120 min
        ("helpscout.csv", "Help Scout", ["501", "502"], None, 120.0, 1, None),
    ],
)
def test_other_helpdesk_layouts(name, layout, ids, first_median, resolution_median, backlog, csat):
    result = tickets.load({"path": str(DATA / "tickets" / name)})
    assert (result.report.layout, result.report.skipped) == (layout, [])
    frame = scanned(result.frames["tickets"])
    assert list(frame["ticket_id"]) == ids
    m = compute_support(frame, SupportSettings(30), date(2026, 11, 20))
    assert (m.tickets, m.first_response_minutes.median, m.resolution_minutes.median) == (
        len(ids),
        first_median,
        resolution_median,
    )
    assert (m.backlog, m.csat) == (backlog, csat)


def test_event_params_first_value_per_row_and_gaps(tmp_path):
    """A key missing from some events leaves them null; a key given twice keeps its first value."""
    rows = [
        {"event_timestamp": 1, "event_name": "a", "user_pseudo_id": "u", "event_params": params}
        for params in (
            [{"key": "ga_session_id", "value": {"int_value": 7}}, {"key": "source", "value": {"string_value": "x"}}],
            [],
            [{"key": "source", "value": {"string_value": "y"}}, {"key": "source", "value": {"string_value": "z"}}],
        )
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    events = scanned(ga4.load({"path": str(path)}).frames["events"])
    assert events["session_id"].fillna("-").tolist() == ["7", "-", "-"]
    assert events["source"].fillna("-").tolist() == ["x", "-", "y"]


def test_an_ndjson_export_is_read_into_the_engine_once_and_dropped_with_its_scan(tmp_path):
    """Text is parsed once into an engine table, which new engine settings keep and which goes with its scan."""
    import gc

    from kpitui import engine

    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in _worked_events()))
    scan = ga4.load({"path": str(path)}).frames["events"]
    table = scan.parts[0].source

    def tables() -> set[str]:
        cursor = engine.cursor()
        try:
            return {name for (name,) in cursor.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        finally:
            cursor.close()

    assert table.startswith("ndjson_") and table in tables()
    engine.configure(engine.EngineSettings(memory_limit="1GB"))
    try:
        config = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600)
        assert [s.users for s in compute_funnel(scan, config, date(2026, 11, 20)).steps] == [5, 3, 2]
    finally:
        engine.configure(engine.EngineSettings())
    del scan
    gc.collect()
    assert table not in tables()


def test_an_ndjson_exports_rows_keep_their_lines_across_the_engines_parallel_read(tmp_path):
    """Lines of several of the engine's row groups, read by every thread: a row without a readable time is reported
    at its own line, and the rows keep the file's order (`seq`), that row in its place."""
    lines = [{"event_timestamp": str(10 * n), "event_name": "a", "user_pseudo_id": f"u{n % 7}"} for n in range(300_000)]
    lines[250_000]["event_timestamp"] = "soon"
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = ga4.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(250_001, "no readable event_timestamp")]
    events = scanned(result.frames["events"])
    times = events["event_time"]
    assert times.dropna().is_monotonic_increasing and times.isna().tolist().index(True) == 250_000


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_an_ndjson_export_the_engine_cannot_read_as_it_is_is_parsed_line_by_line_in_the_engine(tmp_path, encoding):
    """A truncated last line (an interrupted export), a line that is not an object, Windows-1252 text: the lines are
    decoded, parsed by the engine and kept in a table like any NDJSON export's; the bad lines are reported by
    number, a blank one is nothing, and a line separator inside a string (U+2028, valid JSON) does not split its
    line."""
    events = _worked_events()
    page = "/café" + ("\u2028menu" if encoding == "utf-8" else "")
    events[1]["event_params"][1]["value"]["string_value"] = page
    lines = [json.dumps(event, ensure_ascii=False) for event in events]
    lines.insert(3, "[1, 2]")  # line 4
    lines.insert(5, "")  # line 6
    path = tmp_path / "events.ndjson"
    path.write_bytes(("\n".join(lines) + '\n{"event_timestamp": "17943').encode(encoding))  # line 17, cut short
    result = ga4.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(4, "not a JSON object"), (17, "not a JSON object")]
    scan = result.frames["events"]
    assert scan.parts[0].source.startswith("ndjson_")
    frame = scanned(scan, ("page_location",))
    assert frame["event_name"].tolist() == [name for _, name, *_ in WORKED_ROWS]
    assert frame["param.page_location"].tolist()[:2] == ["/", page]
    config = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600, per_session=True)
    assert [s.users for s in compute_funnel(scan, config, date(2026, 11, 20)).steps] == [5, 3, 1]


def test_tickets_carry_their_requester_and_organization():
    """Zendesk's `Requester`, `Requester email`, `Organization` and the public dataset's `Customer Name`/`Customer
    Email` fill the canonical requester columns (the cross-source views match customers on them)."""
    zendesk = scanned(tickets.load({"path": str(DATA / "tickets/zendesk.csv")}).frames["tickets"])
    assert zendesk[["requester", "requester_email", "organization"]].head(2).values.tolist() == [
        ["Ann", "ann@x.example", "X"],
        ["Ben", "ben@y.example", "Y"],
    ]
    dataset = scanned(tickets.load({"path": str(DATA / "tickets/customer_support_dataset.csv")}).frames["tickets"])
    assert dataset["requester_email"].tolist()[:2] == ["m@x.example", "j@x.example"]
    assert dataset["organization"].isna().all()


@pytest.mark.parametrize(
    ("timezone", "users", "days"),
    [
        # Paris: the period is [22 Oct 00:00 CEST, 21 Nov 00:00 CET) = [21 Oct 22:00, 20 Nov 23:00) UTC; u1 is in it,
        # u2 (00:30 on the 21st in Paris) is not; u3's 00:30 UTC visits fall on 25 Oct (02:30 CEST) and 26 Oct
        # (00:30 CET, after the clocks went back)
        ("Europe/Paris", 2, {"2026-10-22": 1, "2026-10-25": 1, "2026-10-26": 1}),
        ("UTC", 2, {"2026-10-25": 1, "2026-11-20": 1}),
    ],
)
def test_funnel_days_and_period_are_the_propertys(timezone, users, days):
    """GA4's days are the property's: the period ends at the midnight after as_of there, visitors per local day."""
    stamps = {"u1": ["2026-10-21 22:30"], "u2": ["2026-11-20 23:30"], "u3": ["2026-10-25 00:30", "2026-10-25 23:30"]}
    rows = [{"event_time": t, "event_name": "a", "user_id": u} for u, times in stamps.items() for t in times]
    frame = conform("events", pd.DataFrame(rows))
    config = FunnelConfig(steps=(FunnelStep("a", "a"), FunnelStep("b", "b")))
    m = compute_funnel(frame, config, date(2026, 11, 20), timezone=timezone)
    assert (m.users, m.steps[0].users) == (users, users)
    daily = dict(m.daily_visitors)
    assert (len(daily), m.daily_visitors[0][0], m.daily_visitors[-1][0]) == (30, "2026-10-22", "2026-11-20")
    assert {day: n for day, n in daily.items() if n} == days
    assert (m.weekly[0][0], m.weekly[-1][0]) == ("2026-10-02", "2026-11-20")


def test_sign_ups_per_day_are_the_periods_sign_up_events_by_day():
    """The Funnel pane's sign-ups per day: `sign_up` events of each day of the period (as_of 20 Nov, 30 days: 22 Oct
    to 20 Nov), whatever the funnel's steps; other events and days outside the period are not counted."""
    stamps = [
        ("u1", "sign_up", "2026-11-19 09:00"),
        ("u2", "sign_up", "2026-11-19 23:59"),
        ("u2", "page_view", "2026-11-19 10:00"),
        ("u3", "sign_up", "2026-11-20 00:00"),
        ("u4", "sign_up", "2026-10-21 23:59"),  # the day before the period
        ("u5", "sign_up", "2026-11-21 00:00"),  # after as_of
    ]
    frame = conform("events", pd.DataFrame(stamps, columns=["user_id", "event_name", "event_time"]))
    config = FunnelConfig(steps=(FunnelStep("visit", "page_view"), FunnelStep("buy", "purchase")))
    m = compute_funnel(frame, config, date(2026, 11, 20))
    assert (len(m.daily_signups), m.daily_signups[0]) == (30, ("2026-10-22", 0))
    assert {day: n for day, n in m.daily_signups if n} == {"2026-11-19": 2, "2026-11-20": 1}
    earlier = compute_funnel(frame, config, date(2026, 11, 19))  # 21 Oct to 19 Nov: u4 is in, u3 is not yet
    assert (earlier.daily_signups[0], earlier.daily_signups[-1]) == (("2026-10-21", 1), ("2026-11-19", 2))
    assert sum(n for _, n in earlier.daily_signups) == 3


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_an_export_with_only_logged_in_user_ids_counts_them(tmp_path, fmt):
    """Without `user_pseudo_id` the site's own `user_id` is the identity counted; with both, the client id is, and
    the login is kept as `login_id`."""
    rows = [
        {k: v for k, v in e.items() if k != "user_pseudo_id"} | {"user_id": e["user_pseudo_id"]}
        for e in _worked_events()
    ]
    path = tmp_path / f"events.{fmt}"
    if fmt == "ndjson":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    scan = ga4.load({"path": str(path)}).frames["events"]
    config = FunnelConfig(steps=tuple(FunnelStep(n, n) for n in "abc"), window=3600)
    assert [s.users for s in compute_funnel(scan, config, date(2026, 11, 20)).steps] == [5, 3, 2]
    assert scanned(scan)["login_id"].tolist() == scanned(scan)["user_id"].tolist()


@pytest.mark.parametrize("chosen", [None, "mimalloc"])
def test_arrow_memory_comes_from_a_lean_allocator_unless_the_user_chose_one(chosen):
    """Reading exports takes Arrow's memory from jemalloc (else the system's) in place of its default mimalloc;
    ARROW_DEFAULT_MEMORY_POOL, when set, still decides."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = "import connectors.files, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == chosen if chosen else done.stdout.strip() in ("jemalloc", "system")
