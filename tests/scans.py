"""Reading a scan's rows in tests, as a user would see them in the engine."""

from __future__ import annotations

import pandas as pd

from connectors.scan import TableScan
from kpitui import engine


def scanned(scan: TableScan, params: tuple[str, ...] = ()) -> pd.DataFrame:
    """The scan's canonical columns in file order, as a frame (without the engine's `seq`, and `t` for events)."""
    cursor = engine.cursor()
    try:
        scan.register(cursor)
        frame = cursor.execute(f"SELECT * FROM ({scan.sql(params)}) ORDER BY seq").df()
        return frame.drop(columns=["seq", "t"], errors="ignore")
    finally:
        cursor.close()
