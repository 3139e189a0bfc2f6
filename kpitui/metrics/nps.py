"""Net Promoter Score over a window, with its margin of error and monthly trend (DESIGN.md §4)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from kpitui.metrics.revenue import end_of_day
from kpitui.model import NpsComment, NpsMetrics, NpsPoint


def nps_of(scores: pd.Series) -> tuple[float | None, int, int, int, float | None]:
    """(score, promoters, passives, detractors, margin of error at 95 %) of 0–10 scores."""
    n = len(scores)
    if n == 0:
        return None, 0, 0, 0, None
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    passives = n - promoters - detractors
    p, d = promoters / n, detractors / n
    margin = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return 100 * (p - d), promoters, passives, detractors, margin


def compute_nps(responses: pd.DataFrame, as_of: date, window_days: int = 90, comments: int = 200) -> NpsMetrics:
    """NPS for the window ending `as_of`, the previous window, monthly trend and comments."""
    dated = bool(responses["responded_at"].notna().any())
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=window_days)
    if dated:
        times = responses["responded_at"]
        window = responses[(times > start) & (times <= end)]
        before = responses[(times > start - pd.Timedelta(days=window_days)) & (times <= start)]
    else:
        window, before = responses, responses.iloc[0:0]
    scores = window["score"].astype(int)
    score, promoters, passives, detractors, margin = nps_of(scores)
    previous, *_, previous_margin = nps_of(before["score"].astype(int))
    significant = None
    if score is not None and previous is not None and margin is not None and previous_margin is not None:
        significant = abs(score - previous) > math.sqrt(margin**2 + previous_margin**2)
    distribution = np.bincount(scores.to_numpy(), minlength=11)[:11] if len(scores) else np.zeros(11, dtype=int)
    return NpsMetrics(
        score=score,
        responses=len(scores),
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        margin_of_error=margin,
        previous_score=previous,
        history=_history(responses, end) if dated else (),
        distribution=tuple(int(v) for v in distribution),
        comments=_comments(window, comments),
        windowed=dated,
        window_days=window_days,
        change_is_significant=significant,
        segments=_segments(window),
    )


def _history(responses: pd.DataFrame, end: pd.Timestamp) -> tuple[NpsPoint, ...]:
    months = pd.period_range(end=end.tz_localize(None).to_period("M"), periods=12, freq="M")
    month = responses["responded_at"].dt.tz_localize(None).dt.to_period("M")
    points = []
    for m in months:
        scores = responses.loc[month == m, "score"].astype(int)
        points.append(NpsPoint(str(m), nps_of(scores)[0], len(scores)))
    return tuple(points)


def _comments(window: pd.DataFrame, limit: int) -> tuple[NpsComment, ...]:
    text = window["comment"].astype("string").str.strip()
    with_text = window[text.notna() & (text != "")]
    ordered = with_text.assign(group=(with_text["score"] > 6).astype(int) + (with_text["score"] > 8).astype(int))
    ordered = ordered.sort_values(["group", "responded_at"], ascending=[True, False], na_position="last").head(limit)
    return tuple(
        NpsComment(
            None if pd.isna(row.responded_at) else row.responded_at.to_pydatetime(),
            int(row.score),
            str(row.comment),
            "" if pd.isna(row.segment) else str(row.segment),
        )
        for row in ordered.itertuples()
    )


def _segments(window: pd.DataFrame) -> tuple[tuple[str, float | None, int], ...]:
    if window["segment"].isna().all():
        return ()
    out = []
    for name, group in window.groupby(window["segment"].fillna("(none)")):
        out.append((str(name), nps_of(group["score"].astype(int))[0], len(group)))
    return tuple(sorted(out, key=lambda r: -r[2]))
