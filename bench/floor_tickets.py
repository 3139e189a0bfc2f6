"""The floor a data person would write over a Zendesk export: volume, backlog, first-reply and resolution median and
P90, CSAT, as one DuckDB query over the file (the period [start, end), what happened by `end`). Prints JSON.

Run: python -m bench.floor_tickets FILE START END   (times as YYYY-MM-DD HH:MM:SS, UTC)
"""

from __future__ import annotations

import json
import sys

import duckdb


def query(path: str, start: str, end: str) -> str:
    """The period's tickets; replies and solves by `end`; ratings of tickets solved by then."""
    solved = "Status IN ('Solved', 'Closed')"
    return f"""
    WITH t AS (SELECT * FROM read_csv('{path}', header = true, timestampformat = '%Y-%m-%d %H:%M')),
    period AS (SELECT * FROM t WHERE "Created at" >= TIMESTAMP '{start}' AND "Created at" < TIMESTAMP '{end}'),
    known AS (SELECT *, {solved} AND "Solved at" < TIMESTAMP '{end}' AS solved_by_end,
        CASE WHEN "Created at" + to_minutes(CAST("First reply time in minutes" AS BIGINT)) < TIMESTAMP '{end}'
             THEN "First reply time in minutes" END AS reply,
        CASE WHEN {solved} AND "Solved at" < TIMESTAMP '{end}' THEN "Full resolution time in minutes" END AS done
        FROM period)
    SELECT (SELECT count(*) FROM period),
        (SELECT count(*) FROM t WHERE "Created at" < TIMESTAMP '{end}'
            AND NOT ({solved} AND "Solved at" < TIMESTAMP '{end}')),
        quantile_cont(reply, 0.5), quantile_cont(reply, 0.9), quantile_cont(done, 0.5), quantile_cont(done, 0.9),
        count(CASE WHEN solved_by_end AND "Satisfaction Score" = 'Good' THEN 1 END)
            / count(CASE WHEN solved_by_end AND "Satisfaction Score" IN ('Good', 'Bad') THEN 1 END)
    FROM known"""


def main() -> None:
    path, start, end = sys.argv[1:]
    con = duckdb.connect(config={"memory_limit": "1.5GB"})
    tickets, backlog, reply, reply_p90, done, done_p90, csat = con.execute(query(path, start, end)).fetchone()
    print(
        json.dumps(
            {
                "tickets": tickets,
                "backlog": backlog,
                "first_response_minutes": [reply, reply_p90],
                "resolution_minutes": [done, done_p90],
                "csat": csat,
            }
        )
    )


if __name__ == "__main__":
    main()
