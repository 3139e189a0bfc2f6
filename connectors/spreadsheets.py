"""Spreadsheet exports (xlsx, binary xls, ods, and the SpreadsheetML XML Freshdesk downloads as .xls) as CSV text,
so every reader of CSV exports reads them too: one line per sheet row, so lines are the sheet's row numbers."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # binary Excel 97–2003
_SPREADSHEET_ML = b"urn:schemas-microsoft-com:office:spreadsheet"
_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
_OFFICE_MEMBERS = ("[Content_Types].xml", "mimetype")  # what an xlsx and an ods hold at their root
_LAST_ROW, _LAST_COLUMN = 1_048_576, 16_384  # Excel's sheet
_READ_SECONDS = 600  # a workbook's reader that takes longer is stopped
REFUSED = 2  # the exit code of a workbook's reader that says on stderr why it cannot read the workbook


def is_spreadsheet(head: bytes) -> bool:
    """Whether a file's first bytes are a workbook rather than text."""
    return head.startswith((_ZIP, _OLE2)) or (_is_markup(head) and _SPREADSHEET_ML in head)


def _is_markup(head: bytes) -> bool:
    """Whether a file's first bytes open an HTML or XML document."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def refuse_markup(head: bytes, path: Path) -> None:
    """Raise for an HTML or XML file that is no workbook (an HTML table saved as .xls, a helpdesk's XML export):
    no export reader takes it, and read as CSV it would only say its columns are missing."""
    if _is_markup(head):
        raise ConnectorError(f"{path}: an HTML or XML file, not a CSV export or a workbook; export it as CSV or .xlsx")


def as_csv(data: bytes, path: Path) -> bytes:
    """The first sheet holding data, as UTF-8 CSV text."""
    if data.startswith(_ZIP) and _is_plain_archive(data):
        raise ConnectorError(f"{path}: a zip archive, not an export: unzip it and point `path` at the file inside")
    if data.startswith((_ZIP, _OLE2)):
        return _workbook_csv(data, path)
    return rows_as_csv(_spreadsheet_ml_rows(data, path))


def rows_as_csv(rows: list[list[Any]]) -> bytes:
    """A sheet's rows as UTF-8 CSV text, from its first row with a value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in _trimmed(rows):
        writer.writerow([_text(value) for value in row] if has_data([row]) else [])
    return out.getvalue().encode("utf-8")


def _is_plain_archive(data: bytes) -> bool:
    """Whether zip bytes are a whole archive that is no xlsx or ods workbook (say, a zipped CSV)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return not any(name in archive.NameToInfo for name in _OFFICE_MEMBERS)
    except zipfile.BadZipFile:
        return False  # cut short or damaged: the workbook reader says what is wrong


def _workbook_csv(data: bytes, path: Path) -> bytes:
    """The first sheet with data of an xlsx, xls or ods workbook as CSV, read in a process of its own
    (`connectors.workbook_process`)."""
    command = [sys.executable, "-m", "connectors.workbook_process"]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=_READ_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        reason = f"reading it took over {_READ_SECONDS // 60} minutes"
    else:
        if done.returncode == 0:
            return done.stdout
        if done.returncode == REFUSED:
            raise ConnectorError(f"{path}: {done.stderr.decode('utf-8', errors='replace').strip()}")
        code = done.returncode
        reason = f"its reader stopped: {signal.Signals(-code).name if code < 0 else f'exit code {code}'}"
    raise ConnectorError(f"{path}: not a readable spreadsheet ({reason}); save it again as CSV")


def _spreadsheet_ml_rows(data: bytes, path: Path) -> list[list[str | None]]:
    """The rows of the first worksheet with data of an Excel 2003 XML workbook (rows skipped by `ss:Index` empty)."""
    rows: list[list[str | None]] = []
    try:
        for _, element in ElementTree.iterparse(io.BytesIO(data)):
            if element.tag == f"{_SS}Row":
                index = _index(element, len(rows) + 1, "row", _LAST_ROW)
                rows.extend([] for _ in range(index - 1 - len(rows)))
                rows.append(list(_cells(element)))
                element.clear()
            elif element.tag == f"{_SS}Worksheet":
                if has_data(rows):
                    return rows
                rows = []
    except (ElementTree.ParseError, ValueError) as exc:
        raise ConnectorError(f"{path}: not a readable spreadsheet ({exc}); save it again as CSV") from None
    return rows


def _index(element: ElementTree.Element, default: int, kind: str, last: int) -> int:
    """An element's `ss:Index` (from 1), else `default`; raises ValueError when it is no number, or past Excel's
    sheet (an index far past it would fill memory with empty cells)."""
    written = element.get(f"{_SS}Index")
    if written is None:
        return default
    try:
        index = int(written)
    except ValueError:
        raise ValueError(f"ss:Index {written!r} is not a number") from None
    if index > last:
        raise ValueError(f"{kind} {index} is past Excel's last {kind}, {last}")
    return index


def has_data(rows: list[list[Any]]) -> bool:
    """Whether any cell of the rows holds a value."""
    return any(v not in (None, "") for row in rows for v in row)


def _cells(row: ElementTree.Element) -> Iterator[str | None]:
    """A SpreadsheetML row's values in column order, None where `ss:Index` skips cells."""
    column = 1
    for cell in row.iter(f"{_SS}Cell"):
        index = _index(cell, column, "column", _LAST_COLUMN)
        yield from [None] * (index - column)
        value = cell.find(f"{_SS}Data")
        yield None if value is None else "".join(value.itertext())
        column = index + 1


def _trimmed(rows: list[list[Any]]) -> Iterable[list[Any]]:
    """The rows from the first one with a value, all as wide as the widest."""
    width = max((len(row) for row in rows), default=0)
    start = next((i for i, row in enumerate(rows) if has_data([row])), len(rows))
    return (row + [None] * (width - len(row)) for row in rows[start:])


def _text(value: Any) -> str:
    """A cell as an export writes it: whole numbers without `.0`, ISO dates and times, durations as H:MM:SS, line
    breaks as spaces (one line per row)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, timedelta):
        seconds = round(abs(value.total_seconds()))
        sign = "-" if value < timedelta(0) else ""
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"
    return " ".join(str(value).splitlines())
