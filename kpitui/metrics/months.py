"""Calendar slots (the days of a period, the months of a trend), computed without per-row Python."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_US = 86_400_000_000  # microseconds in a day


def month_slots(times: np.ndarray, end: pd.Timestamp, count: int = 12) -> tuple[list[str], np.ndarray]:
    """The `count` months ending with `end`'s month (`YYYY-MM`, UTC), and each time's slot in them (-1 outside)."""
    last = np.datetime64(end.tz_localize(None), "M")
    months = (last - np.arange(count - 1, -2, -1)).astype("datetime64[M]")  # the window and the month after
    bounds = months.astype("datetime64[D]").astype(np.int64)
    # 1 = the window's first day; no time (NaT, the smallest int64) lands far before it
    days = times.astype("datetime64[us]", copy=False).view(np.int64) // DAY_US
    days -= bounds[0] - 1
    # day of the window → its month; -1 for the days before it (and no date) and after it
    outside = np.array([-1], dtype=np.int16)
    by_day = np.concatenate((outside, np.repeat(np.arange(count, dtype=np.int16), np.diff(bounds)), outside))
    slots = by_day[np.clip(days, 0, len(by_day) - 1)]
    return [str(m) for m in months[:count]], slots


def by_slot(slots: np.ndarray, values: np.ndarray, count: int) -> list[np.ndarray]:
    """The values of each slot 0..count-1 (one stable radix sort, no mask per slot)."""
    order = np.argsort(slots, kind="stable")
    edges = np.searchsorted(slots[order], np.arange(count + 1))
    ordered = values[order]
    return [ordered[edges[i] : edges[i + 1]] for i in range(count)]


def day_slots(times: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> tuple[list[str], np.ndarray]:
    """The UTC days of the period (start, end] (`YYYY-MM-DD`), and each time's day in them (-1 outside)."""
    first = np.datetime64(start.tz_convert(None), "D") + 1
    count = int((np.datetime64(end.tz_convert(None), "D") - first).astype(np.int64)) + 1
    slots = times.astype("datetime64[us]", copy=False).view(np.int64) // DAY_US
    slots -= first.astype(np.int64)  # NaT (the smallest int64) lands far before the first day
    slots[(slots < 0) | (slots >= count)] = -1
    return [str(first + i) for i in range(count)], slots
