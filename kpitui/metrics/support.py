"""First response, resolution, SLA, backlog and CSAT over a reporting period (DESIGN.md section 4), as SQL on the
engine. What had not happened by the period's end is unknown at `as_of`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from kpitui import engine
from kpitui.engine import sql_literal
from kpitui.model import DurationStats, GroupStats, OpenTicket, SupportMetrics, SupportPoint

SOLVED = ("solved", "closed", "resolved")
_DURATIONS = ("first_response_minutes", "resolution_minutes", "first_response_minutes_business",
              "resolution_minutes_business")  # fmt: skip
_KEPT = ("ticket_id", "subject", "priority", "channel", "created", "reopens", "sla_first_response_met")  # read later


@dataclass(frozen=True)
class SupportSettings:
    """Period, SLA targets (minutes per priority), calendar/business basis and the helpdesk's timezone."""

    period_days: int = 30
    sla_minutes: tuple[tuple[str, float], ...] = ()
    business: bool = False
    timezone: str = "UTC"


def _instant(moment: pd.Timestamp) -> str:
    """A UTC instant as a SQL literal."""
    return f"TIMESTAMPTZ '{moment.tz_convert('UTC').isoformat()}'"


def sla_warnings(priorities: set[str], targets: dict[str, float]) -> list[str]:
    """Priorities of the export without an `[sla]` target, and targets that match no priority."""
    if not targets:
        return []
    wanted = {p.lower() for p in targets}
    found = {p.lower() for p in priorities}
    out = []
    if missing := sorted(found - wanted):
        out.append(f"[sla] has no target for priorities {', '.join(missing)} (they are left out of the breach rate)")
    out.extend(f"[sla] {name} matches no priority in the export" for name in sorted(wanted - found))
    return out


def _known(end: str, settings: SupportSettings) -> str:
    """Per ticket, its figures as they stood at `end`: replies and solves stamped later are absent, negative
    durations unused, ratings only on tickets solved before `end`; in business mode only business minutes."""
    solved = f"status IN ({', '.join(map(sql_literal, SOLVED))})"
    solved_known = f"({solved} AND (solved_at IS NULL OR solved_at < {end}))"

    def minutes(column: str, stamp: str, counted: str = "TRUE") -> str:
        return f"CASE WHEN {stamp} >= {end} OR NOT {counted} OR {column} < 0 THEN NULL ELSE {column} END"

    suffix = "_business" if settings.business else ""
    return (
        f"SELECT {', '.join(_KEPT)}, "
        f"{minutes('first_response_minutes' + suffix, 'first_response_at')} AS first_reply, "
        f"{minutes('resolution_minutes' + suffix, 'solved_at', solved_known)} AS resolution, "
        f"{minutes('first_response_minutes', 'first_response_at')} AS first_reply_calendar, "
        f"CASE WHEN {solved_known} THEN satisfaction END AS rating, "
        f"{solved_known} AS solved_known, "
        f"(created IS NULL OR created < {end}) AND NOT {solved_known} AS open_now, "
        f"{' OR '.join(f'{c} < 0' for c in _DURATIONS)} AS negative "
        "FROM tickets"
    )


def _stats(rows: list[tuple]) -> DurationStats:
    median, p90, mean = rows[0]
    return DurationStats(*(None if v is None else float(v) for v in (median, p90, mean)))


def compute_support(tickets: pd.DataFrame, settings: SupportSettings, as_of: date) -> SupportMetrics:
    """Every support KPI for the period [start, end): `end` the midnight after `as_of` in the helpdesk's zone."""
    zone = settings.timezone
    end = pd.Timestamp(as_of + timedelta(days=1), tz=zone)
    start = pd.Timestamp(as_of + timedelta(days=1 - settings.period_days), tz=zone)
    previous = pd.Timestamp(as_of + timedelta(days=1 - 2 * settings.period_days), tz=zone)
    has_created = bool(tickets["created"].notna().any())
    has_replies = has_created or bool(tickets["first_response_minutes"].notna().any())
    in_period = f"created >= {_instant(start)} AND created < {_instant(end)}" if has_created else "TRUE"
    in_previous = f"created >= {_instant(previous)} AND created < {_instant(start)}" if has_created else "FALSE"
    targets = dict(settings.sla_minutes)
    cursor = engine.cursor()
    try:
        cursor.register("tickets", tickets)
        target = _targets_sql(targets)
        cursor.execute(f"CREATE TEMP TABLE k AS SELECT *, {target} AS target FROM ({_known(_instant(end), settings)})")
        query = lambda sql: cursor.execute(sql).fetchall()  # noqa: E731
        period = f"FROM k WHERE {in_period}"
        first = _stats(query(f"SELECT {_quantiles('first_reply')} {period}")) if has_replies else DurationStats()
        resolution = _stats(query(f"SELECT {_quantiles('resolution')} {period}"))
        (count, csat, backlog, invalid, reopen, without_business) = query(
            f"SELECT count(CASE WHEN {in_period} THEN 1 END), avg(CASE WHEN {in_period} THEN rating END), "
            "count(CASE WHEN open_now THEN 1 END), count(CASE WHEN negative THEN 1 END), "
            f"avg(CASE WHEN {in_period} AND solved_known AND reopens IS NOT NULL "
            "THEN CAST(reopens > 0 AS INTEGER) END), "
            f"count(CASE WHEN {in_period} AND first_reply IS NULL AND first_reply_calendar IS NOT NULL THEN 1 END) "
            "FROM k"
        )[0]
        previous_row = query(f"SELECT count(*), median(first_reply), median(resolution) FROM k WHERE {in_previous}")[0]
        groups = {column: _groups(query, period, column, targets) for column in ("priority", "channel")}
        priorities = {p for (p,) in query("SELECT DISTINCT priority FROM k WHERE priority IS NOT NULL")}
        metrics = SupportMetrics(
            tickets=int(count),
            backlog=int(backlog),
            first_response_minutes=first,
            resolution_minutes=resolution,
            sla_breach_rate=_breach_rate(query, period, bool(targets)),
            csat=None if csat is None else float(csat),
            history=_history(query, zone, end) if has_created else (),
            previous_first_response_median=_float(previous_row[1]),
            previous_resolution_median=_float(previous_row[2]),
            previous_tickets=int(previous_row[0]) if has_created else None,
            reopen_rate=_float(reopen),
            by_priority=groups["priority"],
            by_channel=groups["channel"],
            daily=_daily(query, period, zone, start, end) if has_created else (),
            heatmap=_heatmap(query, period, zone) if has_created else (),
            slowest_open=_slowest_open(query, end),
            has_created=has_created,
            minutes_basis="business" if settings.business else "calendar",
            invalid_durations=int(invalid),
            timezone=zone,
            without_business_minutes=int(without_business) if settings.business else 0,
            warnings=tuple(sla_warnings(priorities, targets)),
        )
    finally:
        cursor.close()
    return metrics


def _float(value) -> float | None:
    return None if value is None else float(value)


def _quantiles(column: str) -> str:
    """Median, P90 (linear interpolation, as pandas) and mean of a column."""
    return f"quantile_cont({column}, 0.5), quantile_cont({column}, 0.9), avg({column})"


def _targets_sql(targets: dict[str, float]) -> str:
    """Each ticket's first-response target in minutes (priority names matched case-insensitively)."""
    if not targets:
        return "CAST(NULL AS DOUBLE)"
    cases = " ".join(f"WHEN {sql_literal(name.lower())} THEN {float(v)}" for name, v in targets.items())
    return f"CASE lower(priority) {cases} END"


def _breach_rate(query, period: str, with_targets: bool) -> float | None:
    """Replied tickets strictly over their target ÷ replied tickets with a target; without [sla], the export's
    own SLA flags."""
    if with_targets:
        judged, breached = "first_reply IS NOT NULL AND target IS NOT NULL", "first_reply > target"
    else:
        judged, breached = "sla_first_response_met IS NOT NULL", "NOT sla_first_response_met"
    sql = f"SELECT avg(CAST({breached} AS INTEGER)) {period} AND {judged}"
    return _float(query(sql)[0][0])


def _groups(query, period: str, column: str, targets: dict[str, float]) -> tuple[GroupStats, ...]:
    """Per priority or channel: tickets, medians and SLA breaches; most tickets first."""
    breach = (
        "avg(CASE WHEN first_reply IS NOT NULL AND target IS NOT NULL THEN CAST(first_reply > target AS INTEGER) END)"
        if targets
        else "avg(CASE WHEN sla_first_response_met IS NOT NULL THEN CAST(NOT sla_first_response_met AS INTEGER) END)"
    )
    rows = query(
        f"SELECT COALESCE({column}, '(none)') AS name, count(*), median(first_reply), median(resolution), "
        f"{breach}, min(target) {period} GROUP BY name ORDER BY count(*) DESC, name"
    )
    return tuple(
        GroupStats(
            name=str(name),
            tickets=int(n),
            first_response_median=_float(first),
            resolution_median=_float(resolved),
            sla_breach_rate=_float(rate),
            target_minutes=_float(target) if column == "priority" else None,
        )
        for name, n, first, resolved, rate, target in rows
    )


def _history(query, zone: str, end: pd.Timestamp) -> tuple[SupportPoint, ...]:
    """Tickets and median first response per created month (the helpdesk's clock), the last 12 months."""
    last = (end - pd.Timedelta(microseconds=1)).tz_localize(None).to_period("M")
    months = [str(last - k) for k in range(11, -1, -1)]
    local = f"strftime(created AT TIME ZONE {sql_literal(zone)}, '%Y-%m')"
    rows = {
        month: (n, median)
        for month, n, median in query(
            f"SELECT {local} AS month, count(*), median(first_reply) FROM k WHERE created IS NOT NULL "
            f"AND created < {_instant(end)} GROUP BY month"
        )
    }
    return tuple(SupportPoint(m, int(rows.get(m, (0, None))[0]), _float(rows.get(m, (0, None))[1])) for m in months)


def _daily(query, period: str, zone: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[tuple[str, int], ...]:
    """Tickets created per day of the period, on the helpdesk's clock."""
    local = f"strftime(created AT TIME ZONE {sql_literal(zone)}, '%Y-%m-%d')"
    counts = dict(query(f"SELECT {local} AS day, count(*) {period} GROUP BY day"))
    days = pd.date_range(start.tz_localize(None), end.tz_localize(None), freq="D", inclusive="left")
    return tuple((d.strftime("%Y-%m-%d"), int(counts.get(d.strftime("%Y-%m-%d"), 0))) for d in days)


def _heatmap(query, period: str, zone: str) -> tuple[tuple[int, ...], ...]:
    """Tickets created per weekday (Mon..Sun) × hour, on the helpdesk's local clock."""
    local = f"created AT TIME ZONE {sql_literal(zone)}"
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, n in query(f"SELECT isodow({local}) - 1, hour({local}), count(*) {period} GROUP BY 1, 2"):
        grid[weekday][hour] = int(n)
    return tuple(tuple(row) for row in grid)


def _slowest_open(query, end: pd.Timestamp, limit: int = 20) -> tuple[OpenTicket, ...]:
    """The longest-open tickets at `end`, oldest first."""
    rows = query(
        f"SELECT ticket_id, subject, priority, epoch_us({_instant(end)}) - epoch_us(created) FROM k "
        f"WHERE open_now AND created IS NOT NULL ORDER BY created, ticket_id LIMIT {limit}"
    )
    return tuple(OpenTicket(str(i), s or "", p or "", micros / 60e6) for i, s, p, micros in rows)
