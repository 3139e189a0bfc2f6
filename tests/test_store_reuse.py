"""What the store keeps across runs: statuses, file signatures and each file-fed section, never events or tickets;
a run whose files, as_of and settings all match the last one reads no file; a file gone after a restart leaves its
section's last numbers, stale."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest

from connectors import ga4, nps, tickets
from kpitui import pipeline
from kpitui.config import Config, SourceConfig
from kpitui.pipeline import refresh_all
from kpitui.store import Store
from tests.conftest import AS_OF, FROZEN

FILE_SOURCES = ("web", "support", "survey")


@pytest.fixture
def files_config(demo, tmp_path) -> Config:
    """The demo's three file sources, on copies of its files that a test may change."""
    sources = {}
    for name in FILE_SOURCES:
        source = demo.config.sources[name]
        copy = tmp_path / "exports" / os.path.basename(source.options["path"])
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(source.options["path"], copy)
        sources[name] = SourceConfig(name, source.type, source.refresh, {**source.options, "path": str(copy)})
    return replace(demo.config, sources=sources)


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The file connectors' loads, by source type, in a fresh process each time the caches are cleared."""
    calls: list[str] = []
    for module, kind in ((ga4, "ga4"), (tickets, "tickets"), (nps, "nps")):
        original = module.load
        monkeypatch.setattr(module, "load", lambda options, o=original, k=kind: (calls.append(k), o(options))[1])
    return calls


def new_process(monkeypatch) -> None:
    """Forget what this process read, as a new `kpitui snapshot` would."""
    monkeypatch.setattr(pipeline, "_FILES", {})
    monkeypatch.setattr(pipeline, "_SECTIONS", {})


def run(config: Config, tmp_path, as_of=AS_OF, now=FROZEN):
    store = Store(tmp_path / "kpitui.sqlite3")
    try:
        return refresh_all(config, as_of, now, store)
    finally:
        store.close()


def test_the_store_keeps_statuses_signatures_and_sections_never_events_or_tickets(files_config, tmp_path):
    run(files_config, tmp_path)
    db = sqlite3.connect(tmp_path / "kpitui.sqlite3")
    assert db.execute("SELECT count(*) FROM source_frames").fetchone() == (0,)
    assert sorted(r[0] for r in db.execute("SELECT source FROM source_files")) == sorted(FILE_SOURCES)
    stored = sorted(r[0] for r in db.execute("SELECT section FROM section_result"))
    assert stored == ["engagement", "funnel", "nps", "support"]  # no billing source: no customers section
    db.close()


def test_a_run_like_the_last_reads_no_file(files_config, tmp_path, monkeypatch, reads):
    first = run(files_config, tmp_path)
    assert sorted(reads) == ["ga4", "nps", "tickets"]
    new_process(monkeypatch)
    later = FROZEN + timedelta(minutes=5)
    again = run(files_config, tmp_path, now=later)
    assert sorted(reads) == ["ga4", "nps", "tickets"]  # no second read
    assert (again.funnel, again.support, again.nps) == (first.funnel, first.support, first.nps)
    assert {n: (s.status, s.rows, s.last_success) for n, s in again.sources.items()} == {
        n: ("ok", s.rows, later) for n, s in first.sources.items()
    }


def test_sections_computed_by_other_code_are_computed_again(files_config, tmp_path, monkeypatch, reads):
    """`git pull` on an editable install keeps the version number: a stored section computed by the code before
    (another digest of kpitui's and the connectors' modules) is not reused; the same code reuses it."""
    run(files_config, tmp_path)
    new_process(monkeypatch)
    reads.clear()
    monkeypatch.setattr(pipeline, "code_digest", lambda: "the code after a git pull")
    run(files_config, tmp_path)
    assert sorted(reads) == ["ga4", "nps", "tickets"]
    new_process(monkeypatch)
    reads.clear()
    run(files_config, tmp_path)
    assert reads == []


def test_the_code_digest_changes_with_any_module(tmp_path, monkeypatch):
    """The digest covers every module of kpitui and the connectors, by content."""
    from kpitui.provenance import digest_of

    package = tmp_path / "package"
    (package / "metrics").mkdir(parents=True)
    (package / "metrics" / "nps.py").write_text("PROMOTERS = 9\n")
    (package / "README.md").write_text("not code")
    before = digest_of([package])
    (package / "README.md").write_text("still not code")
    assert digest_of([package]) == before
    (package / "metrics" / "nps.py").write_text("PROMOTERS = 10\n")
    assert digest_of([package]) != before


def test_a_run_like_the_last_keeps_the_sections_that_join_billing_and_files(demo, tmp_path, monkeypatch, reads):
    """With a billing source, the customers and acquisition sections join the book with the files' rows: a run
    like the last reads those files again (the book is read anew each run). Before, it reused the file-fed sections
    and left these two out of the snapshot; the sources came out of config order too."""
    first = run(demo.config, tmp_path)
    assert first.customers is not None and first.acquisition is not None
    new_process(monkeypatch)
    reads.clear()
    again = run(demo.config, tmp_path, now=FROZEN + timedelta(minutes=5))
    assert sorted(reads) == ["ga4", "nps", "tickets"]
    assert (again.customers, again.acquisition, again.funnel) == (first.customers, first.acquisition, first.funnel)
    assert list(again.sources) == list(demo.config.sources)


def test_a_changed_file_as_of_or_setting_is_read_again(files_config, tmp_path, monkeypatch, reads):
    run(files_config, tmp_path)
    reads.clear()
    new_process(monkeypatch)
    tickets_file = files_config.sources["support"].options["path"]
    with open(tickets_file) as handle:
        first_ticket = handle.read().splitlines()[1]
    with open(tickets_file, "a") as handle:  # one more ticket: only the support section is read again
        handle.write("999999," + first_ticket.split(",", 1)[1] + "\n")
    changed = run(files_config, tmp_path)
    assert reads == ["tickets"]
    new_process(monkeypatch)
    reads.clear()
    run(files_config, tmp_path, as_of=AS_OF - timedelta(days=1))
    assert sorted(reads) == ["ga4", "nps", "tickets"]
    new_process(monkeypatch)
    reads.clear()
    week = run(replace(files_config, period_days=7), tmp_path)
    assert sorted(reads) == ["ga4", "nps", "tickets"]
    assert week.support.tickets < changed.support.tickets


def test_a_file_gone_after_a_restart_keeps_its_last_numbers_stale(files_config, tmp_path, monkeypatch):
    first = run(files_config, tmp_path)
    new_process(monkeypatch)
    path = files_config.sources["web"].options["path"]
    os.remove(path)
    for as_of in (AS_OF, AS_OF + timedelta(days=1)):  # the same day, and the next (its own figures unknown)
        later = run(files_config, tmp_path, as_of=as_of, now=FROZEN + timedelta(hours=1))
        web = later.sources["web"]
        assert (web.status, web.last_success) == ("stale", FROZEN)
        assert path in web.error and "no such file" in web.error
        assert later.funnel == first.funnel and later.funnel.steps[0].users > 0
        assert later.sources["support"].status == "ok"


def test_scanning_event_files_needs_no_pandas(tmp_path):
    """`kpitui snapshot` on a Parquet GA4 export: DuckDB scans it, pandas is never imported."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.test_file_connectors import _worked_events

    pq.write_table(pa.Table.from_pylist(_worked_events()), tmp_path / "events.parquet")
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.web]\ntype = "ga4"\npath = "{tmp_path / "events.parquet"}"\n\n[funnel]\nsteps = ["a", "b", "c"]\n'
    )
    code = (
        "import sys; from kpitui.cli import run; "
        f"code = run(['snapshot', '--format', 'json', '--config', {str(config)!r}, '--as-of', '2026-11-20', "
        f"'--data-dir', "
        f"{str(tmp_path / 'data')!r}]); print('pandas' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["funnel"]["steps"]
    assert [s["users"] for s in steps] == [5, 4, 2] and done.stderr.strip() == "False"
