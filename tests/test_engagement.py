"""Engagement from GA4 events (DESIGN.md section 4): DAU, WAU, MAU, stickiness, retention by first-visit week and
lead velocity: a worked example at two dates, and the SQL against a brute-force reference on random events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import ga4
from connectors.frames import conform
from kpitui.metrics.engagement import LOOKBACK_DAYS, compute_engagement


def events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(user, event name, UTC time) rows as the canonical events table."""
    frame = pd.DataFrame(rows, columns=["user_id", "event_name", "event_time"])
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return conform("events", frame)


BOOK = events(
    [
        ("u1", "page_view", "2026-11-01 12:00"),  # a Sunday: the week of Monday 26 October
        ("u1", "page_view", "2026-11-19 10:00"),
        ("u1", "page_view", "2026-11-20 09:00"),
        ("u2", "page_view", "2026-11-09 08:00"),
        ("u2", "sign_up", "2026-11-09 09:00"),
        ("u2", "page_view", "2026-11-20 23:59"),
        ("u3", "page_view", "2026-11-14 15:00"),
        ("u3", "sign_up", "2026-11-14 15:05"),
        ("u3", "page_view", "2026-11-21 00:00"),  # the midnight after as_of 20 November: not yet
        ("u4", "page_view", "2026-10-22 10:00"),
        ("u5", "page_view", "2026-06-01 10:00"),  # before the lookback of the first cohort week: not seen
        ("u5", "page_view", "2026-10-21 23:00"),
        ("u5", "sign_up", "2026-10-21 23:30"),
        ("u5", "page_view", "2026-11-10 10:00"),
    ]
)


def test_worked_example_on_a_friday():
    """as_of Friday 20 November (UTC): day 11-20, 7 days 11-14…11-20, 30 days 10-22…11-20.
    DAU u1 u2 = 2; WAU + u3 = 3; MAU + u4 u5 = 5; daily active users over the 30 days sum to 8
    (10-22, 11-01, 11-09, 11-10, 11-14, 11-19: one each; 11-20: two), stickiness = 8/30 ÷ 5.
    Leads (sign_up users): u2, u3 in the period, u5 in the 30 days before: LVR = (2 − 1) ÷ 1.
    Cohorts: week of 10-19 = u4, u5 (u5's June visit is before the lookback): active again in the week of 11-09
    (u5) only: 1, 0, 0, ½, 0; week of 10-26 = u1, back in the week of 11-16: 1, 0, 0, 1; week of 11-09 = u2, u3,
    u2 back in the week of 11-16 (u3's visit is after as_of): 1, ½."""
    m = compute_engagement(BOOK, date(2026, 11, 20), period_days=30)
    assert (m.dau, m.wau, m.mau) == (2, 3, 5)
    assert m.stickiness == pytest.approx(8 / 30 / 5)
    assert (m.leads, m.previous_leads, m.lead_velocity_rate) == (2, 1, 1.0)
    cohorts = {c.week: (c.users, c.returning) for c in m.retention}
    assert [c.week for c in m.retention] == [(date(2026, 9, 21) + timedelta(weeks=k)).isoformat() for k in range(9)]
    assert cohorts["2026-10-19"] == (2, (1.0, 0.0, 0.0, 0.5, 0.0))
    assert cohorts["2026-10-26"] == (1, (1.0, 0.0, 0.0, 1.0))
    assert cohorts["2026-11-09"] == (2, (1.0, 0.5))
    assert cohorts["2026-11-02"] == (0, (None, None, None))
    assert cohorts["2026-11-16"] == (0, (None,))
    assert dict(m.daily_active)["2026-11-20"] == 2 and len(m.daily_active) == 30


def test_the_same_events_on_the_sunday_before():
    """as_of Sunday 15 November: no event that day (DAU 0); 7 days 11-09…11-15: u2 u5 u3 = 3; 30 days 10-17…11-15:
    all five; daily sum 6 (10-21, 10-22, 11-01, 11-09, 11-10, 11-14), stickiness = 6/30 ÷ 5. Leads u5 u2 u3 = 3 and
    none before: LVR null. Cohorts end with the week of 11-09, the week holding as_of."""
    m = compute_engagement(BOOK, date(2026, 11, 15), period_days=30)
    assert (m.dau, m.wau, m.mau) == (0, 3, 5)
    assert m.stickiness == pytest.approx(6 / 30 / 5)
    assert (m.leads, m.previous_leads, m.lead_velocity_rate) == (3, 0, None)
    cohorts = {c.week: (c.users, c.returning) for c in m.retention}
    assert m.retention[-1].week == "2026-11-09"
    assert cohorts["2026-10-19"] == (2, (1.0, 0.0, 0.0, 0.5))
    assert cohorts["2026-10-26"] == (1, (1.0, 0.0, 0.0))
    assert cohorts["2026-11-09"] == (2, (1.0,))


def test_days_are_the_property_time_zone():
    """In Paris (UTC+1 in November) u2's 23:59 UTC visit is on 21 November: not in as_of 20 November's DAU."""
    m = compute_engagement(BOOK, date(2026, 11, 20), period_days=30, timezone="Europe/Paris")
    assert m.dau == 1  # u1 at 10:00 Paris


def test_a_configured_lead_event():
    m = compute_engagement(BOOK, date(2026, 11, 20), period_days=30, lead_event="page_view")
    assert (m.leads, m.previous_leads) == (5, 1)  # u1…u5 in the period; u5 (10-21) in the one before
    assert m.lead_velocity_rate == pytest.approx(4.0)


@pytest.mark.parametrize("layout", ["parquet", "ndjson", "csv"])
def test_ga4s_is_active_user_decides_who_is_active(tmp_path, layout):
    """A BigQuery export with `is_active_user` (GA4's Active users): on as_of Friday 20 November `a` is active,
    `b` visited without engaging (active on 11-15), `c` only visited without engaging. DAU a = 1; WAU and MAU a, b
    = 2; daily active users sum to 2 (11-15: b; 11-20: a): stickiness 2/30 ÷ 2. Retention counts every visit:
    the week of 11-16 is a's and c's first (2 users), b's first was the week before, and b came back in this one."""
    import duckdb

    rows = [("a", "2026-11-20 09:00", True), ("b", "2026-11-15 10:00", True), ("b", "2026-11-20 10:00", False),
            ("c", "2026-11-20 11:00", False)]  # fmt: skip
    values = ", ".join(
        f"('{u}', 'page_view', CAST(epoch_us(TIMESTAMPTZ '{t}+00') AS BIGINT), {str(active).lower()})"
        for u, t, active in rows
    )
    export = tmp_path / f"events.{layout}"
    written = {"parquet": "FORMAT PARQUET", "ndjson": "FORMAT JSON", "csv": "HEADER"}[layout]
    duckdb.connect().execute(
        f"COPY (SELECT * FROM (VALUES {values}) AS e(user_pseudo_id, event_name, event_timestamp, is_active_user)) "
        f"TO '{export}' ({written})"
    )
    m = compute_engagement(ga4.load({"path": str(export)}).frames["events"], date(2026, 11, 20), period_days=30)
    assert (m.dau, m.wau, m.mau) == (1, 2, 2)
    assert m.stickiness == pytest.approx(2 / 30 / 2)
    cohorts = {c.week: (c.users, c.returning) for c in m.retention}
    assert (cohorts["2026-11-16"], cohorts["2026-11-09"]) == ((2, (1.0,)), (1, (1.0, 1.0)))


def test_no_events_gives_nulls_not_zeros():
    m = compute_engagement(events([]), date(2026, 11, 20))
    assert (m.dau, m.wau, m.mau) == (0, 0, 0)
    assert m.stickiness is None and m.lead_velocity_rate is None


# --- the brute-force reference ---------------------------------------------------------------------------------


def reference(rows: list[tuple[str, str, datetime, bool | None]], as_of: date, period: int, zone: str,
              lead: str) -> dict:  # fmt: skip
    """Every figure by its definition, day by day in the zone: active users are those with an event GA4 does not
    flag inactive (`is_active_user` false), retention counts every visit."""
    tz = ZoneInfo(zone)
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tz)
    local = [(u, name, t.astimezone(tz).date(), flag) for u, name, t, flag in rows if t < end]
    days_active = lambda first, last: {u for u, _, d, flag in local if first <= d <= last and flag is not False}  # noqa: E731
    days_seen = lambda first, last: {u for u, _, d, _ in local if first <= d <= last}  # noqa: E731
    month = [as_of - timedelta(days=n) for n in range(30)]
    mau = days_active(month[-1], as_of)
    daily = [len(days_active(d, d)) for d in month]
    leads = lambda first, last: {u for u, n, d, _ in local if n == lead and first <= d <= last}  # noqa: E731
    now = len(leads(as_of - timedelta(days=period - 1), as_of))
    before = len(leads(as_of - timedelta(days=2 * period - 1), as_of - timedelta(days=period)))
    monday = as_of - timedelta(days=as_of.weekday())
    weeks = [monday - timedelta(weeks=8 - k) for k in range(9)]
    lookback = min(weeks[0] - timedelta(days=LOOKBACK_DAYS), as_of - timedelta(days=2 * period - 1))
    first: dict[str, date] = {}
    for u, _, d, _ in local:
        if d >= lookback:
            first[u] = min(first.get(u, d), d)
    retention = []
    for k, week in enumerate(weeks):
        members = {u for u, d in first.items() if week <= d < week + timedelta(days=7)}
        cells = []
        for j in range(9 - k):
            back = days_seen(week + timedelta(weeks=j), week + timedelta(weeks=j, days=6))
            cells.append(len(members & back) / len(members) if members else None)
        retention.append((week.isoformat(), len(members), tuple(cells)))
    return {
        "dau": len(days_active(as_of, as_of)),
        "wau": len(days_active(as_of - timedelta(days=6), as_of)),
        "mau": len(mau),
        "stickiness": sum(daily) / 30 / len(mau) if mau else None,
        "lvr": (now - before) / before if before else None,
        "retention": retention,
    }


AS_OFS = [date(2026, 11, 20), date(2026, 11, 1), date(2027, 1, 3)]  # a Friday; DST ends in New York; a Sunday


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "e", "f"]),
            st.sampled_from(["page_view", "sign_up"]),
            st.one_of(  # hours around as_of's end: any, or in the last week's days
                st.integers(min_value=-200 * 24, max_value=2 * 24), st.integers(min_value=-8 * 24, max_value=24)
            ),
            st.integers(min_value=0, max_value=59),
            st.sampled_from([None, True, False]),  # GA4's is_active_user, where the export has it
        ),
        max_size=40,
    ),
    st.sampled_from(AS_OFS),
    st.sampled_from([7, 30]),
    st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_engagement_matches_the_reference(drawn, as_of, period, zone):
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
    rows = [(u, name, end + timedelta(hours=h, minutes=m), flag) for u, name, h, m, flag in drawn]
    frame = events([(u, name, t.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")) for u, name, t, _ in rows])
    frame["is_active_user"] = pd.array([flag for *_, flag in rows], dtype="boolean")
    m = compute_engagement(frame, as_of, period_days=period, timezone=zone)
    want = reference(rows, as_of, period, zone, "sign_up")
    assert (m.dau, m.wau, m.mau) == (want["dau"], want["wau"], want["mau"])
    close = lambda value: None if value is None else pytest.approx(value)  # noqa: E731
    assert m.stickiness == close(want["stickiness"])
    assert m.lead_velocity_rate == close(want["lvr"])
    rounded = lambda cells: tuple(None if c is None else round(c, 9) for c in cells)  # noqa: E731
    got = [(c.week, c.users, rounded(c.returning)) for c in m.retention]
    assert got == [(w, n, rounded(cells)) for w, n, cells in want["retention"]]
