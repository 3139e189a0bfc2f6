"""The funnel's BigQuery SQL: transpiled back to DuckDB and run over the same events laid out as GA4's BigQuery
export lays them (`events_YYYYMMDD` and `events_intraday_YYYYMMDD` tables, nested `event_params`), it gives
exactly the figures of the file path; and it holds nothing BigQuery rejects."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.bigquery import WarehouseEvents, WarehouseSettings
from connectors.ga4_warehouse import days_between, suffix
from kpitui import engine
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import FunnelPlan, FunnelSpans, compute_funnel
from tests.ga4_export import DATASET, Warehouse, by_day, canonical, exported

AS_OF = date(2026, 11, 20)
SPANS = FunnelSpans.ending(AS_OF, 30, "UTC")
FIRST, LAST = SPANS.first_read, SPANS.last_day  # the days a snapshot reads: the eight weeks, the period before


def bigquery_sql(config: FunnelConfig, daily: set[str]):
    """The funnel's query object and its BigQuery SQL, as the warehouse source makes them (no client: nothing
    runs)."""
    events = WarehouseEvents(WarehouseSettings(DATASET, maximum_bytes_billed=10**12), client=None, daily=daily)
    return events.funnel_sql(FunnelPlan(config, SPANS))


def warehouse_figures(config: FunnelConfig, exported: list[tuple], stale: list[tuple]):
    """The funnel from the BigQuery SQL run on DuckDB: the last day only in an intraday table, the day before in
    both (its intraday table holding `stale` rows the daily one replaced)."""
    days = by_day(exported)
    last, before_last = suffix(LAST), suffix(days_between(FIRST, LAST)[-2])
    cursor = engine.cursor()
    try:
        warehouse = Warehouse(cursor)
        warehouse.table("events_20260101", [])  # a day outside the snapshot's
        for day in days_between(FIRST, LAST):
            if suffix(day) != last:
                warehouse.table(f"events_{suffix(day)}", days.get(suffix(day), []))
        warehouse.table(f"events_intraday_{last}", days.get(last, []))
        warehouse.table(f"events_intraday_{before_last}", stale)
        warehouse.wildcards()
        daily = {name.removeprefix("events_") for name in warehouse.tables if not name.startswith("events_intra")}
        query, bigquery = bigquery_sql(config, daily)
        duckdb_sql = sqlglot.transpile(bigquery, read="bigquery", write="duckdb")[0]
        cursor.execute("USE memory")
        return query.metrics(cursor.execute(duckdb_sql).fetchall()), bigquery
    finally:
        cursor.execute(f'DETACH "{DATASET.project}"')
        cursor.close()


def file_figures(config: FunnelConfig, rows: list[tuple]):
    """The funnel from the same events as a canonical table."""
    return compute_funnel(canonical(rows), config, AS_OF)


END = pd.Timestamp("2026-11-21", tz="UTC")
_EDGES = [END - pd.Timedelta(minutes=30), END - pd.Timedelta(days=30, minutes=20),
          END - pd.Timedelta(weeks=8, minutes=20), END - pd.Timedelta(days=1, minutes=10)]  # fmt: skip
_row = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),
    st.sampled_from(["a", "b", "c", "x", "sign_up"]),
    st.builds(lambda edge, m: edge + pd.Timedelta(minutes=m), st.sampled_from(_EDGES), st.integers(-3, 40)),
    st.sampled_from([1, 2]),
    st.sampled_from([None, "google", "email"]),
    st.sampled_from([None, "newsletter"]),
)
_STEP = st.sampled_from([FunnelStep("a", "a"), FunnelStep("b", "b"), FunnelStep("c", "c"),
                         FunnelStep("b by google", "b", {"method": "google"})])  # fmt: skip


def _unique_times(rows: list[tuple]) -> list[tuple]:
    """One event per user, name and time: the warehouse orders a user's events by time and name, files by file
    order, and the two agree whenever an entry's source does not hang on which of two equal events is first."""
    return list({(r[0], r[1], r[2]): r for r in rows}.values())


@settings(max_examples=120, deadline=None)
@given(
    st.lists(_row, max_size=30).map(_unique_times),
    st.lists(_STEP, min_size=1, max_size=4),
    st.sampled_from([0.0, 300.0, 1200.0]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_the_warehouse_sql_gives_the_file_paths_figures(rows, steps, window, direct, open_, per_session):
    config = FunnelConfig(tuple(steps), window=window, direct=direct, open=open_, per_session=per_session)
    stale = exported([("u9", steps[-1].event, END - pd.Timedelta(days=1, minutes=5), 1, "google", None)])
    warehouse, _ = warehouse_figures(config, exported(rows), stale)
    assert warehouse == file_figures(config, rows)


DEFAULT = FunnelConfig(
    (FunnelStep("Visit", "session_start"), FunnelStep("Sign-up", "sign_up"),
     FunnelStep("Checkout", "begin_checkout"), FunnelStep("Purchase", "purchase"))
)  # fmt: skip


def test_a_worked_example_through_the_warehouse():
    """u1 visits on Monday, converts on Friday's visit; u2 signs up after a visit 31 days earlier (outside the
    window and the period); u3's visit is in yesterday's stale intraday table (replaced by the daily one)."""
    day = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
    rows = [
        ("u1", "session_start", day("2026-11-16 09:00"), 1, None, "newsletter"),
        ("u1", "session_start", day("2026-11-20 10:00"), 2, None, None),
        ("u1", "sign_up", day("2026-11-20 10:30"), 2, "google", None),
        ("u1", "begin_checkout", day("2026-11-20 10:40"), 2, None, None),
        ("u1", "purchase", day("2026-11-20 10:45"), 2, None, None),
        ("u2", "session_start", day("2026-10-01 12:00"), 1, None, None),
        ("u2", "session_start", day("2026-11-01 12:00"), 2, None, None),
        ("u2", "sign_up", day("2026-11-19 12:00"), 3, None, None),
    ]
    stale = exported([("u3", "session_start", day("2026-11-19 08:00"), 1, None, None)])
    metrics, _ = warehouse_figures(DEFAULT, exported(rows), stale)
    assert [s.users for s in metrics.steps] == [2, 2, 1, 1]
    assert metrics.users == 2 and metrics.sessions == 4  # u1's sessions 1, 2; u2's 2, 3
    assert [(b.source, b.entered, b.completed) for b in metrics.breakdown] == [("(direct)", 1, 0), ("newsletter", 1, 1)]
    assert metrics == file_figures(DEFAULT, rows)


GOLDEN = Path(__file__).parent / "data" / "bigquery" / "default_funnel.sql"


def _default_sql() -> str:
    return bigquery_sql(DEFAULT, {suffix(day) for day in days_between(FIRST, LAST)[:-1]})[1]


def test_the_default_funnels_bigquery_sql_is_the_reviewed_one():
    """Golden file, read once by eye: a change to the generated SQL shows in review (rewrite it with
    KPITUI_BLESS=1)."""
    import os

    text = sqlglot.transpile(_default_sql(), read="bigquery", write="bigquery", pretty=True)[0] + "\n"
    if os.environ.get("KPITUI_BLESS"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


@pytest.mark.parametrize(
    "options",
    [{}, {"direct": True}, {"open": True}, {"per_session": True}],
)
def test_the_bigquery_sql_holds_nothing_bigquery_rejects(options):
    """sqlglot passes DuckDB's ASOF joins, FILTER, median/quantile_cont, lambdas and `::` casts through unchanged
    and BigQuery rejects them; a round trip to DuckDB would not notice, so the text is searched."""
    steps = (*DEFAULT.steps, FunnelStep("Again", "purchase"), FunnelStep("By google", "sign_up", {"method": "g"}))
    config = FunnelConfig(steps, **options)
    sql = bigquery_sql(config, set())[1]
    for pattern in (r"\bASOF\b", r"\bFILTER\s*\(", r"\bMEDIAN\s*\(", r"\bQUANTILE", r"->", r"::", r"\bLIST_",
                    r"\bEPOCH_US\b", r'"', r"\bEXCLUDE\b", r"//"):  # fmt: skip
        assert re.search(pattern, sql, re.IGNORECASE) is None, pattern
    assert "_TABLE_SUFFIX BETWEEN '20260922' AND '20261120'" in sql


HOSTILE = "it's \\ \" `x` \n --; DROP TABLE y; \\' ) OR TRUE --"


def test_hostile_names_and_values_stay_literals_in_the_warehouse_sql():
    """An event name, a param key and a param value from the config reach BigQuery as the literals they are:
    BigQuery escapes with backslashes, so DuckDB's doubled quotes would have ended a literal early."""
    config = FunnelConfig((FunnelStep("odd", HOSTILE), FunnelStep("by odd", "sign_up", {"meth'od\\": HOSTILE})))
    sql = bigquery_sql(config, set())[1]
    literals = {node.this for node in sqlglot.parse_one(sql, read="bigquery").find_all(sqlglot.exp.Literal)}
    assert {HOSTILE, "meth'od\\"} <= literals
    assert "DROP TABLE" not in sql.replace(sqlglot.exp.Literal.string(HOSTILE).sql(dialect="bigquery"), "")
