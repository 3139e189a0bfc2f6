"""The floor for every figure `kpitui snapshot` computes from GA4 events, written as a data person would in DuckDB:
the funnel (one ASOF join per step, as bench.floor_funnel) over the period, the period before and the eight weeks
ending with it, with each user's first entry week for the weekly trend; users and sessions; and engagement (DAU,
WAU, MAU, stickiness, leads in both periods, retention by first-visit week) from users' active days. The events
of the days any figure reads are held once as a temp table. Prints the figures as JSON.

Run: python -m bench.floor_snapshot FILE AS_OF WINDOW_US STEP [STEP …]
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta

import duckdb

from bench.floor_funnel import SESSION, chain, source

DAY = 86_400_000_000
WEEKS = 8  # the funnel's weekly trend
COHORTS = 9  # engagement's first-visit weeks, as_of's own the last


def micros(day: date) -> int:
    """A UTC midnight in µs since the epoch."""
    return (day - date(1970, 1, 1)).days * DAY


def main() -> None:
    path, as_of_text, window_text, *steps = sys.argv[1:]
    as_of, window = date.fromisoformat(as_of_text), int(window_text)
    end = micros(as_of + timedelta(days=1))
    monday = as_of - timedelta(days=as_of.weekday())
    first_week = monday - timedelta(weeks=COHORTS - 1)
    first = min(first_week - timedelta(days=90), as_of - timedelta(days=59))
    con = duckdb.connect(config={"memory_limit": "1.5GB"})
    stamp = "CAST(event_timestamp AS BIGINT)"
    con.execute(
        f"CREATE TEMP TABLE e AS SELECT user_pseudo_id AS u, {stamp} AS t, event_name AS n, {SESSION} AS s, "
        f"{stamp} // {DAY} - {(first - date(1970, 1, 1)).days} AS d FROM {source(path)} "
        f"WHERE {stamp} >= {micros(first)} AND {stamp} < {end}"
    )
    period, before, weeks = end - 30 * DAY, end - 60 * DAY, end - WEEKS * 7 * DAY
    last, week0 = (as_of - first).days, (first_week - first).days
    reached = lambda name: ", ".join(  # noqa: E731
        f"(SELECT count(DISTINCT u) FROM {name}{k})" for k in range(len(steps))
    )
    final = len(steps) - 1
    row = con.execute(
        f"WITH {chain(window, steps, 'p', f't >= {period} AND t < {end}')}, "
        f"{chain(window, steps, 'b', f't >= {before} AND t < {period}')}, "
        f"{chain(window, steps, 'w', f't >= {weeks} AND t < {end}')}, "
        f"entered AS (SELECT u, (min(t) - {weeks}) // {7 * DAY} AS week FROM w0 GROUP BY u), "
        "trend AS (SELECT week, count(*) AS users, count(done.u) AS completed FROM entered "
        f"LEFT JOIN (SELECT DISTINCT u FROM w{final}) done USING (u) GROUP BY week), "
        "days AS (SELECT DISTINCT u, d FROM e), "
        "firsts AS (SELECT u, min(d) AS d FROM days GROUP BY u), "
        f"cohorts AS (SELECT u, (d - {week0}) // 7 AS week FROM firsts WHERE d >= {week0}), "
        f"active AS (SELECT DISTINCT u, (d - {week0}) // 7 AS week FROM days WHERE d >= {week0}), "
        "grid AS (SELECT c.week, a.week - c.week AS later, count(*) AS users "
        "FROM cohorts c JOIN active a USING (u) GROUP BY ALL), "
        f"leads AS (SELECT DISTINCT u, t >= {period} AS now FROM e WHERE n = 'sign_up' AND t >= {before}) "
        f"SELECT [{reached('p')}], [{reached('b')}], "
        "(SELECT list([week, users, completed] ORDER BY week) FROM trend), "
        f"(SELECT count(DISTINCT u) FROM e WHERE t >= {period}), "
        f"(SELECT count(*) FROM (SELECT DISTINCT u, s FROM e WHERE t >= {period} AND s IS NOT NULL)), "
        f"(SELECT count(*) FROM days WHERE d = {last}), "
        f"(SELECT count(DISTINCT u) FROM days WHERE d > {last - 7}), "
        f"(SELECT count(DISTINCT u) FROM days WHERE d > {last - 30}), "
        f"(SELECT count(*) FROM days WHERE d > {last - 30}), "
        "(SELECT [count(CASE WHEN now THEN 1 END), count(CASE WHEN NOT now THEN 1 END)] FROM leads), "
        "(SELECT list([week, later, users] ORDER BY week, later) FROM grid)"
    ).fetchone()
    steps_now, steps_before, trend, users, sessions, dau, wau, mau, user_days, leads, grid = row
    print(
        json.dumps(
            {
                "steps": steps_now,
                "previous_steps": steps_before,
                "weekly": trend,
                "users": users,
                "sessions": sessions,
                "dau": dau,
                "wau": wau,
                "mau": mau,
                "stickiness": user_days / 30 / mau,
                "leads": leads,
                "retention": grid,
            }
        )
    )


if __name__ == "__main__":
    main()
