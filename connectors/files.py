"""Find, decode and parse the export files users hand us."""

from __future__ import annotations

import csv
import glob
import gzip
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connectors.base import ConnectorError, SourceReport

NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "nan", "NaN", "-"]
_DELIMITERS = (",", ";", "\t", "|")


def expand_path(pattern: str) -> list[Path]:
    """Expand `~` and a glob into a stable, sorted list of files."""
    expanded = str(Path(pattern).expanduser())
    if any(ch in expanded for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(expanded, recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise ConnectorError(f"{pattern}: the pattern matches no file; check the path")
        return files
    path = Path(expanded)
    if not path.exists():
        raise ConnectorError(f"{pattern}: no such file; check the path in the config")
    if path.is_dir():
        raise ConnectorError(f"{pattern}: is a directory; give a file or a glob like {pattern}/*.csv")
    return [path]


def read_bytes(path: Path) -> bytes:
    """Read a file's bytes, un-gzipping by extension."""
    try:
        data = path.read_bytes()
        if path.suffix.lower() == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ConnectorError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    return data


def to_utf8(data: bytes, path: Path) -> bytes:
    """Return the bytes as UTF-8: accepts UTF-8 (BOM or not), UTF-16 with BOM and cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8")
    if b"\x00" in data[:8192]:
        raise ConnectorError(f"{path}: looks like a binary file, not a text export")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").encode("utf-8")
    return data


def read_text(path: Path) -> str:
    """Read a text file as str, whatever its encoding."""
    return to_utf8(read_bytes(path), path).decode("utf-8")


def sniff_delimiter(header_line: str) -> str:
    """Pick the delimiter that splits the header line best."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def dedupe_names(names: list[str]) -> list[str]:
    """Make column names unique the way pandas does (`a`, `a.1`, …)."""
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = raw.strip()
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


@dataclass
class CsvTable:
    """A CSV parsed as strings, with its header rows and where data starts."""

    frame: pd.DataFrame
    header_rows: list[list[str]]
    first_data_line: int
    path: Path
    body: bytes = b""
    delimiter: str = ","

    def physical_lines(self, labels: Iterable[int]) -> list[int]:
        """File line numbers of records labelled by the frame index (quoted newlines counted)."""
        labels = list(labels)
        if not labels or b"\n" not in self.body or b'"' not in self.body:
            return labels
        reader = csv.reader(
            io.StringIO(self.body.decode("utf-8", errors="replace"), newline=""), delimiter=self.delimiter
        )
        wanted = {label - self.first_data_line for label in labels}
        starts: dict[int, int] = {}
        line = self.first_data_line
        for record, _ in enumerate(reader):
            if record in wanted:
                starts[record] = line
            if len(starts) == len(wanted):
                break
            line = self.first_data_line + reader.line_num
        return [starts.get(label - self.first_data_line, label) for label in labels]


def _header_rows(text_head: str, count: int, delimiter: str) -> list[list[str]]:
    """Parse the first `count` records of the file with the csv module."""
    reader = csv.reader(io.StringIO(text_head), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) == count:
            break
    return rows


def _lines_before_data(text_head: str, header_count: int, delimiter: str) -> int:
    """Physical lines the header records take (quoted headers may span lines)."""
    buffer = io.StringIO(text_head)
    reader = csv.reader(buffer, delimiter=delimiter)
    for _ in range(header_count):
        next(reader, None)
    return reader.line_num


def read_csv_strings(
    path: Path,
    report: SourceReport,
    *,
    header_count: int | Callable[[str], int] = 1,
    select: Callable[[list[str]], list[str]] | None = None,
) -> CsvTable:
    """Parse a CSV into a frame of nullable strings; ragged rows are skipped and reported.

    `header_count` is a number of header records, or a function that tells it from the file's start.
    """
    data = to_utf8(read_bytes(path), path)
    if not data or data.isspace():
        raise ConnectorError(f"{path}: the file is empty; export it again with data")
    head = data[:65536].decode("utf-8", errors="replace")
    delimiter = sniff_delimiter(head.splitlines()[0] if head else "")
    if callable(header_count):
        header_count = header_count(head)
    headers = _header_rows(head, header_count, delimiter)
    if not headers:
        raise ConnectorError(f"{path}: no header row found")
    names = dedupe_names(headers[0])
    data_line = _lines_before_data(head, header_count, delimiter) + 1
    offset = 0
    for _ in range(data_line - 1):
        offset = data.find(b"\n", offset) + 1 or len(data)
    wanted = names if select is None else select(names)

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        line = _line_of(data[offset:], row.text, data_line) if len(report.skipped) < 1000 else None
        if row.text.count('"') % 2 and "\n" in row.text:
            reason = "unclosed quote: this field runs to the end of the file"
        else:
            reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        report.skip(path.name, line, reason)
        return "skip"

    body = data[offset:]
    if not body.strip():
        report.warnings.append(f"{path.name}: a header but no data rows")
        frame = pd.DataFrame({name: pd.Series(dtype="string") for name in wanted})
        return CsvTable(frame, headers, data_line, path, body, delimiter)
    table = _parse_arrow(pa.py_buffer(data).slice(offset), names, wanted, delimiter, on_bad_row, path)
    if b"\r\n" in body[:65536]:
        table = pa.table({n: pc.replace_substring(table[n], "\r\n", "\n") for n in table.column_names})
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(data_line, data_line + len(frame))
    result = CsvTable(frame, headers, data_line, path, body, delimiter)
    if body.count(b'"') % 2 and len(frame) and _spans_lines(frame.iloc[-1]):
        line = result.physical_lines([frame.index[-1]])[0]
        report.skip(path.name, line, "unclosed quote: this field runs to the end of the file")
        result.frame = frame.iloc[:-1]
    return result


def _spans_lines(row: pd.Series) -> bool:
    """Whether any value of the row holds a line break (what an unclosed quote leaves behind)."""
    return any(isinstance(v, str) and "\n" in v for v in row.to_numpy())


def _line_of(body: bytes, text: str, first_line: int) -> int | None:
    """The physical line where a bad record's text starts, if it can be found."""
    found = body.find(text.encode("utf-8"))
    return None if found < 0 else first_line + body.count(b"\n", 0, found)


def _parse_arrow(body: pa.Buffer, names, wanted, delimiter, on_bad_row, path) -> pa.Table:
    """pyarrow's CSV reader: a fast multi-block pass first; on any trouble a careful pass that
    allows newlines in quoted values, skips ragged rows through `on_bad_row` and grows the block
    for huge fields."""
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        include_columns=wanted,
        strings_can_be_null=True,
        null_values=NULL_TOKENS,
        quoted_strings_can_be_null=True,
    )
    try:
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
    except pa.ArrowInvalid:
        pass
    block_size = 1 << 22
    while True:
        try:
            return pacsv.read_csv(
                pa.BufferReader(body),
                read_options=pacsv.ReadOptions(column_names=names, block_size=block_size),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
                ),
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "straddling" in message and block_size < body.size + 1:
                block_size = body.size + 1
                continue
            raise ConnectorError(f"{path}: not a readable CSV ({message.splitlines()[0]})") from None
