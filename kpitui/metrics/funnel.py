"""Funnel conversion by GA4's rules (DESIGN.md section 4) as SQL on the engine: closed or open, indirectly or
directly followed, per user or per session, param filters, and every entry tried."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kpitui import engine
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.engine import sql_literal
from kpitui.model import BreakdownRow, FunnelMetrics, FunnelStepResult

_SIGN_UP = "sign_up"
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
class _Calendar:
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


class FunnelSql:
    """The funnel's queries over a table `base`: the events of the spans it needs, with `t` (µs) and `seq`."""

    def __init__(self, config: FunnelConfig, columns: set[str]) -> None:
        self.config = config
        self.keys = ["user_id", "session_id"] if config.per_session else ["user_id"]
        self.matches = [self._match(step, columns) for step in config.steps]

    @staticmethod
    def base(span: _Span) -> str:
        """The temp table `base`: the events of the span (that of the traffic figures and the breakdown) with what
        those need, `t` (µs) and `seq`."""
        return (
            "CREATE OR REPLACE TEMP TABLE base AS SELECT user_id, session_id, event_name, source, medium, t, seq "
            f"FROM events WHERE {span.where()}"
        )

    @staticmethod
    def _match(step: FunnelStep, columns: set[str]) -> str:
        """The condition an event meets for this step: its name, and each param filter."""
        parts = [f"event_name = {sql_literal(step.event)}"]
        for key, value in step.params.items():
            column = "param." + key
            parts.append(f"{_column(column)} = {sql_literal(value)}" if column in columns else "FALSE")
        return "(" + " AND ".join(parts) + ")"

    def flagged(self, span: _Span) -> str:
        """A temp table `flagged`: the countable events of the span, one flag per step and the first step each
        matches (`rank`, for ties); every event when directly followed, else only the steps' events. Keys (users,
        or users' sessions) are numbered as `key`: the windows partition by a number faster than by GA4's long
        client ids."""
        keys = ", ".join(self.keys)
        flags = ", ".join(f"{m} AS m{i}" for i, m in enumerate(self.matches))
        rank = " ".join(f"WHEN {m} THEN {i}" for i, m in enumerate(self.matches))
        known = " AND ".join(f"{k} IS NOT NULL" for k in self.keys)
        relevant = "" if self.config.direct else " AND (" + " OR ".join(self.matches) + ")"
        marks = ", ".join(f"m{i}" for i in range(len(self.matches)))
        return (
            f"CREATE OR REPLACE TEMP TABLE flagged AS WITH f AS (SELECT {keys}, t, seq, {flags}, "
            f"CASE {rank} ELSE {len(self.matches)} END AS rank FROM events "
            f"WHERE {known} AND {span.where()}{relevant}), "
            f"numbers AS (SELECT {keys}, row_number() OVER () AS key FROM (SELECT DISTINCT {keys} FROM f)) "
            f"SELECT key, t, seq, {marks}, rank FROM f JOIN numbers USING ({keys})"
        )

    def _continued(self, step: int) -> str:
        """CTE `c{step}`: the step's events that follow a step−1 event of `s{step-1}` of the same key by the step's
        rule, each with `v`, the latest `v` among the step−1 events it may follow.

        Indirectly: those at or before it (ties count), not itself, within the window; where both steps name the
        same event, the strictly earlier ones and the ties other than itself are looked at apart.
        Directly: the key's event just before it (ties in step order, then file order), within the window."""
        window, previous = int(self.config.window * 1_000_000), f"s{step - 1}"
        if self.config.direct:
            return (
                f"c{step} AS (SELECT key, t, seq, v FROM ("
                f"SELECT f.key, f.t, f.seq, f.m{step}, LAG(p.v) OVER w AS v, LAG(f.t) OVER w AS previous_t "
                f"FROM flagged f LEFT JOIN {previous} p ON p.seq = f.seq "
                "WINDOW w AS (PARTITION BY f.key ORDER BY f.t, f.rank, f.seq)) "
                f"WHERE m{step} AND v IS NOT NULL AND t - previous_t <= {window})"
            )
        rows = (
            f"SELECT key, t, seq, 0 AS role, v AS pv FROM {previous} "
            f"UNION ALL SELECT key, t, seq, 1, CAST(NULL AS BIGINT) FROM flagged WHERE m{step}"
        )
        steps = self.config.steps
        if steps[step].event != steps[step - 1].event:  # no event can be both: every one in the frame will do
            latest = f"max(pv) OVER (PARTITION BY key ORDER BY t RANGE BETWEEN {window} PRECEDING AND CURRENT ROW)"
            return (
                f"c{step} AS (SELECT key, t, seq, v FROM (SELECT *, {latest} AS v FROM ({rows})) "
                "WHERE role = 1 AND v IS NOT NULL)"
            )
        earlier = f"max(pv) OVER (PARTITION BY key ORDER BY t RANGE BETWEEN {window} PRECEDING AND 1 PRECEDING)"
        ties = [  # the events at the same time before it in file order, and after it (its own row sorts after it)
            f"max(pv) OVER (PARTITION BY key, t ORDER BY seq{order}, role DESC "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
            for order in ("", " DESC")
        ]
        latest = "GREATEST(" + ", ".join(f"COALESCE({w}, {_NONE})" for w in (earlier, *ties)) + ")"
        return (
            f"c{step} AS (SELECT key, t, seq, v FROM (SELECT *, {latest} AS v FROM ({rows})) "
            f"WHERE role = 1 AND v > {_NONE})"
        )

    def reach(self) -> str:
        """The temp table `reach` over all of `flagged`: per step, its countable events (`kind` 's'; `v` the
        latest entry time of a chain through the event when closed, its own time when open) and the events that
        continue from a countable step−1 event (`kind` 'c', with the latest `v` they continue from; the same as
        the countable ones when closed). A key reaches step k in a span [lo, hi) when one of its step-k events
        before `hi` has `v` at or after `lo`: the chain lies in the span. One pass serves every span."""
        ctes = ["s0 AS (SELECT key, t, seq, t AS v FROM flagged WHERE m0)"]
        rows = ["SELECT 's' AS kind, 0 AS step, key, t, seq, v FROM s0"]
        for k in range(1, len(self.matches)):
            ctes.append(self._continued(k))
            every = f"SELECT key, t, seq, t AS v FROM flagged WHERE m{k}"
            ctes.append(f"s{k} AS ({every if self.config.open else f'SELECT * FROM c{k}'})")
            rows += [f"SELECT 's', {k}, key, t, seq, v FROM s{k}", f"SELECT 'c', {k}, key, t, seq, v FROM c{k}"]
        return f"CREATE OR REPLACE TEMP TABLE reach AS WITH {', '.join(ctes)} {' UNION ALL '.join(rows)}"

    @staticmethod
    def reached(spans: list[_Span]) -> str:
        """Per kind and step of `reach`: how many keys reach it in each span."""
        latest = ", ".join(f"max(CASE WHEN t < {s.hi} THEN v END) AS latest{i}" for i, s in enumerate(spans))
        counts = ", ".join(f"count(CASE WHEN latest{i} >= {s.lo} THEN 1 END)" for i, s in enumerate(spans))
        return (
            f"SELECT kind, step, {counts} FROM (SELECT kind, step, key, {latest} FROM reach GROUP BY kind, step, key) "
            "GROUP BY kind, step"
        )

    def _entries(self, span: _Span) -> str:
        """CTEs `entry` (each key's first step-1 event in the span) and `done` (the keys that reached the last
        step in it)."""
        return (
            "entry AS (SELECT key, t, seq FROM (SELECT key, t, seq, ROW_NUMBER() OVER (PARTITION BY key "
            f"ORDER BY t, seq) AS n FROM reach WHERE kind = 's' AND step = 0 AND {span.where()}) WHERE n = 1), "
            f"done AS (SELECT key, TRUE AS completed FROM reach WHERE kind = 's' AND step = {len(self.matches) - 1} "
            f"GROUP BY key HAVING max(CASE WHEN t < {span.hi} THEN v END) >= {span.lo})"
        )

    def weekly(self, span: _Span, week: str) -> str:
        """Per week (`week`: SQL of an entry's week number): keys that entered the span that week (their first
        step-1 event) and of those, keys that completed in it."""
        return (
            f"WITH {self._entries(span)} SELECT {week} AS week, count(*) AS entered, count(completed) AS completed "
            "FROM entry LEFT JOIN done USING (key) GROUP BY week"
        )

    def breakdown(self, span: _Span, limit: int = 10) -> str:
        """Entries and completions by the source / medium of the entry event, else of the user's first event
        with a source in the span."""
        return (
            f"WITH {self._entries(span)}, "
            "touch AS (SELECT user_id, seq FROM (SELECT user_id, seq, ROW_NUMBER() OVER "
            f"(PARTITION BY user_id ORDER BY t, seq) AS n FROM base WHERE source IS NOT NULL "
            f"AND {span.where()}) WHERE n = 1), "
            "chosen AS (SELECT CASE WHEN own.source IS NULL AND touch.seq IS NOT NULL THEN touch.seq "
            "ELSE entry.seq END AS seq, completed FROM entry LEFT JOIN done USING (key) "
            "JOIN base own ON own.seq = entry.seq LEFT JOIN touch ON touch.user_id = own.user_id) "
            "SELECT COALESCE(e.source, '(direct)') AS source, COALESCE(e.medium, '(none)') AS medium, "
            "count(*) AS entered, count(completed) AS completed FROM chosen JOIN base e USING (seq) "
            f"GROUP BY 1, 2 ORDER BY entered DESC, source, medium LIMIT {limit}"
        )


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


def _events_view(cursor: Any, events: Any, params: tuple[str, ...]) -> set[str]:
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
    too. `events`: a scan, or a canonical frame."""
    calendar = _Calendar(ZoneInfo(timezone))
    day_after = as_of + timedelta(days=1)
    at = lambda days_before: calendar.midnight(day_after - timedelta(days=days_before))  # noqa: E731
    period = _Span(at(period_days), at(0))
    before = _Span(at(2 * period_days), period.lo)
    weeks = _Span(at(_WEEKS * 7), period.hi)
    month = _Span(calendar.midnight(as_of.replace(day=1)), period.hi)
    first_week = day_after - timedelta(days=_WEEKS * 7)
    names = [s.name for s in config.steps]
    cursor = engine.cursor()
    try:
        params = tuple(sorted({key for step in config.steps for key in step.params}))
        sql = FunnelSql(config, _events_view(cursor, events, params))
        cursor.execute(sql.flagged(_Span(min(before.lo, weeks.lo), period.hi)))
        cursor.execute(sql.base(_Span(min(period.lo, month.lo), period.hi)))
        cursor.execute(sql.reach())
        spans = {"period": period, "before": before, "weeks": weeks}
        found = {(kind, step): n for kind, step, *n in cursor.execute(sql.reached(list(spans.values()))).fetchall()}
        reached: dict[str, tuple[list[int], list[int | None]]] = {}
        for i, name in enumerate(spans):
            counts = [found.get(("s", k), [0] * len(spans))[i] for k in range(len(names))]
            continued = [found.get(("c", k + 1), [0] * len(spans))[i] for k in range(len(names) - 1)]
            reached[name] = counts, [*continued, None]
        week = f"{calendar.day_of(first_week, as_of)} // 7"
        weekly = _weekly(cursor.execute(sql.weekly(weeks, week)).fetchall(), first_week)
        breakdown = tuple(
            BreakdownRow(source, medium, entered, completed, completed / entered)
            for source, medium, entered, completed in cursor.execute(sql.breakdown(period)).fetchall()
        )
        first_day = day_after - timedelta(days=period_days)
        traffic = _traffic(cursor, period, month, calendar.day_of(first_day, as_of), first_day, period_days)
    finally:
        cursor.close()
    counts, continued = reached["period"]
    return FunnelMetrics(
        steps=funnel_steps(counts, continued, names),
        overall_conversion=overall_conversion(counts),
        previous_overall_conversion=overall_conversion(reached["before"][0]),
        weekly=weekly,
        breakdown=breakdown,
        **traffic,
    )


def _weekly(rows: list[tuple], first: date) -> tuple[tuple[str, float | None], ...]:
    """(the week's last day, conversion of the keys that entered that week) for each week from `first`."""
    by_week = {week: (entered, completed) for week, entered, completed in rows}
    out = []
    for k in range(_WEEKS):
        entered, completed = by_week.get(k, (0, 0))
        out.append(((first + timedelta(days=7 * k + 6)).isoformat(), None if entered == 0 else completed / entered))
    return tuple(out)


def _traffic(cursor, period: _Span, month: _Span, day: str, first: date, days: int) -> dict[str, object]:
    """Visitors per local day (`day`: its number from `first`), users and sessions of the period, month-to-date
    visitors, sign-ups per day."""
    in_period, in_month = period.where(), month.where()
    users, monthly = cursor.execute(
        "SELECT count(CASE WHEN seen = 1 THEN 1 END), count(CASE WHEN this_month = 1 THEN 1 END) FROM ("
        f"SELECT user_id, max(CASE WHEN {in_period} THEN 1 ELSE 0 END) AS seen, "
        f"max(CASE WHEN {in_month} THEN 1 ELSE 0 END) AS this_month FROM base "
        "WHERE user_id IS NOT NULL GROUP BY user_id)"
    ).fetchone()
    (sessions,) = cursor.execute(
        "SELECT count(*) FROM (SELECT DISTINCT user_id, session_id FROM base WHERE user_id IS NOT NULL "
        f"AND session_id IS NOT NULL AND {in_period})"
    ).fetchone()
    visitors = dict(
        cursor.execute(
            f"SELECT {day} AS day, count(DISTINCT user_id) FROM base WHERE user_id IS NOT NULL AND {in_period} "
            "GROUP BY day"
        ).fetchall()
    )
    signups = dict(
        cursor.execute(
            f"SELECT {day} AS day, count(*) FROM base WHERE event_name = {sql_literal(_SIGN_UP)} AND {in_period} "
            "GROUP BY day"
        ).fetchall()
    )
    labels = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    return {
        "daily_visitors": tuple((label, int(visitors.get(n, 0))) for n, label in enumerate(labels)),
        "daily_signups": tuple((label, int(signups.get(n, 0))) for n, label in enumerate(labels)),
        "users": int(users),
        "sessions": int(sessions),
        "monthly_visitors": int(monthly),
    }
