"""The engine owns one DuckDB database with bounded memory that spills to the user cache dir, never the cwd."""

from __future__ import annotations

from kpitui import engine
from kpitui.config import parse_config


def _setting(name: str) -> str:
    cursor = engine.cursor()
    try:
        return cursor.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
    finally:
        cursor.close()


def test_defaults_bound_memory_and_spill_to_the_cache_dir(tmp_path):
    engine.configure(engine.EngineSettings(memory_limit="1GB"))  # whatever an earlier test opened
    engine.configure(parse_config({}).engine)
    assert _setting("memory_limit") == "1.3 GiB"  # 1.5 GB, as DuckDB writes it
    assert _setting("temp_directory").startswith(str(tmp_path / "cache"))  # XDG_CACHE_HOME of the test


def test_engine_settings_come_from_the_config(tmp_path):
    spill = tmp_path / "spill"
    config = parse_config({"engine": {"memory_limit": "800MB", "temp_directory": str(spill)}})
    engine.configure(config.engine)
    try:
        assert _setting("memory_limit") == "762.9 MiB"  # 800 MB
        assert _setting("temp_directory") == str(spill)
    finally:
        engine.configure(engine.EngineSettings())


def _demo_snapshot(zone: str, data_dir) -> dict:
    """`kpitui snapshot --demo` as JSON, run as its own process on a machine whose clock is in `zone`."""
    import json
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "kpitui", "snapshot", "--demo", "--as-of", "2026-11-22", "--format", "json",
               "--data-dir", str(data_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TZ": zone}, check=True)
    data = json.loads(done.stdout)
    return {section: data[section] for section in ("revenue", "support", "nps", "funnel")}


def test_figures_do_not_depend_on_the_machines_time_zone(tmp_path):
    """Days, weeks and months are the source's (UTC unless set), never the clock of the machine kpitui runs on:
    DuckDB would otherwise take TimeZone from the process (here UTC+14)."""
    assert _demo_snapshot("Pacific/Kiritimati", tmp_path / "far") == _demo_snapshot("UTC", tmp_path / "utc")


def test_a_query_that_spills_on_a_fresh_machine_creates_the_cache_dir(tmp_path):
    """The first spill on a machine without ~/.cache/kpitui (a process of its own: a database that has spilled
    keeps its directory): DuckDB creates only the last directory of its temp_directory, so a 10M-event funnel
    failed with `Failed to create directory`."""
    import os
    import subprocess
    import sys

    program = (
        "from kpitui import engine\n"
        "engine.configure(engine.EngineSettings(memory_limit='64MB'))\n"
        "query = 'SELECT max(n) FROM (SELECT row_number() OVER (ORDER BY hash(i)) AS n FROM range(8000000) r(i))'\n"
        "print(engine.cursor().execute(query).fetchone()[0])\n"
    )
    cache = tmp_path / "fresh-cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "8000000", done.stderr[-500:]
    assert (cache / "kpitui" / "duckdb").is_dir()


def test_a_new_spill_directory_after_spilling_waits_for_the_next_start(tmp_path):
    """DuckDB cannot move its temp_directory once used: a reloaded config that names another keeps the first
    (until the next start) instead of failing every later setting."""
    engine.configure(engine.EngineSettings(memory_limit="64MB", temp_directory=str(tmp_path / "first")))
    cursor = engine.cursor()
    try:
        query = "SELECT max(n) FROM (SELECT row_number() OVER (ORDER BY hash(i)) AS n FROM range(8000000) r(i))"
        cursor.execute(query).fetchone()
        engine.configure(engine.EngineSettings(memory_limit="900MB", temp_directory=str(tmp_path / "second")))
        assert _setting("memory_limit") == "858.3 MiB"
    finally:
        cursor.close()
        engine.configure(engine.EngineSettings())
