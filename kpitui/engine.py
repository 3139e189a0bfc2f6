"""The analytics engine: one in-process DuckDB database with bounded memory; each query runs on its own cursor."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY_LIMIT = "1.5GB"


@dataclass(frozen=True)
class EngineSettings:
    """The `[engine]` table: DuckDB's memory limit and where it spills (default the user cache dir)."""

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: str | None = None


_lock = threading.Lock()
_settings = EngineSettings()
_database: duckdb.DuckDBPyConnection | None = None


def sql_literal(text: str) -> str:
    """A SQL string literal (quotes doubled), for names and values from config."""
    return "'" + text.replace("'", "''") + "'"


def configure(settings: EngineSettings) -> None:
    """Use these settings from the next query on (the database is opened lazily, so importing stays cheap)."""
    global _settings, _database
    with _lock:
        if settings != _settings and _database is not None:
            _database.close()
            _database = None
        _settings = settings


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared database (cursors may be used from any thread, one query at a time each)."""
    global _database
    with _lock:
        if _database is None:
            _database = _open(_settings)
        return _database.cursor()


def _open(settings: EngineSettings) -> duckdb.DuckDBPyConnection:
    import duckdb
    from platformdirs import user_cache_path

    spill = Path(settings.temp_directory or user_cache_path("kpitui") / "duckdb").expanduser()
    return duckdb.connect(
        config={
            "memory_limit": settings.memory_limit,
            "temp_directory": str(spill),
            "threads": os.cpu_count() or 1,
        }
    )
