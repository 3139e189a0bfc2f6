"""Helpdesk ticket exports (Zendesk, Freshdesk, Freshservice, Intercom, HubSpot, …) → `tickets`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import CsvTable, ReadPlan, read_csv_strings
from connectors.frames import SCHEMAS, conform
from connectors.parsing import (
    DATE_ORDER_HINT,
    Column,
    map_unique,
    normalise_header,
    parse_hms_minutes,
    parse_numbers,
    parse_times,
    string_series,
    timestamp_parsers,
    unsettled_date_order,
)
from connectors.paths import expand_path

# canonical field → header aliases (compared after normalise_header), most specific first
ALIASES: dict[str, tuple[str, ...]] = {
    "ticket_id": ("id", "ticket id", "ticket number", "conversation id", "issue key", "ticketid", "key", "number"),
    "created": (
        "created at",
        "created time",
        "create date",
        "created",
        "conversation started at",
        "date created",
        "created date",
        "opened at",
        "createdat",
    ),
    "first_response_at": (
        "initial response time",
        "first response time",
        "conversation first replied at",
        "first agent email response date",
        "first responded at",
        "first reply at",
    ),
    "solved_at": (
        "solved at",
        "resolved time",
        "resolved at",
        "time to resolution",
        "close date",
        "closed time",
        "closed at",
        "resolution date",
        "resolved",
        "conversation last closed at",
        "closedat",
    ),
    "status": ("status", "ticket status", "state"),
    "priority": ("priority", "ticket priority"),
    "channel": ("via", "source", "ticket channel", "channel"),
    "first_response_minutes": ("first reply time in minutes",),
    "first_response_minutes_business": (
        "first reply time in minutes within business hours",
        "first response time (in hrs)",
    ),
    "resolution_minutes": ("full resolution time in minutes",),
    "resolution_minutes_business": (
        "full resolution time in minutes within business hours",
        "resolution time (in hrs)",
    ),
    "sla_first_response_met": ("first response status",),
    "satisfaction": (
        "satisfaction score",
        "customer satisfaction rating",
        "satisfaction rating",
        "csat",
        "survey results",
        "conversation rating",
    ),
    "reopens": ("reopens",),
    "subject": ("subject", "ticket subject", "title", "summary", "ticket name"),
    "requester": ("requester", "requester name", "full name", "customer name", "contact name"),
    "requester_email": ("requester email", "email", "customer email", "contact email"),
    "organization": ("organization", "organisation", "company name", "company"),
}
_TIMES = ("created", "first_response_at", "solved_at")
_MINUTES = ("first_response_minutes", "resolution_minutes")
_HMS_OR_MINUTES = ("first_response_minutes_business", "resolution_minutes_business")
_CATEGORIES = ("status", "priority", "channel", "satisfaction", "sla_first_response_met")


def detect_layout(headers: set[str]) -> str:
    """Name the export a header most likely came from."""
    if "first reply time in minutes" in headers or {"id", "via", "created at"} <= headers:
        return "Zendesk"
    if "ticket id" in headers and "created time" in headers:
        return "Freshdesk/Freshservice"
    if {"ticket id", "ticket status", "first response time", "time to resolution"} <= headers:
        return "Customer Support Ticket Dataset"
    if "conversation started at" in headers:
        return "Intercom"
    if "create date" in headers and "ticket status" in headers:
        return "HubSpot"
    if "issue key" in headers:
        return "Jira Service Management"
    if {"number", "createdat"} <= headers:
        return "Help Scout"
    return "generic"


def resolve_columns(names: list[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """Map each canonical field to the header it comes from (overrides win)."""
    unknown = [k for k in overrides if k not in SCHEMAS["tickets"]]
    if unknown:
        raise ConnectorError(
            f"[columns] {', '.join(unknown)}: not a ticket field; use one of {', '.join(SCHEMAS['tickets'])}"
        )
    by_normal = {normalise_header(n): n for n in reversed(names)}
    mapping: dict[str, str] = {}
    for field, header in overrides.items():
        found = by_normal.get(normalise_header(header))
        if found is None:
            raise ConnectorError(f"[columns] {field} = {header!r}: no such column; found: {', '.join(names)[:400]}")
        mapping[field] = found
    for field, aliases in ALIASES.items():
        if field in mapping:
            continue
        for alias in aliases:
            if alias in by_normal and by_normal[alias] not in mapping.values():
                mapping[field] = by_normal[alias]
                break
    return mapping


_LABELS = {
    "good": 1.0,
    "bad": 0.0,
    "satisfied": 1.0,
    "unsatisfied": 0.0,
    # Freshdesk's survey, 7 points and 3 points
    "extremely satisfied": 1.0,
    "mostly satisfied": 1.0,
    "slightly satisfied": 1.0,
    "neither satisfied nor dissatisfied": 0.0,
    "slightly dissatisfied": 0.0,
    "mostly dissatisfied": 0.0,
    "extremely dissatisfied": 0.0,
    "awesome": 1.0,
    "just okay": 0.0,
    "not good": 0.0,
}
_UNRATED = frozenset({"", "offered", "not offered", "unoffered", "n/a", "-"})
_SLA = {"within sla": True, "sla violated": False}


def satisfaction_value(text: str) -> float | None:
    """A rating label or a 1–5 rating → 1.0 satisfied, 0.0 not, None unrated (or unknown)."""
    text = text.strip().lower()
    if text in _LABELS:
        return _LABELS[text]
    try:
        rating = float(text)
    except ValueError:
        return None
    return (1.0 if rating >= 4 else 0.0) if 1 <= rating <= 5 else None


def unknown_satisfaction_labels(values: Column) -> list[str]:
    """The distinct ratings that are neither a known label, a 1–5 rating, nor a 'not rated' mark."""
    labels = map_unique(values, lambda v: v if satisfaction_value(v) is None and v.strip().lower() not in _UNRATED
                        else None, "string")  # fmt: skip
    return sorted(str(v) for v in labels.dropna().unique())


def _read_file(path, options: Mapping[str, Any], report: SourceReport) -> pd.DataFrame:
    """One export file → a tickets frame (bad rows skipped and reported)."""
    mapping: dict[str, str] = {}

    def plan(sample: CsvTable) -> ReadPlan:
        mapping.update(resolve_columns(list(sample.table.column_names), options.get("columns", {})))
        types: dict[str, pa.DataType] = {}
        parsers: list[str] = []
        for field, header in mapping.items():
            if field in _TIMES:
                found = timestamp_parsers(sample.table[header], options.get("date_order"))
                if found:
                    types[header] = pa.timestamp("us")
                    parsers.extend(f for f in found if f not in parsers)
            elif field in _MINUTES or field == "reopens" or (field in _HMS_OR_MINUTES and not _in_hours(header)):
                types[header] = pa.float64()
            elif field in _CATEGORIES:
                types[header] = pa.dictionary(pa.int32(), pa.string())
        return ReadPlan(list(dict.fromkeys(mapping.values())), types, tuple(parsers))

    table = read_csv_strings(path, report, plan=plan)
    raw = table.table
    if "ticket_id" not in mapping:
        found = ", ".join(table.header_rows[0])[:400] if table.header_rows else "nothing"
        raise ConnectorError(
            f"{path}: no ticket id column; found: {found}. Needed: an id plus created/solved times or "
            f"response minutes. Map columns under [sources.NAME.columns]"
        )
    report.layout = detect_layout({normalise_header(n) for n in table.header_rows[0]})
    report.columns_used.update(mapping)
    timezone = options.get("timezone", "UTC")
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    reasons: list[str] = []
    bad = np.zeros(len(raw), dtype=np.int16)

    def flag(mask: pd.Series, reason: str) -> None:
        hits = mask.to_numpy(dtype=bool, na_value=False) & (bad == 0)
        if hits.any():
            reasons.append(reason)
            bad[hits] = len(reasons)

    order = options.get("date_order")
    unsettled = False
    for field, header in mapping.items():
        column = raw[header]
        if field in _TIMES:
            out[field], wrong = parse_times(column, timezone, order)
            flag(wrong, f"unreadable {header!r} date")
            unsettled |= order is None and unsettled_date_order(column, table.plan.timestamp_parsers)
        elif field in _MINUTES:
            out[field], wrong = parse_numbers(column)
            flag(wrong, f"{header!r} is not a number")
        elif field in _HMS_OR_MINUTES:
            if _in_hours(header):
                out[field], wrong = parse_hms_minutes(column)
            else:
                out[field], wrong = parse_numbers(column)
            flag(wrong, f"{header!r} is not a duration")
        elif field == "reopens":
            out[field], _ = parse_numbers(column)
        elif field == "satisfaction":
            out[field] = map_unique(column, satisfaction_value, "float64")
            for label in unknown_satisfaction_labels(column):
                report.warnings.append(f"{path.name}: unknown satisfaction label {label!r} in {header!r}, not counted")
        elif field == "sla_first_response_met":
            out[field] = map_unique(column, lambda v: _SLA.get(v.strip().lower()), "boolean")
        elif field in ("status", "priority", "channel"):
            out[field] = map_unique(column, lambda v: v.strip().lower() or None, "string")
        else:
            out[field] = string_series(pc.utf8_trim_whitespace(column))
    if unsettled:
        report.warnings.append(f"{path.name}: {DATE_ORDER_HINT}")
    _fill_durations(out)
    _no_reply_is_not_zero(out, mapping)
    flag(out["ticket_id"].isna() | (out["ticket_id"] == ""), "missing ticket id")
    for field in _DURATIONS:
        if field in out and (negative := int((out[field] < 0).sum())):
            report.warnings.append(
                f"{path.name}: {negative:,} ticket{' has' if negative == 1 else 's have'} a negative "
                f"{field.replace('_', ' ')} (not used; the tickets still count)"
            )
    rejected = np.flatnonzero(bad)
    lines = table.physical_lines(rejected + table.first_data_line)
    for line, code in zip(lines, bad[rejected], strict=True):
        report.skip(path.name, line, reasons[code - 1])
    return out[bad == 0] if rejected.size else out


_DURATIONS = (
    "first_response_minutes",
    "resolution_minutes",
    "first_response_minutes_business",
    "resolution_minutes_business",
)


def _no_reply_is_not_zero(out: pd.DataFrame, mapping: dict[str, str]) -> None:
    """Freshdesk writes `00:00:00` business hours for a ticket with no reply (or not resolved): where the reply
    (resolution) time is empty, that zero is no reply, not a zero-minute one."""
    for minutes, stamp in (("first_response_minutes_business", "first_response_at"),
                           ("resolution_minutes_business", "solved_at")):  # fmt: skip
        if minutes in out and stamp in out and _in_hours(mapping[minutes]):
            out.loc[out[stamp].isna() & (out[minutes] == 0), minutes] = np.nan


def _in_hours(header: str) -> bool:
    """Freshdesk's `… (in hrs)` columns hold `HH:MM:SS`; other business-time columns are minutes."""
    return "(in hrs)" in header.lower()


def _fill_durations(out: pd.DataFrame) -> None:
    """Recompute calendar minutes from timestamps where the export left them empty, and date the reply or solve
    by its minutes where the export gives minutes and no time (Zendesk's first reply): created + minutes."""
    if "created" not in out:
        return
    starts = out["created"].to_numpy(dtype="datetime64[us]")
    for minutes, stamp in (("first_response_minutes", "first_response_at"), ("resolution_minutes", "solved_at")):
        if stamp not in out and minutes in out:
            elapsed = out[minutes].to_numpy(dtype=float)
            out[stamp] = pd.Series(starts + (elapsed * 60e6).astype("timedelta64[us]"), index=out.index).dt.tz_localize(
                "UTC"
            )
            continue
        if stamp not in out:
            continue
        current = out[minutes].to_numpy(dtype=float) if minutes in out else np.full(len(out), np.nan)
        missing = np.isnan(current)
        if missing.any():
            ends = out[stamp].to_numpy(dtype="datetime64[us]")
            current = current.copy()
            current[missing] = (ends[missing] - starts[missing]) / np.timedelta64(1, "m")
            out[minutes] = current


def _repeated_ids(ids: pd.Series) -> np.ndarray:
    """True for every row whose ticket id comes again later (the last row of an id wins)."""
    try:
        numbers = pc.cast(pa.array(ids.array), pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return ids.duplicated(keep="last").to_numpy()
    if (np.diff(numbers) > 0).all():
        return np.zeros(len(numbers), dtype=bool)
    return pd.Series(numbers, copy=False).duplicated(keep="last").to_numpy()


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every file of the source's path (a glob), newest row per ticket id wins."""
    report = SourceReport()
    frames = [_read_file(path, options, report) for path in expand_path(options["path"])]
    tickets = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    repeated = _repeated_ids(tickets["ticket_id"]) if len(tickets) else np.zeros(0, dtype=bool)
    if repeated.any():
        tickets = tickets[~repeated]
    if "created" not in tickets:
        report.warnings.append("no created time: tickets are counted as a whole, response times are unknown")
    report.rows = len(tickets)
    return SourceResult({"tickets": conform("tickets", tickets)}, report)
