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
