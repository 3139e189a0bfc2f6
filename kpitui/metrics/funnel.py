"""Funnel conversion by GA4's rules (DESIGN.md section 4) as SQL: closed or open, indirectly or directly followed,
per user or per session, param filters, and every entry tried; with the previous period, the weekly trend, the
source / medium breakdown and traffic. One definition for two engines: DuckDB over files, its stages held as temp
tables, and a warehouse, the same SQL as one query (`FunnelQuery.single`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kpitui import engine
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.engine import sql_literal
from kpitui.model import BreakdownRow, FunnelMetrics, FunnelStepResult

SIGN_UP = "sign_up"
_WEEKS = 8  # the weekly trend's length
_NONE = -(2**62)  # "no earlier event": further back than any time
DAY_US = 86_400_000_000  # microseconds in a day


def _column(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Span:
    """A half-open time range [lo, hi) in µs since the epoch, UTC."""

    lo: int
    hi: int

    def where(self, time: str = "t") -> str:
        """The SQL condition that a time column lies in the span."""
        return f"{time} >= {self.lo} AND {time} < {self.hi}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Calendar:
    """The days of the property's time zone: their midnights as µs since the epoch, and an event's day in SQL."""

    zone: ZoneInfo

    def midnight(self, day: date) -> int:
        """The instant a local day starts, in µs since the epoch."""
        return (datetime.combine(day, time(), self.zone) - _EPOCH) // timedelta(microseconds=1)

    def _offset(self, micros: int) -> int:
        """The zone's UTC offset at an instant, in µs."""
        return (_EPOCH + timedelta(microseconds=micros)).astimezone(self.zone).utcoffset() // timedelta(microseconds=1)

    def day_of(self, first: date, last: date) -> str:
        """SQL: the local day of `t` counted from `first` (0), exact across the offset changes between `first`
        and `last` (each found to the µs)."""
        changes, lo = [], self.midnight(first)
        for n in range((last - first).days + 1):
            hi = self.midnight(first + timedelta(days=n + 1))
            if self._offset(lo) != self._offset(hi):
                before, after = lo, hi
                while after - before > 1:  # the first instant with the new offset
                    middle = (before + after) // 2
                    before, after = (middle, after) if self._offset(middle) == self._offset(lo) else (before, middle)
                changes.append(after)
            lo = hi
        start = self._offset(self.midnight(first))
        offset = str(start) if not changes else (
            "CASE " + " ".join(f"WHEN t < {c} THEN {self._offset(c - 1)}" for c in changes)
            + f" ELSE {self._offset(changes[-1])} END"
        )  # fmt: skip
        return f"((t + {offset}) // {DAY_US} - {(first - date(1970, 1, 1)).days})"


@dataclass(frozen=True)
class FunnelSpans:
    """The spans a funnel snapshot reads, from `as_of`, the period's length and the property's time zone."""

    period: _Span
    before: _Span
    weeks: _Span
    month: _Span
    first_day: date  # the period's
    first_week: date  # the weekly trend's
    first_read: date  # the first any figure reads
    days: int
    calendar: Calendar

    @staticmethod
    def ending(as_of: date, period_days: int, timezone: str) -> FunnelSpans:
        """The period [start, end) (`end` the midnight after `as_of`, local), the one before it, the eight weeks
        ending with it and the month to date."""
        calendar = Calendar(ZoneInfo(timezone))
        day_after = as_of + timedelta(days=1)
        at = lambda days_before: calendar.midnight(day_after - timedelta(days=days_before))  # noqa: E731
        period = _Span(at(period_days), at(0))
        first_read = min(day_after - timedelta(days=max(2 * period_days, _WEEKS * 7)), as_of.replace(day=1))
        return FunnelSpans(
            period=period,
            before=_Span(at(2 * period_days), period.lo),
            weeks=_Span(at(_WEEKS * 7), period.hi),
            month=_Span(calendar.midnight(as_of.replace(day=1)), period.hi),
            first_day=day_after - timedelta(days=period_days),
            first_week=day_after - timedelta(days=_WEEKS * 7),
            first_read=first_read,
            days=period_days,
            calendar=calendar,
        )

    @property
    def last_day(self) -> date:
        """The period's last day, `as_of`."""
        return self.first_day + timedelta(days=self.days - 1)


class FunnelQuery:
    """The funnel's SQL over a relation `events` (the canonical columns, `t` its time in µs, and `seq` ordering a
    user's events: file order for files): `stages`, worth holding as tables, then `figures`, one SELECT of every
    figure as rows of (figure, name, detail, k, n1, n2, n3)."""

    def __init__(self, config: FunnelConfig, columns: set[str], spans: FunnelSpans) -> None:
        self.config, self.spans = config, spans
        self.keys = ["user_id", "session_id"] if config.per_session else ["user_id"]
        self.matches = [self._match(step, columns) for step in config.steps]

    @staticmethod
    def _match(step: FunnelStep, columns: set[str]) -> str:
        """The condition an event meets for this step: its name, and each param filter."""
        parts = [f"event_name = {sql_literal(step.event)}"]
        for key, value in step.params.items():
            column = "param." + key
            parts.append(f"{_column(column)} = {sql_literal(value)}" if column in columns else "FALSE")
        return "(" + " AND ".join(parts) + ")"

    def _on(self, left: str, right: str) -> str:
        """The join condition that two relations hold the same event of the same key."""
        return " AND ".join(f"{left}.{k} = {right}.{k}" for k in [*self.keys, "seq"])

    def stages(self) -> list[tuple[str, str]]:
        """(name, SELECT) in order: `flagged`, `base` and `reach`."""
        return [("flagged", self._flagged()), ("base", self._base()), ("reach", self._reach())]

    def _base(self) -> str:
        """The events of the traffic figures' and the breakdown's span with what those need (of the event's name,
        only whether it is a sign-up: the table is smaller, which counts when it spills)."""
        span = _Span(min(self.spans.period.lo, self.spans.month.lo), self.spans.period.hi)
        return (
            f"SELECT user_id, session_id, event_name = {sql_literal(SIGN_UP)} AS sign_up, source, medium, t, seq "
            f"FROM events WHERE {span.where()}"
        )

    def _flagged(self) -> str:
        """The countable events of every span, one flag per step and the first step each matches (`step_rank`,
        for ties); every event when directly followed, else only the steps' events."""
        flags = ", ".join(f"{m} AS m{i}" for i, m in enumerate(self.matches))
        rank = " ".join(f"WHEN {m} THEN {i}" for i, m in enumerate(self.matches))
        known = " AND ".join(f"{k} IS NOT NULL" for k in self.keys)
        relevant = "" if self.config.direct else " AND (" + " OR ".join(self.matches) + ")"
        span = _Span(min(self.spans.before.lo, self.spans.weeks.lo), self.spans.period.hi)
        return (
            f"SELECT {', '.join(self.keys)}, t, seq, {flags}, CASE {rank} ELSE {len(self.matches)} END AS step_rank "
            f"FROM events WHERE {known} AND {span.where()}{relevant}"
        )

    def _continued(self, step: int) -> str:
        """CTE `c{step}`: the step's events that follow a step−1 event of `s{step-1}` of the same key by the step's
        rule, each with `v`, the latest `v` among the step−1 events it may follow.

        Indirectly: those at or before it (ties count), not itself, within the window; where both steps name the
        same event, the strictly earlier ones and the ties other than itself are looked at apart; only the step−1
        events of keys that have a step event are windowed (most keys never reach the next step).
        Directly: the key's event just before it (ties in step order, then in `seq`), within the window."""
        keys, window, previous = ", ".join(self.keys), int(self.config.window * 1_000_000), f"s{step - 1}"
        if self.config.direct:
            by_key = ", ".join(f"f.{k}" for k in self.keys)
            return (
                f"c{step} AS (SELECT {keys}, t, seq, v FROM ("
                f"SELECT {by_key}, f.t, f.seq, f.m{step}, LAG(p.v) OVER w AS v, LAG(f.t) OVER w AS previous_t "
                f"FROM flagged f LEFT JOIN {previous} p ON {self._on('p', 'f')} "
                f"WINDOW w AS (PARTITION BY {by_key} ORDER BY f.t, f.step_rank, f.seq)) "
                f"WHERE m{step} AND v IS NOT NULL AND t - previous_t <= {window})"
            )
        same_key = " AND ".join(f"f.{k} = p.{k}" for k in self.keys)
        rows = (
            f"SELECT {keys}, t, seq, 0 AS role, v AS pv FROM {previous} p "
            f"WHERE EXISTS (SELECT 1 FROM flagged f WHERE f.m{step} AND {same_key}) "
            f"UNION ALL SELECT {keys}, t, seq, 1 AS role, CAST(NULL AS BIGINT) AS pv FROM flagged WHERE m{step}"
        )
        steps = self.config.steps
        if steps[step].event != steps[step - 1].event:  # no event can be both: every one in the frame will do
            latest = f"max(pv) OVER (PARTITION BY {keys} ORDER BY t RANGE BETWEEN {window} PRECEDING AND CURRENT ROW)"
            return (
                f"c{step} AS (SELECT {keys}, t, seq, v FROM (SELECT {keys}, t, seq, role, {latest} AS v "
                f"FROM ({rows})) WHERE role = 1 AND v IS NOT NULL)"
            )
        earlier = f"max(pv) OVER (PARTITION BY {keys} ORDER BY t RANGE BETWEEN {window} PRECEDING AND 1 PRECEDING)"
        ties = [  # the events at the same time before it in `seq`, and after it (its own row sorts after it)
            f"max(pv) OVER (PARTITION BY {keys}, t ORDER BY seq{order}, role DESC "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
            for order in ("", " DESC")
        ]
        latest = "GREATEST(" + ", ".join(f"COALESCE({w}, {_NONE})" for w in (earlier, *ties)) + ")"
        return (
            f"c{step} AS (SELECT {keys}, t, seq, v FROM (SELECT {keys}, t, seq, role, {latest} AS v "
            f"FROM ({rows})) WHERE role = 1 AND v > {_NONE})"
        )

    def _reach(self) -> str:
        """Over all of `flagged`, per step: its countable events (`kind` 's'; `v` the latest entry time of a chain
        through the event when closed, its own time when open) and, when open, the events that continue from a
        countable step−1 event (`kind` 'c', with the latest `v` they continue from; when closed these are the
        countable ones, so they are not listed twice). A key reaches step k in a span [lo, hi) when one of its
        step-k events before `hi` has `v` at or after `lo`: the chain lies in the span. One pass serves every
        span."""
        keys = ", ".join(self.keys)
        ctes = [f"s0 AS (SELECT {keys}, t, seq, t AS v FROM flagged WHERE m0)"]
        rows = [f"SELECT 's' AS kind, 0 AS step, {keys}, t, seq, v FROM s0"]
        for k in range(1, len(self.matches)):
            ctes.append(self._continued(k))
            every = f"SELECT {keys}, t, seq, t AS v FROM flagged WHERE m{k}"
            ctes.append(f"s{k} AS ({every if self.config.open else f'SELECT {keys}, t, seq, v FROM c{k}'})")
            rows.append(f"SELECT 's', {k}, {keys}, t, seq, v FROM s{k}")
            if self.config.open:
                rows.append(f"SELECT 'c', {k}, {keys}, t, seq, v FROM c{k}")
        return f"WITH {', '.join(ctes)} {' UNION ALL '.join(rows)}"

    @staticmethod
    def _entries(span: _Span) -> str:
        """FROM … WHERE over `reach`: the step-1 events in a span, the funnel's entries."""
        return f"reach WHERE kind = 's' AND step = 0 AND {span.where()}"

    def _done(self, name: str, span: _Span) -> str:
        """CTE `done_{name}`: the keys that reached the last step in the span."""
        keys = ", ".join(self.keys)
        return (
            f"done_{name} AS (SELECT {keys}, TRUE AS completed FROM reach WHERE kind = 's' "
            f"AND step = {len(self.matches) - 1} GROUP BY {keys} HAVING max(CASE WHEN t < {span.hi} THEN v END) "
            f">= {span.lo})"
        )

    def _ctes(self) -> list[str]:
        """The figures' CTEs: each key's first entry time in the weekly trend and first entry event in the period,
        the keys that completed in each, the users' first touch in the period, the event whose source / medium
        each entry is counted under, and the users of the traffic figures."""
        s, keys = self.spans, ", ".join(self.keys)
        return [
            f"entry_weeks AS (SELECT {keys}, min(t) AS t FROM {self._entries(s.weeks)} GROUP BY {keys})",
            self._done("weeks", s.weeks),
            f"entry_period AS (SELECT {keys}, t, seq FROM (SELECT {keys}, t, seq, ROW_NUMBER() OVER (PARTITION BY "
            f"{keys} ORDER BY t, seq) AS n FROM {self._entries(s.period)}) WHERE n = 1)",
            self._done("period", s.period),
            "touch AS (SELECT user_id, seq FROM (SELECT user_id, seq, ROW_NUMBER() OVER (PARTITION BY user_id "
            f"ORDER BY t, seq) AS n FROM base WHERE source IS NOT NULL AND {s.period.where()}) WHERE n = 1)",
            "chosen AS (SELECT own.user_id AS user_id, CASE WHEN own.source IS NULL AND touch.seq IS NOT NULL "
            "THEN touch.seq ELSE own.seq END AS seq, completed FROM entry_period entry "
            f"LEFT JOIN done_period USING ({keys}) JOIN base own ON {self._on('own', 'entry')} "
            "LEFT JOIN touch ON touch.user_id = own.user_id)",
            f"visited AS (SELECT user_id, max(CASE WHEN {s.period.where()} THEN 1 ELSE 0 END) AS seen, "
            f"max(CASE WHEN {s.month.where()} THEN 1 ELSE 0 END) AS this_month FROM base "
            "WHERE user_id IS NOT NULL GROUP BY user_id)",
        ]

    def _figures(self) -> list[str]:
        """Every figure as SELECTs of rows (figure, name, detail, k, n1, n2, n3): keys reaching each step in each
        span, the weekly trend, the breakdown, users, sessions and month-to-date visitors, visitors and sign-ups
        per day."""
        s, keys = self.spans, ", ".join(self.keys)
        spans = (s.period, s.before, s.weeks)
        latest = ", ".join(f"max(CASE WHEN t < {span.hi} THEN v END) AS latest{i}" for i, span in enumerate(spans))
        reached = ", ".join(
            f"count(CASE WHEN latest{i} >= {span.lo} THEN 1 END) AS n{i + 1}" for i, span in enumerate(spans)
        )
        week = f"{s.calendar.day_of(s.first_week, s.last_day)} // 7"
        day = s.calendar.day_of(s.first_day, s.last_day)
        in_period = s.period.where()
        return [
            f"SELECT 'reached' AS figure, kind AS name, CAST(NULL AS VARCHAR) AS detail, step AS k, {reached} "
            f"FROM (SELECT kind, step, {keys}, {latest} FROM reach GROUP BY kind, step, {keys}) GROUP BY kind, step",
            "SELECT 'weekly' AS figure, NULL AS name, NULL AS detail, week AS k, count(*) AS n1, "
            f"count(completed) AS n2, NULL AS n3 FROM (SELECT {week} AS week, completed FROM entry_weeks "
            f"LEFT JOIN done_weeks USING ({keys})) GROUP BY week",
            "SELECT * FROM (SELECT 'breakdown' AS figure, COALESCE(e.source, '(direct)') AS name, "
            "COALESCE(e.medium, '(none)') AS detail, NULL AS k, count(*) AS n1, count(completed) AS n2, NULL AS n3 "
            "FROM chosen JOIN base e USING (user_id, seq) GROUP BY 2, 3 ORDER BY n1 DESC, name, detail LIMIT 10)",
            "SELECT 'traffic' AS figure, NULL AS name, NULL AS detail, NULL AS k, "
            "count(CASE WHEN seen = 1 THEN 1 END) AS n1, "
            "(SELECT count(*) FROM (SELECT DISTINCT user_id, session_id FROM base WHERE user_id IS NOT NULL "
            f"AND session_id IS NOT NULL AND {in_period})) AS n2, "
            "count(CASE WHEN this_month = 1 THEN 1 END) AS n3 FROM visited",
            f"SELECT 'visitors' AS figure, NULL AS name, NULL AS detail, {day} AS k, count(DISTINCT user_id) AS n1, "
            f"NULL AS n2, NULL AS n3 FROM base WHERE user_id IS NOT NULL AND {in_period} GROUP BY 4",
            f"SELECT 'signups' AS figure, NULL AS name, NULL AS detail, {day} AS k, count(*) AS n1, NULL AS n2, "
            f"NULL AS n3 FROM base WHERE sign_up AND {in_period} GROUP BY 4",
        ]  # fmt: skip

    def figures(self) -> list[str]:
        """Each figure's SELECT over the stages: run one at a time, the engine's memory holds one figure's work,
        not all of them at once (a 50M-event export needs more than 1.5 GB otherwise)."""
        ctes = ", ".join(self._ctes())
        return [f"WITH {ctes} {figure}" for figure in self._figures()]

    def single(self, events: str) -> str:
        """Stages and figures as one query over `events` (a SELECT of the canonical columns with `t` and `seq`)."""
        stages = [f"{name} AS ({sql})" for name, sql in [("events", events), *self.stages()]]
        return f"WITH {', '.join([*stages, *self._ctes()])} {' UNION ALL '.join(self._figures())}"

    def metrics(self, rows: Sequence[tuple]) -> FunnelMetrics:
        """The funnel from the figures' rows."""
        by_figure: dict[str, list[tuple]] = {}
        for figure, *rest in rows:
            by_figure.setdefault(figure, []).append(tuple(rest))
        names, spans = [step.name for step in self.config.steps], self.spans
        found = {(kind, step): counts for kind, _, step, *counts in by_figure.get("reached", [])}
        count = lambda kind, step, span: int(found.get((kind, step), (0, 0, 0))[span])  # noqa: E731
        steps = [[count("s", k, span) for k in range(len(names))] for span in range(3)]
        continued = [count("c" if self.config.open else "s", k + 1, 0) for k in range(len(names) - 1)]
        (_, _, _, users, sessions, monthly), = by_figure["traffic"]  # fmt: skip
        per_day = lambda figure: {k: n for _, _, k, n, _, _ in by_figure.get(figure, [])}  # noqa: E731
        days = [(spans.first_day + timedelta(days=n)).isoformat() for n in range(spans.days)]
        visitors, signups = per_day("visitors"), per_day("signups")
        breakdown = sorted(by_figure.get("breakdown", []), key=lambda r: (-r[3], r[0], r[1]))
        return FunnelMetrics(
            steps=funnel_steps(steps[0], [*continued, None], names),
            overall_conversion=overall_conversion(steps[0]),
            previous_overall_conversion=overall_conversion(steps[1]),
            weekly=_weekly({k: (n1, n2) for _, _, k, n1, n2, _ in by_figure.get("weekly", [])}, spans.first_week),
            breakdown=tuple(BreakdownRow(s, m, n, done, done / n) for s, m, _, n, done, _ in breakdown),
            daily_visitors=tuple((label, int(visitors.get(n, 0))) for n, label in enumerate(days)),
            daily_signups=tuple((label, int(signups.get(n, 0))) for n, label in enumerate(days)),
            users=int(users),
            sessions=int(sessions),
            monthly_visitors=int(monthly),
        )


@dataclass(frozen=True)
class FunnelPlan:
    """What one snapshot's funnel asks of its events: the config, the spans, and the params its filters read."""

    config: FunnelConfig
    spans: FunnelSpans

    @staticmethod
    def of(config: FunnelConfig, as_of: date, period_days: int, timezone: str) -> FunnelPlan:
        return FunnelPlan(config, FunnelSpans.ending(as_of, period_days, timezone))

    @property
    def params(self) -> tuple[str, ...]:
        """The event params the steps' filters read."""
        return tuple(sorted({key for step in self.config.steps for key in step.params}))

    def query(self, columns: set[str]) -> FunnelQuery:
        """The funnel's SQL over events that have these columns."""
        return FunnelQuery(self.config, columns, self.spans)


def funnel_steps(counts: list[int], continued: list[int | None], names: list[str]) -> tuple[FunnelStepResult, ...]:
    """Per step: users, completion from the previous step, conversion from the first, abandonments (users
    none of whose counted events continue to the next step; 0 for the last)."""
    out = []
    for i, (name, users) in enumerate(zip(names, counts)):
        previous = counts[i - 1] if i else None
        out.append(
            FunnelStepResult(
                name=name,
                users=int(users),
                conversion_from_previous=None if previous is None or previous == 0 else users / previous,
                conversion_from_start=None if counts[0] == 0 else users / counts[0],
                abandonments=0 if continued[i] is None else int(users - continued[i]),
            )
        )
    return tuple(out)


def overall_conversion(counts: list[int]) -> float | None:
    """Users at the last step ÷ users at the first (None without entries)."""
    return None if not counts or counts[0] == 0 else counts[-1] / counts[0]


def events_view(cursor: Any, events: Any, params: tuple[str, ...]) -> set[str]:
    """The view `events` over a scan (files, Arrow tables) or a frame of the canonical events; its columns."""
    from connectors.scan import TableScan

    if isinstance(events, TableScan):
        events.register(cursor)
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW events AS {events.sql(params)}")
    else:  # a frame (pandas or Arrow) of the canonical columns: its rows in order
        cursor.register("frame", events.assign(seq=range(len(events))))
        cursor.execute("CREATE OR REPLACE TEMP VIEW events AS SELECT *, epoch_us(event_time) AS t FROM frame")
    return {name for name, *_ in cursor.execute("DESCRIBE events").fetchall()}


def compute_funnel(
    events: Any, config: FunnelConfig, as_of: date, period_days: int = 30, timezone: str = "UTC"
) -> FunnelMetrics:
    """Funnel steps, overall conversion, previous period, weekly trend, source/medium breakdown and traffic over
    the period [start, end): `end` the midnight after `as_of` in the property's time zone, days and weeks local
    too. `events`: a scan, a canonical frame, or a warehouse's events (`run_funnel`)."""
    plan = FunnelPlan.of(config, as_of, period_days, timezone)
    if hasattr(events, "run_funnel"):
        return events.run_funnel(plan)
    cursor = engine.cursor()
    try:
        query = plan.query(events_view(cursor, events, plan.params))
        for name, sql in query.stages():
            cursor.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        return query.metrics([row for sql in query.figures() for row in cursor.execute(sql).fetchall()])
    finally:
        cursor.close()


def funnel_cost(events: Any, config: FunnelConfig, as_of: date, period_days: int = 30, timezone: str = "UTC") -> int:
    """The bytes a warehouse's refresh of the funnel scans (its dry run)."""
    return events.refresh_cost(FunnelPlan.of(config, as_of, period_days, timezone))


def _weekly(by_week: dict[int, tuple[int, int]], first: date) -> tuple[tuple[str, float | None], ...]:
    """(the week's last day, conversion of the keys that entered that week) for each week from `first`."""
    out = []
    for k in range(_WEEKS):
        entered, completed = by_week.get(k, (0, 0))
        out.append(((first + timedelta(days=7 * k + 6)).isoformat(), None if entered == 0 else completed / entered))
    return tuple(out)
