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
