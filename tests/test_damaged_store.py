"""A store file that is damaged (a crash or a full disk mid-write, another program's file at its path): kpitui keeps
the damaged file aside, untouched, starts a new store and says so once; `kpitui snapshot` and the board carry on
(DESIGN.md section 7: a bad file never takes kpitui down, and nothing is deleted)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kpitui.app import KpiApp
from kpitui.cli import run
from kpitui.model import SourceStatus
from kpitui.store import Store
from tests.conftest import AS_OF, FROZEN

GARBAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # another program's file at the store's path


def _kept(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_a_file_that_is_no_database_is_kept_aside_and_a_new_store_started(tmp_path):
    path = tmp_path / "kpitui.sqlite3"
    path.write_bytes(GARBAGE)
    store = Store(path)
    store.record_kpis(date(2026, 11, 22), {"revenue.mrr": 100.0})
    assert store.kpi_history(date(2026, 11, 1)) == {"revenue.mrr": (("2026-11-22", 100.0),)}
    (kept,) = _kept(path)
    assert kept.read_bytes() == GARBAGE
    notice = store.take_notice()
    assert notice == (
        f"{path}: the store is damaged (file is not a database); kept as {kept.name}, and a new one started "
        "(its daily history starts again)"
    )
    assert store.take_notice() is None  # said once


def test_a_store_damaged_inside_a_table_is_kept_aside_when_read(tmp_path):
    """A byte of a stored status overwritten with one that is not UTF-8: the store opens, and its first read
    finds the damage; that read is answered by the new store (nothing stored), and writes go on there."""
    path = tmp_path / "kpitui.sqlite3"
    store = Store(path)
    store.save_source("billing", SourceStatus(type="stripe", status="ok", rows=3), None)
    store.close()
    data = path.read_bytes()
    at = data.index(b'"status": "ok"')
    path.write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    damaged = path.read_bytes()
    store = Store(path)
    assert store.load_sources({"billing"}) == {}
    (kept,) = _kept(path)
    assert kept.read_bytes() == damaged
    assert "the store is damaged (text that is not UTF-8)" in store.take_notice()
    store.save_source("billing", SourceStatus(type="stripe", status="ok", rows=4), None)
    assert store.load_sources({"billing"})["billing"][0].rows == 4


def test_kpitui_snapshot_over_a_damaged_store_prints_its_numbers_and_a_warning(tmp_path, capsys):
    assert run(["snapshot", "--demo", "--data-dir", str(tmp_path), "--as-of", "2026-11-22", "--format", "json"]) == 0
    (path,) = tmp_path.glob("demo*.sqlite3")
    capsys.readouterr()
    path.write_bytes(GARBAGE)
    assert run(["snapshot", "--demo", "--data-dir", str(tmp_path), "--as-of", "2026-11-22", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["revenue"]["mrr"] > 0
    (kept,) = _kept(path)
    assert err.startswith(f"warning: {path}: the store is damaged (file is not a database); kept as {kept.name}")


async def test_the_board_over_a_damaged_store_says_so_and_shows_its_numbers(demo, tmp_path):
    path = tmp_path / "kpitui.sqlite3"
    path.write_bytes(GARBAGE)
    store = Store(path)
    app = KpiApp(demo.config, as_of=AS_OF, clock=lambda: FROZEN, store=store)
    async with app.run_test(size=(120, 40)):
        await app.ready.wait()
        notices = [n.message for n in app._notifications]
        assert any(m.startswith(f"{path}: the store is damaged (file is not a database)") for m in notices)
        assert app.snapshot.revenue.mrr > 0
    store.close()


def _stored(path: Path) -> bytes:
    """A store holding one source's status and file signatures, as bytes."""
    store = Store(path)
    store.save_source("web", SourceStatus(type="ga4", status="ok", rows=3), None, (("events.csv", 10, 1.0),))
    store.close()
    return path.read_bytes()


def _zeroed(data: bytes, page: int) -> bytes:
    """The file with one 4 KiB page of zeros."""
    return data[: page * 4096] + bytes(4096) + data[(page + 1) * 4096 :]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda data: data.replace(b"source_files (source TEXT", b"source_files (sourcX TEXT"),
         "its tables are not the ones kpitui writes"),
        (lambda data: _zeroed(data, data.index(b'"type": "ga4"') // 4096), "database disk image is malformed"),
        (lambda data: data[:6000], "database disk image is malformed"),
    ],
    ids=["a table's schema text changed", "its statuses' page zeroed", "cut short"],
)  # fmt: skip
def test_each_kind_of_damage_found_by_the_first_read_is_kept_aside(tmp_path, damage, why):
    """Found by damaging stores at random (bytes changed, pages zeroed, files cut short): each raised from the
    first read that met it, ending `kpitui snapshot` with a traceback."""
    path = tmp_path / "kpitui.sqlite3"
    path.write_bytes(damage(_stored(path)))
    store = Store(path)
    assert store.load_sources({"web"}) == {}
    assert f"the store is damaged ({why})" in store.take_notice()


@pytest.mark.parametrize("place", ["a file", "a directory at the store's path"])
def test_a_data_dir_kpitui_cannot_write_is_one_clear_error(tmp_path, capsys, place):
    """`--data-dir` naming a file, or a directory standing where the store's file goes: a traceback
    (FileExistsError, sqlite3's `unable to open database file`). Now one line naming the path, exit 2."""
    data_dir = tmp_path / ("notes.txt" if place == "a file" else "data")
    args = ["snapshot", "--demo", "--data-dir", str(data_dir), "--as-of", "2026-11-22", "--format", "json"]
    if place == "a file":
        data_dir.write_text("mine")
    else:
        assert run(args) == 0
        for part in data_dir.iterdir():
            part.unlink()
            if part.suffix == ".sqlite3":
                part.mkdir()
        capsys.readouterr()
    assert run(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {data_dir}") and "pass --data-dir with a directory kpitui can write" in err
    assert place != "a file" or (data_dir.read_text() == "mine")


class FullStore(Store):
    """A store on a disk that fills up once it holds what it holds now (SQLite's page limit of its connection)."""

    def fill(self) -> None:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages}")


def test_on_a_full_disk_the_snapshot_is_computed_and_the_store_says_what_it_could_not_save(demo, tmp_path):
    """A write the disk refuses raised `database or disk is full` (masked by `cannot rollback - no transaction is
    active`: SQLite had rolled it back already) and ended the refresh: `kpitui snapshot` printed a traceback, the
    board froze on its last numbers. Now the figures are computed, the write is skipped, and the store says so."""
    from kpitui.pipeline import refresh_all

    store = FullStore(tmp_path / "kpitui.sqlite3")
    store.fill()
    snapshot = refresh_all(demo.config, AS_OF, FROZEN, store)
    assert snapshot.revenue.mrr > 0 and snapshot.support.tickets > 0
    assert store.take_notice() == (
        f"{store.path}: could not save to the store (database or disk is full); the figures are shown, "
        "the history misses them"
    )
    store.close()


async def test_the_board_on_a_full_disk_shows_its_numbers_and_says_why_history_is_missing(demo, tmp_path):
    store = FullStore(tmp_path / "kpitui.sqlite3")
    store.fill()
    app = KpiApp(demo.config, as_of=AS_OF, clock=lambda: FROZEN, store=store)
    async with app.run_test(size=(120, 40)):
        await app.ready.wait()
        assert app.snapshot.revenue.mrr > 0
        assert any("could not save to the store (database or disk is full)" in n.message for n in app._notifications)
    store.close()
