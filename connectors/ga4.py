"""Google Analytics 4 exports → `events` (BigQuery export), `traffic` (UI reports), `funnel_steps`."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import expand_path, read_bytes, read_text, to_utf8
from connectors.frames import PARAM_PREFIX, conform, stack
from connectors.parsing import TEXT, category_series, parse_numbers, string_series

DEFAULT_PARAMS = ("ga_session_id", "page_location", "source", "medium", "campaign")
_STEP = re.compile(r"^\s*(\d+)\.\s+(\S.*)$")
_RANGE = re.compile(r"^#\s*(\d{8})-(\d{8})\s*$")
_DATE_KEY = re.compile(r"^#\s*(Start|End) date:\s*(\d{8})\s*$", re.I)


_USER_COLUMNS = {"user_pseudo_id", "user_id"}
_FLAT_VALUES = ("string_value", "int_value", "double_value", "float_value")  # a param value's kinds


def _events_from_arrow(table: pa.Table, wanted: tuple[str, ...]) -> pd.DataFrame:
    """A BigQuery-export table → the events frame with `param.*` columns, vectorised."""
    names = set(table.column_names)
    missing = sorted({"event_timestamp", "event_name"} - names) + ([] if names & _USER_COLUMNS else ["user_pseudo_id"])
    if missing:
        raise ConnectorError(
            f"not a GA4 event export: no {', '.join(missing)} column; found {', '.join(sorted(names))[:300]}"
        )
    with ThreadPoolExecutor(2) as pool:  # the params pivot, key by key (arrow and numpy release the GIL)
        jobs = _pivot_params(table, wanted, pool) if "event_params" in names else {}
        stamp = pc.cast(table.column("event_timestamp"), pa.int64(), safe=False)
        out = pd.DataFrame(
            {
                "event_time": stamp.cast(pa.timestamp("us", tz="UTC")).to_pandas(),
                "event_name": category_series(table.column("event_name")),
            }
        )
        user = table.column("user_pseudo_id") if "user_pseudo_id" in names else table.column("user_id")
        out["user_id"] = string_series(user)
        params = {key: column for key, job in jobs.items() if (column := job.result()) is not None}
    for key in wanted:
        if key in names and key not in params:
            params[key] = string_series(table.column(key))
    for key in params:
        out[PARAM_PREFIX + key] = params[key].values
    out["session_id"] = params["ga_session_id"].values if "ga_session_id" in params else None
    first_touch = table.column("traffic_source").combine_chunks() if "traffic_source" in names else None
    for field, fallback in (("source", "source"), ("medium", "medium"), ("campaign", "name")):
        value = params[field].astype("string") if field in params else string_series(pa.nulls(len(out), TEXT))
        if first_touch is not None and fallback in [f.name for f in first_touch.type]:
            value = value.fillna(string_series(first_touch.field(fallback)))
        out[field] = value.values
    return out


def _pivot_params(
    table: pa.Table, wanted: tuple[str, ...], pool: ThreadPoolExecutor
) -> dict[str, Future[pd.Series | None]]:
    """Start pivoting `event_params` (list of {key, value{…}}) into one text column per wanted key: a job per key."""
    column = table.column("event_params").combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pa.array([json.loads(v) if v else [] for v in column.to_pylist()])
    flat = pc.list_flatten(column)
    parents = pc.list_parent_indices(column).to_numpy()
    which = _key_positions(flat.field("key"), wanted)
    value = flat.field("value")
    kinds = [value.field(f.name) for f in value.type if f.name in _FLAT_VALUES]
    return {
        key: pool.submit(_param_column, which, number, parents, kinds, table.num_rows)
        for number, key in enumerate(wanted)
    }


def _param_column(
    which: np.ndarray, number: int, parents: np.ndarray, kinds: list[pa.Array], rows: int
) -> pd.Series | None:
    """The values by event of the key at `number` in `which` (each flattened param's key), None when no event has
    it."""
    hits = np.flatnonzero(which == number)
    if not len(hits):
        return None
    owners = parents[hits]
    first = np.concatenate(([True], owners[1:] != owners[:-1]))  # values follow their rows: a row's first one
    chosen = pa.array(hits[first])  # only these become text: an export holds many params that are not wanted
    values = _param_values([pc.take(kind, chosen) for kind in kinds], len(chosen))
    if len(values) < rows:  # some rows lack the key: spread the values to their rows
        position = np.full(rows, -1, dtype=np.int64)
        position[owners[first]] = np.arange(len(values))
        values = pc.take(values, pa.array(position, mask=position < 0))
    return category_series(values) if pa.types.is_dictionary(values.type) else string_series(values)


def _param_values(kinds: list[pa.Array], count: int) -> pa.Array:
    """A param's values as text, the first kind holding one winning; whole numbers alone (session ids) become a
    dictionary, each distinct number written as text once (writing 2M numbers as text is the pivot's longest
    step)."""
    present = [kind for kind in kinds if kind.null_count < len(kind)]
    if len(present) == 1 and pa.types.is_integer(present[0].type):
        encoded = pc.dictionary_encode(present[0])
        return pa.DictionaryArray.from_arrays(encoded.indices, pc.cast(encoded.dictionary, TEXT))
    return pc.coalesce(*[pc.cast(kind, TEXT) for kind in present]) if present else pa.nulls(count, TEXT)


def _key_positions(keys: pa.Array, wanted: tuple[str, ...]) -> np.ndarray:
    """Each param key's position in `wanted` (-1 for others); a dictionary-encoded key's values looked up once."""
    if pa.types.is_dictionary(keys.type):
        found = _key_positions(keys.dictionary, wanted)
        return np.append(found, np.int32(-1))[keys.indices.fill_null(-1).to_numpy()]
    return pc.index_in(keys, value_set=pa.array(wanted, type=keys.type)).fill_null(-1).to_numpy()


_EVENT_COLUMNS = ("event_timestamp", "event_name", "user_pseudo_id", "user_id", "event_params", "traffic_source")


def _read_parquet(path: Path, wanted: tuple[str, ...]) -> pa.Table:
    """The columns the events frame is built from (exports hold many more: device, geo, items, …); event names
    and param keys, a few values repeated on every row, read as dictionaries (faster, and hashed never)."""
    try:
        schema = pq.ParquetFile(path).schema
        present = schema.to_arrow_schema().names
        repeated = [
            column.path
            for column in map(schema.column, range(len(schema)))
            if column.path == "event_name" or (column.path.startswith("event_params.") and column.name == "key")
        ]
        return pq.read_table(
            path, columns=[name for name in present if name in (*_EVENT_COLUMNS, *wanted)], read_dictionary=repeated
        )
    except (pa.ArrowException, OSError) as exc:
        raise ConnectorError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None


def _read_ndjson(path: Path, report: SourceReport) -> pa.Table:
    data = to_utf8(read_bytes(path), path)
    try:
        return pajson.read_json(pa.BufferReader(pa.py_buffer(data)))
    except pa.ArrowInvalid:
        rows = []
        for number, line in enumerate(data[:].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError
            except ValueError:
                report.skip(path.name, number, "not a JSON object")
                continue
            row["event_timestamp"] = (
                int(row["event_timestamp"]) if str(row.get("event_timestamp", "")).isdigit() else None
            )
            rows.append(row)
        if not rows:
            raise ConnectorError(f"{path}: no readable JSON lines") from None
        return pa.Table.from_pylist(rows)


_FLAT_PARAM_KEY = re.compile(r"^event_params\.(\d+)\.key$")


def _unflatten_params(frame: pd.DataFrame, wanted: tuple[str, ...]) -> pd.DataFrame:
    """`event_params.N.key` / `event_params.N.value.*` columns → one column per wanted param (first match wins)."""
    slots = sorted(int(m.group(1)) for m in map(_FLAT_PARAM_KEY.match, frame.columns) if m)
    params = {key: pd.Series("", index=frame.index) for key in wanted}
    for n in slots:
        value = pd.Series("", index=frame.index)
        for kind in _FLAT_VALUES:
            column = f"event_params.{n}.value.{kind}"
            if column in frame:
                value = value.where(value != "", frame[column])
        for key, found in params.items():
            take = (frame[f"event_params.{n}.key"] == key) & (found == "")
            params[key] = found.where(~take, value)
    flat = [c for c in frame.columns if c.startswith("event_params.")]
    out = frame.drop(columns=flat)
    for key, found in params.items():
        if key not in out:
            out[key] = found.replace("", None)
    return out


def _read_events_csv(text: str, path: Path, wanted: tuple[str, ...], report: SourceReport) -> pa.Table:
    """The raw table as CSV: nested fields as JSON cells, or flattened into `a.0.b` columns."""
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if any(_FLAT_PARAM_KEY.match(c) for c in frame.columns):
        frame = _unflatten_params(frame, wanted)
    touch = {c.split(".", 1)[1]: frame.pop(c) for c in list(frame.columns) if c.startswith("traffic_source.")}
    table = None
    if "event_params" in frame:
        parsed = []
        for number, cell in zip(frame.index, frame["event_params"]):
            try:
                parsed.append(json.loads(cell) if cell else [])
            except ValueError:
                report.skip(path.name, int(number) + 2, "event_params is not valid JSON")
                parsed.append([])
        frame = frame.drop(columns=["event_params"])
        table = pa.Table.from_pandas(frame, preserve_index=False).append_column("event_params", pa.array(parsed))
    table = table if table is not None else pa.Table.from_pandas(frame, preserve_index=False)
    if touch:
        fields = {name: pa.array(values.replace("", None), pa.string()) for name, values in touch.items()}
        table = table.append_column("traffic_source", pa.StructArray.from_arrays(fields.values(), list(fields)))
    return table


def _ui_export(text: str, path: Path, report: SourceReport) -> dict[str, pd.DataFrame]:
    """A UI report or exploration CSV: comment block, blank-line-separated tables."""
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    dates = {m.group(1).lower(): m.group(2) for m in map(_DATE_KEY.match, comments) if m}
    for m in map(_RANGE.match, comments):
        if m:
            dates = {"start": m.group(1), "end": m.group(2)}
    end = pd.to_datetime(dates.get("end"), format="%Y%m%d", utc=True) if "end" in dates else pd.NaT
    body = [line for line in lines if not line.startswith("#")]
    blocks, current = [], []
    for line in body:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    decimal_comma = any(_DECIMAL_COMMA.match(cell.strip()) for line in body for cell in next(csv.reader([line]), []))
    traffic, steps = [], []
    for block in blocks:
        rows = list(csv.reader(io.StringIO("\n".join(block))))
        header, data = rows[0], rows[1:]
        if data and any(_STEP.match(r[0] or "") for r in data):
            steps.append(_funnel_rows(header, data))
        else:
            traffic.append(_traffic_rows(header, data, end, path, report, decimal_comma))
    universal = any(line.strip("# ").strip() == "All Web Site Data" for line in comments)
    report.layout = "GA4 funnel exploration" if steps else "Universal Analytics report" if universal else "GA4 report"
    frames = {}
    if traffic:
        frames["traffic"] = conform("traffic", pd.concat(traffic, ignore_index=True))
    if steps:
        frames["funnel_steps"] = conform("funnel_steps", pd.concat(steps, ignore_index=True))
    return frames


def _funnel_rows(header: list[str], data: list[list[str]]) -> pd.DataFrame:
    users_col = next((i for i, h in enumerate(header) if h.strip().lower() in ("active users", "users")), 1)
    segment_col = 1 if users_col > 1 else None
    out = []
    for row in data:
        match = _STEP.match(row[0] or "")
        if not match:
            continue
        users, _ = parse_numbers(pd.Series([row[users_col] if users_col < len(row) else ""]))
        out.append(
            {
                "step_index": int(match.group(1)),
                "step_name": match.group(2).strip(),
                "users": users.iloc[0],
                "segment": row[segment_col] if segment_col is not None else "",
            }
        )
    return pd.DataFrame(out)


_TIME_FORMATS = ("%Y%m%d", "%Y%m", "%d/%m/%Y", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%d.%m.%y")
_DECIMAL_COMMA = re.compile(r"^-?[\d.]*\d,(\d{1,2}|\d{4,})%?$")
_HMS = re.compile(r"^(\d+):(\d{2}):(\d{2})$")
_CURRENCY = "$€£¥"


def _report_dates(values: pd.Series) -> pd.Series | None:
    """The dimension's values as UTC dates when one date format reads them all (YYYYMMDD, locale days, …)."""
    present = values.str.strip()
    for fmt in _TIME_FORMATS:
        dates = pd.to_datetime(present, format=fmt, errors="coerce", utc=True)
        if len(dates) and dates.notna().all():
            return dates
    return None


def _report_values(raw: pd.Series, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    """Report cells as numbers: thousands separators, `%` (→ fraction), `HH:MM:SS` (→ seconds), currency."""
    text = raw.fillna("").str.strip().str.strip(_CURRENCY).str.strip()
    percent = text.str.endswith("%")
    text = text.str.rstrip("%")
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    values, bad = parse_numbers(text)
    clock = text.str.extract(_HMS).astype(float)
    seconds = clock[0] * 3600 + clock[1] * 60 + clock[2]
    values = values.where(seconds.isna(), seconds).where(~percent, values / 100)
    return values, bad & seconds.isna()


def _traffic_rows(header, data, end, path, report, decimal_comma: bool) -> pd.DataFrame:
    dimension = header[0]
    rows = [r for r in data if r and r[0].strip() and (r[-1] or "").strip().lower() != "grand total"]
    frame = pd.DataFrame([r[: len(header)] + [""] * (len(header) - len(r)) for r in rows], columns=header)
    long = frame.melt(id_vars=[dimension], var_name="metric", value_name="raw")
    long["value"], bad = _report_values(long["raw"], decimal_comma)
    if bad.any():
        report.warnings.append(f"{path.name}: {int(bad.sum())} cell(s) are not numbers")
    dates = _report_dates(long[dimension]) if len(long) else None
    if dates is not None:
        long["date"], long["dimension"], long["dimension_value"] = dates, dimension, None
    else:
        long["date"], long["dimension"], long["dimension_value"] = end, dimension, long[dimension]
    return long[["date", "metric", "value", "dimension", "dimension_value"]]


def _read_file(path: Path, wanted: tuple[str, ...], report: SourceReport) -> dict[str, pd.DataFrame]:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        report.layout = "GA4 BigQuery export (Parquet)"
        return {"events": _events_from_arrow(_read_parquet(path, wanted), wanted)}
    if name.endswith((".ndjson", ".jsonl", ".json")):
        report.layout = "GA4 BigQuery export (NDJSON)"
        return {"events": _events_from_arrow(_read_ndjson(path, report), wanted)}
    text = read_text(path) if name.endswith((".csv", ".tsv", ".txt")) else ""
    if text.lstrip("\ufeff").startswith("#"):
        return _ui_export(text, path, report)
    if "event_name" in text.split("\n", 1)[0]:
        report.layout = "GA4 BigQuery export (CSV)"
        return {"events": _events_from_arrow(_read_events_csv(text, path, wanted, report), wanted)}
    raise ConnectorError(
        f"{path}: not a GA4 export kpitui knows (expected a BigQuery export as .ndjson/.parquet/.csv "
        "with event_name and event_timestamp, or a UI report CSV starting with # comment lines)"
    )


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every file of the source's path (a glob) and stack frames of the same kind."""
    report = SourceReport()
    wanted = tuple(dict.fromkeys([*DEFAULT_PARAMS, *options.get("params", ())]))
    collected: dict[str, list[pd.DataFrame]] = {}
    for path in expand_path(options["path"]):
        try:
            frames = _read_file(path, wanted, report)
        except ConnectorError as exc:
            message = str(exc)
            raise ConnectorError(message if message.startswith(str(path)) else f"{path}: {message}") from None
        for name, frame in frames.items():
            collected.setdefault(name, []).append(frame)
    result = {name: conform(name, stack(parts)) for name, parts in collected.items()}
    report.rows = sum(len(f) for f in result.values())
    return SourceResult(result, report)
