"""Survey exports (Delighted, SurveyMonkey, Qualtrics, Typeform, Google Forms, generic) → `responses`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import CsvTable, ReadPlan, normalise_header, read_csv_strings
from connectors.frames import conform
from connectors.parsing import (
    Column,
    parse_numbers,
    parse_times,
    string_series,
    timestamp_parsers,
    unix_times,
    unsettled_date_order,
)
from connectors.paths import expand_path
from connectors.sql_text import DATE_ORDER_HINT

_SCORE_WORDS = re.compile(r"recommend|\bnps\b|score|likely|rating", re.I)
_COMMENT_WORDS = re.compile(r"comment|why|reason|feedback|open-ended|tell us|anything else", re.I)
_DATE_ALIASES = (
    "created at",
    "submit date (utc)",
    "submitted at",
    "timestamp",
    "recordeddate",
    "enddate",
    "end date",
    "response date",
    "responded at",
    "date",
    "created",
)
_ID_ALIASES = ("id", "response id", "responseid", "respondent id", "#", "token")
_SEGMENT_ALIASES = ("segment", "plan", "person properties plan", "tier")


def _header_count(head: str) -> int:
    """1, or 2 for SurveyMonkey's sub-label row, or 3 for Qualtrics' ImportId row (from the file's start)."""
    lines = head.splitlines()
    if len(lines) > 2 and '{"ImportId"' in lines[2].replace('""', '"'):
        return 3
    if len(lines) > 1 and re.search(r"(^|,)(Response|Open-Ended Response)(,|$)", lines[1]):
        return 2
    return 1


def _labels(table: CsvTable) -> dict[str, str]:
    """Column name → all its header texts joined (question text lives in row 2 for Qualtrics)."""
    names = list(table.frame.columns)
    labels = {}
    for i, name in enumerate(names):
        parts = [row[i] for row in table.header_rows if i < len(row)]
        labels[name] = " ".join(parts)
    return labels


def _whole_scores(numbers: pd.Series) -> pd.Series:
    """Whole numbers 0–10 as Int64; anything else null."""
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    whole = (values >= 0) & (values <= 10) & (np.floor(values) == values)
    integers = np.where(whole, values, 0).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(integers, ~whole), index=numbers.index, copy=False)


def _scores(values: Column) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Scores as Int64, and the masks of blank values and of values that are not whole numbers 0–10."""
    if isinstance(values, pa.ChunkedArray | pa.Array) and pa.types.is_integer(values.type):
        blank = values.is_null().to_numpy(zero_copy_only=False)
        integers = values.fill_null(-1).to_numpy().astype(np.int64, copy=False)
        whole = (integers >= 0) & (integers <= 10)
        return pd.Series(pd.arrays.IntegerArray(integers, ~whole), copy=False), blank, ~whole & ~blank
    numbers, unreadable = parse_numbers(values)
    scores = _whole_scores(numbers)
    blank = (numbers.isna() & ~unreadable).to_numpy()
    return scores, blank, ~blank & scores.isna().to_numpy()


def _integers(values: Column) -> pd.Series:
    """Whole numbers 0–10 as Int64; anything else null."""
    return _whole_scores(parse_numbers(values)[0])


def find_score_column(table: CsvTable, configured: str | None) -> str:
    """The configured score column, or the 0–10 integer column whose header says recommend/NPS/score."""
    frame = table.frame
    if configured:
        match = [c for c in frame.columns if normalise_header(c) == normalise_header(configured)]
        if not match:
            raise ConnectorError(
                f"{table.path}: score_column {configured!r} not found; found: {', '.join(frame.columns)[:400]}"
            )
        return match[0]
    exact = [c for c in frame.columns if normalise_header(c) in ("score", "nps", "nps score")]
    if exact:
        return exact[0]
    labels = _labels(table)
    best, best_share = None, 0.0
    for name in frame.columns:
        present = frame[name].dropna()
        if present.empty or name.endswith("_NPS_GROUP") or not _SCORE_WORDS.search(labels[name]):
            continue
        share = _integers(present.head(2000)).notna().mean()
        if share >= 0.5 and share > best_share:
            best, best_share = name, share
    if best is None:
        raise ConnectorError(
            f"{table.path}: no NPS score column (0–10 integers, header mentioning recommend/NPS/score); "
            f"set score_column under [sources.NAME]. Found: {', '.join(frame.columns)[:400]}"
        )
    return best


def _find(
    table: CsvTable,
    configured: str | None,
    aliases: tuple[str, ...],
    pattern: re.Pattern | None = None,
    exclude: tuple[str, ...] = (),
) -> str | None:
    frame = table.frame
    normal = {normalise_header(c): c for c in frame.columns if c not in exclude}
    if configured:
        found = normal.get(normalise_header(configured))
        if found is None:
            raise ConnectorError(
                f"{table.path}: column {configured!r} not found; found: {', '.join(frame.columns)[:400]}"
            )
        return found
    for alias in aliases:
        if alias in normal:
            return normal[alias]
    if pattern is not None:
        labels = _labels(table)
        candidates = [c for c in frame.columns if c not in exclude and pattern.search(labels[c])]
        if candidates:
            return max(candidates, key=lambda c: frame[c].notna().sum())
    return None


def _times(values: Column, timezone: str, order: str | None) -> tuple[pd.Series, pd.Series]:
    """Unix seconds (Delighted's `created_at`) or timestamp text → UTC times and a bad mask."""
    if isinstance(values, pa.ChunkedArray | pa.Array) and pa.types.is_timestamp(values.type):
        return parse_times(values, timezone)
    numeric = isinstance(values, pa.ChunkedArray | pa.Array) and pa.types.is_integer(values.type)
    seconds, bad = (values, pd.Series(False, index=pd.RangeIndex(len(values)))) if numeric else parse_numbers(values)
    if not bad.any():
        found = unix_times(seconds if numeric else pa.array(seconds, from_pandas=True))
        if found is not None:
            return found
    return parse_times(values, timezone, order)


def _number_type(sample: Column) -> pa.DataType:
    """int64 when the sample's values are all integers, else float64 (what the fast read tries)."""
    try:
        pc.cast(sample, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.float64()
    return pa.int64()


def _choose_columns(sample: CsvTable, options: Mapping[str, Any]) -> dict[str, str]:
    """Canonical field → the column it comes from, found on the header and the first rows."""
    score_col = find_score_column(sample, options.get("score_column"))
    comment_col = _find(
        sample, options.get("comment_column"), ("comment", "comments", "feedback"), _COMMENT_WORDS, exclude=(score_col,)
    )
    found = {
        "score": score_col,
        "comment": comment_col,
        "responded_at": _find(sample, options.get("date_column"), _DATE_ALIASES),
        "segment": _find(sample, options.get("segment_column"), _SEGMENT_ALIASES),
        "response_id": _find(sample, None, _ID_ALIASES),
    }
    return {field: column for field, column in found.items() if column}


def _read_file(path, options: Mapping[str, Any], report: SourceReport) -> pd.DataFrame:
    """One survey export → responses (blank, out-of-range and undatable rows skipped and reported)."""
    columns: dict[str, str] = {}
    order = options.get("date_order")

    def plan(sample: CsvTable) -> ReadPlan:
        columns.update(_choose_columns(sample, options))
        types = {columns["score"]: _number_type(sample.table[columns["score"]])}
        parsers: tuple[str, ...] = ()
        if "responded_at" in columns:
            dates = sample.table[columns["responded_at"]]
            parsers = timestamp_parsers(dates, order)
            types[columns["responded_at"]] = pa.timestamp("us") if parsers else _number_type(dates)
        return ReadPlan(list(dict.fromkeys(columns.values())), types, parsers)

    table = read_csv_strings(path, report, header_count=_header_count, plan=plan)
    report.columns_used.update(columns)
    raw = table.table
    index = pd.RangeIndex(len(raw))
    score_col, date_col = columns["score"], columns.get("responded_at")
    out: dict[str, Any] = {}
    out["score"], blank, invalid = _scores(raw[score_col])
    for field in ("comment", "segment", "response_id"):
        if field in columns:
            out[field] = string_series(raw[columns[field]])
    if "response_id" not in columns:
        out["response_id"] = string_series(pa.array(index + table.first_data_line))
    out["responded_at"], bad_dates = pd.NaT, np.zeros(len(raw), dtype=bool)
    if date_col:
        out["responded_at"], bad = _times(raw[date_col], options.get("timezone", "UTC"), order)
        bad_dates = bad.to_numpy()
        if order is None and unsettled_date_order(raw[date_col], table.plan.timestamp_parsers):
            report.warnings.append(f"{path.name}: {DATE_ORDER_HINT}")
    responses = pd.DataFrame(out, index=index, copy=False)
    keep = ~(blank | invalid | bad_dates)
    for mask, reason in (
        (blank, "no score"),
        (invalid, "score is not a whole number 0–10"),
        (~blank & ~invalid & bad_dates, f"unreadable {date_col!r} date"),
    ):
        if mask.any():
            report.skip_many(path.name, table.physical_lines(np.flatnonzero(mask) + table.first_data_line), reason)
    return responses if keep.all() else responses[keep]


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every survey file of the source's path (a glob)."""
    report = SourceReport(layout="survey")
    frames = [_read_file(path, options, report) for path in expand_path(options["path"])]
    responses = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if responses.empty or responses["responded_at"].isna().all():
        report.warnings.append("no response dates: NPS is scored over the whole export, with no window or trend")
    report.rows = len(responses)
    return SourceResult({"responses": conform("responses", responses)}, report)
