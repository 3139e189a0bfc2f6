"""GA4's BigQuery export laid out in DuckDB as in BigQuery (daily and intraday tables, nested params), and the
same events as the canonical table the file path reads."""

from __future__ import annotations

import pandas as pd

from connectors.frames import conform
from connectors.ga4_warehouse import Dataset, suffix

DATASET = Dataset.parse("kpitui-test.analytics_123456")
_PARAMS = "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, double_value DOUBLE, float_value DOUBLE))[]"  # noqa: E501
_COLUMNS = (
    f"user_pseudo_id VARCHAR, event_name VARCHAR, event_timestamp BIGINT, event_bundle_sequence_id BIGINT, "
    f"event_params {_PARAMS}, traffic_source STRUCT(source VARCHAR, medium VARCHAR, name VARCHAR)"
)


def micros(time: pd.Timestamp) -> int:
    return (time - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(microseconds=1)


def exported(rows: list[tuple]) -> list[tuple]:
    """(user, name, time, session, method, source) rows as BigQuery export rows, one bundle each."""
    return [
        (user, name, micros(time), n,
         [{"key": "ga_session_id", "value": {"string_value": None, "int_value": session, "double_value": None,
                                              "float_value": None}}]
         + ([{"key": "method", "value": {"string_value": method, "int_value": None, "double_value": None,
                                         "float_value": None}}] if method else []),
         {"source": source, "medium": "cpc" if source else None, "name": None})
        for n, (user, name, time, session, method, source) in enumerate(rows)
    ]  # fmt: skip


class Warehouse:
    """GA4's export tables in DuckDB, named and shaped as in BigQuery; `events_*` also matches the intraday tables
    (their suffix `intraday_YYYYMMDD`), as a BigQuery wildcard does."""

    def __init__(self, cursor, active: bool = False) -> None:
        """`active`: the tables have GA4's `is_active_user` (each row's last value), as exports since mid-2023."""
        self.cursor, self.tables = cursor, []
        self.columns = _COLUMNS + (", is_active_user BOOLEAN" if active else "")
        cursor.execute(f"ATTACH ':memory:' AS \"{DATASET.project}\"")
        cursor.execute(f'CREATE SCHEMA "{DATASET.project}".{DATASET.dataset}')

    def table(self, name: str, rows: list[tuple]) -> None:
        where = f'"{DATASET.project}".{DATASET.dataset}.{name}'
        self.cursor.execute(f"CREATE TABLE {where} ({self.columns})")
        if rows:
            self.cursor.executemany(f"INSERT INTO {where} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        self.tables.append(name)

    def wildcards(self) -> None:
        for prefix in ("events_", "events_intraday_"):
            unions = " UNION ALL ".join(
                f"SELECT *, '{name.removeprefix(prefix)}' AS _TABLE_SUFFIX FROM "
                f'"{DATASET.project}".{DATASET.dataset}.{name}'
                for name in self.tables
                if name.startswith(prefix)
            )
            self.cursor.execute(f'CREATE VIEW "{DATASET.project}".{DATASET.dataset}."{prefix}*" AS {unions}')


def by_day(rows: list[tuple]) -> dict[str, list[tuple]]:
    days: dict[str, list[tuple]] = {}
    for row in rows:
        days.setdefault(suffix(pd.Timestamp(row[2], unit="us", tz="UTC").date()), []).append(row)
    return days


def canonical(rows: list[tuple]) -> pd.DataFrame:
    """(user, name, time, session, method, source) rows as the canonical events, in the order the warehouse's
    `seq` gives a user's events (time, then name)."""
    ordered = sorted(rows, key=lambda r: (r[2], r[1]))
    frame = pd.DataFrame(
        [(u, n, t, str(s), m, src, "cpc" if src else None) for u, n, t, s, m, src in ordered],
        columns=["user_id", "event_name", "event_time", "session_id", "param.method", "source", "medium"],
    )
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return conform("events", frame)
