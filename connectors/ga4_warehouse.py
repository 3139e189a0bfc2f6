"""GA4's BigQuery export as the funnel's `events`: the daily tables a snapshot needs (intraday ones only for days
without a daily table yet), the canonical columns in BigQuery's SQL, and the funnel's one definition transpiled to
BigQuery around them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from connectors.base import PARAM_PREFIX, ConnectorError

_DATASET = re.compile(r"(?P<project>[a-z][a-z0-9:.-]{3,62}[a-z0-9])\.(?P<dataset>[A-Za-z0-9_]{1,1024})")
_VALUE_KINDS = ("string_value", "int_value", "double_value", "float_value")  # as the file path reads them
_RAW_COLUMNS = "user_pseudo_id, event_name, event_timestamp, event_bundle_sequence_id, event_params, traffic_source"
_TOUCH_FIELDS = {"source": "source", "medium": "medium"}  # first-touch traffic_source fields, as for files


@dataclass(frozen=True)
class Dataset:
    """A GA4 property's export dataset, `PROJECT.analytics_123456`."""

    project: str
    dataset: str

    @staticmethod
    def parse(text: str) -> Dataset:
        """The dataset a `bigquery` setting names; raises ConnectorError for anything else."""
        found = _DATASET.fullmatch(text.strip())
        if found is None:
            raise ConnectorError(
                f'bigquery = {text[:100]!r}: expected PROJECT.DATASET, e.g. "my-project.analytics_123456" '
                "(the dataset GA4's BigQuery export writes to)"
            )
        return Dataset(found["project"], found["dataset"])

    def tables(self, prefix: str) -> str:
        """The wildcard table of every table named `prefix…`."""
        return f"`{self.project}.{self.dataset}.{prefix}*`"


def _literal(text: str) -> str:
    """A BigQuery string literal (BigQuery escapes with backslashes; doubling a quote, as DuckDB does, is not one)."""
    from sqlglot import exp

    return exp.Literal.string(text).sql(dialect="bigquery")


def suffix(day: date) -> str:
    """A daily table's suffix: the day in the property's time zone."""
    return day.strftime("%Y%m%d")


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _param(key: str) -> str:
    """A param's value as text: that of the first `event_params` entry with the key (as for export files)."""
    kinds = ", ".join(
        f"p.value.{kind}" if kind == "string_value" else f"CAST(p.value.{kind} AS STRING)" for kind in _VALUE_KINDS
    )
    return (
        f"(SELECT COALESCE({kinds}) FROM UNNEST(event_params) AS p WITH OFFSET AS o "
        f"WHERE p.key = {_literal(key)} ORDER BY o LIMIT 1)"
    )


def param_column(index: int) -> str:
    """The name a filter param's column takes in the warehouse (BigQuery names hold no dots)."""
    return f"kpitui_param_{index}"


def events_sql(
    dataset: Dataset, first: date, last: date, daily: set[str], params: tuple[str, ...], active: bool | None = None
) -> str:
    """BigQuery SQL of the canonical events from `first` to `last` (local days): the daily tables between them,
    and the intraday tables of the days that have no daily table (`daily`: the suffixes that do). `seq` orders
    a user's events by time, then name, then GA4's bundle sequence. `active`, for engagement: True selects the
    export's `is_active_user`, False a null one (exports before mid-2023 have none); the funnel leaves it out."""
    suffixes = [suffix(day) for day in days_between(first, last)]
    raw = _RAW_COLUMNS + (", is_active_user" if active else "")
    parts = [
        f"SELECT {raw} FROM {dataset.tables('events_')} "
        f"WHERE _TABLE_SUFFIX BETWEEN {_literal(suffixes[0])} AND {_literal(suffixes[-1])}"
    ]
    if missing := [s for s in suffixes if s not in daily]:
        parts.append(
            f"SELECT {raw} FROM {dataset.tables('events_intraday_')} "
            f"WHERE _TABLE_SUFFIX IN ({', '.join(map(_literal, missing))})"
        )
    touch = {field: f"COALESCE({_param(field)}, traffic_source.{name})" for field, name in _TOUCH_FIELDS.items()}
    columns = [
        "user_pseudo_id AS user_id",
        f"{_param('ga_session_id')} AS session_id",
        "event_name",
        f"{touch['source']} AS source",
        f"{touch['medium']} AS medium",
        "event_timestamp AS t",
        *([] if active is None else ["is_active_user" if active else "CAST(NULL AS BOOL) AS is_active_user"]),
        "ROW_NUMBER() OVER (PARTITION BY user_pseudo_id ORDER BY event_timestamp, event_name, "
        "event_bundle_sequence_id) AS seq",
        *(f"{_param(key)} AS {param_column(i)}" for i, key in enumerate(params)),
    ]
    return f"SELECT {', '.join(columns)} FROM ({' UNION ALL '.join(parts)})"


def to_bigquery(single: str, events: str, params: tuple[str, ...]) -> str:
    """The funnel's one query (`FunnelQuery.single`, DuckDB's dialect) as BigQuery SQL, its `events` CTE being
    `events` (BigQuery SQL) and its param columns renamed as the warehouse names them."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    tree = sqlglot.parse_one(single, read="duckdb")
    cte = next(c for c in tree.find_all(exp.CTE) if c.alias == "events")
    cte.set("this", sqlglot.parse_one(events, read="bigquery"))
    renamed = {PARAM_PREFIX + key: param_column(i) for i, key in enumerate(params)}
    for column in tree.find_all(exp.Column):
        if column.name in renamed:
            column.set("this", exp.to_identifier(renamed[column.name]))
    for ordered in tree.find_all(exp.Ordered):  # times, seq and ranks, never null: BigQuery's null order will do
        ordered.set("nulls_first", not ordered.args.get("desc"))
    return tree.sql(dialect="bigquery", unsupported_level=ErrorLevel.RAISE)
