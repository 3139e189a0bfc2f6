"""Funnel and traffic figures from GA4's pre-aggregated exports: funnel explorations shown as given, visitors and
sessions from report tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from kpitui.metrics.funnel import funnel_steps, overall_conversion
from kpitui.metrics.revenue import end_of_day
from kpitui.model import FunnelMetrics

DAY_US = 86_400_000_000  # microseconds in a day


def funnel_from_steps(steps: pd.DataFrame) -> FunnelMetrics:
    """A pre-aggregated funnel export, shown as given (first segment when broken down)."""
    if steps["segment"].notna().any():
        steps = steps[steps["segment"] == steps["segment"].dropna().iloc[0]]
    steps = steps.sort_values("step_index")
    counts = [int(v) for v in steps["users"].fillna(0)]
    return FunnelMetrics(
        steps=funnel_steps(counts, [*counts[1:], None], list(steps["step_name"].astype(str))),
        overall_conversion=overall_conversion(counts),
        preaggregated=True,
    )


def day_slots(times: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> tuple[list[str], np.ndarray]:
    """The UTC days of the period (start, end] (`YYYY-MM-DD`), and each time's day in them (-1 outside)."""
    first = np.datetime64(start.tz_convert(None), "D") + 1
    count = int((np.datetime64(end.tz_convert(None), "D") - first).astype(np.int64)) + 1
    slots = times.astype("datetime64[us]", copy=False).view(np.int64) // DAY_US
    slots -= first.astype(np.int64)  # NaT (the smallest int64) lands far before the first day
    slots[(slots < 0) | (slots >= count)] = -1
    return [str(first + i) for i in range(count)], slots


_VISITOR_METRICS = ("active users", "users", "total users")


def with_report_traffic(
    funnel: FunnelMetrics | None, traffic: pd.DataFrame, as_of: date, period_days: int = 30
) -> FunnelMetrics:
    """Visitors per day and sessions of the period from GA4/UA report tables (a `Date` or `Day Index` table)."""
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=period_days)
    daily = traffic[traffic["dimension_value"].isna() & traffic["date"].notna()]
    daily = daily[(daily["date"] > start) & (daily["date"] <= end)]
    metric = daily["metric"].str.strip().str.lower()
    visitors = daily[metric.isin(_VISITOR_METRICS)].groupby("date")["value"].max()
    days, slots = day_slots(visitors.index.to_numpy(dtype="datetime64[us]"), start, end)
    per_day = np.zeros(len(days), dtype=np.int64)
    per_day[slots[slots >= 0]] = visitors.to_numpy()[slots >= 0]
    sessions = daily.loc[metric == "sessions", "value"]
    base = funnel or FunnelMetrics(steps=(), overall_conversion=None, preaggregated=True)
    return replace(
        base,
        daily_visitors=tuple(zip(days, map(int, per_day), strict=True)) if len(visitors) else (),
        sessions=int(sessions.sum()) if len(sessions) else None,
    )
