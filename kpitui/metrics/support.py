"""First response, resolution, SLA, backlog and CSAT over a reporting period (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kpitui.metrics.months import by_slot, day_slots, month_slots
from kpitui.metrics.revenue import end_of_day
from kpitui.model import DurationStats, GroupStats, OpenTicket, SupportMetrics, SupportPoint

SOLVED = ("solved", "closed", "resolved")


@dataclass(frozen=True)
class SupportSettings:
    """Period, SLA targets (minutes per priority), calendar/business basis and the helpdesk's timezone."""

    period_days: int = 30
    sla_minutes: tuple[tuple[str, float], ...] = ()
    business: bool = False
    timezone: str = "UTC"


def duration_stats(minutes: np.ndarray) -> DurationStats:
    """Median, P90 (linear interpolation) and mean of the non-negative values."""
    valid = minutes[minutes >= 0]
    if not valid.size:
        return DurationStats()
    median, p90 = np.quantile(valid, (0.5, 0.9))
    return DurationStats(float(median), float(p90), float(valid.mean()))


def _median(minutes: np.ndarray) -> float | None:
    valid = minutes[minutes >= 0]
    return float(np.median(valid)) if valid.size else None


def _times(tickets: pd.DataFrame, column: str) -> np.ndarray:
    """A UTC time column as naive datetime64[us] (NaT where missing)."""
    return tickets[column].to_numpy(dtype="datetime64[us]")


def _floats(tickets: pd.DataFrame, column: str) -> np.ndarray:
    return tickets[column].to_numpy(dtype=float, na_value=np.nan)


def _minutes(tickets: pd.DataFrame, kind: str, business: bool) -> np.ndarray:
    """The calendar or business minutes, business falling back to calendar where empty."""
    calendar = _floats(tickets, f"{kind}_minutes")
    if not business:
        return calendar
    in_business = _floats(tickets, f"{kind}_minutes_business")
    return np.where(np.isnan(in_business), calendar, in_business)


def breach_rate(target: np.ndarray | None, first_response: np.ndarray, flags: pd.Series) -> float | None:
    """Tickets over their priority's target ÷ tickets with a reply; without targets, the export's own SLA flags."""
    if target is not None:
        judged = ~np.isnan(target) & (first_response >= 0)
        if not judged.any():
            return None
        return float((first_response[judged] > target[judged]).sum() / judged.sum())
    flags = flags.dropna()
    if flags.empty:
        return None
    return float((~flags.astype(bool)).sum() / len(flags))


def _targets(priority: pd.Series, targets: dict[str, float]) -> np.ndarray | None:
    """Each ticket's first-response target in minutes (NaN for priorities without one); None without [sla]."""
    if not targets:
        return None
    codes, names = pd.factorize(priority)
    by_code = np.array([targets.get(str(name).lower(), np.nan) for name in names] + [np.nan])
    return by_code[codes]


def _group_stats(period: pd.DataFrame, first, resolution, solved_status, target, column) -> tuple[GroupStats, ...]:
    """Per priority or channel: tickets, medians and SLA breaches; most tickets first."""
    codes, names = pd.factorize(period[column].fillna("(none)"), sort=True)
    flags = period["sla_first_response_met"]
    rows = []
    for code, name in enumerate(names):
        rows_of = codes == code
        own_target = None if target is None else target[rows_of]
        rows.append(
            GroupStats(
                name=str(name),
                tickets=int(rows_of.sum()),
                first_response_median=_median(first[rows_of]),
                resolution_median=_median(resolution[rows_of & solved_status]),
                sla_breach_rate=breach_rate(own_target, first[rows_of], flags[rows_of]),
                target_minutes=_first_target(own_target) if column == "priority" else None,
            )
        )
    return tuple(sorted(rows, key=lambda r: -r.tickets))


def _first_target(target: np.ndarray | None) -> float | None:
    return None if target is None or np.isnan(target[0]) else float(target[0])


_PERIOD_COLUMNS = ["created", "priority", "channel", "sla_first_response_met", "satisfaction", "reopens"]


def compute_support(tickets: pd.DataFrame, settings: SupportSettings, as_of: date) -> SupportMetrics:
    """Every support KPI for the period ending `as_of`."""
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=settings.period_days)
    end64, start64 = np.datetime64(end.tz_localize(None), "us"), np.datetime64(start.tz_localize(None), "us")
    span = np.timedelta64(settings.period_days, "D")
    created, solved_at = _times(tickets, "created"), _times(tickets, "solved_at")
    has_created = not np.isnat(created).all()
    solved_status = tickets["status"].isin(SOLVED).to_numpy(dtype=bool, na_value=False)
    first_all = _minutes(tickets, "first_response", settings.business)
    resolution_all = _minutes(tickets, "resolution", settings.business)
    invalid = int((first_all < 0).sum() + (resolution_all < 0).sum())
    if has_created:
        in_period = (created > start64) & (created <= end64)
        previous = (created > start64 - span) & (created <= start64)
    else:
        in_period = np.ones(len(tickets), dtype=bool)
        previous = np.zeros(len(tickets), dtype=bool)
    period = tickets[_PERIOD_COLUMNS][in_period]
    first = first_all[in_period]
    if not has_created and np.isnan(_floats(tickets, "first_response_minutes")).all():
        first = np.full(len(period), np.nan)
    period_solved_status = solved_status[in_period]
    target = _targets(period["priority"], dict(settings.sla_minutes))
    solved = period_solved_status | ~np.isnat(solved_at[in_period])
    resolution = resolution_all[in_period]
    satisfaction = _floats(period, "satisfaction")
    satisfaction = satisfaction[~np.isnan(satisfaction)]
    reopens = _floats(period, "reopens")[solved]
    reopens = reopens[~np.isnan(reopens)]
    open_now = (np.isnat(created) | (created <= end64)) & ~(solved_at <= end64) & ~(np.isnat(solved_at) & solved_status)
    return SupportMetrics(
        tickets=int(in_period.sum()),
        backlog=int(open_now.sum()),
        first_response_minutes=duration_stats(first),
        resolution_minutes=duration_stats(resolution[solved]),
        sla_breach_rate=breach_rate(target, first, period["sla_first_response_met"]),
        csat=float(satisfaction.mean()) if satisfaction.size else None,
        history=_history(created, first_all, end) if has_created else (),
        previous_first_response_median=_median(first_all[previous]),
        previous_resolution_median=_median(resolution_all[previous & solved_status]),
        previous_tickets=int(previous.sum()) if has_created else None,
        reopen_rate=float((reopens > 0).mean()) if reopens.size else None,
        by_priority=_group_stats(period, first, resolution, period_solved_status, target, "priority"),
        by_channel=_group_stats(period, first, resolution, period_solved_status, target, "channel"),
        daily=_daily(created[in_period], start, end) if has_created else (),
        heatmap=_heatmap(period["created"], settings.timezone) if has_created else (),
        slowest_open=_slowest_open(tickets, open_now & ~np.isnat(created), end),
        has_created=has_created,
        minutes_basis="business" if settings.business else "calendar",
        invalid_durations=invalid,
        timezone=settings.timezone,
    )


def _history(created: np.ndarray, first: np.ndarray, end: pd.Timestamp) -> tuple[SupportPoint, ...]:
    """Tickets and median first response per created month (UTC), last 12 months."""
    labels, slots = month_slots(created, end)
    groups = by_slot(slots, first, len(labels))
    return tuple(SupportPoint(label, len(group), _median(group)) for label, group in zip(labels, groups, strict=True))


def _daily(created: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> tuple[tuple[str, int], ...]:
    """Tickets created per UTC day of the period."""
    days, slots = day_slots(created, start, end)
    counts = np.bincount(slots[slots >= 0], minlength=len(days))
    return tuple((day, int(n)) for day, n in zip(days, counts, strict=True))


def _heatmap(created: pd.Series, timezone: str) -> tuple[tuple[int, ...], ...]:
    """Tickets created per weekday (Mon..Sun) × hour, on the helpdesk's local clock."""
    local = created.dropna().dt.tz_convert(timezone)
    grid = np.zeros((7, 24), dtype=int)
    np.add.at(grid, (local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()), 1)
    return tuple(tuple(int(v) for v in row) for row in grid)


def _slowest_open(
    tickets: pd.DataFrame, open_dated: np.ndarray, end: pd.Timestamp, limit: int = 20
) -> tuple[OpenTicket, ...]:
    """The longest-open tickets, oldest first."""
    rows = np.flatnonzero(open_dated)
    created = tickets["created"].to_numpy(dtype="datetime64[us]")[rows]
    oldest = tickets.iloc[rows[np.argsort(created, kind="stable")[:limit]]]
    return tuple(
        OpenTicket(
            str(row.ticket_id),
            "" if pd.isna(row.subject) else str(row.subject),
            "" if pd.isna(row.priority) else str(row.priority),
            (end - row.created).total_seconds() / 60,
        )
        for row in oldest.itertuples()
    )
