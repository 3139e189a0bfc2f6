"""Net Promoter Score over a window, with its margin of error and monthly trend (DESIGN.md §4), as SQL on the
engine. Windows are half-open, [start, end): `end` the midnight after `as_of` in the survey's time zone, months
are its months too; what was answered later is unknown at `as_of`."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kpitui import engine
from kpitui.metrics.tables import instant, interval_of, midnight, month_starts, period_bound, table_view
from kpitui.model import NpsComment, NpsMetrics, NpsPoint

_MONTHS = 12  # the monthly trend's length
NPS_COUNTS = (
    "count(*) AS n, count(CASE WHEN score >= 9 THEN 1 END) AS promoters, "
    "count(CASE WHEN score <= 6 THEN 1 END) AS detractors"
)


def nps_from_counts(n: int, promoters: int, detractors: int) -> tuple[float | None, int, int, int, float | None]:
    """(score, promoters, passives, detractors, margin of error at 95 %) from counts of responses, promoters and
    detractors."""
    if n == 0:
        return None, 0, 0, 0, None
    p, d = promoters / n, detractors / n
    margin = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return 100 * (p - d), promoters, n - promoters - detractors, detractors, margin


def compute_nps(
    responses: Any, as_of: date, window_days: int = 90, comments: int = 200, timezone: str = "UTC"
) -> NpsMetrics:
    """NPS for the window ending `as_of`, the previous window, the monthly trend, segments and comments, days and
    months in the survey's time zone; an export without dates is scored as a whole."""
    end, start, before = (period_bound(as_of, window_days, n, timezone) for n in (0, 1, 2))
    cursor = engine.cursor()
    try:
        table_view(cursor, "raw", responses)
        cursor.execute("CREATE OR REPLACE TEMP VIEW scored AS SELECT * FROM raw WHERE score IS NOT NULL")
        dated = cursor.execute("SELECT count(responded_at) > 0 FROM scored").fetchall()[0][0]
        in_window = f"responded_at >= {instant(start)} AND responded_at < {instant(end)}" if dated else "TRUE"
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW windowed AS SELECT * FROM scored WHERE {in_window}")
        distribution = dict(cursor.execute("SELECT score, count(*) FROM windowed GROUP BY score").fetchall())
        counts = [int(distribution.get(score, 0)) for score in range(11)]
        score, promoters, passives, detractors, margin = _of_distribution(counts)
        previous = previous_margin = None
        if dated:
            earlier = f"responded_at >= {instant(before)} AND responded_at < {instant(start)}"
            previous, *_, previous_margin = nps_from_counts(
                *cursor.execute(f"SELECT {NPS_COUNTS} FROM scored WHERE {earlier}").fetchall()[0]
            )
        significant = None
        if None not in (score, previous, margin, previous_margin):
            significant = abs(score - previous) > math.sqrt(margin**2 + previous_margin**2)
        return NpsMetrics(
            score=score,
            responses=sum(counts),
            promoters=promoters,
            passives=passives,
            detractors=detractors,
            margin_of_error=margin,
            previous_score=previous,
            history=_history(cursor, as_of, end, timezone) if dated else (),
            distribution=tuple(counts),
            comments=_comments(cursor, comments),
            windowed=dated,
            window_days=window_days,
            change_is_significant=significant,
            segments=_segments(cursor),
            timezone=timezone,
        )
    finally:
        cursor.close()


def _of_distribution(counts: list[int]) -> tuple[float | None, int, int, int, float | None]:
    """`nps_from_counts` of the count of each score 0..10."""
    return nps_from_counts(sum(counts), sum(counts[9:]), sum(counts[:7]))


def _history(cursor: Any, as_of: date, end: datetime, zone: str) -> tuple[NpsPoint, ...]:
    """NPS and responses per month of the survey's time zone, the 12 months ending with as_of's, up to `end`."""
    starts = month_starts(as_of, _MONTHS)
    month, inside = interval_of("responded_at", [midnight(day, zone) for day in starts] + [end])
    rows = cursor.execute(f"SELECT {month} AS month, {NPS_COUNTS} FROM scored WHERE {inside} GROUP BY month").fetchall()
    by_month = {k: counts for k, *counts in rows}
    return tuple(
        NpsPoint(day.strftime("%Y-%m"), nps_from_counts(*by_month.get(k, (0, 0, 0)))[0], int(by_month.get(k, (0,))[0]))
        for k, day in enumerate(starts)
    )


def _comments(cursor: Any, limit: int) -> tuple[NpsComment, ...]:
    """The window's comments: detractors first, then passives, then promoters; newest first in each, undated
    last; blank ones left out."""
    rows = cursor.execute(
        "SELECT epoch_us(responded_at), score, comment, segment FROM windowed "
        "WHERE comment IS NOT NULL AND trim(comment) <> '' "
        "ORDER BY CASE WHEN score <= 6 THEN 0 WHEN score <= 8 THEN 1 ELSE 2 END, responded_at DESC NULLS LAST, seq "
        f"LIMIT {limit}"
    ).fetchall()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return tuple(
        NpsComment(None if us is None else epoch + timedelta(microseconds=us), int(score), comment, segment or "")
        for us, score, comment, segment in rows
    )


def _segments(cursor: Any) -> tuple[tuple[str, float | None, int], ...]:
    """NPS and responses per segment (e.g. plan) over the window, largest first; none when no response has one."""
    rows = cursor.execute(
        f"SELECT COALESCE(segment, '(none)') AS name, {NPS_COUNTS}, count(segment) AS named FROM windowed "
        "GROUP BY name ORDER BY n DESC, name"
    ).fetchall()
    if not any(named for *_, named in rows):
        return ()
    return tuple((name, nps_from_counts(n, p, d)[0], int(n)) for name, n, p, d, _ in rows)
