"""Google Analytics 4 exports: BigQuery event exports → `events`, scanned by the engine where they lie; UI reports
and explorations → `traffic` and `funnel_steps` (connectors.ga4_reports)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connectors.base import PARAM_PREFIX, ConnectorError, SourceReport, SourceResult
from connectors.paths import expand_path
from connectors.scan import TableScan, fresh_name
from kpitui import engine
from kpitui.engine import sql_literal

DEFAULT_PARAMS = ("ga_session_id", "page_location", "source", "medium", "campaign")
_USER_COLUMNS = ("user_pseudo_id", "user_id")
_VALUE_KINDS = ("string_value", "int_value", "double_value", "float_value")  # a param value's kinds
_KEY_OF = "lambda kpitui_param: kpitui_param.key"  # a param's key (a parameter named `p` met a file's column `p`)
_TOUCH_FIELDS = {"source": "source", "medium": "medium", "campaign": "name"}  # first-touch traffic_source fields
_TEXT_VALUE = "STRUCT(" + ", ".join(f"{kind} VARCHAR" for kind in _VALUE_KINDS) + ")"
_JSON_COLUMNS = {  # an NDJSON export's columns as read: text throughout (BigQuery writes INT64 values as strings)
    "event_timestamp": "VARCHAR",
    "event_name": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "user_id": "VARCHAR",
    "event_params": f"STRUCT(key VARCHAR, value {_TEXT_VALUE})[]",
    "traffic_source": "STRUCT(source VARCHAR, medium VARCHAR, name VARCHAR)",
    "is_active_user": "BOOLEAN",
}
_JSON_COLUMN_TYPES = "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in _JSON_COLUMNS.items()) + "}"
_JSON_EVENT = "STRUCT(" + ", ".join(f"{name} {kind}" for name, kind in _JSON_COLUMNS.items()) + ")"  # a line's type


def _column(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class EventFile:
    """One event export as the engine reads it: `source` a FROM item, `types` its columns' SQL types, `row` the
    expression of a row's place in the file."""

    source: str
    types: tuple[tuple[str, str], ...]
    row: str
    rows: int
    arrow: tuple[tuple[str, Any], ...] = ()
    origin: str = ""  # where the file's own columns are listed, when `types` are not (an NDJSON file)

    def source_time(self) -> str:
        """The event's time in µs since the epoch, UTC (null in a file without the column)."""
        kind = dict(self.types).get("event_timestamp")
        if kind is None:
            return "CAST(NULL AS BIGINT)"
        return "event_timestamp" if kind == "BIGINT" else "TRY_CAST(event_timestamp AS BIGINT)"

    def present(self, cursor: Any) -> dict[str, str]:
        """The columns the file itself has (for an NDJSON file, those in its first lines), without the row number
        its reader adds."""
        columns = _describe(cursor, self.origin) if self.origin else dict(self.types)
        return {name: kind for name, kind in columns.items() if name != self.row}

    def select(self, params: tuple[str, ...]) -> str:
        """The canonical events (`t` their time in µs) with a `param.KEY` text column for each of `params`."""
        types = dict(self.types)
        ids = [f"CAST({c} AS VARCHAR)" for c in _USER_COLUMNS if c in types]  # the client id, else the login
        user = ids[0] if len(ids) == 1 else f"COALESCE({', '.join(ids)})"
        login = "CAST(user_id AS VARCHAR)" if "user_id" in types else "NULL"
        active = "TRY_CAST(is_active_user AS BOOLEAN)" if "is_active_user" in types else "CAST(NULL AS BOOLEAN)"
        value = {key: self._param(key, types) for key in dict.fromkeys([*DEFAULT_PARAMS, *params])}
        touch = set(re.findall(r"\b(source|medium|name)\b", types.get("traffic_source", "")))
        attribution = {
            field: f"COALESCE({value[field]}, traffic_source.{name})" if name in touch else value[field]
            for field, name in _TOUCH_FIELDS.items()
        }
        keys = f", list_transform(event_params, {_KEY_OF}) AS kpitui_keys" if "event_params" in types else ""
        columns = [
            "CAST(make_timestamp(t) AS TIMESTAMPTZ) AS event_time",
            "t",
            "CAST(event_name AS VARCHAR) AS event_name",
            f"{user} AS user_id",
            f"{login} AS login_id",
            f"{value['ga_session_id']} AS session_id",
            *(f"{expression} AS {field}" for field, expression in attribution.items()),
            f"{active} AS is_active_user",
            *(f"{expression} AS {_column(PARAM_PREFIX + key)}" for key, expression in value.items()),
            "row",
        ]
        inner = f"SELECT *, {self.source_time()} AS t, {self.row} AS row{keys} FROM {self.source}"
        return f"SELECT {', '.join(columns)} FROM ({inner})"

    @staticmethod
    def _param(key: str, types: dict[str, str]) -> str:
        """A param's value as text: the first `event_params` entry with the key, else a column of that name."""
        found = []
        if "event_params" in types:
            value = f"event_params[list_position(kpitui_keys, {sql_literal(key)})].value"
            kinds = [kind for kind in _VALUE_KINDS if kind in types["event_params"]]
            found += [f"CAST({value}.{kind} AS VARCHAR)" for kind in kinds]
        if key in types:
            found.append(f"CAST({_column(key)} AS VARCHAR)")
        return f"COALESCE({', '.join(found)})" if len(found) > 1 else found[0] if found else "CAST(NULL AS VARCHAR)"


def _describe(cursor: Any, source: str) -> dict[str, str]:
    """The columns of a FROM item and their SQL types."""
    return {name: kind for name, kind, *_ in cursor.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def _checked(path: Path, types: dict[str, str]) -> None:
    """Raise unless the columns are a GA4 event export's."""
    missing = [c for c in ("event_timestamp", "event_name") if c not in types]
    missing += [] if any(c in types for c in _USER_COLUMNS) else ["user_pseudo_id"]
    if missing:
        raise ConnectorError(
            f"{path}: not a GA4 event export: no {', '.join(missing)} column; found {', '.join(sorted(types))[:300]}"
        )


_Lines = Callable[[Iterable[int]], list[int]]  # rows' places in a file, counted from 0 → their lines in it


def _lines_from_one(rows: Iterable[int]) -> list[int]:
    """The file lines of rows counted from 0, one line each and no header (NDJSON, Parquet rows)."""
    return [row + 1 for row in rows]


def _counted(
    cursor: Any, path: Path, part: EventFile, report: SourceReport, lines: _Lines = _lines_from_one
) -> EventFile:
    """The part with its row count, checked to hold events; those without a readable time are reported as skipped,
    at their `lines`. Raises the engine's error when it cannot read the file."""
    types = dict(part.types)
    user = " + ".join(f"count({c})" for c in _USER_COLUMNS if c in types) or "0"
    name = "count(event_name)" if "event_name" in types else "0"
    rows, timed, named, identified = cursor.execute(
        f"SELECT count(*), count(t), {name}, {user} FROM (SELECT *, {part.source_time()} AS t FROM {part.source})"
    ).fetchone()
    if rows == 0:
        raise ConnectorError(f"{path}: holds no events")
    if not (named and identified and timed):
        _checked(path, part.present(cursor))
    if timed < rows:
        timeless = cursor.execute(f"SELECT row FROM ({part.select(())}) WHERE t IS NULL ORDER BY row").fetchall()
        report.skip_many(path.name, lines(row for (row,) in timeless), "no readable event_timestamp")
    return replace(part, rows=rows)


def _parquet(cursor: Any, path: Path, report: SourceReport) -> EventFile:
    """A Parquet export, read in place (`row` its row number in the file)."""
    import duckdb

    source = f"read_parquet({sql_literal(str(path))}, file_row_number = true)"
    try:
        part = EventFile(source, tuple(_describe(cursor, source).items()), "file_row_number", 0)
        _checked(path, part.present(cursor))
        return _counted(cursor, path, part, report)
    except duckdb.Error as exc:
        raise ConnectorError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None


def _ndjson(cursor: Any, path: Path, report: SourceReport) -> EventFile:
    """An NDJSON export read into the engine once (every field as text; the table lives as long as the scan), as
    text is costly to parse again; one that DuckDB cannot read as it is (a broken line, another encoding) is read
    line by line instead, its bad lines reported."""
    import duckdb

    file = sql_literal(str(path))
    table = fresh_name("ndjson")
    try:  # DuckDB keeps a scan's order (preserve_insertion_order): a row's `rowid` in the table is its line's place
        cursor.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_json({file}, format = 'newline_delimited', "
            f"columns = {_JSON_COLUMN_TYPES})"
        )
        origin = f"read_json({file}, format = 'newline_delimited')"
        part = EventFile(table, tuple(_JSON_COLUMNS.items()), "rowid", 0, (), origin)
    except duckdb.Error:
        part = _ndjson_lines(cursor, path, report, table)
    return _held(cursor, path, part, report)


def _held(cursor: Any, path: Path, part: EventFile, report: SourceReport, lines: _Lines = _lines_from_one) -> EventFile:
    """`_counted` over a part read into an engine table of its own (`part.source`), which goes with the scan, or at
    once when the file is refused."""
    try:
        counted = _counted(cursor, path, part, report, lines)
    except BaseException:
        cursor.execute(f"DROP TABLE {part.source}")
        raise
    engine.drop_with(counted, part.source)
    return counted


def _from_json(text: str, kind: str) -> str:
    """SQL: JSON text read as the SQL type `kind` (null when it is not JSON of that shape: an object for a STRUCT,
    a list for a list); numbers and strings alike become text fields."""
    return f"TRY_CAST(TRY_CAST({text} AS JSON) AS {kind})"


def _ndjson_lines(cursor: Any, path: Path, report: SourceReport, table: str) -> EventFile:
    """Fill `table` as `_ndjson` does from an export DuckDB cannot read as it is: its text decoded by the careful
    reader, split at line feeds, each line parsed by the engine; lines that are not JSON objects are reported."""
    import numpy as np
    import pyarrow as pa

    from connectors.files import POSITION, read_lines

    lines = read_lines(path)
    arrow = fresh_name("arrow")
    cursor.register(arrow, pa.table({"line": lines, POSITION: np.arange(len(lines))}))
    parsed = f"(SELECT {POSITION}, TRY_CAST(line AS JSON) AS j, trim(line) = '' AS blank FROM {arrow})"
    try:
        bad = cursor.execute(
            f"SELECT {POSITION} FROM {parsed} WHERE NOT blank AND json_type(j) IS DISTINCT FROM 'OBJECT' ORDER BY 1"
        ).fetchall()
        report.skip_many(path.name, _lines_from_one(row for (row,) in bad), "not a JSON object")
        keys = cursor.execute(f"SELECT DISTINCT unnest(json_keys(j)) FROM {parsed} WHERE json_type(j) = 'OBJECT'")
        present = {key: "" for (key,) in keys.fetchall()}
        if not present:
            raise ConnectorError(f"{path}: no readable JSON lines")
        _checked(path, present)
        cursor.execute(
            f"CREATE TABLE {table} AS SELECT unnest(TRY_CAST(j AS {_JSON_EVENT})), {POSITION} FROM {parsed} "
            "WHERE json_type(j) = 'OBJECT'"
        )
    finally:
        cursor.unregister(arrow)
    return EventFile(table, (*_JSON_COLUMNS.items(), (POSITION, "BIGINT")), POSITION, 0)


_FLAT_PARAM = re.compile(r"^event_params\.(\d+)\.(key|value\.(\w+))$")


def _csv_nested(columns: list[str]) -> tuple[list[str], str]:
    """SQL putting a BigQuery CSV's text columns in an NDJSON export's shape: its plain columns, `event_params` and
    `traffic_source` from their JSON cells or from flattened `event_params.N.key`, `event_params.N.value.KIND`
    and `traffic_source.FIELD` columns; and the condition that a row's `event_params` cell is not a JSON list."""
    slots: dict[int, dict[str, str]] = {}
    touch: dict[str, str] = {}
    out = []
    for name in columns:
        if match := _FLAT_PARAM.match(name):
            slots.setdefault(int(match.group(1)), {})[match.group(3) or "key"] = _column(name)
        elif name.startswith("traffic_source."):
            touch[name.split(".", 1)[1]] = _column(name)
        elif name not in ("event_params", "traffic_source"):
            out.append(_column(name))
    unreadable = "FALSE"
    if slots:
        items = []
        for _, slot in sorted(slots.items()):
            if "key" in slot:
                value = ", ".join(f"{kind!r}: {slot.get(kind, 'CAST(NULL AS VARCHAR)')}" for kind in _VALUE_KINDS)
                items.append(f"{{'key': {slot['key']}, 'value': {{{value}}}}}")
        out.append(f"list_filter([{', '.join(items)}], {_KEY_OF} IS NOT NULL) AS event_params")
    elif "event_params" in columns:
        params = _from_json("event_params", _JSON_COLUMNS["event_params"])
        out.append(f"{params} AS event_params")
        unreadable = f"event_params IS NOT NULL AND {params} IS NULL"
    if touch:
        fields = ", ".join(f"{f} := {touch.get(f, 'CAST(NULL AS VARCHAR)')}" for f in _TOUCH_FIELDS.values())
        out.append(f"struct_pack({fields}) AS traffic_source")
    elif "traffic_source" in columns:
        out.append(f"{_from_json('traffic_source', _JSON_COLUMNS['traffic_source'])} AS traffic_source")
    return out, unreadable


def _csv(cursor: Any, path: Path, report: SourceReport) -> EventFile:
    """A BigQuery export saved as CSV, read by the careful CSV reader (encodings, quoted newlines, ragged rows by
    line; only empty cells are null) and put in the engine once in an NDJSON export's shape (the table lives as
    long as the scan); rows whose `event_params` cell is not a JSON list are skipped, by line."""
    from connectors.files import POSITION, read_csv_strings

    read = read_csv_strings(path, report, nulls=("",))
    lines = lambda rows: read.physical_lines(row + read.first_data_line for row in rows)  # noqa: E731
    arrow, table = fresh_name("arrow"), fresh_name("csv")
    columns, unreadable = _csv_nested(read.table.column_names)
    cursor.register(arrow, read.with_positions())
    try:
        bad = cursor.execute(f"SELECT {POSITION} FROM {arrow} WHERE {unreadable} ORDER BY 1").fetchall()
        report.skip_many(path.name, lines(row for (row,) in bad), "event_params is not a JSON list")
        cursor.execute(
            f"CREATE TABLE {table} AS SELECT {', '.join(columns)}, {POSITION} FROM {arrow} WHERE NOT ({unreadable})"
        )
    finally:
        cursor.unregister(arrow)
    return _held(cursor, path, EventFile(table, tuple(_describe(cursor, table).items()), POSITION, 0), report, lines)


def _is_ui_export(path: Path) -> tuple[bool, str]:
    """Whether a CSV is a UI report (a `#` comment block) and its first line."""
    from connectors.files import read_bytes, to_utf8

    head = to_utf8(read_bytes(path)[:65536], path, whole=False)
    first = bytes(head[:]).decode("utf-8", errors="replace").lstrip("\ufeff")
    return first.startswith("#"), first.split("\n", 1)[0]


def _read_file(cursor: Any, path: Path, report: SourceReport) -> dict[str, Any]:
    """One export file's tables: an event export as a scan part, a UI report as frames."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        report.layout = "GA4 BigQuery export (Parquet)"
        return {"events": _parquet(cursor, path, report)}
    if name.endswith((".ndjson", ".jsonl", ".json")):
        report.layout = "GA4 BigQuery export (NDJSON)"
        return {"events": _ndjson(cursor, path, report)}
    ui, first_line = _is_ui_export(path) if name.endswith((".csv", ".tsv", ".txt")) else (False, "")
    if ui:
        from connectors.files import read_text
        from connectors.ga4_reports import read_ui_export

        return read_ui_export(read_text(path), path, report)
    if "event_name" in first_line:
        report.layout = "GA4 BigQuery export (CSV)"
        return {"events": _csv(cursor, path, report)}
    raise ConnectorError(
        f"{path}: not a GA4 export kpitui knows (expected a BigQuery export as .ndjson/.parquet/.csv "
        "with event_name and event_timestamp, or a UI report CSV starting with # comment lines)"
    )


def _stacked(name: str, parts: list[Any]) -> Any:
    """Tables of one kind from several files: scans one after another, report frames concatenated."""
    if name == "events":
        return TableScan(tuple(parts))
    from connectors.frames import conform, stack

    return conform(name, stack(parts))


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every file of the source's path (a glob): event exports become one scan, report tables are stacked."""
    report = SourceReport()
    collected: dict[str, list[Any]] = {}
    cursor = engine.cursor()
    try:
        for path in expand_path(options["path"]):
            try:
                tables = _read_file(cursor, path, report)
            except ConnectorError as exc:
                message = str(exc)
                raise ConnectorError(message if message.startswith(str(path)) else f"{path}: {message}") from None
            for name, table in tables.items():
                collected.setdefault(name, []).append(table)
    finally:
        cursor.close()
    result = {name: _stacked(name, parts) for name, parts in collected.items()}
    report.rows = sum(len(table) for table in result.values())
    return SourceResult(result, report)
