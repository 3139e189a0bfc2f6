"""Shared fixtures: a running demo (real billing API on loopback, real export files) and a frozen clock."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kpitui.demo.setup import Demo, start_demo

# google-auth without credentials probes the metadata server at 169.254.169.254: never, from a test
os.environ["NO_GCE_CHECK"] = "True"
for _name in ("GOOGLE_APPLICATION_CREDENTIALS", "BIGQUERY_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT"):
    os.environ.pop(_name, None)

AS_OF = date(2026, 11, 22)
FROZEN = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo sources, started once for the session."""
    running = start_demo(AS_OF, directory=tmp_path_factory.mktemp("demo"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real user config and cache dirs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("KPITUI_CONFIG", raising=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Mark a test session that ran to its end (`.ci/run` checks it: a process ended early is not a pass)."""
    (Path(__file__).parents[1] / ".ci" / ".session-finished").write_text(f"{exitstatus}\n")
