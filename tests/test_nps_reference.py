"""NPS against a brute-force reference written from DESIGN.md section 4, response by response in Python, on random
surveys at several `as_of` dates, windows and time zones (responses a minute either side of each window's and
month's bounds too)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.frames import conform
from kpitui.metrics.nps import compute_nps

AS_OFS = [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 20), date(2027, 1, 31)]  # DST ends in NY on 11-01
ZONES = ["UTC", "America/New_York", "Asia/Kolkata"]


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(zone))


def _months(as_of: date) -> list[int]:
    """The 12 months ending with as_of's, as months since year 0."""
    return [as_of.year * 12 + as_of.month - 1 - back for back in range(11, -1, -1)]


@st.composite
def surveys(draw: st.DrawFn) -> tuple[list[tuple[datetime, int]], date, int, str]:
    """(responses as (time, score), as_of, window days, zone)."""
    as_of, window, zone = draw(st.sampled_from(AS_OFS)), draw(st.sampled_from([30, 90])), draw(st.sampled_from(ZONES))
    windows = [_midnight(as_of + timedelta(days=1 - n * window), zone) for n in range(3)]
    end = windows[0]
    months = [_midnight(date(m // 12, m % 12 + 1, 1), zone) for m in _months(as_of)]
    bounds = windows + months
    moment = st.one_of(
        st.integers(min_value=-400 * 24 * 60, max_value=2 * 24 * 60).map(lambda m: end + timedelta(minutes=m)),
        st.builds(lambda at, m: at + timedelta(minutes=m), st.sampled_from(bounds), st.sampled_from([-1, 0, 1])),
    )
    answers = draw(st.lists(st.tuples(moment, st.integers(min_value=0, max_value=10)), max_size=40))
    return answers, as_of, window, zone


def score(scores: list[int]) -> tuple[float | None, int, int, int, float | None]:
    """(NPS, promoters, passives, detractors, margin of error at 95 %) by the definition."""
    n = len(scores)
    promoters, detractors = sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)
    if n == 0:
        return None, 0, 0, 0, None
    p, d = promoters / n, detractors / n
    return 100 * (p - d), promoters, n - promoters - detractors, detractors, 196 * math.sqrt((p + d - (p - d) ** 2) / n)


def reference(answers: list[tuple[datetime, int]], as_of: date, window: int, zone: str) -> dict:
    """The window ending `as_of`, the one before it, and each of the 12 months ending with as_of's (local)."""
    tz = ZoneInfo(zone)
    end, start, before = (_midnight(as_of + timedelta(days=1 - n * window), zone) for n in range(3))
    months = _months(as_of)
    month_of = lambda t: t.astimezone(tz).year * 12 + t.astimezone(tz).month - 1  # noqa: E731
    history = []
    for m in months:
        scores = [s for t, s in answers if t < end and month_of(t) == m]
        history.append((f"{m // 12}-{m % 12 + 1:02d}", score(scores)[0], len(scores)))
    return {
        "now": score([s for t, s in answers if start <= t < end]),
        "previous": score([s for t, s in answers if before <= t < start])[0],
        "history": history,
    }


@settings(max_examples=60, deadline=None)
@given(surveys())
def test_nps_matches_the_reference(survey):
    answers, as_of, window, zone = survey
    rows = [{"response_id": str(n), "responded_at": t.isoformat(), "score": s} for n, (t, s) in enumerate(answers)]
    frame = conform("responses", pd.DataFrame(rows, columns=["response_id", "responded_at", "score"]))
    m = compute_nps(frame, as_of, window, timezone=zone)
    want = reference(answers, as_of, window, zone)
    close = lambda value: None if value is None else pytest.approx(value)  # noqa: E731
    nps, promoters, passives, detractors, margin = want["now"]
    assert (m.responses, m.promoters, m.passives, m.detractors) == (
        promoters + passives + detractors,
        promoters,
        passives,
        detractors,
    )
    assert (m.score, m.margin_of_error, m.previous_score) == (close(nps), close(margin), close(want["previous"]))
    if answers:  # (a survey without dated responses is scored as a whole, without months)
        assert [(p.month, p.score, p.responses) for p in m.history] == [
            (month, close(value), n) for month, value, n in want["history"]
        ]
