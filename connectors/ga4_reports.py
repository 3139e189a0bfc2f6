"""GA4 and Universal Analytics UI exports: report and exploration CSVs → `traffic` and `funnel_steps`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from connectors.base import SourceReport
from connectors.files import dedupe_names
from connectors.frames import conform

_STEP = re.compile(r"^\s*(\d+)\.\s+(\S.*)$")
_RANGE = re.compile(r"^#\s*(\d{8})-(\d{8})\s*$")
_DATE_KEY = re.compile(r"^#\s*(Start|End) date:\s*(\d{8})\s*$", re.I)


def read_ui_export(text: str, path: Path, report: SourceReport) -> dict[str, pd.DataFrame]:
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
        users, _ = _numbers(pd.Series([row[users_col] if users_col < len(row) else ""]))
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


def _numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers that may carry thousands separators → (floats, the mask of values present that are not numbers)."""
    cleaned = text.astype("string").str.strip().replace("", pd.NA)
    numbers = pd.to_numeric(cleaned.str.replace(",", "", regex=False), errors="coerce").astype(float)
    return numbers, cleaned.notna() & numbers.isna()


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
    text = raw.astype("string").fillna("").str.strip().str.strip(_CURRENCY).str.strip()
    percent = text.str.endswith("%")
    text = text.str.rstrip("%")
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    values, bad = _numbers(text)
    clock = text.str.extract(_HMS).astype(float)
    seconds = clock[0] * 3600 + clock[1] * 60 + clock[2]
    values = values.where(seconds.isna(), seconds).where(~percent, values / 100)
    return values, bad & seconds.isna()


def _traffic_rows(header, data, end, path, report, decimal_comma: bool) -> pd.DataFrame:
    header = dedupe_names(header)
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
