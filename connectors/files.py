"""Find, decode and parse the export files users hand us."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import mmap
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connectors import spreadsheets
from connectors.base import ConnectorError, SourceReport
from connectors.schemas import TEXT
from connectors.sql_text import ISO_LIKE

NULL_TOKENS = ("", "NA", "N/A", "n/a", "null", "NULL", "None", "nan", "NaN", "-")
POSITION = "kpitui_row"  # each record's position in its file, beside the file's own columns
_DELIMITERS = (",", ";", "\t", "|")
_MAP_FROM = 1 << 20
_BLOCK = 1 << 24  # bytes looked at at once when counting
_NON_SPACE = re.compile(rb"\S")
_WIDEST = 16_384  # Excel's columns: a wider first line is no export's header (and each query over it takes seconds)
_BLANK_LINES = re.compile(r"(?:[ \t\r]*\n)*")
_NAMED_UTC = re.compile(r"\(\s*(?:in\s+)?UTC\s*\)", re.IGNORECASE)  # Typeform's `Submit Date (UTC)`, `(in UTC)`
_UNFIT_COLUMN = re.compile(r"In CSV column #(\d+): CSV conversion error")  # pyarrow's word for a value it cannot type
# The csv module's cells, here and in the connectors, as long as the Arrow reader's (its default limit is 128 KiB):
csv.field_size_limit(2**31 - 1)


def use_lean_allocator() -> None:
    """Arrow's memory from jemalloc, else the system's, unless the user chose one (ARROW_DEFAULT_MEMORY_POOL): its
    default, mimalloc, read 1M tickets 0.2–0.3 s slower in a fresh process here, holding more memory."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


use_lean_allocator()


def read_bytes(path: Path) -> bytes | mmap.mmap:
    """A text export's bytes: un-gzipped by extension, a spreadsheet's first sheet as CSV (`spreadsheets`, which
    refuses other HTML and XML), large plain files memory-mapped rather than copied."""
    data = _file_bytes(path)
    head = data[:4096]
    if spreadsheets.is_spreadsheet(head):
        return spreadsheets.as_csv(data[:], path)
    spreadsheets.refuse_markup(head, path)
    return data


def _file_bytes(path: Path) -> bytes | mmap.mmap:
    """A file's bytes, un-gzipped by extension; large plain files are memory-mapped rather than copied."""
    try:
        if path.suffix.lower() == ".gz":
            return gzip.decompress(path.read_bytes())
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size < _MAP_FROM:
                return handle.read()
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, EOFError, ValueError) as exc:
        raise ConnectorError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None


def _one_value(data: bytes | mmap.mmap | pa.Buffer, kind: pa.DataType) -> pa.Array:
    """The bytes as an Arrow array of one value of `kind` (large binary or string), without copying them."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])


def _is_utf8(data: bytes | mmap.mmap | pa.Buffer) -> bool:
    """Whether the bytes are valid UTF-8 (checked by pyarrow, without copying them)."""
    if isinstance(data, bytes) and data.isascii():
        return True
    try:
        _one_value(data, pa.large_binary()).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _starts_utf8(data: bytes | mmap.mmap) -> bool:
    """Whether the first 64 KiB are valid UTF-8 (a character cut at the end is fine)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[:65536], final=False)
    except UnicodeDecodeError:
        return False
    return True


def _from_cp1252(data: bytes | mmap.mmap) -> bytes:
    """Windows-1252 bytes (what Excel saves) as UTF-8."""
    return data[:].decode("cp1252", errors="replace").encode("utf-8")


def to_utf8(data: bytes | mmap.mmap, path: Path, *, whole: bool = True) -> bytes | mmap.mmap:
    """Return the bytes as UTF-8: accepts UTF-8 (BOM or not), UTF-16 with BOM and cp1252.

    With `whole=False` only the start is checked: the caller's reader validates the rest (see `NotUtf8Error`).
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a copy cut short ends in half a character: left out
        return data[: len(data) // 2 * 2].decode("utf-16", errors="replace").encode("utf-8")
    bom = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    if b"\x00" in data[bom : bom + 8192]:
        raise ConnectorError(f"{path}: looks like a binary file, not a text export")
    if bom:
        data = data[bom:]
    if not (_is_utf8(data) if whole else _starts_utf8(data)):
        return _from_cp1252(data)
    return data


class NotUtf8Error(Exception):
    """pyarrow met bytes that are not UTF-8 past the part of the file `to_utf8` checked."""


def _raise_if_not_utf8(exc: pa.ArrowInvalid) -> None:
    """Turn pyarrow's UTF-8 conversion error into `NotUtf8Error`; other errors pass."""
    if "invalid UTF8" in str(exc):
        raise NotUtf8Error from None


def read_text(path: Path) -> str:
    """Read a text file as str, whatever its encoding (a large file is mapped: its slice is the bytes)."""
    data = to_utf8(read_bytes(path), path)
    return (data if isinstance(data, bytes) else data[:]).decode("utf-8")


def read_lines(path: Path) -> pa.Array:
    """A text file's lines, whatever its encoding, split at line feeds only (a carriage return before one stays, and
    so does a Unicode line separator inside a line), as Arrow strings: no Python object per line."""
    return pc.split_pattern(_one_value(to_utf8(read_bytes(path), path), pa.large_string()), "\n").flatten()


def sniff_delimiter(header_line: str) -> str:
    """Pick the delimiter that splits the header line best."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normalise_header(name: str) -> str:
    """Lower case, single spaces, no underscores or BOM: how aliases are compared."""
    return re.sub(r"[\s_]+", " ", name.replace("\ufeff", "")).strip().lower()


def dedupe_names(names: list[str]) -> list[str]:
    """Make column names unique the way pandas does (`a`, `a.1`, …; a column without a name is `Unnamed: N`)."""
    seen: dict[str, int] = {}
    out = []
    for position, raw in enumerate(names):
        name = raw.strip() or f"Unnamed: {position}"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


@dataclass(frozen=True)
class ReadPlan:
    """The columns to read (None: all), the types to try for them at once, and the timestamp parsers those need."""

    columns: list[str] | None = None
    types: dict[str, pa.DataType] = field(default_factory=dict)
    timestamp_parsers: tuple[str, ...] = ()


@dataclass
class CsvTable:
    """A parsed CSV (strings, or the fast types when the whole file fits them), its headers and first data line."""

    table: pa.Table
    header_rows: list[list[str]]
    first_data_line: int
    path: Path
    data: bytes = b""
    offset: int = 0
    delimiter: str = ","
    plan: ReadPlan = field(default_factory=ReadPlan)  # the types it was read with (none: every column as text)

    def with_positions(self) -> pa.Table:
        """The table with each record's position (from 0) as column POSITION, for SQL to report rows by."""
        positions = pa.py_buffer(np.arange(len(self.table), dtype=np.int64))
        return self.table.append_column(POSITION, pa.Array.from_buffers(pa.int64(), len(self.table), [None, positions]))

    def skip_rejected(self, cursor: Any, source: str, reasons: list[str], report: SourceReport) -> int:
        """Report each row a conversion rejected (`source`: a FROM item with `pos` and the code of its `reason`,
        from 1, into `reasons`) at its file line; how many there were."""
        rejected = cursor.execute(f"SELECT pos, reason FROM {source} WHERE reason IS NOT NULL ORDER BY pos").fetchall()
        lines = self.physical_lines([pos + self.first_data_line for pos, _ in rejected])
        for line, (_, code) in zip(lines, rejected, strict=True):
            report.skip(self.path.name, line, reasons[code - 1])
        return len(rejected)

    def physical_lines(self, labels: Iterable[int]) -> list[int]:
        """File line numbers of records given as `first_data_line` + their place among the records read (quoted
        line breaks counted; blank lines and ragged rows, which the reader skips, passed over; a record the csv
        module does not find, where it parses otherwise than pyarrow, keeps its label)."""
        places = [label - self.first_data_line for label in labels]
        if not places:
            return []
        starts = self._starts_from_values()
        if starts is None:
            starts = self._starts_read_again(max(places))
        return [int(starts[place]) if place < len(starts) else self.first_data_line + place for place in places]

    def _starts_from_values(self) -> np.ndarray | None:
        """Each record's first line, from the line breaks inside its values (all at once); None unless the records
        read hold every line of the body (no blank line, no skipped row, no column left unread)."""
        breaks = sum((_breaks(c) for c in self.table.columns if c.type == TEXT), np.zeros(len(self.table), np.int64))
        lines = _count(self.data, b"\n", self.offset) + (self.data[len(self.data) - 1 :] != b"\n")
        if len(self.table) + int(breaks.sum()) != lines:
            return None
        return self.first_data_line + np.arange(len(self.table)) + np.cumsum(breaks) - breaks

    def _starts_read_again(self, last: int) -> list[int]:
        """Each record's first line up to record `last`, reading the body again with the csv module and passing
        over what the reader skips (blank lines, rows with another number of fields)."""
        body = self.data[self.offset :].decode("utf-8", errors="replace")
        reader = csv.reader(io.StringIO(body, newline=""), delimiter=self.delimiter)
        fields, starts, line = len(self.header_rows[0]), [], self.first_data_line
        for row in reader:
            if len(row) == fields:
                starts.append(line)
                if len(starts) > last:
                    break
            line = self.first_data_line + reader.line_num
        return starts


def _with_line_feeds(data: bytes | mmap.mmap) -> bytes | mmap.mmap:
    """Lines ended by a carriage return alone (Excel for Mac's "CSV (Macintosh)") as lines ended by a line feed."""
    head = data[:65536]
    if b"\r" in head and b"\n" not in head:
        return data[:].replace(b"\r", b"\n")
    return data


def _header_rows(text_head: str, count: int, delimiter: str) -> list[list[str]]:
    """Parse the first `count` records of the file with the csv module."""
    reader = csv.reader(io.StringIO(text_head, newline=""), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) == count:
            break
    return rows


def _lines_before_data(text_head: str, header_count: int, delimiter: str) -> int:
    """Physical lines the header records take (quoted headers may span lines)."""
    reader = csv.reader(io.StringIO(text_head, newline=""), delimiter=delimiter)
    for _ in range(header_count):
        next(reader, None)
    return reader.line_num


def read_csv_strings(
    path: Path,
    report: SourceReport,
    *,
    header_count: int | Callable[[str], int] = 1,
    plan: Callable[[CsvTable], ReadPlan] | None = None,
    nulls: tuple[str, ...] = NULL_TOKENS,
) -> CsvTable:
    """Parse a CSV into a table of nullable strings (a cell that is one of `nulls` is null); ragged rows are skipped
    and reported.

    `header_count` is a number of header records, or a function that tells it from the file's start.
    `plan` looks at the header and a sample of the first rows (as strings) and says which columns to read
    and which types to try for the whole file; when any value does not fit them, they are read as strings.
    """
    data = _with_line_feeds(to_utf8(read_bytes(path), path, whole=False))
    skipped, warnings = len(report.skipped), len(report.warnings)
    try:
        return _read_csv(data, path, report, header_count, plan, nulls)
    except NotUtf8Error:
        del report.skipped[skipped:], report.warnings[warnings:]
        return _read_csv(_from_cp1252(data), path, report, header_count, plan, nulls)


def _read_csv(
    data: bytes | mmap.mmap,
    path: Path,
    report: SourceReport,
    header_count: int | Callable[[str], int],
    plan: Callable[[CsvTable], ReadPlan] | None,
    nulls: tuple[str, ...],
) -> CsvTable:
    """`read_csv_strings` over UTF-8 bytes (raises `NotUtf8Error` when some are not)."""
    if _NON_SPACE.search(data) is None:
        raise ConnectorError(f"{path}: the file is empty; export it again with data")
    head = data[:65536].decode("utf-8", errors="replace")
    blank = _BLANK_LINES.match(head).group()  # passed over before the header, as pandas does
    head = head[len(blank) :]
    delimiter = sniff_delimiter(head.splitlines()[0] if head else "")
    if callable(header_count):
        header_count = header_count(head)
    headers = _header_rows(head, header_count, delimiter)
    if not headers:
        raise ConnectorError(f"{path}: no header row found")
    if len(headers[0]) > _WIDEST:
        raise ConnectorError(
            f"{path}: the first line has over {_WIDEST:,} columns, more than a sheet holds: is it the header? "
            "Export the file again"
        )
    names = dedupe_names(headers[0])
    data_line = blank.count("\n") + _lines_before_data(head, header_count, delimiter) + 1
    offset = 0
    for _ in range(data_line - 1):
        offset = data.find(b"\n", offset) + 1 or len(data)
    reader = _ArrowReader(pa.py_buffer(data).slice(offset), names, delimiter, path, nulls)
    chosen = ReadPlan()
    if plan is not None:
        sample = reader.sample()
        chosen = plan(CsvTable(sample, headers, data_line, path, data, offset, delimiter))
    reader.wanted = chosen.columns or names

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        line = _line_of(data, offset, row.text, data_line) if len(report.skipped) < 1000 else None
        if row.text.count('"') % 2 and "\n" in row.text:
            reason = "unclosed quote: this field runs to the end of the file"
        else:
            reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        report.skip(path.name, line, reason)
        return "skip"

    if _NON_SPACE.search(data, offset) is None:
        report.warnings.append(f"{path.name}: a header but no data rows")
        return CsvTable(_no_rows(reader.wanted), headers, data_line, path, data, offset, delimiter)
    table, chosen = reader.fast(chosen)
    if table is None:
        chosen = ReadPlan()  # every column as text
        table = reader.careful(on_bad_row)
    if b"\r\n" in data[offset : offset + 65536]:
        columns = [pc.replace_substring(c, "\r\n", "\n") if c.type == TEXT else c for c in table.columns]
        table = pa.Table.from_arrays(columns, names=table.column_names)
    result = CsvTable(table, headers, data_line, path, data, offset, delimiter, chosen)
    if len(table) and _spans_lines(table.slice(len(table) - 1)) and _count(data, b'"', offset) % 2:
        line = result.physical_lines([data_line + len(table) - 1])[0]
        report.skip(path.name, line, "unclosed quote: this field runs to the end of the file")
        result.table = table.slice(0, len(table) - 1)
    return result


def column_kinds(table: pa.Table) -> dict[str, str]:
    """Each column as the CSV reader left it: `time` (a timestamp), `number` or `text` (labels included)."""
    kinds = {}
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        numeric = pa.types.is_floating(kind) or pa.types.is_integer(kind)
        kinds[name] = "time" if pa.types.is_timestamp(kind) else "number" if numeric else "text"
    return kinds


def csv_parsers(formats: tuple[str, ...]) -> tuple:
    """pyarrow's timestamp parsers for strptime formats: its own ISO 8601 parser (much faster) for the ISO-like
    ones, the others as they are."""
    iso = [fmt for fmt in formats if fmt in ISO_LIKE]
    return (*([pacsv.ISO8601] if iso else []), *(fmt for fmt in formats if fmt not in ISO_LIKE))


def zone_of(header: str, zone: str) -> str:
    """The time zone a column's naive times are in: UTC when its name says so, else the source's `timezone`."""
    return "UTC" if _NAMED_UTC.search(header) else zone


def localized_times(table: pa.Table, columns: list[str | None], zone: str) -> pa.Table:
    """The table with the named columns the CSV reader typed as naive wall times read once in `zone` (UTC for a
    column named so, `zone_of`), as instants (an hour repeated when clocks go back is taken as the later one, as
    the engine reads text times)."""
    for column in columns:
        if column is None or not pa.types.is_timestamp(table.schema.field(column).type):
            continue
        values, local = table[column], zone_of(column, zone)
        if local != "UTC":
            values = pc.assume_timezone(values, timezone=local, ambiguous="latest", nonexistent="latest")
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, values.cast(pa.timestamp("us", tz="UTC")))
    return table


def _no_rows(names: list[str]) -> pa.Table:
    """A table of text columns without rows."""
    return pa.Table.from_arrays([pa.nulls(0, TEXT) for _ in names], names=names)


def _spans_lines(row: pa.Table) -> bool:
    """Whether any text value of a one-row table holds a line break (what an unclosed quote leaves behind)."""
    return any(isinstance(v, str) and "\n" in v for v in row.to_pylist()[0].values())


def _count(data: bytes | mmap.mmap, byte: bytes, start: int, end: int | None = None) -> int:
    """How often a byte occurs in data[start:end], without copying it (a memory-mapped file has no `count`), a
    block at a time."""
    view = np.frombuffer(data, dtype=np.uint8)[start:end]
    return sum(int(np.count_nonzero(view[at : at + _BLOCK] == byte[0])) for at in range(0, len(view), _BLOCK))


def _breaks(column: pa.ChunkedArray) -> np.ndarray:
    """How many line breaks each value of a text column holds (0 for a null), from its buffers with numpy (pyarrow
    imports pandas to turn a Python value into a scalar, as `fill_null(0)` would)."""
    counts = [np.zeros(0, np.int64)]
    for chunk in column.chunks:
        _, offsets, data = chunk.buffers()
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        found = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) if data else np.zeros(0, np.int64)
        counts.append(np.diff(np.searchsorted(found, ends)))
    return np.concatenate(counts)


def _line_of(data: bytes | mmap.mmap, offset: int, text: str, first_line: int) -> int | None:
    """The physical line where a bad record's text (searched from `offset`) starts, if it can be found."""
    found = data.find(text.encode("utf-8"), offset)
    return None if found < 0 else first_line + _count(data, b"\n", offset, found)


class _ArrowReader:
    """pyarrow's CSV reader over one file's body: a fast multi-block pass, and a careful pass that allows
    newlines in quoted values, skips ragged rows and grows the block for huge fields."""

    def __init__(self, body: pa.Buffer, names: list[str], delimiter: str, path: Path, nulls: tuple[str, ...]) -> None:
        self.body, self.names, self.wanted, self.delimiter, self.path = body, names, names, delimiter, path
        self.nulls = nulls

    def _convert(self, plan: ReadPlan) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types={n: plan.types.get(n, TEXT) for n in self.names},
            include_columns=self.wanted,
            strings_can_be_null=True,
            null_values=list(self.nulls),
            quoted_strings_can_be_null=True,
            timestamp_parsers=list(plan.timestamp_parsers) or None,
        )

    def sample(self, size: int = 65536) -> pa.Table:
        """The first rows of the body, every column as strings (no rows when they do not parse)."""
        head = self.body.slice(0, min(size, self.body.size)).to_pybytes()
        if len(head) == size:
            head = head[: head.rfind(b"\n") + 1]
        if not _is_utf8(head):  # pyarrow cannot hand the row handler a row that is not UTF-8
            raise NotUtf8Error
        try:
            return pacsv.read_csv(
                pa.BufferReader(head),
                read_options=pacsv.ReadOptions(column_names=self.names),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=lambda row: "skip"
                ),
                convert_options=self._convert(ReadPlan()),
            )
        except pa.ArrowInvalid as exc:
            _raise_if_not_utf8(exc)
            return _no_rows(self.names)

    def fast(self, plan: ReadPlan) -> tuple[pa.Table | None, ReadPlan]:
        """The whole body in large parallel blocks with the plan's types, a column holding a value its type does not
        fit read as text instead (one more pass each), and the plan it was read with; no table when the rows
        themselves do not parse this way (ragged rows, quoted line breaks)."""
        while True:
            try:
                table = pacsv.read_csv(
                    pa.BufferReader(self.body),
                    read_options=pacsv.ReadOptions(column_names=self.names, block_size=1 << 22),
                    parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                    convert_options=self._convert(plan),
                )
                return table, plan
            except pa.ArrowInvalid as exc:
                _raise_if_not_utf8(exc)
                unfit = _UNFIT_COLUMN.match(str(exc))
                column = self.names[int(unfit.group(1))] if unfit else None
                if column not in plan.types:
                    return None, plan
                plan = replace(plan, types={name: kind for name, kind in plan.types.items() if name != column})

    def careful(self, on_bad_row: Callable[[pacsv.InvalidRow], str]) -> pa.Table:
        """Every column as strings, quoted newlines allowed, bad rows handed to `on_bad_row`."""
        if not _is_utf8(self.body):  # pyarrow cannot hand `on_bad_row` a bad row that is not UTF-8
            raise NotUtf8Error
        block_size = 1 << 22
        while True:
            try:
                return pacsv.read_csv(
                    pa.BufferReader(self.body),
                    read_options=pacsv.ReadOptions(column_names=self.names, block_size=block_size),
                    parse_options=pacsv.ParseOptions(
                        delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
                    ),
                    convert_options=self._convert(ReadPlan()),
                )
            except pa.ArrowInvalid as exc:
                _raise_if_not_utf8(exc)
                message = str(exc)
                if "straddling" in message and block_size < self.body.size + 1:
                    block_size = self.body.size + 1
                    continue
                raise ConnectorError(f"{self.path}: not a readable CSV ({message.splitlines()[0]})") from None
