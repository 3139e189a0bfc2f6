"""Survey exports (Delighted, SurveyMonkey, Qualtrics, Typeform, Google Forms, generic) → `responses`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import CsvTable, expand_path, read_csv_strings
from connectors.frames import conform
from connectors.parsing import normalise_header, parse_numbers, parse_times

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


def _integers(values: pd.Series) -> pd.Series:
    """Whole numbers 0–10 as floats; anything else null."""
    numbers, _ = parse_numbers(values)
    return numbers.where(numbers.between(0, 10) & (numbers == numbers.round()))


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


def _times(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Unix seconds (Delighted's `created_at`) or timestamp text → UTC times and a bad mask."""
    seconds, bad = parse_numbers(values)
    present = seconds.notna()
    if present.any() and not bad.any() and seconds[present].between(1e8, 1e10).all():
        return pd.to_datetime(seconds, unit="s", utc=True), bad
    return parse_times(values, timezone)


def _read_file(path, options: Mapping[str, Any], report: SourceReport) -> pd.DataFrame:
    table = read_csv_strings(path, report, header_count=_header_count)
    frame = table.frame
    score_col = find_score_column(table, options.get("score_column"))
    comment_col = _find(
        table, options.get("comment_column"), ("comment", "comments", "feedback"), _COMMENT_WORDS, exclude=(score_col,)
    )
    date_col = _find(table, options.get("date_column"), _DATE_ALIASES)
    segment_col = _find(table, options.get("segment_column"), _SEGMENT_ALIASES)
    id_col = _find(table, None, _ID_ALIASES)
    report.columns_used.update(
        {
            k: v
            for k, v in {
                "score": score_col,
                "comment": comment_col,
                "responded_at": date_col,
                "segment": segment_col,
                "response_id": id_col,
            }.items()
            if v
        }
    )
    scores = _integers(frame[score_col])
    raw = frame[score_col].astype("string").str.strip()
    blank = raw.isna() | (raw == "")
    invalid = ~blank & scores.isna()
    out = pd.DataFrame(index=frame.index)
    out["score"] = scores
    out["comment"] = frame[comment_col] if comment_col else None
    out["segment"] = frame[segment_col] if segment_col else None
    out["response_id"] = frame[id_col] if id_col else pd.Series(frame.index.astype(str), index=frame.index)
    out["respondent"] = None
    if date_col:
        out["responded_at"], bad_dates = _times(frame[date_col], options.get("timezone", "UTC"))
    else:
        out["responded_at"], bad_dates = pd.NaT, pd.Series(False, index=frame.index)
    for mask, reason in (
        (blank, "no score"),
        (invalid, "score is not a whole number 0–10"),
        (~blank & ~invalid & bad_dates, f"unreadable {date_col!r} date"),
    ):
        report.skip_many(path.name, table.physical_lines(frame.index[mask]), reason)
    return out[~blank & ~invalid & ~bad_dates]


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every survey file of the source's path (a glob)."""
    report = SourceReport(layout="survey")
    frames = [_read_file(path, options, report) for path in expand_path(options["path"])]
    responses = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if responses.empty or responses["responded_at"].isna().all():
        report.warnings.append("no response dates: NPS is scored over the whole export, with no window or trend")
    report.rows = len(responses)
    return SourceResult({"responses": conform("responses", responses)}, report)
