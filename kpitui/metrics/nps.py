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


def nps_of(scores: np.ndarray) -> tuple[float | None, int, int, int, float | None]:
    """(score, promoters, passives, detractors, margin of error at 95 %) of 0–10 scores."""
    return nps_from_counts(len(scores), int((scores >= 9).sum()), int((scores <= 6).sum()))


def nps_from_counts(n: int, promoters: int, detractors: int) -> tuple[float | None, int, int, int, float | None]:
    """The same from counts of responses, promoters and detractors."""
    if n == 0:
        return None, 0, 0, 0, None
    p, d = promoters / n, detractors / n
    margin = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return 100 * (p - d), promoters, n - promoters - detractors, detractors, margin


def _scores_by_group(groups: np.ndarray, scores: np.ndarray, count: int) -> tuple[list[float | None], np.ndarray]:
    """NPS and responses of each group 0..count-1 (-1: no group), from one count of group × kind."""
    kind = (scores > 6).astype(np.int64) + (scores > 8)  # 0 detractor, 1 passive, 2 promoter
    table = np.bincount((groups.astype(np.int64) + 1) * 3 + kind, minlength=3 * (count + 1)).reshape(-1, 3)[1:]
    n = table.sum(axis=1)
    return [nps_from_counts(int(n[i]), int(table[i, 2]), int(table[i, 0]))[0] for i in range(count)], n


def compute_nps(responses: pd.DataFrame, as_of: date, window_days: int = 90, comments: int = 200) -> NpsMetrics:
    """NPS for the window ending `as_of`, the previous window, monthly trend and comments."""
    times = responses["responded_at"].to_numpy(dtype="datetime64[us]")
    all_scores = responses["score"].to_numpy(dtype=np.int64, na_value=-1)
    dated = not np.isnat(times).all()
    end = end_of_day(as_of)
    end64 = np.datetime64(end.tz_localize(None), "us")
    span = np.timedelta64(window_days, "D")
    if dated:
        in_window = (times > end64 - span) & (times <= end64)
        before = (times > end64 - 2 * span) & (times <= end64 - span)
    else:
        in_window = np.ones(len(responses), dtype=bool)
        before = np.zeros(len(responses), dtype=bool)
    scores = all_scores[in_window]
    score, promoters, passives, detractors, margin = nps_of(scores)
    previous, *_, previous_margin = nps_of(all_scores[before])
    significant = None
    if score is not None and previous is not None and margin is not None and previous_margin is not None:
        significant = abs(score - previous) > math.sqrt(margin**2 + previous_margin**2)
    window = np.flatnonzero(in_window)
    return NpsMetrics(
        score=score,
        responses=len(scores),
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        margin_of_error=margin,
        previous_score=previous,
        history=_history(times, all_scores, end) if dated else (),
        distribution=tuple(int(v) for v in np.bincount(scores, minlength=11)[:11]),
        comments=_comments(responses, window, times, all_scores, comments),
        windowed=dated,
        window_days=window_days,
        change_is_significant=significant,
        segments=_segments(responses["segment"], window, scores),
    )


def _history(times: np.ndarray, scores: np.ndarray, end: pd.Timestamp) -> tuple[NpsPoint, ...]:
    """NPS and responses per month, last 12 months."""
    labels, slots = month_slots(times, end)
    values, counts = _scores_by_group(slots, scores, len(labels))
    return tuple(NpsPoint(label, values[i], int(counts[i])) for i, label in enumerate(labels))


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
    text = pa.array(segment.array, type=pa.string())
    encoded = pc.dictionary_encode(pc.take(text, window))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    if encoded.null_count == len(encoded):
        return ()
    codes = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()
    names = [*encoded.dictionary.to_pylist(), "(none)"]
    values, counts = _scores_by_group(codes, scores, len(names))
    out = [(name, values[i], int(counts[i])) for i, name in sorted(enumerate(names), key=lambda x: x[1]) if counts[i]]
    return tuple(sorted(out, key=lambda r: -r[2]))
