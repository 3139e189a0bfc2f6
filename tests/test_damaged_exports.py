"""Real exports damaged at random (cut short, bytes dropped, lines repeated or swapped, cells and whole columns
replaced by hostile or huge values, saved again as UTF-16) and read through the whole refresh: each source ends `ok`
or with one message naming its file, never an `unexpected` error or a crash (DESIGN.md section 7)."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitui.config import parse_config
from kpitui.pipeline import refresh_all

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # nothing printed by a
# callback that failed (what pyarrow did with a bad row that is not UTF-8)
DATA = Path(__file__).parent / "data"
EXPORTS = [
    (path, kind)
    for kind, folder in (("tickets", "tickets"), ("tickets", "bad"), ("nps", "nps"), ("spend", "spend"), ("ga4", "ga4"))
    for path in sorted((DATA / folder).iterdir())
]
VALUES = [
    b"", b" ", b",", b";", b"\t", b'"', b'""', b'"a""b"', b"\n", b"\r\n", b"\x00", b"\xff", b"\xe9", b"\xef\xbb\xbf",
    b"-1", b"0", b"11", b"1e308", b"99999999999999999999", b"NaN", b"inf", b"00:00:00", b"-00:05:00", b"12:00 PM",
    b"2026-13-45", b"0000-00-00", b"9999-12-31 23:59", b"31/12/2026", b"12/31/2026", b"1700000000", b"1700000000000",
    b"Good", b"Extremely satisfied", b"null", b'{"a":1}', b"[", b"\\", b"=cmd|' /C calc'!A0", b"\x1b[31m",
    b"[bold]x[/]", "\u202eevil".encode(), "💩".encode(), b"%s%n",
]  # fmt: skip
EDITS = ("insert", "drop", "cut", "cell", "repeat line", "swap lines", "column", "huge cell", "as UTF-16")


def damaged(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    """The bytes after each edit, made at a fraction of the way through the file (or of its header's columns)."""
    for edit, where, value in edits:
        at = int(where * len(data))
        lines = data.split(b"\n")
        line = min(int(where * len(lines)), len(lines) - 1)
        if edit == "insert":
            data = data[:at] + value + data[at:]
        elif edit == "drop":
            data = data[:at] + data[at + len(value) + 1 :]
        elif edit == "cut":
            data = data[:at]
        elif edit == "cell":
            start, end = data.rfind(b",", 0, at) + 1, data.find(b",", at)
            data = data[:start] + value + data[end if end >= 0 else len(data) :]
        elif edit == "repeat line":
            data = b"\n".join(lines[: line + 1] + lines[line:])
        elif edit == "swap lines" and line + 1 < len(lines):
            lines[line], lines[line + 1] = lines[line + 1], lines[line]
            data = b"\n".join(lines)
        elif edit == "huge cell":
            data = data[:at] + value * (200_000 // (len(value) or 1)) + data[at:]
        elif edit == "as UTF-16":
            data = b"\xff\xfe" + data.decode("utf-8", errors="replace").encode("utf-16-le")
        elif edit == "column":
            column = int(where * (lines[0].count(b",") + 1))
            rows = [row.split(b",") for row in lines[1:]]
            data = b"\n".join([lines[0], *(b",".join([*r[:column], value, *r[column + 1 :]]) for r in rows)])
    return data


@given(
    export=st.sampled_from(EXPORTS),
    edits=st.lists(st.tuples(st.sampled_from(EDITS), st.floats(0, 1), st.sampled_from(VALUES)), min_size=1, max_size=5),
    as_of=st.sampled_from([date(2026, 11, 22), date(2024, 1, 1), date(2019, 5, 1)]),
)
@settings(max_examples=150, deadline=None)
def test_a_damaged_export_is_read_or_named_never_unexpected(export, edits, as_of):
    path, kind = export
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / f"export{path.suffix}"
        copy.write_bytes(damaged(path.read_bytes(), edits))
        config = parse_config({"sources": {"s": {"type": kind, "path": str(copy)}}, "fx": {"eur": 1.08}})
        status = refresh_all(config, as_of, datetime(2026, 12, 7, tzinfo=UTC)).sources["s"]
    assert status.status in ("ok", "error")
    if status.status == "error":
        assert "unexpected" not in status.error, status.error
        assert copy.name in status.error or status.error.startswith("no [fx] rate for"), status.error
