"""Net Promoter Score over a window, with its margin of error and monthly trend (DESIGN.md §4)."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpitui.metrics.months import month_slots
from kpitui.metrics.revenue import end_of_day
from kpitui.model import NpsComment, NpsMetrics, NpsPoint


def nps_from_counts(n: int, promoters: int, detractors: int) -> tuple[float | None, int, int, int, float | None]:
    """(score, promoters, passives, detractors, margin of error at 95 %) from counts of responses, promoters and
    detractors."""
    if n == 0:
        return None, 0, 0, 0, None
    p, d = promoters / n, detractors / n
    margin = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return 100 * (p - d), promoters, n - promoters - detractors, detractors, margin


def _nps_of_distribution(counts: np.ndarray) -> tuple[float | None, int, int, int, float | None]:
    """`nps_from_counts` of the count of each score 0..10."""
    return nps_from_counts(int(counts.sum()), int(counts[9:].sum()), int(counts[:7].sum()))


def _distributions(groups: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    """Responses per group 0..count-1 (-1 and `count`: no group) and score: a (count, 11) table, one bincount."""
    key = np.clip(groups, -1, count).astype(np.int64, copy=False)  # a new array: changed in place below
    key += 1
    key *= 11
    key += scores
    return np.bincount(key, minlength=11 * (count + 2)).reshape(-1, 11)[1 : count + 1]


def _periods(times: np.ndarray, end: pd.Timestamp, span: np.timedelta64) -> np.ndarray:
    """0 for times in the window (end − span, end], 1 in the window before it; other numbers outside (or no time)."""
    end_us = np.datetime64(end.tz_localize(None), "us").astype(np.int64)
    span_us = span.astype("timedelta64[us]").astype(np.int64)
    ago = end_us - np.maximum(times.view(np.int64), end_us - 2 * span_us)  # no time (NaT) is older than both
    return ago // span_us


def compute_nps(responses: pd.DataFrame, as_of: date, window_days: int = 90, comments: int = 200) -> NpsMetrics:
    """NPS for the window ending `as_of`, the previous window, monthly trend and comments."""
    if responses["score"].hasnans:
        responses = responses[responses["score"].notna()]
    times = responses["responded_at"].to_numpy(dtype="datetime64[us]")
    all_scores = responses["score"].to_numpy(dtype=np.int64, na_value=0)
    dated = not np.isnat(times).all()
    end = end_of_day(as_of)
    if dated:
        periods = _periods(times, end, np.timedelta64(window_days, "D"))
    else:
        periods = np.zeros(len(responses), dtype=np.int64)
    now, before = _distributions(periods, all_scores, 2)
    score, promoters, passives, detractors, margin = _nps_of_distribution(now)
    previous, *_, previous_margin = _nps_of_distribution(before)
    significant = None
    if score is not None and previous is not None and margin is not None and previous_margin is not None:
        significant = abs(score - previous) > math.sqrt(margin**2 + previous_margin**2)
    window = np.flatnonzero(periods == 0)
    scores = all_scores[window]
    return NpsMetrics(
        score=score,
        responses=int(now.sum()),
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        margin_of_error=margin,
        previous_score=previous,
        history=_history(times, all_scores, end) if dated else (),
        distribution=tuple(int(v) for v in now),
        comments=_comments(responses, window, times, all_scores, comments),
        windowed=dated,
        window_days=window_days,
        change_is_significant=significant,
        segments=_segments(responses["segment"], window, scores),
    )


def _history(times: np.ndarray, scores: np.ndarray, end: pd.Timestamp) -> tuple[NpsPoint, ...]:
    """NPS and responses per month, last 12 months."""
    labels, slots = month_slots(times, end)
    table = _distributions(slots, scores, len(labels))
    return tuple(
        NpsPoint(label, _nps_of_distribution(table[i])[0], int(table[i].sum())) for i, label in enumerate(labels)
    )


def _comments(responses, window: np.ndarray, times, scores, limit: int) -> tuple[NpsComment, ...]:
    """The window's comments: detractors first, then passives, then promoters; newest first in each."""
    comment = responses["comment"]
    rows = window[~comment.isna().to_numpy()[window]]
    stamps = np.where(np.isnat(times[rows]), 0, times[rows].astype(np.int64))  # undated last
    key = ((scores[rows] > 6).astype(np.int64) + (scores[rows] > 8)) * (1 << 60) - stamps
    wanted = 4 * limit  # blank-only comments are rare: usually one round
    while True:
        count = min(wanted, len(rows))
        first = np.argpartition(key, count - 1)[:count] if 0 < count < len(rows) else np.arange(len(rows))
        ordered = rows[first[np.argsort(key[first], kind="stable")]]
        texts = [str(t) for t in comment.iloc[ordered].to_numpy()]
        kept = [i for i, text in enumerate(texts) if text.strip()]
        if len(kept) >= limit or count == len(rows):
            break
        wanted *= 4
    kept = kept[:limit]
    chosen = ordered[kept]
    segments = responses["segment"].iloc[chosen].to_numpy()
    return tuple(
        NpsComment(
            None if np.isnat(times[row]) else _utc(times[row]),
            int(scores[row]),
            texts[i],
            "" if pd.isna(segment) else str(segment),
        )
        for i, row, segment in zip(kept, chosen, segments, strict=True)
    )


def _utc(moment: np.datetime64) -> datetime:
    """A naive UTC datetime64 as an aware datetime."""
    return pd.Timestamp(moment).tz_localize("UTC").to_pydatetime()


def _segments(segment: pd.Series, window: np.ndarray, scores: np.ndarray) -> tuple[tuple[str, float | None, int], ...]:
    """NPS and responses per segment (e.g. plan) over the window, largest first."""
    text = pa.array(segment.array)
    encoded = pc.dictionary_encode(pc.take(text, window))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    if encoded.null_count == len(encoded):
        return ()
    codes = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()
    names = [*encoded.dictionary.to_pylist(), "(none)"]
    table = _distributions(codes, scores, len(names))
    out = [(name, _nps_of_distribution(table[i])[0], int(table[i].sum())) for i, name in enumerate(names)]
    return tuple(sorted((row for row in out if row[2]), key=lambda r: (-r[2], r[0])))
