"""The analytics engine: one in-process DuckDB database with bounded memory; each query runs on its own cursor."""

from __future__ import annotations

import os
import sys
import threading
import weakref
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
    """Use these settings from the next query on (the database is opened lazily, so importing stays cheap; an
    open one keeps its tables and takes the new settings, but for a spill directory it has used)."""
    global _settings
    with _lock:
        if settings != _settings and _database is not None:
            for name, value in _config(settings).items():
                try:
                    _database.execute(f"SET {name} = {sql_literal(str(value))}")
                except sys.modules["duckdb"].NotImplementedException:  # a spill directory used stays till restart
                    pass
        _settings = settings


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared database (cursors may be used from any thread, one query at a time each)."""
    global _database
    with _lock:
        if _database is None:
            _database = _open(_settings)
        return _database.cursor()


def failure(error: BaseException) -> str | None:
    """What to tell the user when the engine itself could not run a query (memory, spill space, anything else of
    DuckDB's own), else None."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None or not isinstance(error, duckdb.Error):
        return None
    detail = str(error).splitlines()[0][:300]
    spill = _config(_settings)["temp_directory"]
    limit = f"the analytics engine needed more memory than [engine] memory_limit ({_settings.memory_limit})"
    if isinstance(error, duckdb.OutOfMemoryException):
        return f"{limit}: raise it, or free disk space in [engine] temp_directory ({spill}) ({detail})"
    if isinstance(error, duckdb.IOException) and str(spill) in str(error):
        return f"{limit} and could not spill to [engine] temp_directory ({spill}): {detail}"
    return f"the analytics engine failed: {detail}"


def drop_with(owner: object, table: str) -> None:
    """Drop an engine table once `owner` (the scan that reads it) is garbage-collected."""
    weakref.finalize(owner, _drop, table)


def _drop(table: str) -> None:
    with _lock:
        database = _database
    if database is not None:
        database.cursor().execute(f"DROP TABLE IF EXISTS {table}")


def _config(settings: EngineSettings) -> dict[str, str | int]:
    """DuckDB's settings for ours: the memory limit, where it spills (default the user cache dir, created here),
    one thread per core."""
    from platformdirs import user_cache_path

    spill = Path(settings.temp_directory or user_cache_path("kpitui") / "duckdb").expanduser()
    try:  # DuckDB creates only its last directory, when it first spills
        spill.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # unwritable: the query that needs to spill says so
    return {"memory_limit": settings.memory_limit, "temp_directory": str(spill), "threads": os.cpu_count() or 1}


def _open(settings: EngineSettings) -> duckdb.DuckDBPyConnection:
    """The database, its zone UTC for every cursor (DuckDB takes the machine's otherwise; every zone a query needs
    is named in it, and TimeZone can only be set once its ICU extension has loaded, after connecting)."""
    import duckdb

    database = duckdb.connect(config=_config(settings))
    database.execute("SET GLOBAL TimeZone = 'UTC'")
    return database
