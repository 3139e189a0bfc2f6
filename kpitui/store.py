"""SQLite (WAL) store: each source's last good frames and status, one KPI row per day, months' closing MRR."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitui.model import Snapshot, SourceStatus, flatten, from_stored, to_stored

if TYPE_CHECKING:
    import pandas as pd

    from connectors.base import SourceResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS source_frames (source TEXT, frame TEXT, data BLOB, PRIMARY KEY (source, frame));
CREATE TABLE IF NOT EXISTS source_status (source TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kpi_daily (day TEXT, kpi TEXT, value REAL, PRIMARY KEY (day, kpi));
CREATE TABLE IF NOT EXISTS last_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_state (kpi TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS month_closing (
    fingerprint TEXT, month TEXT, customer_id TEXT, currency TEXT, mrr REAL,
    PRIMARY KEY (fingerprint, month, customer_id, currency)
);
"""


def store_path(data_dir: Path, config_path: Path | None, demo: bool) -> Path:
    """One database per config file (and one for the demo) under the data dir."""
    if demo or config_path is None:
        return data_dir / "demo.sqlite3"
    digest = hashlib.sha1(str(config_path.resolve()).encode()).hexdigest()[:10]
    return data_dir / f"kpitui-{digest}.sqlite3"


def _status_json(status: SourceStatus) -> str:
    return json.dumps(to_stored(status))


def _status_from_json(text: str) -> SourceStatus:
    return from_stored(SourceStatus, json.loads(text))


class Store:
    """Thread-safe access to the database; every write is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._written: dict[str, dict[str, pd.DataFrame]] = {}  # source → the frames object last written
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, taken under the lock: committed whole, or rolled back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def save_source(self, name: str, status: SourceStatus, frames: dict[str, pd.DataFrame]) -> None:
        """Replace a source's stored frames and status atomically; frames this store wrote last time (the same
        object: an unchanged export) are not written again."""
        fresh = self._written.get(name) is not frames
        blobs = []
        for frame_name, frame in frames.items() if fresh else ():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            blobs.append((name, frame_name, buffer.getvalue()))
        with self._writing():
            if fresh:
                self._db.execute("DELETE FROM source_frames WHERE source = ?", (name,))
                self._db.executemany("INSERT INTO source_frames VALUES (?, ?, ?)", blobs)
            self._db.execute("INSERT OR REPLACE INTO source_status VALUES (?, ?)", (name, _status_json(status)))
        self._written[name] = frames

    def load_sources(self, names: set[str]) -> dict[str, tuple[SourceStatus, SourceResult]]:
        """The stored status and frames of each named source that has any."""
        import pandas as pd

        from connectors.base import SourceReport, SourceResult

        with self._lock:
            statuses = dict(self._db.execute("SELECT source, status FROM source_status").fetchall())
            rows = self._db.execute("SELECT source, frame, data FROM source_frames").fetchall()
        frames: dict[str, dict[str, pd.DataFrame]] = {}
        for source, frame, data in rows:
            if source in names:
                frames.setdefault(source, {})[frame] = pd.read_parquet(io.BytesIO(data))
        out = {}
        for source, text in statuses.items():
            if source in names and source in frames:
                status = _status_from_json(text)
                report = SourceReport(rows=status.rows or 0, warnings=list(status.warnings), layout=status.layout)
                out[source] = (status, SourceResult(frames[source], report))
        return out

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep the latest snapshot whole, so a restart can draw it before any data is loaded."""
        data = json.dumps(to_stored(snapshot))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO last_snapshot VALUES (1, ?)", (data,))

    def load_snapshot(self) -> Snapshot | None:
        """The latest saved snapshot, or None (none yet, or saved by a version with other fields)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM last_snapshot").fetchone()
        try:
            return from_stored(Snapshot, json.loads(row[0])) if row else None
        except (KeyError, TypeError, ValueError, StopIteration):
            return None

    def record_kpis(self, day: date, values: dict[str, float]) -> None:
        """Upsert the day's KPI values (the latest refresh of a day wins)."""
        rows = [(day.isoformat(), kpi, float(v)) for kpi, v in values.items()]
        with self._writing():
            self._db.executemany("INSERT OR REPLACE INTO kpi_daily VALUES (?, ?, ?)", rows)

    def kpi_history(self, since: date) -> dict[str, tuple[tuple[str, float], ...]]:
        """Every KPI's daily values from `since`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kpi, day, value FROM kpi_daily WHERE day >= ? ORDER BY kpi, day", (since.isoformat(),)
            ).fetchall()
        out: dict[str, list[tuple[str, float]]] = {}
        for kpi, day, value in rows:
            out.setdefault(kpi, []).append((day, value))
        return {k: tuple(v) for k, v in out.items()}

    def save_alert_states(self, states: dict[str, str]) -> None:
        """Where each alert stood at the last snapshot, so a restart does not raise the same crossing again."""
        with self._writing():
            self._db.execute("DELETE FROM alert_state")
            self._db.executemany("INSERT INTO alert_state VALUES (?, ?)", list(states.items()))

    def load_alert_states(self) -> dict[str, str]:
        """The alert states the last run saved."""
        with self._lock:
            return dict(self._db.execute("SELECT kpi, state FROM alert_state").fetchall())

    def save_closings(self, fingerprint: str, rows: pd.DataFrame) -> None:
        """Keep months' closing MRR rows (month, customer_id, currency, minor units); stored rows stay."""
        values = [
            (fingerprint, str(r.month), str(r.customer_id), str(r.currency), float(r.mrr))
            for r in rows.itertuples(index=False)
        ]
        with self._writing():
            self._db.executemany("INSERT OR IGNORE INTO month_closing VALUES (?, ?, ?, ?, ?)", values)

    def load_closings(self, fingerprint: str) -> dict[str, pd.DataFrame]:
        """The stored closing rows of each month under this settings fingerprint."""
        import pandas as pd

        with self._lock:
            rows = self._db.execute(
                "SELECT month, customer_id, currency, mrr FROM month_closing WHERE fingerprint = ? ORDER BY month",
                (fingerprint,),
            ).fetchall()
        frame = pd.DataFrame(rows, columns=["month", "customer_id", "currency", "mrr"])
        return {str(month): part.reset_index(drop=True) for month, part in frame.groupby("month")}

    def closed_months(self) -> set[str]:
        """Every month with stored closing rows, under any fingerprint."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT DISTINCT month FROM month_closing")}


def scalar_kpis(plain: dict[str, Any]) -> dict[str, float]:
    """The snapshot JSON's numeric leaves outside lists and sources: what daily history keeps."""
    return {
        path: float(value)
        for section in ("revenue", "nps", "support", "funnel")
        for path, value in flatten(plain.get(section), section)
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not any(part.isdigit() for part in path.split("."))
    }
