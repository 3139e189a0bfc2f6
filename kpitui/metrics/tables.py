"""The canonical tables as the engine's views (over a scan of export files, or a frame in tests), and the SQL
of instants they are compared with."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def midnight(day: date, zone: str) -> datetime:
    """The instant a day starts in a source's time zone."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def period_bound(as_of: date, days: int, back: int, zone: str) -> datetime:
    """The local midnight `back` periods of `days` before the end of the period ending `as_of` (the midnight
    after it): 0 its end, 1 its start, 2 the previous period's start."""
    return midnight(as_of + timedelta(days=1 - back * days), zone)


def month_starts(last_day: date, count: int) -> list[date]:
    """The first days of the `count` months ending with `last_day`'s, oldest first."""
    last = last_day.year * 12 + last_day.month - 1  # months since year 0
    return [date(m // 12, m % 12 + 1, 1) for m in range(last - count + 1, last + 1)]


def instant(moment: datetime) -> str:
    """An instant as a SQL literal (in UTC)."""
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"


def interval_of(column: str, boundaries: list[datetime]) -> tuple[str, str]:
    """Which interval [b_k, b_k+1) of the ascending boundaries a time column falls in (k from 0), and the
    condition that it falls in one of them: plain comparisons of instants, no time zone read per row."""
    cases = " ".join(f"WHEN {column} < {instant(b)} THEN {k}" for k, b in enumerate(boundaries[1:]))
    inside = f"{column} >= {instant(boundaries[0])} AND {column} < {instant(boundaries[-1])}"
    return f"CASE {cases} END", inside


def parse_metadata(text: Any) -> dict[str, Any]:
    """A `metadata` column's JSON text as a dict (empty when absent or not a JSON object)."""
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def table_view(cursor: Any, name: str, table: Any) -> None:
    """The view `name` of a canonical table with `seq` numbering its rows in file order: a scan (connectors'
    files, converted as they are read) or a frame (pandas or Arrow) of the canonical columns."""
    from connectors.scan import TableScan

    if isinstance(table, TableScan):
        table.register(cursor)
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {table.sql()}")
    else:
        cursor.register(f"{name}_frame", table.assign(seq=range(len(table))))
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_frame")
