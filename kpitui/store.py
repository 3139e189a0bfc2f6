"""SQLite (WAL) store of what a restart needs: each source's status and the signatures of the files it read, the
billing book's frames, each file-fed section's last result, one KPI row per day, months' closing MRR. Never raw
events or tickets: the files are their own storage."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from connectors.registry import SECTIONS
from kpitui.model import Snapshot, SourceStatus, field_types, flatten, from_stored, to_stored

if TYPE_CHECKING:
    import pandas as pd

    from connectors.base import SourceResult

BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's
_RETRY_PAUSE = 0.05
SCHEMA = """
CREATE TABLE IF NOT EXISTS source_frames (source TEXT, frame TEXT, data BLOB, PRIMARY KEY (source, frame));
CREATE TABLE IF NOT EXISTS source_status (source TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_files (source TEXT PRIMARY KEY, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS section_result (section TEXT PRIMARY KEY, key TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kpi_daily (day TEXT, kpi TEXT, value REAL, PRIMARY KEY (day, kpi));
CREATE TABLE IF NOT EXISTS last_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_state (kpi TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS month_closing (
    fingerprint TEXT, month TEXT, customer_id TEXT, currency TEXT, mrr REAL,
    PRIMARY KEY (fingerprint, month, customer_id, currency)
);
"""


def store_path(data_dir: Path, owner: Path | str) -> Path:
    """The database under the data dir of a config file, or of a demo data set (`owner`, its name): the demo's
    numbers never go into a config's."""
    if isinstance(owner, str):
        return data_dir / f"{owner}.sqlite3"
    digest = hashlib.sha1(str(owner.resolve()).encode()).hexdigest()[:10]
    return data_dir / f"kpitui-{digest}.sqlite3"


def _status_json(status: SourceStatus) -> str:
    return json.dumps(to_stored(status))


def _status_from_json(text: str) -> SourceStatus:
    return from_stored(SourceStatus, json.loads(text))


class StoreUnavailableError(Exception):
    """The store's file cannot be opened or created where it belongs; the message names it and what to do."""


class _DamagedRowError(Exception):
    """A stored row that no longer reads as what was written."""


def _damage(exc: Exception) -> str | None:
    """What is wrong when an error means the database file is damaged (never when it is busy or locked)."""
    if isinstance(exc, _DamagedRowError):
        return "a stored row that no longer reads"
    if isinstance(exc, UnicodeDecodeError) or "decode to UTF-8" in str(exc):
        return "text that is not UTF-8"
    if isinstance(exc, sqlite3.OperationalError) and str(exc).startswith(_OTHER_TABLES):
        return "its tables are not the ones kpitui writes"
    if type(exc) is sqlite3.DatabaseError:  # not a database, or a malformed disk image
        return str(exc)[:100]
    return None


_OTHER_TABLES = ("no such table", "no such column", "table ")  # `table x has 3 columns but 4 values were supplied`


_Result = TypeVar("_Result")


def _recovering(method: Callable[..., _Result]) -> Callable[..., _Result]:
    """Run a store method; when the file turns out damaged, keep it aside, start a new store and run it there."""

    @functools.wraps(method)
    def run(self: Store, *args: Any, **kwargs: Any) -> _Result:
        generation = self._generation
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            why = _damage(exc)
            if why is None:
                raise
            self._start_over(why, generation)
            return method(self, *args, **kwargs)

    return run


def _unsaved(method: Callable[..., None]) -> Callable[..., None]:
    """A write the disk refuses (full, read-only, failing, locked past the wait) is skipped and said once: the
    figures are computed and shown all the same, only the store misses them."""

    @functools.wraps(method)
    def run(self: Store, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if _damage(exc) is not None:
                raise
            self._say(
                f"{self.path}: could not save to the store ({exc}); the figures are shown, the history misses them"
            )

    return run


class Store:
    """Thread-safe access to the database; every write is one transaction. A damaged file is kept aside (renamed,
    never deleted) and a new store started, said once by `take_notice`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._written: dict[str, dict[str, pd.DataFrame]] = {}  # source → the frames object last written
        self._generation = 0  # how many times a damaged file was replaced
        self._notice: str | None = None
        self._said: set[str] = set()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
            self._prepare()
        except (OSError, sqlite3.OperationalError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreUnavailableError(
                f"{path}: kpitui cannot keep its store there ({why}); pass --data-dir with a directory kpitui can write"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        # a board and a cron `kpitui snapshot` may share the file: a writer waits its turn rather than failing
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)

    def _start_over(self, why: str, generation: int) -> None:
        """Keep the damaged file (and its WAL) aside under a dated name and open a new store at its path."""
        with self._lock:
            if generation != self._generation:
                return  # another thread already started over
            self._db.close()
            kept = f"{self.path.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
            for suffix in ("", "-wal", "-shm"):
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    part.rename(self.path.with_name(kept + suffix))
            self._notice = (
                f"{self.path}: the store is damaged ({why}); kept as {kept}, and a new one started "
                "(its daily history starts again)"
            )
            self._said.add(self._notice)
            self._written.clear()
            self._generation += 1
            self._db = self._connect()
        self._prepare()

    def _say(self, notice: str) -> None:
        """Keep a notice for `take_notice`, each one once."""
        with self._lock:
            if notice not in self._said:
                self._said.add(notice)
                self._notice = notice

    def take_notice(self) -> str | None:
        """Once each: that a damaged store was kept aside and a new one started, or that a write was refused."""
        with self._lock:
            notice, self._notice = self._notice, None
        return notice

    @_recovering
    def _prepare(self) -> None:
        """WAL mode and the tables. Switching a new file to WAL needs it alone, and SQLite answers `locked` at once
        (no busy wait) when another process opens it at the same moment: try again shortly, for as long as a
        write would wait."""
        attempts = int(BUSY_TIMEOUT / _RETRY_PAUSE)
        for attempt in range(attempts):
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(_RETRY_PAUSE)
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
                if self._db.in_transaction:  # SQLite rolls some failures back itself (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @_unsaved
    @_recovering
    def save_source(
        self, name: str, status: SourceStatus, frames: dict[str, pd.DataFrame] | None, signature: tuple | None = None
    ) -> None:
        """Replace a source's status, its frames (None: a file source, whose files are its storage) and the
        signatures of the files it read, atomically; frames this store wrote last time (the same object: an
        unchanged book) are not written again."""
        fresh = frames is None or self._written.get(name) is not frames
        blobs = []
        for frame_name, frame in (frames or {}).items() if fresh else ():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            blobs.append((name, frame_name, buffer.getvalue()))
        with self._writing():
            if fresh:
                self._db.execute("DELETE FROM source_frames WHERE source = ?", (name,))
                self._db.executemany("INSERT INTO source_frames VALUES (?, ?, ?)", blobs)
            self._db.execute("INSERT OR REPLACE INTO source_status VALUES (?, ?)", (name, _status_json(status)))
            self._db.execute("DELETE FROM source_files WHERE source = ?", (name,))
            if signature is not None:
                self._db.execute("INSERT INTO source_files VALUES (?, ?)", (name, json.dumps(signature)))
        if frames is not None:
            self._written[name] = frames

    @_recovering
    def load_sources(self, names: set[str]) -> dict[str, tuple[SourceStatus, tuple | None]]:
        """The stored status of each named source and the signatures of the files it last read (None: not a file
        source)."""
        with self._lock:
            statuses = dict(self._db.execute("SELECT source, status FROM source_status").fetchall())
            files = dict(self._db.execute("SELECT source, signature FROM source_files").fetchall())
        try:
            return {
                name: (
                    _status_from_json(text),
                    tuple(tuple(file) for file in json.loads(files[name])) if name in files else None,
                )
                for name, text in statuses.items()
                if name in names
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise _DamagedRowError from exc

    @_recovering
    def load_frames(self, name: str) -> SourceResult | None:
        """A source's stored frames and a report of them (None when it has none)."""
        import pandas as pd

        from connectors.base import SourceReport, SourceResult

        with self._lock:
            rows = self._db.execute("SELECT frame, data FROM source_frames WHERE source = ?", (name,)).fetchall()
            status = self._db.execute("SELECT status FROM source_status WHERE source = ?", (name,)).fetchone()
        if not rows or status is None:
            return None
        try:
            frames = {frame: pd.read_parquet(io.BytesIO(data)) for frame, data in rows}
            stored = _status_from_json(status[0])
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise _DamagedRowError from exc
        report = SourceReport(rows=stored.rows or 0, warnings=list(stored.warnings), layout=stored.layout)
        return SourceResult(frames, report)

    @_unsaved
    @_recovering
    def save_section(self, section: str, key: str, value: Any) -> None:
        """Keep a section's result with the key of what it was computed from (files, as_of, settings)."""
        data = json.dumps(to_stored(value))
        with self._writing():
            self._db.execute("INSERT OR REPLACE INTO section_result VALUES (?, ?, ?)", (section, key, data))

    @_recovering
    def load_sections(self) -> dict[str, tuple[str, Any]]:
        """Each stored section's key and result (sections saved by a version with other fields are left out)."""
        with self._lock:
            rows = self._db.execute("SELECT section, key, data FROM section_result").fetchall()
        hints = field_types(Snapshot)
        out = {}
        for section, key, data in rows:
            try:
                out[section] = (key, from_stored(hints[section], json.loads(data)))
            except (KeyError, TypeError, ValueError, StopIteration):
                continue
        return out

    @_unsaved
    @_recovering
    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep the latest snapshot whole, so a restart can draw it before any data is loaded."""
        data = json.dumps(to_stored(snapshot))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO last_snapshot VALUES (1, ?)", (data,))

    @_recovering
    def load_snapshot(self) -> Snapshot | None:
        """The latest saved snapshot, or None (none yet, or saved by a version with other fields)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM last_snapshot").fetchone()
        try:
            return from_stored(Snapshot, json.loads(row[0])) if row else None
        except (KeyError, TypeError, ValueError, StopIteration):
            return None

    @_unsaved
    @_recovering
    def record_kpis(self, day: date, values: dict[str, float]) -> None:
        """Upsert the day's KPI values (the latest refresh of a day wins)."""
        rows = [(day.isoformat(), kpi, float(v)) for kpi, v in values.items()]
        with self._writing():
            self._db.executemany("INSERT OR REPLACE INTO kpi_daily VALUES (?, ?, ?)", rows)

    @_recovering
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

    @_unsaved
    @_recovering
    def save_alert_states(self, states: dict[str, str]) -> None:
        """Where each alert stood at the last snapshot, so a restart does not raise the same crossing again."""
        with self._writing():
            self._db.execute("DELETE FROM alert_state")
            self._db.executemany("INSERT INTO alert_state VALUES (?, ?)", list(states.items()))

    @_recovering
    def load_alert_states(self) -> dict[str, str]:
        """The alert states the last run saved."""
        with self._lock:
            return dict(self._db.execute("SELECT kpi, state FROM alert_state").fetchall())

    @_unsaved
    @_recovering
    def save_closings(self, fingerprint: str, rows: pd.DataFrame) -> None:
        """Keep months' closing MRR rows (month, customer_id, currency, minor units); stored rows stay."""
        values = [
            (fingerprint, str(r.month), str(r.customer_id), str(r.currency), float(r.mrr))
            for r in rows.itertuples(index=False)
        ]
        with self._writing():
            self._db.executemany("INSERT OR IGNORE INTO month_closing VALUES (?, ?, ?, ?, ?)", values)

    @_recovering
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

    @_recovering
    def closed_months(self) -> set[str]:
        """Every month with stored closing rows, under any fingerprint."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT DISTINCT month FROM month_closing")}


def scalar_kpis(plain: dict[str, Any]) -> dict[str, float]:
    """The snapshot JSON's numeric leaves outside lists and sources: what daily history keeps."""
    return {
        path: float(value)
        for section in SECTIONS
        for path, value in flatten(plain.get(section), section)
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not any(part.isdigit() for part in path.split("."))
    }
