"""The canonical tables as the engine's views: over a scan of export files, or over a frame (in tests)."""

from __future__ import annotations

from typing import Any


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
