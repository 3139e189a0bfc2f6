"""First response, resolution, SLA, backlog and CSAT over a reporting period (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kpitui.metrics.revenue import end_of_day
from kpitui.model import DurationStats, GroupStats, OpenTicket, SupportMetrics, SupportPoint

SOLVED = ("solved", "closed", "resolved")


@dataclass(frozen=True)
class SupportSettings:
    """Period, SLA targets (minutes per priority) and calendar/business basis."""

    period_days: int = 30
    sla_minutes: tuple[tuple[str, float], ...] = ()
    business: bool = False


def duration_stats(minutes: pd.Series) -> DurationStats:
    """Median, P90 (linear interpolation) and mean of the non-negative values."""
    valid = minutes.dropna()
    valid = valid[valid >= 0]
    if valid.empty:
        return DurationStats()
    return DurationStats(float(valid.quantile(0.5)), float(valid.quantile(0.9)), float(valid.mean()))


def _minutes(tickets: pd.DataFrame, kind: str, business: bool) -> pd.Series:
    """The calendar or business minutes column, business falling back to calendar where empty."""
    calendar = tickets[f"{kind}_minutes"]
    if not business:
        return calendar
    return tickets[f"{kind}_minutes_business"].where(tickets[f"{kind}_minutes_business"].notna(), calendar)


def breach_rate(tickets: pd.DataFrame, first_response: pd.Series, targets: dict[str, float]) -> float | None:
    """Tickets over their priority's target ÷ tickets with a reply (or the export's own SLA flags)."""
    if targets:
        target = tickets["priority"].str.lower().map(targets).astype(float)
        judged = first_response.notna() & target.notna() & (first_response >= 0)
        if not judged.any():
            return None
        return float((first_response[judged] > target[judged]).sum() / judged.sum())
    flags = tickets["sla_first_response_met"].dropna()
    if flags.empty:
        return None
    return float((~flags.astype(bool)).sum() / len(flags))


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    values = values[values >= 0]
    return None if values.empty else float(values.median())


def _group_stats(tickets, first, resolution, targets, column) -> tuple[GroupStats, ...]:
    rows = []
    for name, index in tickets.groupby(tickets[column].fillna("(none)"), sort=True).groups.items():
        group = tickets.loc[index]
        rows.append(
            GroupStats(
                name=str(name),
                tickets=len(group),
                first_response_median=_median(first.loc[index]),
                resolution_median=_median(resolution.loc[index][group["status"].isin(SOLVED)]),
                sla_breach_rate=breach_rate(group, first.loc[index], targets),
                target_minutes=targets.get(str(name).lower()) if column == "priority" else None,
            )
        )
    return tuple(sorted(rows, key=lambda r: -r.tickets))


def _open_at(tickets: pd.DataFrame, moment: pd.Timestamp) -> pd.Series:
    """Tickets created by `moment` and not solved by then."""
    created = tickets["created"].isna() | (tickets["created"] <= moment)
    solved_by = tickets["solved_at"].notna() & (tickets["solved_at"] <= moment)
    solved_undated = tickets["solved_at"].isna() & tickets["status"].isin(SOLVED)
    return created & ~solved_by & ~solved_undated


def compute_support(tickets: pd.DataFrame, settings: SupportSettings, as_of: date) -> SupportMetrics:
    """Every support KPI for the period ending `as_of`."""
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=settings.period_days)
    targets = dict(settings.sla_minutes)
    has_created = bool(tickets["created"].notna().any())
    first_all = _minutes(tickets, "first_response", settings.business)
    resolution_all = _minutes(tickets, "resolution", settings.business)
    invalid = int((first_all < 0).sum() + (resolution_all < 0).sum())
    if has_created:
        in_period = (tickets["created"] > start) & (tickets["created"] <= end)
        previous = (tickets["created"] > start - pd.Timedelta(days=settings.period_days)) & (
            tickets["created"] <= start
        )
    else:
        in_period = pd.Series(True, index=tickets.index)
        previous = pd.Series(False, index=tickets.index)
    period = tickets[in_period]
    first = (
        first_all[in_period]
        if has_created or period["first_response_minutes"].notna().any()
        else first_all[in_period] * np.nan
    )
    solved = period["status"].isin(SOLVED) | period["solved_at"].notna()
    resolution = resolution_all[in_period][solved]
    satisfaction = period["satisfaction"].dropna()
    reopens = period.loc[solved, "reopens"].dropna()
    open_now = tickets[_open_at(tickets, end)]
    return SupportMetrics(
        tickets=len(period),
        backlog=len(open_now),
        first_response_minutes=duration_stats(first),
        resolution_minutes=duration_stats(resolution),
        sla_breach_rate=breach_rate(period, first, targets),
        csat=None if satisfaction.empty else float(satisfaction.mean()),
        history=_history(tickets, first_all, end) if has_created else (),
        previous_first_response_median=_median(first_all[previous]),
        previous_resolution_median=_median(resolution_all[previous & tickets["status"].isin(SOLVED)]),
        previous_tickets=int(previous.sum()) if has_created else None,
        reopen_rate=None if reopens.empty else float((reopens > 0).mean()),
        by_priority=_group_stats(period, first, resolution_all[in_period], targets, "priority"),
        by_channel=_group_stats(period, first, resolution_all[in_period], targets, "channel"),
        daily=_daily(period, start, end) if has_created else (),
        heatmap=_heatmap(period) if has_created else (),
        slowest_open=_slowest_open(open_now, end),
        has_created=has_created,
        minutes_basis="business" if settings.business else "calendar",
        invalid_durations=invalid,
    )


def _history(tickets: pd.DataFrame, first: pd.Series, end: pd.Timestamp) -> tuple[SupportPoint, ...]:
    """Tickets and median first response per created month, last 12 months."""
    months = pd.period_range(end=end.tz_localize(None).to_period("M"), periods=12, freq="M")
    created_month = tickets["created"].dt.tz_localize(None).dt.to_period("M")
    valid_first = first.where(first >= 0)
    counts = created_month.value_counts()
    medians = valid_first.groupby(created_month).median()
    return tuple(
        SupportPoint(str(m), int(counts.get(m, 0)), None if pd.isna(medians.get(m, np.nan)) else float(medians[m]))
        for m in months
    )


def _daily(period: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> tuple[tuple[str, int], ...]:
    days = pd.date_range(start.normalize() + pd.Timedelta(days=1), end.normalize(), freq="D")
    counts = period["created"].dt.normalize().value_counts()
    return tuple((d.strftime("%Y-%m-%d"), int(counts.get(d, 0))) for d in days)


def _heatmap(period: pd.DataFrame) -> tuple[tuple[int, ...], ...]:
    """Tickets created per weekday (Mon..Sun) × hour (UTC)."""
    grid = np.zeros((7, 24), dtype=int)
    created = period["created"].dropna()
    np.add.at(grid, (created.dt.day_of_week.to_numpy(), created.dt.hour.to_numpy()), 1)
    return tuple(tuple(int(v) for v in row) for row in grid)


def _slowest_open(open_now: pd.DataFrame, end: pd.Timestamp, limit: int = 20) -> tuple[OpenTicket, ...]:
    dated = open_now[open_now["created"].notna()].sort_values("created").head(limit)
    return tuple(
        OpenTicket(
            str(row.ticket_id),
            "" if pd.isna(row.subject) else str(row.subject),
            "" if pd.isna(row.priority) else str(row.priority),
            (end - row.created).total_seconds() / 60,
        )
        for row in dated.itertuples()
    )
