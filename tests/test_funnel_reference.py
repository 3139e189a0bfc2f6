"""The funnel's exact rules (DESIGN.md section 4): worked examples, and the SQL checked against a brute-force
reference that tries every entry of every user, on random event sets."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.frames import conform
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import compute_funnel

AS_OF = date(2026, 11, 20)  # the 30-day period is [2026-10-22, 2026-11-21) UTC
HOUR = 3600.0


def events(rows: list[tuple]) -> pd.DataFrame:
    """(user, event name, UTC time[, session]) rows as the canonical events table (session "1" by default)."""
    columns = ["user_id", "event_name", "event_time", "session_id"]
    frame = pd.DataFrame([(*r, "1")[:4] for r in rows], columns=columns)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return conform("events", frame)


def steps(*names: str) -> tuple[FunnelStep, ...]:
    return tuple(FunnelStep(f"{i}:{n}", n) for i, n in enumerate(names))


def users(m) -> list[int]:
    return [s.users for s in m.steps]


def test_every_entry_is_tried():
    """Monday's visit leads nowhere; Friday's visit converts within the hour: the user has converted."""
    frame = events(
        [
            ("u1", "visit", "2026-11-02 09:00"),  # Monday
            ("u1", "visit", "2026-11-06 10:00"),  # Friday
            ("u1", "sign_up", "2026-11-06 10:30"),
        ]
    )
    m = compute_funnel(frame, FunnelConfig(steps("visit", "sign_up"), window=HOUR), AS_OF)
    assert users(m) == [1, 1]
    assert m.overall_conversion == 1.0


def test_one_event_never_satisfies_two_steps():
    """Steps a → a: one `a` is only an entry; a second `a` (a tie counts) completes."""
    frame = events([("u1", "a", "2026-11-10 10:00"), ("u2", "a", "2026-11-10 10:00"), ("u2", "a", "2026-11-10 10:00")])
    m = compute_funnel(frame, FunnelConfig(steps("a", "a"), window=HOUR), AS_OF)
    assert users(m) == [2, 1]


def test_open_funnel_abandonments_follow_continuation():
    """Open a → b → c, 1 h: u1 goes a→b→c, u2 enters at b and goes on to c, u3 only has c, u4 only a.
    Abandonments at a: a's users none of whose a is followed by b: u4 (not 'a users − b users' = 0)."""
    frame = events(
        [
            ("u1", "a", "2026-11-10 10:00"),
            ("u1", "b", "2026-11-10 10:10"),
            ("u1", "c", "2026-11-10 10:20"),
            ("u2", "b", "2026-11-10 11:00"),
            ("u2", "c", "2026-11-10 11:10"),
            ("u3", "c", "2026-11-10 12:00"),
            ("u4", "a", "2026-11-10 13:00"),
        ]
    )
    m = compute_funnel(frame, FunnelConfig(steps("a", "b", "c"), window=HOUR, open=True), AS_OF)
    assert users(m) == [2, 2, 3]
    assert [s.abandonments for s in m.steps] == [1, 0, 0]


def test_period_is_half_open():
    """An event at the midnight after as_of is outside; one at the period's first midnight is inside."""
    frame = events([("u1", "a", "2026-10-22 00:00"), ("u2", "a", "2026-11-21 00:00")])
    m = compute_funnel(frame, FunnelConfig(steps("a"), window=HOUR), AS_OF)
    assert users(m) == [1] and m.users == 1


# brute force: every entry of every key, written as the rule reads

END = pd.Timestamp("2026-11-21", tz="UTC")  # AS_OF's period [START, END)
START = END - pd.Timedelta(days=30)


def _keys_reaching(rows: list[tuple], config: FunnelConfig, start: pd.Timestamp, end: pd.Timestamp):
    """Over [start, end), by trying every event of every key: the keys reaching each step, the keys continuing
    from each step to the next, and each key's first step-1 time."""
    names = [s.event for s in config.steps]
    window = pd.Timedelta(seconds=config.window)
    by_key: dict[tuple, list[tuple]] = {}
    for seq, (user, name, time, session) in enumerate(rows):
        if start <= time < end:
            by_key.setdefault((user, session) if config.per_session else (user,), []).append((time, seq, name))
    reached = [set() for _ in names]
    continued = [set() for _ in names]
    entered = {}
    for key, evs in by_key.items():
        rank = {seq: next((i for i, n in enumerate(names) if n == name), len(names)) for _, seq, name in evs}
        ordered = sorted(evs, key=lambda e: (e[0], rank[e[1]], e[1]))
        before = {ordered[i][1]: ordered[i - 1] for i in range(1, len(ordered))}

        def follows(event, counted: list[tuple], before=before) -> bool:
            time, seq, _ = event
            if config.direct:
                p = before.get(seq)
                return p is not None and any(p[1] == c[1] for c in counted) and time - p[0] <= window
            return any(c[1] != seq and c[0] <= time <= c[0] + window for c in counted)

        counted = [e for e in evs if e[2] == names[0]]
        if counted:
            reached[0].add(key)
            entered[key] = min(counted)[0]
        for k in range(1, len(names)):
            candidates = [e for e in evs if e[2] == names[k]]
            linked = [e for e in candidates if follows(e, counted)]
            if linked:
                continued[k - 1].add(key)
            counted = candidates if config.open else linked
            if counted:
                reached[k].add(key)
    return reached, continued, entered


def _reference(rows: list[tuple], config: FunnelConfig, start=START, end=END) -> tuple[list[int], list[int]]:
    """Users per step and abandonments per step over [start, end)."""
    reached, continued, _ = _keys_reaching(rows, config, start, end)
    last = len(reached) - 1
    return [len(r) for r in reached], [len(reached[k]) - len(continued[k]) if k < last else 0 for k in range(last + 1)]


def _weekly_reference(rows: list[tuple], config: FunnelConfig, end: pd.Timestamp) -> list[float | None]:
    """Per week of the eight ending `end`: of the keys whose first step-1 event in them falls that week, the share
    that reached the last step in them."""
    weeks = end - pd.Timedelta(weeks=8)
    reached, _, entered = _keys_reaching(rows, config, weeks, end)
    out = []
    for week in range(8):
        keys = [k for k, t in entered.items() if (t - weeks) // pd.Timedelta(weeks=1) == week]
        out.append(sum(k in reached[-1] for k in keys) / len(keys) if keys else None)
    return out


_row = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),
    st.sampled_from(["a", "b", "c", "x"]),
    st.tuples(st.sampled_from([0, 1, 2]), st.integers(-3, 40)),  # which edge of the spans, minutes from it
    st.sampled_from(["1", "2"]),
)
_AS_OF = [AS_OF, date(2026, 3, 1), date(2027, 1, 3)]  # mid-month; a month's first day; a year's turn, a Sunday


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_AS_OF),
    st.lists(_row, max_size=30),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
    st.sampled_from([0.0, 300.0, 1200.0]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_sql_funnel_matches_the_brute_force_reference(as_of, drawn, names, window, direct, open_, per_session):
    """The same rule at several as_of: events around the period's end, the period's start (the previous period's
    end) and the weekly trend's start."""
    end = pd.Timestamp(as_of + timedelta(days=1), tz="UTC")
    start = end - pd.Timedelta(days=30)
    edges = [end - pd.Timedelta(minutes=30), start - pd.Timedelta(minutes=20),
             end - pd.Timedelta(weeks=8, minutes=20)]  # fmt: skip
    rows = [(u, n, edges[edge] + pd.Timedelta(minutes=m), s) for u, n, (edge, m), s in drawn]
    config = FunnelConfig(steps(*names), window=window, direct=direct, open=open_, per_session=per_session)
    m = compute_funnel(events(rows), config, as_of)
    counts, abandonments = _reference(rows, config, start, end)
    assert users(m) == counts
    assert [s.abandonments for s in m.steps] == abandonments
    assert m.overall_conversion == (None if counts[0] == 0 else pytest.approx(counts[-1] / counts[0]))
    before, _ = _reference(rows, config, start - pd.Timedelta(days=30), start)
    assert m.previous_overall_conversion == (None if before[0] == 0 else pytest.approx(before[-1] / before[0]))
    assert [rate for _, rate in m.weekly] == [
        None if r is None else pytest.approx(r) for r in _weekly_reference(rows, config, end)
    ]


_AROUND = lambda t: [t - 3_600_000_001, t - 1, t, t + 3_600_000_000]  # noqa: E731  (an hour either side of a change)


@settings(max_examples=60, deadline=None)
@example(zone="Europe/Paris", moments=_AROUND(1_774_746_000_000_000) + _AROUND(1_792_890_000_000_000))
@example(zone="Australia/Sydney", moments=_AROUND(1_775_318_400_000_000) + _AROUND(1_791_043_200_000_000))
@example(zone="America/New_York", moments=_AROUND(1_772_953_200_000_000) + _AROUND(1_793_512_800_000_000))
@given(
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
    moments=st.lists(st.integers(1_767_225_600_000_000, 1_798_761_599_999_999), min_size=1, max_size=40),
)
def test_local_days_in_sql_match_the_zone_database(zone, moments):
    """An event's local day, as the funnel's SQL computes it over 2026, is the date zoneinfo gives, at every
    moment including those around the clock changes."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from kpitui import engine
    from kpitui.metrics.funnel import Calendar

    first, last = date(2026, 1, 1), date(2026, 12, 31)
    day = Calendar(ZoneInfo(zone)).day_of(first, last)
    cursor = engine.cursor()
    try:
        got = [cursor.execute(f"SELECT {day} FROM (SELECT CAST({t} AS BIGINT) AS t)").fetchone()[0] for t in moments]
    finally:
        cursor.close()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [((epoch + timedelta(microseconds=t)).astimezone(ZoneInfo(zone)).date() - first).days for t in moments]
    assert got == expected
