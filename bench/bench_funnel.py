"""Issue 16: `kpitui snapshot` on GA4 event exports (2M, 10M, 50M events; 2M also as NDJSON and as CSV) against
the floor a data person would write (bench.floor_funnel: the same funnel, users and sessions as one DuckDB query),
whole process against whole process, in turns; beside it, the floor of every figure the snapshot computes from the
events (bench.floor_snapshot: both periods, the weekly trend, engagement), its figures checked equal; then the cron
case (a second run on the same files and data dir).

Run from the repo root: python -m bench.bench_funnel [--sizes 2,10,50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import Run, dataset, in_forked_process, in_turns, report, run_process, snapshot_args

AS_OF = date(2026, 11, 8)  # the events' last day: the period and the one before lie in the 60 days of events
STEPS = ("session_start", "sign_up", "begin_checkout", "purchase")
WINDOW_US = 30 * 86400 * 10**6
DAY_US = 86400 * 10**6
MEMORY_GOAL_MB = 2500


def generate(path: Path, events: int) -> None:
    """BigQuery-shaped events over 60 days with DuckDB (INT64 times, one `ga_session_id` param each, client ids
    for an eighth as many users as events), written as Parquet; the same rows for a given size on every machine."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1.5GB"})
    con.execute(
        f"""COPY (
        SELECT '20261101' AS event_date,
            CAST(1789000000000000 + hash(i, 1) % {60 * DAY_US} AS BIGINT) AS event_timestamp,
            CASE WHEN x < 20 THEN 'session_start' WHEN x < 65 THEN 'page_view' WHEN x < 77 THEN 'sign_up'
                 WHEN x < 85 THEN 'begin_checkout' WHEN x < 90 THEN 'purchase' ELSE 'scroll' END AS event_name,
            CAST(1000000000 + hash(u, 2) % 1000000000 AS VARCHAR) || '.'
                || CAST(1700000000 + hash(u, 3) % 89000000 AS VARCHAR) AS user_pseudo_id,
            [{{'key': 'ga_session_id', 'value': {{'int_value': CAST(event_timestamp // 1800000000 * 1800 AS BIGINT)}}}}]
                AS event_params
        FROM (SELECT i, hash(i, 0) % 100 AS x, hash(i, 4) % {events // 8} AS u FROM range({events}) r(i))
        ) TO '{path}' (FORMAT PARQUET)"""
    )


def generate_ndjson(path: Path, parquet: Path) -> None:
    """The same events as BigQuery's NDJSON export writes them (INT64 values as strings)."""
    import duckdb

    duckdb.connect().execute(
        f"""COPY (SELECT event_date, CAST(event_timestamp AS VARCHAR) AS event_timestamp, event_name, user_pseudo_id,
            [{{'key': p.key, 'value': {{'int_value': CAST(p.value.int_value AS VARCHAR)}}}}
             FOR p IN event_params] AS event_params FROM read_parquet('{parquet}'))
        TO '{path}' (FORMAT JSON)"""
    )


def generate_csv(path: Path, parquet: Path) -> None:
    """The same events as BigQuery's console saves a result as CSV: nested fields as JSON text in quoted cells."""
    import duckdb

    duckdb.connect().execute(
        f"""COPY (SELECT event_date, event_timestamp, event_name, user_pseudo_id,
            CAST(to_json(event_params) AS VARCHAR) AS event_params FROM read_parquet('{parquet}'))
        TO '{path}' (HEADER)"""
    )


def _config(directory: Path, export: Path) -> Path:
    config = directory / "kpitui.toml"
    config.write_text(
        f'[sources.web]\ntype = "ga4"\npath = "{export}"\n\n[funnel]\nsteps = {json.dumps(list(STEPS))}\n'
    )
    return config


def _floors(export: Path) -> list[list[str]]:
    """The floors' command lines: the funnel, users and sessions over the 30 days ending AS_OF (the issue's floor);
    and every figure the snapshot computes from the events, by hand (bench.floor_snapshot)."""
    end = (AS_OF + timedelta(days=1) - date(1970, 1, 1)).days * DAY_US
    funnel = ["-m", "bench.floor_funnel", str(export), str(end - 30 * DAY_US), str(end), str(WINDOW_US), *STEPS]
    return [funnel, ["-m", "bench.floor_snapshot", str(export), AS_OF.isoformat(), str(WINDOW_US), *STEPS]]


def _figures_not_in_json(export: Path) -> dict[str, Any]:
    """kpitui's users, sessions, previous period's conversion and weekly trend (not in the snapshot JSON)."""
    from connectors.ga4 import load
    from kpitui.config import FunnelConfig, FunnelStep
    from kpitui.metrics.funnel import compute_funnel

    config = FunnelConfig(steps=tuple(FunnelStep(name, name) for name in STEPS))
    metrics = compute_funnel(load({"path": str(export)}).frames["events"], config, AS_OF, 30)
    return {
        "users": metrics.users,
        "sessions": metrics.sessions,
        "previous": metrics.previous_overall_conversion,
        "weekly": [conversion for _, conversion in metrics.weekly],
    }


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _differences(snapshot: dict[str, Any], extra: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """The figures where kpitui and the whole-snapshot floor disagree."""
    engagement = snapshot["engagement"]
    leads_now, leads_before = floor["leads"]
    cohorts = {week: users for week, later, users in floor["retention"] if later == 0}
    expected = {
        "steps": floor["steps"],
        "users, sessions": [floor["users"], floor["sessions"]],
        "previous conversion": _share(floor["previous_steps"][-1], floor["previous_steps"][0]),
        "weekly": [_share(done, users) for _, users, done in floor["weekly"]],
        "dau, wau, mau": [floor["dau"], floor["wau"], floor["mau"]],
        "stickiness": round(floor["stickiness"], 6),
        "lead velocity": round((leads_now - leads_before) / leads_before, 6),
        "cohorts": [cohorts.get(week, 0) for week in range(9)],
    }
    found = {
        "steps": [s["users"] for s in snapshot["funnel"]["steps"]],
        "users, sessions": [extra["users"], extra["sessions"]],
        "previous conversion": extra["previous"],
        "weekly": extra["weekly"],
        "dau, wau, mau": [engagement[k] for k in ("dau", "wau", "mau")],
        "stickiness": engagement["stickiness"],
        "lead velocity": engagement["lead_velocity_rate"],
        "cohorts": [cohort["users"] for cohort in engagement["retention"]],
    }
    return [name for name in expected if expected[name] != found[name]]


def _case(name: str, export: Path, runs: int, goal: float | None, compare_all: bool) -> tuple[bool, Run]:
    with tempfile.TemporaryDirectory() as work:
        floors, kpitui = in_turns(runs, _floors(export), _config(Path(work), export), AS_OF.isoformat(), Path(work))
    floor, whole = floors
    snapshot = json.loads(kpitui.stdout)
    expected = json.loads(floor.stdout)
    steps = [s["users"] for s in snapshot["funnel"]["steps"]]
    same = steps == expected["steps"]
    print(f"{name}: steps {steps} {'= floor' if same else '≠ floor ' + str(expected['steps'])}")
    if compare_all:
        differences = _differences(snapshot, in_forked_process(_figures_not_in_json, export), json.loads(whole.stdout))
        same &= not differences
        verdict = "= whole-snapshot floor" if same else "≠ whole-snapshot floor: " + ", ".join(differences)
        print(f"  every figure from events (funnel, both periods, weekly trend, users, sessions, engagement) {verdict}")
    print(f"  peak memory {kpitui.peak_mb:.0f} MB vs floor {floor.peak_mb:.0f} MB (whole-snapshot floor "
          f"{whole.peak_mb:.0f} MB)")  # fmt: skip
    ok = same
    if goal is not None:
        ok &= report(f"  kpitui snapshot ({name})", kpitui.seconds, floor.seconds, goal)
    else:
        print(f"  kpitui snapshot: {kpitui.seconds:.2f} s vs floor {floor.seconds:.2f} s = "
              f"{kpitui.seconds / floor.seconds:.2f}×")  # fmt: skip
    print(f"  against the whole-snapshot floor: {kpitui.seconds:.2f} s vs {whole.seconds:.2f} s = "
          f"{kpitui.seconds / whole.seconds:.2f}×")  # fmt: skip
    return ok, kpitui


def _cron(export: Path) -> bool:
    """A second `kpitui snapshot` on the same files, as_of and settings, with the same data dir."""
    with tempfile.TemporaryDirectory() as work:
        config = _config(Path(work), export)
        cron = snapshot_args(config, AS_OF.isoformat(), Path(work) / "data")
        run_process(cron)
        seconds = min(run_process(cron).seconds for _ in range(5))
    ok = seconds < 0.5
    print(f"cron run, nothing changed (2M events): {seconds:.3f} s (goal < 0.5 s) {'ok' if ok else 'OVER'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2,10,50", help="millions of events, comma-separated")
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    ok = True
    growth = []
    for millions in sizes:
        export = dataset(f"ga4-{millions}m.parquet", lambda path, n=millions: generate(path, n * 1_000_000))
        runs = 5 if millions <= 2 else 2 if millions <= 10 else 1
        case_ok, run = _case(f"{millions}M events, Parquet", export, runs, 1.5, millions <= 10)
        if millions == 50:
            fits = run.peak_mb < MEMORY_GOAL_MB
            print(f"  peak memory goal < {MEMORY_GOAL_MB} MB {'ok' if fits else 'OVER'}")
            case_ok &= fits
        ok &= case_ok
        growth.append((millions, run))
        if millions == 2:
            ndjson = dataset("ga4-2m.ndjson", lambda path, parquet=export: generate_ndjson(path, parquet))
            ok &= _case("2M events, NDJSON", ndjson, 3, None, False)[0]
            csv = dataset("ga4-2m.csv", lambda path, parquet=export: generate_csv(path, parquet))
            ok &= _case("2M events, CSV with JSON cells", csv, 3, None, False)[0]
            ok &= _cron(export)
    if len(growth) > 1:
        print("growth: " + ", ".join(f"{m}M {r.seconds:.1f} s {r.peak_mb:.0f} MB" for m, r in growth))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
