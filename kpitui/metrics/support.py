"""First response, resolution, SLA, backlog and CSAT over a reporting period (DESIGN.md section 4), as SQL on the
engine. What had not happened by the period's end is unknown at `as_of`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kpitui import engine
from kpitui.engine import sql_literal
from kpitui.metrics.tables import instant, interval_of, midnight, month_starts, period_bound, table_view
from kpitui.model import DurationStats, GroupStats, OpenTicket, SupportMetrics, SupportPoint

SOLVED = ("solved", "closed", "resolved")
_DURATIONS = ("first_response_minutes", "resolution_minutes", "first_response_minutes_business",
              "resolution_minutes_business")  # fmt: skip
_KEPT = (
    "ticket_id",
    "subject",
    "priority",
    "channel",
    "created",
    "reopens",
    "sla_first_response_met",
    "requester_email",
    "organization",
    "customer_ref",
)  # read later (the requester: to link customers)


@dataclass(frozen=True)
class SupportSettings:
    """Period, SLA targets (minutes per priority), calendar/business basis and the helpdesk's timezone."""

    period_days: int = 30
    sla_minutes: tuple[tuple[str, float], ...] = ()
    business: bool = False
    timezone: str = "UTC"


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


def priorities(tickets: Any) -> set[str]:
    """The priorities the tickets have (a scan or a canonical frame)."""
    cursor = engine.cursor()
    try:
        table_view(cursor, "tickets", tickets)
        return {
            p for (p,) in cursor.execute("SELECT DISTINCT priority FROM tickets WHERE priority IS NOT NULL").fetchall()
        }
    finally:
        cursor.close()


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


def _stats(figures: dict[str, Any], column: str) -> DurationStats:
    """Median, P90 and mean of a duration from the period's figures."""
    return DurationStats(*(_float(figures[f"{column}_{k}"]) for k in ("median", "p90", "mean")))


def compute_support(tickets: Any, settings: SupportSettings, as_of: date) -> SupportMetrics:
    """Every support KPI for the period [start, end): `end` the midnight after `as_of` in the helpdesk's zone.
    `tickets`: a scan of export files, or a canonical frame."""
    zone = settings.timezone
    start, end = period_of(settings, as_of)
    previous = period_bound(as_of, settings.period_days, 2, zone)
    cursor = engine.cursor()
    table_view(cursor, "tickets", tickets)
    has_created, has_minutes = cursor.execute(
        "SELECT count(created) > 0, count(first_response_minutes) > 0 FROM tickets"
    ).fetchall()[0]
    has_replies = has_created or has_minutes
    in_period = f"created >= {instant(start)} AND created < {instant(end)}" if has_created else "TRUE"
    in_previous = f"created >= {instant(previous)} AND created < {instant(start)}" if has_created else "FALSE"
    targets = dict(settings.sla_minutes)
    try:
        known_view(cursor, settings, end)
        query = lambda sql: cursor.execute(sql).fetchall()  # noqa: E731
        period = f"FROM k WHERE {in_period}"
        f = _figures(query, in_period, in_previous, bool(targets))
        groups = _groups(query, period, targets)
        metrics = SupportMetrics(
            tickets=int(f["tickets"]),
            backlog=int(f["backlog"]),
            first_response_minutes=_stats(f, "first_reply") if has_replies else DurationStats(),
            resolution_minutes=_stats(f, "resolution"),
            sla_breach_rate=_float(f["breach_rate"]),
            csat=_float(f["csat"]),
            history=_history(query, zone, end) if has_created else (),
            previous_first_response_median=_float(f["previous_first_reply"]),
            previous_resolution_median=_float(f["previous_resolution"]),
            previous_tickets=int(f["previous_tickets"]) if has_created else None,
            reopen_rate=_float(f["reopen_rate"]),
            by_priority=groups["priority"],
            by_channel=groups["channel"],
            daily=_daily(query, zone, start, end) if has_created else (),
            heatmap=_heatmap(query, period, zone) if has_created else (),
            slowest_open=_slowest_open(query, end),
            has_created=has_created,
            minutes_basis="business" if settings.business else "calendar",
            invalid_durations=int(f["invalid_durations"]),
            timezone=zone,
            without_business_minutes=int(f["without_business_minutes"]) if settings.business else 0,
            warnings=tuple(sla_warnings({p for p in f["priorities"] or () if p is not None}, targets)),
        )
    finally:
        cursor.close()
    return metrics


def _float(value) -> float | None:
    return None if value is None else float(value)


def _figures(query, in_period: str, in_previous: str, with_targets: bool) -> dict[str, Any]:
    """The period's figures and the previous period's, in one pass over the tickets: durations (median, P90 by
    linear interpolation as pandas, mean), volume, backlog, CSAT, reopen and SLA breach rates, data errors, and
    the priorities found."""
    period = lambda expression: f"CASE WHEN {in_period} THEN {expression} END"  # noqa: E731
    earlier = lambda expression: f"CASE WHEN {in_previous} THEN {expression} END"  # noqa: E731
    judged, breached = _breach(with_targets)
    figures = {
        "tickets": f"count({period(1)})",
        "backlog": "count(CASE WHEN open_now THEN 1 END)",
        "csat": f"avg({period('rating')})",
        "reopen_rate": f"avg({period('CASE WHEN solved_known THEN CAST(reopens > 0 AS INTEGER) END')})",
        "breach_rate": f"avg({period(f'CASE WHEN {judged} THEN CAST({breached} AS INTEGER) END')})",
        "invalid_durations": "count(CASE WHEN negative THEN 1 END)",
        "without_business_minutes": f"count({period('CASE WHEN first_reply IS NULL THEN first_reply_calendar END')})",
        "previous_tickets": f"count({earlier(1)})",
        "previous_first_reply": f"median({earlier('first_reply')})",
        "previous_resolution": f"median({earlier('resolution')})",
        "priorities": "list(DISTINCT priority)",
    }
    for column in ("first_reply", "resolution"):
        figures[f"{column}_median"] = f"quantile_cont({period(column)}, 0.5)"
        figures[f"{column}_p90"] = f"quantile_cont({period(column)}, 0.9)"
        figures[f"{column}_mean"] = f"avg({period(column)})"
    row = query(f"SELECT {', '.join(f'{sql} AS {name}' for name, sql in figures.items())} FROM k")[0]
    return dict(zip(figures, row, strict=True))


def period_of(settings: SupportSettings, as_of: date) -> tuple[datetime, datetime]:
    """The period [start, end): `end` the midnight after `as_of` in the helpdesk's zone."""
    start, end = (period_bound(as_of, settings.period_days, back, settings.timezone) for back in (1, 0))
    return start, end


def known_view(cursor: Any, settings: SupportSettings, end: datetime) -> None:
    """The view `k` over the view `tickets`: each ticket as it stood at `end`, with its SLA target."""
    target = _targets_sql(dict(settings.sla_minutes))
    cursor.execute(f"CREATE TEMP VIEW k AS SELECT *, {target} AS target FROM ({_known(instant(end), settings)})")


def breach_sql(settings: SupportSettings) -> tuple[str, str]:
    """Over `k`: which tickets are judged for SLA, and which of them breached."""
    return _breach(bool(settings.sla_minutes))


def _breach(with_targets: bool) -> tuple[str, str]:
    """Which tickets are judged for SLA, and which of them breached: replied tickets strictly over their target,
    of replied tickets with a target; without [sla], the export's own SLA flags."""
    if with_targets:
        return "first_reply IS NOT NULL AND target IS NOT NULL", "first_reply > target"
    return "sla_first_response_met IS NOT NULL", "NOT sla_first_response_met"


def _targets_sql(targets: dict[str, float]) -> str:
    """Each ticket's first-response target in minutes (priority names matched case-insensitively)."""
    if not targets:
        return "CAST(NULL AS DOUBLE)"
    cases = " ".join(f"WHEN {sql_literal(name.lower())} THEN {float(v)}" for name, v in targets.items())
    return f"CASE lower(priority) {cases} END"


def _groups(query, period: str, targets: dict[str, float]) -> dict[str, tuple[GroupStats, ...]]:
    """Per priority and per channel (one pass): tickets, medians and SLA breaches; most tickets first."""
    judged, breached = _breach(bool(targets))
    rows = query(
        "SELECT grouping(priority) = 0 AS by_priority, COALESCE(priority, channel, '(none)') AS name, count(*), "
        f"median(first_reply), median(resolution), avg(CASE WHEN {judged} THEN CAST({breached} AS INTEGER) END), "
        f"min(target) {period} GROUP BY GROUPING SETS ((priority), (channel))"
    )
    groups: dict[str, list[GroupStats]] = {"priority": [], "channel": []}
    for by_priority, name, n, first, resolved, rate, target in sorted(rows, key=lambda r: (-r[2], r[1])):
        groups["priority" if by_priority else "channel"].append(
            GroupStats(
                name=str(name),
                tickets=int(n),
                first_response_median=_float(first),
                resolution_median=_float(resolved),
                sla_breach_rate=_float(rate),
                target_minutes=_float(target) if by_priority else None,
            )
        )
    return {column: tuple(stats) for column, stats in groups.items()}


def _history(query, zone: str, end: datetime) -> tuple[SupportPoint, ...]:
    """Tickets and median first response per created month (the helpdesk's clock), the last 12 months."""
    starts = month_starts((end - timedelta(microseconds=1)).date(), 12)
    interval, inside = interval_of("created", [midnight(day, zone) for day in starts] + [end])
    rows = {k: (n, median) for k, n, median in query(
        f"SELECT {interval} AS k, count(*), median(first_reply) FROM k WHERE {inside} GROUP BY 1")}  # fmt: skip
    return tuple(
        SupportPoint(day.strftime("%Y-%m"), int(rows.get(k, (0, None))[0]), _float(rows.get(k, (0, None))[1]))
        for k, day in enumerate(starts)
    )


def _daily(query, zone: str, start: datetime, end: datetime) -> tuple[tuple[str, int], ...]:
    """Tickets created per day of the period, on the helpdesk's clock."""
    days = [start.date() + timedelta(days=k) for k in range((end.date() - start.date()).days)]
    interval, inside = interval_of("created", [midnight(day, zone) for day in days] + [end])
    counts = dict(query(f"SELECT {interval} AS k, count(*) FROM k WHERE {inside} GROUP BY 1"))
    return tuple((day.isoformat(), int(counts.get(k, 0))) for k, day in enumerate(days))


def _heatmap(query, period: str, zone: str) -> tuple[tuple[int, ...], ...]:
    """Tickets created per weekday (Mon..Sun) × hour, on the helpdesk's local clock."""
    local = f"created AT TIME ZONE {sql_literal(zone)}"
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, n in query(f"SELECT isodow({local}) - 1, hour({local}), count(*) {period} GROUP BY 1, 2"):
        grid[weekday][hour] = int(n)
    return tuple(tuple(row) for row in grid)


def _slowest_open(query, end: datetime, limit: int = 20) -> tuple[OpenTicket, ...]:
    """The longest-open tickets at `end`, oldest first."""
    rows = query(
        f"SELECT ticket_id, subject, priority, epoch_us({instant(end)}) - epoch_us(created) FROM k "
        f"WHERE open_now AND created IS NOT NULL ORDER BY created, ticket_id LIMIT {limit}"
    )
    return tuple(OpenTicket(str(i), s or "", p or "", micros / 60e6) for i, s, p, micros in rows)
