"""Survey exports (Delighted, SurveyMonkey, Qualtrics, Typeform, Google Forms, generic) → `responses`: the
Arrow table pyarrow's CSV reader made, converted by the engine in SQL as metrics read it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from connectors import sql_text as sql
from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import (
    POSITION,
    CsvTable,
    ReadPlan,
    column_kinds,
    csv_parsers,
    localized_times,
    normalise_header,
    read_csv_strings,
    zone_of,
)
from connectors.paths import expand_path
from connectors.scan import ConvertedPart, TableScan, fresh_name
from connectors.schemas import canonical_select
from kpitui import engine
from kpitui.formatting import counted

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
_EMAIL_ALIASES = ("email", "email address", "recipient email", "respondent email", "person email", "e-mail")


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
    labels = {}
    for i, name in enumerate(table.table.column_names):
        labels[name] = " ".join(row[i] for row in table.header_rows if i < len(row))
    return labels


def _whole_score(number: str) -> str:
    """A number as a score: whole numbers 0–10, else null."""
    return f"CASE WHEN {number} BETWEEN 0 AND 10 AND {number} = floor({number}) THEN CAST({number} AS BIGINT) END"


def _share_of_scores(cursor, column: str) -> float:
    """The share of a sample column's values (of the first 2,000 present) that are whole numbers 0–10."""
    value = sql.text(column)
    found = cursor.execute(
        f"SELECT avg(CASE WHEN {_whole_score(sql.number('v'))} IS NULL THEN 0 ELSE 1 END) "
        f"FROM (SELECT {value} AS v FROM sample WHERE v IS NOT NULL LIMIT 2000)"
    ).fetchall()[0][0]
    return float(found or 0.0)


def find_score_column(cursor, table: CsvTable, configured: str | None) -> str:
    """The configured score column, or the 0–10 integer column whose header says recommend/NPS/score."""
    names = table.table.column_names
    if configured:
        match = [c for c in names if normalise_header(c) == normalise_header(configured)]
        if not match:
            raise ConnectorError(
                f"{table.path}: score_column {configured!r} not found; found: {', '.join(names)[:400]}"
            )
        return match[0]
    exact = [c for c in names if normalise_header(c) in ("score", "nps", "nps score")]
    if exact:
        return exact[0]
    labels = _labels(table)
    best, best_share = None, 0.0
    for name in names:
        if name.endswith("_NPS_GROUP") or not _SCORE_WORDS.search(labels[name]):
            continue
        share = _share_of_scores(cursor, name)
        if share >= 0.5 and share > best_share:
            best, best_share = name, share
    if best is None:
        raise ConnectorError(
            f"{table.path}: no NPS score column (0–10 integers, header mentioning recommend/NPS/score); "
            f"set score_column under [sources.NAME]. Found: {', '.join(names)[:400]}"
        )
    return best


def _find(
    cursor,
    table: CsvTable,
    configured: str | None,
    aliases: tuple[str, ...],
    pattern: re.Pattern | None = None,
    exclude: tuple[str, ...] = (),
) -> str | None:
    """A column by its configured name, an alias, or (with `pattern`) the header that matches with most values."""
    names = table.table.column_names
    normal = {normalise_header(c): c for c in names if c not in exclude}
    if configured:
        found = normal.get(normalise_header(configured))
        if found is None:
            raise ConnectorError(f"{table.path}: column {configured!r} not found; found: {', '.join(names)[:400]}")
        return found
    for alias in aliases:
        if alias in normal:
            return normal[alias]
    if pattern is not None:
        labels = _labels(table)
        candidates = [c for c in names if c not in exclude and pattern.search(labels[c])]
        if candidates:
            counts = cursor.execute(
                f"SELECT {', '.join(f'count({sql.identifier(c)})' for c in candidates)} FROM sample"
            ).fetchall()[0]
            return max(zip(candidates, counts, strict=True), key=lambda pair: pair[1])[0]
    return None


def _choose_columns(cursor, sample: CsvTable, options: Mapping[str, Any]) -> dict[str, str]:
    """Canonical field → the column it comes from, found on the header and the first rows."""
    cursor.register("sample", sample.table)
    score_col = find_score_column(cursor, sample, options.get("score_column"))
    comment_col = _find(
        cursor, sample, options.get("comment_column"), ("comment", "comments", "feedback"), _COMMENT_WORDS,
        exclude=(score_col,),
    )  # fmt: skip
    found = {
        "score": score_col,
        "comment": comment_col,
        "responded_at": _find(cursor, sample, options.get("date_column"), _DATE_ALIASES),
        "segment": _find(cursor, sample, options.get("segment_column"), _SEGMENT_ALIASES),
        "response_id": _find(cursor, sample, None, _ID_ALIASES),
        "respondent": _find(cursor, sample, None, _EMAIL_ALIASES),
        "customer_ref": _find(cursor, sample, options.get("customer_column"), ()),
    }
    return {field: column for field, column in found.items() if column}


def _plan(cursor, sample: CsvTable, columns: dict[str, str], order: str | None) -> ReadPlan:
    """The columns to read and the types to try for the whole file: the score as a number, the date as a time in
    the formats that read the sample, or as a number (Unix seconds)."""
    types = {columns["score"]: _number_type(cursor, columns["score"])}
    formats: tuple[str, ...] = ()
    if "responded_at" in columns:
        dates = columns["responded_at"]
        formats = sql.formats_reading(cursor, "sample", sql.text(dates), order)
        types[dates] = pa.timestamp("us") if formats else _number_type(cursor, dates)
    return ReadPlan(list(dict.fromkeys(columns.values())), types, csv_parsers(formats))


def _number_type(cursor, column: str) -> pa.DataType:
    """int64 when the sample's values are all integers, else float64 (what the fast read tries)."""
    return pa.int64() if sql.all_integers(cursor, "sample", sql.text(column), plain=False) else pa.float64()


def _number(column: str, kind: str) -> str:
    """A column as a number: as the CSV reader typed it, or read from its text."""
    return sql.identifier(column) if kind == "number" else sql.number(sql.text(column))


def _present(column: str, kinds: dict[str, str]) -> str:
    """The condition that a row has a value in the column (text that is not blank)."""
    return f"{sql.text(column) if kinds[column] == 'text' else sql.identifier(column)} IS NOT NULL"


def _score_reading(
    cursor, name: str, column: str, kind: str, values: str | None, path: Path, report: SourceReport
) -> str:
    """The SQL reading the score column: scores 0–10, or SurveyMonkey's "numerical value" choice positions 1–11
    (`score_values`; unset: positions when no value is 0 and at least three values, a twentieth of all, are 11)."""
    number = _number(column, kind)
    if values is None:
        zeros, elevens, whole = cursor.execute(
            f"SELECT count(CASE WHEN {number} = 0 THEN 1 END), count(CASE WHEN {number} = 11 THEN 1 END), "
            f"count(CASE WHEN {number} = floor({number}) THEN 1 END) FROM {name}"
        ).fetchall()[0]
        if zeros == 0 and elevens >= 3 and elevens * 20 >= whole:
            values = "positions"
            report.warnings.append(
                f'{path.name}: read as choice positions 1–11 (SurveyMonkey\'s "numerical value" export: 1 is a '
                f'score of 0, 11 of 10), as {elevens} responses are 11 and none 0; set score_values = "scores" if '
                "they are scores"
            )
        elif zeros == 0 and elevens:
            report.warnings.append(
                f"{path.name}: {counted(elevens, 'response')} {'scores' if elevens == 1 else 'score'} 11 and none 0: "
                f'if this is SurveyMonkey\'s "numerical value" export (choice positions 1–11), set '
                'score_values = "positions"'
            )
    return _whole_score(f"({number} - 1)" if values == "positions" else number)


_REASON = "kpitui_reason"  # why a row cannot be used, beside the file's own columns
_UNIX_RANGE = "BETWEEN 1e8 AND 1e10"  # plausible Unix seconds: 1973–2286


def _date_reading(cursor, name: str, column: str, kind: str, zone: str, order: str | None) -> str:
    """The SQL reading a date column: a time the CSV reader typed as it is; Unix seconds (numbers, most of them
    plausible) as instants, implausible ones null; else timestamp text."""
    if kind == "time":
        return sql.identifier(column)
    number = _number(column, kind)
    present, numbers, plausible = cursor.execute(
        f"SELECT count({sql.text(column) if kind == 'text' else number}), count({number}), "
        f"count(CASE WHEN {number} {_UNIX_RANGE} THEN 1 END) FROM {name}"
    ).fetchall()[0]
    if present and numbers == present and plausible * 2 >= present:
        return f"CASE WHEN {number} {_UNIX_RANGE} THEN to_timestamp({number}) END"
    if kind == "number":
        return "CAST(NULL AS TIMESTAMPTZ)"
    return sql.time(sql.text(column), zone, sql.formats_reading(cursor, name, sql.text(column), order, every=True))


def _read_file(cursor, path: Path, options: Mapping[str, Any], report: SourceReport) -> ConvertedPart:
    """One survey export → its responses (blank, out-of-range and undatable rows skipped and reported)."""
    columns: dict[str, str] = {}
    order = options.get("date_order")

    def plan(sample: CsvTable) -> ReadPlan:
        columns.update(_choose_columns(cursor, sample, options))
        return _plan(cursor, sample, columns, order)

    table = read_csv_strings(path, report, header_count=_header_count, plan=plan)
    report.columns_used.update(columns)
    name = fresh_name("responses")
    zone = options.get("timezone", "UTC")
    raw = localized_times(table.with_positions(), [columns.get("responded_at")], zone)
    cursor.register(name, raw)
    kinds = column_kinds(table.table)
    score_col, date_col = columns["score"], columns.get("responded_at")
    values = options.get("score_values")
    fields = {"score": _score_reading(cursor, name, score_col, kinds[score_col], values, path, report)}
    for field in ("comment", "segment", "response_id", "respondent", "customer_ref"):
        if field in columns:
            fields[field] = f"CAST({sql.identifier(columns[field])} AS VARCHAR)"
    if "response_id" not in columns:
        fields["response_id"] = f"CAST({POSITION} + {table.first_data_line} AS VARCHAR)"
    checks = [(f"NOT {_present(score_col, kinds)}", "no score"),
              (f"{sql.typed_name('score')} IS NULL", "score is not a whole number 0–10")]  # fmt: skip
    if date_col:
        fields["responded_at"] = _date_reading(cursor, name, date_col, kinds[date_col], zone_of(date_col, zone), order)
        checks.append(
            (
                f"{_present(date_col, kinds)} AND {sql.typed_name('responded_at')} IS NULL",
                f"unreadable {date_col!r} date",
            )
        )
        if order is None and sql.unsettled_order(cursor, name, date_col, kinds[date_col], table.plan.timestamp_parsers):
            report.warnings.append(f"{path.name}: {sql.DATE_ORDER_HINT}")
    read = {field: fields.pop(field) for field in ("score", "responded_at") if field in fields}
    typed = ", ".join(f"{expression} AS {sql.typed_name(field)}" for field, expression in read.items())
    raw_columns = ", ".join(sql.identifier(c) for c in dict.fromkeys(c for c in (score_col, date_col) if c))
    reason = sql.first_reason([check for check, _ in checks])
    once = cursor.sql(  # read once: scores and dates are what every metric reads
        f"SELECT {', '.join(map(sql.typed_name, read))}, {reason} AS {_REASON} "
        f"FROM (SELECT {raw_columns}, {typed} FROM {name})"
    ).to_arrow_table()
    for column in once.column_names:
        raw = raw.append_column(column, once[column])
    cursor.register(name, raw)
    canonical = canonical_select("responses", {**{field: sql.typed_name(field) for field in read}, **fields})
    source = f"(SELECT {POSITION} AS pos, {_REASON} AS reason, {canonical} FROM {name})"
    rejected = table.skip_rejected(cursor, source, [reason for _, reason in checks], report)
    return ConvertedPart(len(raw) - rejected, source, ((name, raw),))


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every survey file of the source's path (a glob)."""
    report = SourceReport(layout="survey")
    cursor = engine.cursor()
    try:
        responses = TableScan(tuple(_read_file(cursor, path, options, report) for path in expand_path(options["path"])))
        responses.register(cursor)
        dated = cursor.execute(f"SELECT count(responded_at) FROM ({responses.sql()})").fetchall()[0][0]
    finally:
        cursor.close()
    if not dated:
        report.warnings.append("no response dates: NPS is scored over the whole export, with no window or trend")
    report.rows = len(responses)
    return SourceResult({"responses": responses}, report)
