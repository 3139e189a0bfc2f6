"""Engagement from events (DESIGN.md section 4): DAU, WAU, MAU and stickiness, user retention by first-visit week
and lead velocity, as one SELECT of tagged rows over the canonical `events` (with `t`, µs): the same SQL on DuckDB
over files and, transpiled, on a warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kpitui import engine
from kpitui.engine import sql_literal
from kpitui.metrics.funnel import SIGN_UP, Calendar, events_view
from kpitui.model import EngagementMetrics, RetentionCohort

MONTH_DAYS = 30  # MAU's days, and the days whose mean DAU stickiness divides by MAU
WEEK_DAYS = 7
COHORT_WEEKS = 9  # week 0 … 8: the cohorts of the eight weeks before as_of's, and its own
LOOKBACK_DAYS = 90  # a user seen this many days before the first cohort week is not new in a later one


@dataclass(frozen=True)
class EngagementPlan:
    """The local days one engagement snapshot reads: `first` (the lookback's start) to `as_of`, as day numbers
    counted from `first`."""

    as_of: date
    period_days: int
    first: date
    first_week: date  # the Monday of the oldest cohort
    calendar: Calendar
    lead_event: str

    @staticmethod
    def of(as_of: date, period_days: int = 30, timezone: str = "UTC", lead_event: str = "sign_up") -> EngagementPlan:
        monday = as_of - timedelta(days=as_of.weekday())
        first_week = monday - timedelta(weeks=COHORT_WEEKS - 1)
        first = min(
            first_week - timedelta(days=LOOKBACK_DAYS),
            as_of - timedelta(days=2 * period_days - 1),
            as_of - timedelta(days=MONTH_DAYS - 1),
        )
        return EngagementPlan(as_of, period_days, first, first_week, Calendar(ZoneInfo(timezone)), lead_event)

    def day(self, day: date) -> int:
        """A local day's number, counted from `first`."""
        return (day - self.first).days

    def single(self, events: str) -> str:
        """The figures as one query over `events` (a SELECT of the canonical columns with `t`)."""
        return f"WITH events AS ({events}), {self._figures()}"

    def figures(self) -> str:
        """The figures' query over the relation `events`: a row per first-visit week (see `_figures`)."""
        return f"WITH {self._figures()}"

    def _spans(self) -> dict[str, str]:
        """The spans a user is counted in when one of their events meets the condition (`d` its local day;
        `active` unless GA4's `is_active_user` says the user was not active that day)."""
        last = self.day(self.as_of)
        period0, previous0 = last - self.period_days + 1, last - 2 * self.period_days + 1
        lead, signup = (f"event_name = {sql_literal(name)}" for name in (self.lead_event, SIGN_UP))
        return {
            "wau": f"active AND d >= {last - WEEK_DAYS + 1}",
            "mau": f"active AND d >= {last - MONTH_DAYS + 1}",
            "lead0": f"{lead} AND d >= {period0}",
            "lead1": f"{lead} AND d >= {previous0} AND d < {period0}",
            "signups": f"{signup} AND d >= {period0}",
        }

    def _columns(self) -> list[str]:
        """The names of the figures' columns."""
        weeks = [f"week{n}" for n in range(COHORT_WEEKS)]
        return ["cohort", "users", *self._spans(), *weeks, *(f"day{n}" for n in range(MONTH_DAYS))]

    def _figures(self) -> str:
        """The figures' CTE and SELECT: one pass over the events gives each user's first visit day, which spans
        they were active (or a lead) in, and the weeks since the oldest cohort's Monday they visited in and the
        days of the last 30 they were active on, as sets of bits (bit n set: seen in week n, active on day n);
        retention counts every visit, DAU, WAU and MAU only active users (GA4's Active users); then, per first-visit
        week (null: first seen before the oldest cohort's week), its users, those counted in each span, and
        those active in each week and on each day."""
        week0, month0 = self.day(self.first_week), self.day(self.as_of) - MONTH_DAYS + 1
        lo, hi = self.calendar.midnight(self.first), self.calendar.midnight(self.as_of + timedelta(days=1))
        spans = self._spans()
        flags = ", ".join(f"max(CASE WHEN {where} THEN 1 ELSE 0 END) AS {name}" for name, where in spans.items())
        counts = [
            *(f"sum({name})" for name in spans),
            *(f"sum((weeks >> {n}) & 1)" for n in range(COHORT_WEEKS)),
            *(f"sum((days >> {n}) & 1)" for n in range(MONTH_DAYS)),
        ]
        return (
            f"users AS (SELECT min(d) AS first_day, {flags}, "
            f"bit_or(CASE WHEN d >= {week0} THEN 1 << ((d - {week0}) // 7) END) AS weeks, "
            f"bit_or(CASE WHEN active AND d >= {month0} THEN 1 << (d - {month0}) END) AS days "
            f"FROM (SELECT user_id, event_name, is_active_user IS NOT FALSE AS active, "
            f"{self.calendar.day_of(self.first, self.as_of)} AS d FROM events "
            f"WHERE user_id IS NOT NULL AND t >= {lo} AND t < {hi}) GROUP BY user_id) "
            f"SELECT CASE WHEN first_day >= {week0} THEN (first_day - {week0}) // 7 END AS cohort, count(*) AS users, "
            f"{', '.join(counts)} FROM users GROUP BY 1"
        )

    def metrics(self, rows: Sequence[tuple]) -> EngagementMetrics:
        """The figures from the query's rows (one per first-visit week)."""
        columns = self._columns()
        groups = [dict(zip(columns, row, strict=True)) for row in rows]
        total = lambda column: sum(int(group[column] or 0) for group in groups)  # noqa: E731
        daily = [total(f"day{n}") for n in range(MONTH_DAYS)]
        month = [self.as_of - timedelta(days=MONTH_DAYS - 1 - n) for n in range(MONTH_DAYS)]
        mau = total("mau")
        leads = {0: total("lead0"), 1: total("lead1")}
        by_week = {int(group["cohort"]): group for group in groups if group["cohort"] is not None}
        cohorts = []
        for k in range(COHORT_WEEKS):
            group = by_week.get(k, {})
            users = int(group.get("users") or 0)
            returning = [int(group.get(f"week{n}") or 0) for n in range(COHORT_WEEKS)]
            cells = tuple(None if users == 0 else returning[k + j] / users for j in range(COHORT_WEEKS - k))
            cohorts.append(RetentionCohort((self.first_week + timedelta(weeks=k)).isoformat(), users, cells))
        return EngagementMetrics(
            dau=daily[-1],
            wau=total("wau"),
            mau=mau,
            stickiness=None if mau == 0 else sum(daily) / MONTH_DAYS / mau,
            lead_velocity_rate=None if leads[1] == 0 else (leads[0] - leads[1]) / leads[1],
            retention=tuple(cohorts),
            daily_active=tuple((day.isoformat(), daily[n]) for n, day in enumerate(month)),
            leads=leads[0],
            previous_leads=leads[1],
            lead_event=self.lead_event,
            signups=total("signups"),
        )


def compute_engagement(
    events: Any, as_of: date, period_days: int = 30, timezone: str = "UTC", lead_event: str = "sign_up"
) -> EngagementMetrics:
    """DAU, WAU, MAU, stickiness, retention and lead velocity at `as_of`, days in the property's time zone.
    `events`: a scan, a canonical frame, or a warehouse's events (`run_engagement`)."""
    plan = EngagementPlan.of(as_of, period_days, timezone, lead_event)
    if hasattr(events, "run_engagement"):
        return events.run_engagement(plan)
    cursor = engine.cursor()
    try:
        events_view(cursor, events, ())
        return plan.metrics(cursor.execute(plan.figures()).fetchall())
    finally:
        cursor.close()
