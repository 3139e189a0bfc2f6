"""Every support figure against a brute-force reference written from DESIGN.md section 4, ticket by ticket in
Python, on random canonical tickets at several `as_of` dates, zones, periods, SLA targets and minute bases: the
period's figures, the previous period's, each priority's, volume per day, the weekday × hour heat map and the
monthly history."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.frames import conform
from kpitui.metrics.support import SupportSettings, compute_support

SOLVED = {"solved", "closed", "resolved"}
STATUSES = ["new", "open", "pending", *sorted(SOLVED)]  # as the connectors write them: lower case
ZONES = ["UTC", "America/New_York"]
AS_OFS = [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 20), date(2026, 12, 6)]  # DST ends in NY on 11-01
TARGETS = (("Normal", 60.0), ("high", 30.0), ("urgent", 15.0))  # "urgent" matches no priority drawn


@dataclass(frozen=True)
class Ticket:
    """One drawn ticket: its times, status and figures as an export would hold them."""

    ticket_id: str
    created: datetime
    status: str
    priority: str | None
    reply: int | None  # calendar minutes to the first reply (negative: a data error)
    reply_business: int | None
    solve: int | None  # calendar minutes to the last solve
    solve_business: int | None
    satisfaction: float | None

    def at(self, minutes: int | None) -> datetime | None:
        """The instant `minutes` after creation (a negative duration's stamp lies before it)."""
        return None if minutes is None else self.created + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Case:
    """A drawn book and the snapshot asked of it."""

    book: list[Ticket]
    as_of: date
    period: int
    zone: str


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(zone))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Tickets created anywhere in the 75 days before `as_of`'s end and a day after, or a minute either side of
    the period's bounds and of the last three months' starts; their durations random, at the SLA targets, or
    ending a minute either side of `end`."""
    as_of, period, zone = draw(st.sampled_from(AS_OFS)), draw(st.sampled_from([7, 30])), draw(st.sampled_from(ZONES))
    end = _midnight(as_of + timedelta(days=1), zone)
    months = [as_of.year * 12 + as_of.month - 1 - back for back in range(3)]  # the history's latest month starts
    bounds = [
        end,
        _midnight(as_of + timedelta(days=1 - period), zone),
        _midnight(as_of + timedelta(days=1 - 2 * period), zone),
        *(_midnight(date(m // 12, m % 12 + 1, 1), zone) for m in months),
    ]
    book = []
    for n in range(draw(st.integers(min_value=1, max_value=30))):  # (with no tickets, nothing says they have times)
        created = draw(st.one_of(
            st.integers(min_value=-75 * 24 * 60, max_value=24 * 60).map(lambda m: end + timedelta(minutes=m)),
            st.builds(lambda at, m: at + timedelta(minutes=m), st.sampled_from(bounds), st.sampled_from([-1, 0, 1])),
        ))  # fmt: skip
        to_end = (end - created) // timedelta(minutes=1)
        minutes = st.one_of(
            st.none(),
            st.integers(min_value=-20, max_value=30 * 24 * 60),
            st.sampled_from([-1, 0, to_end - 1, to_end]),
            st.sampled_from([30, 60]),  # the targets of `high` and `normal`
        )
        book.append(Ticket(
            str(n), created,
            status=draw(st.sampled_from(STATUSES)),
            priority=draw(st.sampled_from([None, "normal", "NORMAL", "high", "low"])),
            reply=draw(minutes), reply_business=draw(minutes), solve=draw(minutes), solve_business=draw(minutes),
            satisfaction=draw(st.sampled_from([None, 0.0, 1.0])),
        ))  # fmt: skip
    return Case(book, as_of, period, zone)


def _frame(book: list[Ticket]) -> pd.DataFrame:
    """The tickets as a canonical frame (stamps from the minutes, as the connectors derive them)."""
    stamp = lambda value: None if value is None else value.isoformat()  # noqa: E731
    rows = [
        {
            "ticket_id": t.ticket_id,
            "created": stamp(t.created),
            "first_response_at": stamp(t.at(t.reply)),
            "solved_at": stamp(t.at(t.solve)),
            "status": t.status,
            "priority": t.priority,
            "first_response_minutes": t.reply,
            "resolution_minutes": t.solve,
            "first_response_minutes_business": t.reply_business,
            "resolution_minutes_business": t.solve_business,
            "satisfaction": t.satisfaction,
        }
        for t in book
    ]
    return conform("tickets", pd.DataFrame(rows))


# --- the brute-force reference ---------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks, as pandas `quantile`."""
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def stats(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Median, P90 and mean."""
    return quantile(values, 0.5), quantile(values, 0.9), statistics.fmean(values) if values else None


def share(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def _month(moment: datetime) -> int:
    """A time's month, counted from year 0."""
    return moment.year * 12 + moment.month - 1


def reference(book: list[Ticket], as_of: date, period: int, zone: str, targets: dict[str, float],
              business: bool) -> dict:  # fmt: skip
    """Every figure by its definition: the ticket as it stood at `end`, the midnight after `as_of` in the zone."""
    tz = ZoneInfo(zone)
    end = _midnight(as_of + timedelta(days=1), zone)
    start = _midnight(as_of + timedelta(days=1 - period), zone)
    before = _midnight(as_of + timedelta(days=1 - 2 * period), zone)

    def solved(t: Ticket) -> bool:  # solved or closed by `end` (a solve without a time: when, unknown, but done)
        return t.status in SOLVED and (t.solve is None or t.at(t.solve) < end)

    def known(t: Ticket, value: int | None, stamp: int | None) -> int | None:
        """The minutes, if they had happened before `end` and are not a data error."""
        return None if value is None or value < 0 or (stamp is not None and t.at(stamp) >= end) else value

    def first_reply(t: Ticket) -> int | None:
        return known(t, t.reply_business if business else t.reply, t.reply)

    def resolution(t: Ticket) -> int | None:
        return known(t, t.solve_business if business else t.solve, t.solve) if solved(t) else None

    def target(t: Ticket) -> float | None:
        return None if t.priority is None else targets.get(t.priority.lower())

    in_period = [t for t in book if start <= t.created < end]
    previous = [t for t in book if before <= t.created < start]
    replies = [first_reply(t) for t in in_period]
    judged = [(r, target(t)) for t, r in zip(in_period, replies) if r is not None and target(t) is not None]
    negative = [t for t in book if any(v is not None and v < 0 for v in (t.reply, t.reply_business, t.solve,
                                                                          t.solve_business))]  # fmt: skip
    days = [as_of - timedelta(days=period - 1 - n) for n in range(period)]
    clock = [(t.created.astimezone(tz).weekday(), t.created.astimezone(tz).hour) for t in in_period]
    history = []  # per month of the zone, the 12 ending with as_of's: tickets created by `end`, median first reply
    for m in (as_of.year * 12 + as_of.month - 1 - back for back in range(11, -1, -1)):
        created = [t for t in book if t.created < end and _month(t.created.astimezone(tz)) == m]
        answered = [r for t in created if (r := first_reply(t)) is not None]
        history.append((f"{m // 12}-{m % 12 + 1:02d}", len(created), quantile(answered, 0.5)))
    return {
        "tickets": len(in_period),
        "backlog": sum(1 for t in book if t.created < end and not solved(t)),
        "first_reply": stats([r for r in replies if r is not None]),
        "resolution": stats([r for t in in_period if (r := resolution(t)) is not None]),
        "csat": share([t.satisfaction == 1.0 for t in in_period if solved(t) and t.satisfaction is not None]),
        "breach": share([r > goal for r, goal in judged]) if targets else None,
        "previous": (
            len(previous),
            quantile([r for t in previous if (r := first_reply(t)) is not None], 0.5),
            quantile([r for t in previous if (r := resolution(t)) is not None], 0.5),
        ),
        "invalid": len(negative),
        "without_business": sum(
            1 for t, r in zip(in_period, replies) if business and r is None and known(t, t.reply, t.reply) is not None
        ),
        "daily": [(d.isoformat(), sum(1 for t in in_period if t.created.astimezone(tz).date() == d)) for d in days],
        "history": history,
        "heatmap": tuple(tuple(clock.count((weekday, hour)) for hour in range(24)) for weekday in range(7)),
    }


def by_priority(book: list[Ticket], as_of: date, period: int, zone: str, targets: dict[str, float],
                business: bool) -> list[tuple]:  # fmt: skip
    """Per priority as written (none: `(none)`), most tickets first: tickets, median first reply and resolution,
    breach rate and target, each by the reference over that priority's tickets alone."""
    names = sorted({t.priority for t in book}, key=lambda p: (p is None, p or ""))
    rows = []
    for name in names:
        alone = reference([t for t in book if t.priority == name], as_of, period, zone, targets, business)
        if alone["tickets"]:
            target = None if name is None else targets.get(name.lower())
            rows.append((name or "(none)", alone["tickets"], alone["first_reply"][0], alone["resolution"][0],
                         alone["breach"] if target is not None else None, target))  # fmt: skip
    return sorted(rows, key=lambda row: (-row[1], row[0]))


@settings(max_examples=80, deadline=None)
@given(cases(), st.sampled_from([(), TARGETS]), st.booleans())
def test_support_matches_the_reference(case, targets, business):
    book, as_of, period, zone = case.book, case.as_of, case.period, case.zone
    m = compute_support(_frame(book), SupportSettings(period, targets, business, zone), as_of)
    goals = {name.lower(): minutes for name, minutes in targets}
    want = reference(book, as_of, period, zone, goals, business)
    close = lambda values: tuple(None if v is None else pytest.approx(v) for v in values)  # noqa: E731
    assert (m.tickets, m.backlog) == (want["tickets"], want["backlog"])
    assert (m.first_response_minutes.median, m.first_response_minutes.p90, m.first_response_minutes.mean) == close(
        want["first_reply"]
    )
    assert (m.resolution_minutes.median, m.resolution_minutes.p90, m.resolution_minutes.mean) == close(
        want["resolution"]
    )
    assert (m.csat, m.sla_breach_rate) == close((want["csat"], want["breach"]))
    previous = (m.previous_tickets, m.previous_first_response_median, m.previous_resolution_median)
    assert previous == close(want["previous"])
    assert (m.invalid_durations, m.without_business_minutes) == (want["invalid"], want["without_business"])
    assert list(m.daily) == want["daily"]
    assert m.heatmap == want["heatmap"]
    assert [(p.month, p.tickets, p.first_response_median) for p in m.history] == [
        (month, n, None if median is None else pytest.approx(median)) for month, n, median in want["history"]
    ]
    got = [(g.name, g.tickets, g.first_response_median, g.resolution_median, g.sla_breach_rate, g.target_minutes)
           for g in m.by_priority]  # fmt: skip
    assert got == [close(row) for row in by_priority(book, as_of, period, zone, goals, business)]
