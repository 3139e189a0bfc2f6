"""Helpdesk ticket exports (Zendesk, Freshdesk, Freshservice, Intercom, HubSpot, …) → `tickets`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
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
from connectors.schemas import SCHEMAS, TEXT, canonical_select
from kpitui import engine

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
_DURATIONS = (*_MINUTES, *_HMS_OR_MINUTES)
_NUMBERS = (*_DURATIONS, "reopens")


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
_UNRATED = ("offered", "not offered", "unoffered", "n/a", "-")
_SLA = {"within sla": True, "sla violated": False}
_LONGEST_MINUTES = 100 * 365.25 * 24 * 60  # a century: a longer "duration" is a broken value, as are inf and NaN


def _duration(minutes: str) -> str:
    """Minutes that can be a ticket's duration (negative ones included: they are reported later), else null."""
    return f"CASE WHEN abs({minutes}) <= {_LONGEST_MINUTES} THEN {minutes} END"


_STAMP_OF = {"first_response_minutes": "first_response_at", "resolution_minutes": "solved_at"}


def _satisfaction(value: str) -> str:
    """A rating label or a 1–5 rating → 1.0 satisfied, 0.0 not, null unrated (or unknown)."""
    rating = sql.number(value)
    return (
        f"coalesce({sql.labelled(value, _LABELS, 'DOUBLE')}, "
        f"CASE WHEN {rating} BETWEEN 1 AND 5 THEN CAST({rating} >= 4 AS DOUBLE) END)"
    )


_LABELS_OF = {  # fields whose values are labels: SQL over a label's text, run once per distinct label
    "satisfaction": _satisfaction,
    "sla_first_response_met": lambda value: sql.labelled(value, _SLA, "BOOLEAN"),
    "status": sql.lowered,
    "priority": sql.lowered,
    "channel": sql.lowered,
}


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array (pyarrow's `combine_chunks` imports pandas for a column without chunks)."""
    return pa.concat_arrays(column.chunks) if column.num_chunks else pa.nulls(0, column.type)


def _dictionary_encoded(column: pa.ChunkedArray) -> tuple[pa.Array, list[pa.Array]]:
    """A label column as its distinct labels and, per chunk, each row's index into them (the CSV reader gives
    label columns as dictionaries, unified by `_with_labels_read`; text from the careful reader is encoded)."""
    if not pa.types.is_dictionary(column.type):
        encoded = _whole(column).dictionary_encode()
        return encoded.dictionary, [encoded.indices]
    if not column.num_chunks:
        return pa.nulls(0, column.type.value_type), []
    return column.chunks[0].dictionary, [chunk.indices for chunk in column.chunks]


def _with_labels_read(cursor, raw: pa.Table, mapping: dict[str, str]) -> pa.Table:
    """The table with a `typed_FIELD` column for each label field: its reading of each distinct label (a few
    of them in a million rows), spread back over the rows."""
    raw = raw.unify_dictionaries()
    for field, read in _LABELS_OF.items():
        if field not in mapping:
            continue
        labels, indices = _dictionary_encoded(raw[mapping[field]])
        cursor.register("kpitui_labels", pa.Table.from_arrays([labels], names=["label"]))
        try:
            values = cursor.sql(f"SELECT {read(sql.text('label'))} AS value FROM kpitui_labels").to_arrow_table()
        finally:
            cursor.unregister("kpitui_labels")
        values = _whole(values["value"])
        read_rows = pa.chunked_array([values.take(chunk) for chunk in indices], type=values.type)
        raw = raw.append_column(sql.typed_name(field), read_rows)
    return raw


def _in_hours(header: str) -> bool:
    """Freshdesk's `… (in hrs)` columns hold `HH:MM:SS`; other business-time columns are minutes."""
    return "(in hrs)" in header.lower()


class _Conversion:
    """One export's text columns as canonical ticket fields in SQL, with the reason a row cannot be used."""

    def __init__(self, mapping: dict[str, str], kinds: dict[str, str], formats: dict[str, tuple[str, ...]],
                 zone: str) -> None:  # fmt: skip
        self.mapping, self.kinds, self.formats, self.zone = mapping, kinds, formats, zone
        self.reasons: list[str] = []  # a row's reason code is its position in this list, from 1
        self.checks: list[str] = []

    def _typed(self, field: str, header: str) -> str:
        """The field read from its column (text, or times and numbers the CSV reader typed), recording when a
        text value present does not read."""
        column, value = sql.identifier(header), sql.text(header)
        kind = self.kinds[header]
        if kind == "time":
            return column  # an instant already (`files.localized_times`)
        if kind == "number" and field not in _DURATIONS:
            return column if field in _NUMBERS else f"CAST({column} AS VARCHAR)"
        if field in _TIMES:
            typed, reason = (
                sql.time(value, zone_of(header, self.zone), self.formats[field]),
                f"unreadable {header!r} date",
            )
        elif field in _DURATIONS:
            read = sql.hms_minutes(value) if field in _HMS_OR_MINUTES and _in_hours(header) else sql.number(value)
            typed, reason = _duration(column if kind == "number" else read), f"{header!r} is not a duration"
            value = column if kind == "number" else value  # what the check below sees present
        elif field == "reopens":
            return sql.number(value)
        elif field in _LABELS_OF:
            return sql.typed_name(field)  # read per distinct value (`_with_labels_read`)
        else:
            return f"trim({column})"
        self.reasons.append(reason)
        self.checks.append(f"{value} IS NOT NULL AND {sql.typed_name(field)} IS NULL")
        return typed

    def query(self, table: str) -> str:
        """pos, the reason code (null: the row is used) and every canonical column, over the Arrow table `table`
        the file was read into."""
        typed = ", ".join(f"{self._typed(f, h)} AS {sql.typed_name(f)}" for f, h in self.mapping.items())
        texts = ", ".join(sql.identifier(header) for header in dict.fromkeys(self.mapping.values()))
        self.reasons.append("missing ticket id")
        ids = self.mapping["ticket_id"]
        self.checks.append(f"{sql.identifier(ids)} IS NULL" if self.kinds[ids] == "number" else
                           f"NULLIF({sql.typed_name('ticket_id')}, '') IS NULL")  # fmt: skip
        return (
            f"SELECT {POSITION} AS pos, {sql.first_reason(self.checks)} AS reason, "
            f"{canonical_select('tickets', self._derived())} "
            f"FROM (SELECT {POSITION}, {texts}, {typed} FROM {table})"
        )

    def _derived(self) -> dict[str, str]:
        """Canonical columns from the typed fields: calendar minutes recomputed from the times where the export
        left them empty; a reply or solve given only in minutes dated created + minutes (Zendesk's first reply);
        Freshdesk's `00:00:00` business hours on a ticket with no reply (or not resolved) as no reply."""
        columns = {field: sql.typed_name(field) for field in self.mapping}
        if "created" not in self.mapping:
            return columns
        created = sql.typed_name("created")
        for minutes, stamp in _STAMP_OF.items():
            if stamp not in self.mapping and minutes in self.mapping:
                columns[stamp] = f"{created} + to_microseconds(CAST(round({columns[minutes]} * 60e6) AS BIGINT))"
            elif stamp in self.mapping:
                elapsed = f"(epoch_us({columns[stamp]}) - epoch_us({created})) / 60e6"
                columns[minutes] = f"coalesce({columns[minutes]}, {elapsed})" if minutes in self.mapping else elapsed
        for business, stamp in (("first_response_minutes_business", "first_response_at"),
                                ("resolution_minutes_business", "solved_at")):  # fmt: skip
            if business in self.mapping and stamp in columns and _in_hours(self.mapping[business]):
                minutes = columns[business]
                columns[business] = f"CASE WHEN {columns[stamp]} IS NULL AND {minutes} = 0 THEN NULL ELSE {minutes} END"
        return columns


def _typed_plan(cursor, sample: CsvTable, mapping: dict[str, str], order: str | None) -> ReadPlan:
    """The columns to read, and the types to try for the whole file: times in the formats that read the sample
    (slash dates in one order), minutes as numbers, ids as integers where the sample's are."""
    cursor.register("sample", sample.table)
    types: dict[str, pa.DataType] = {}
    formats: list[str] = []
    for field, header in mapping.items():
        if field in _TIMES:
            found = sql.formats_reading(cursor, "sample", sql.text(header), order)
            if found:
                types[header] = pa.timestamp("us")
                formats.extend(f for f in found if f not in formats)
        elif field in _NUMBERS and not _in_hours(header):
            types[header] = pa.float64()
        elif field == "ticket_id" and sql.all_integers(cursor, "sample", sql.text(header)):
            types[header] = pa.int64()
        elif field in _LABELS_OF:
            types[header] = pa.dictionary(pa.int32(), TEXT)
    return ReadPlan(list(dict.fromkeys(mapping.values())), types, csv_parsers(tuple(formats)))


def _time_formats(cursor, name: str, table: CsvTable, mapping: dict[str, str], kinds: dict[str, str], order: str | None
                  ) -> tuple[dict, bool]:  # fmt: skip
    """Per time field read as text, the formats its column is read in (see `sql_text.formats_reading`); and
    whether some time column's slash dates fit both orders (only the source's `date_order` can tell)."""
    formats, unsettled = {}, False
    for field in (f for f in _TIMES if f in mapping):
        header = mapping[field]
        if kinds[header] == "text":
            formats[field] = sql.formats_reading(cursor, name, sql.text(header), order, every=True)
        if order is None:
            unsettled |= sql.unsettled_order(cursor, name, header, kinds[header], table.plan.timestamp_parsers)
    return formats, unsettled


def _read_file(cursor, path: Path, options: Mapping[str, Any], report: SourceReport) -> tuple[ConvertedPart, bool]:
    """One export file → its tickets (bad rows skipped and reported), and whether its ids are integers rising row
    by row (then no ticket repeats in it)."""
    mapping: dict[str, str] = {}
    order = options.get("date_order")

    def plan(sample: CsvTable) -> ReadPlan:
        overrides = dict(options.get("columns", {}))
        if "customer_column" in options:
            overrides["customer_ref"] = options["customer_column"]
        mapping.update(resolve_columns(list(sample.table.column_names), overrides))
        return _typed_plan(cursor, sample, mapping, order)

    table = read_csv_strings(path, report, plan=plan)
    if "ticket_id" not in mapping:
        found = ", ".join(table.header_rows[0])[:400] if table.header_rows else "nothing"
        raise ConnectorError(
            f"{path}: no ticket id column; found: {found}. Needed: an id plus created/solved times or "
            f"response minutes. Map columns under [sources.NAME.columns]"
        )
    report.layout = detect_layout({normalise_header(n) for n in table.header_rows[0]})
    report.columns_used.update(mapping)
    name = fresh_name("tickets")
    zone = options.get("timezone", "UTC")
    times = [mapping[field] for field in _TIMES if field in mapping]
    raw = _with_labels_read(cursor, localized_times(table.with_positions(), times, zone), mapping)
    cursor.register(name, raw)
    kinds = column_kinds(table.table)
    formats, unsettled = _time_formats(cursor, name, table, mapping, kinds, order)
    if unsettled:
        report.warnings.append(f"{path.name}: {sql.DATE_ORDER_HINT}")
    conversion = _Conversion(mapping, kinds, formats, zone)
    source = f"({conversion.query(name)})"
    rejected = table.skip_rejected(cursor, source, conversion.reasons, report)
    _warn_of_unknown_labels(cursor, raw, path, mapping, report)
    _warn_of_negative_durations(cursor, source, path, report)
    return ConvertedPart(len(raw) - rejected, source, ((name, raw),)), _increasing(raw[mapping["ticket_id"]])


def _warn_of_negative_durations(cursor, source: str, path: Path, report: SourceReport) -> None:
    """One warning per duration with negative values (merged tickets): not used, the tickets still count."""
    counts = cursor.execute(
        f"SELECT {', '.join(f'count(CASE WHEN {d} < 0 THEN 1 END)' for d in _DURATIONS)} FROM {source} "
        "WHERE reason IS NULL"
    ).fetchall()[0]
    for field, negative in zip(_DURATIONS, counts, strict=True):
        if negative:
            report.warnings.append(
                f"{path.name}: {negative:,} ticket{' has' if negative == 1 else 's have'} a negative "
                f"{field.replace('_', ' ')} (not used; the tickets still count)"
            )


def _warn_of_unknown_labels(cursor, raw: pa.Table, path: Path, mapping: dict[str, str], report: SourceReport) -> None:
    """A warning per satisfaction label that is neither known, a 1–5 rating, nor a 'not rated' mark."""
    header = mapping.get("satisfaction")
    if header is None:
        return
    cursor.register("labels", pa.Table.from_arrays([_dictionary_encoded(raw[header])[0]], names=[header]))
    value = sql.text(header)
    unrated = ", ".join(map(sql.literal, _UNRATED))
    labels = cursor.execute(
        f"SELECT {value} AS label FROM labels "
        f"WHERE label IS NOT NULL AND {_satisfaction(value)} IS NULL AND lower(label) NOT IN ({unrated}) ORDER BY label"
    ).fetchall()
    cursor.unregister("labels")
    for (label,) in labels:
        report.warnings.append(f"{path.name}: unknown satisfaction label {label!r} in {header!r}, not counted")


def _increasing(ids: pa.ChunkedArray) -> bool:
    """Whether the ids are integers, none missing, rising from row to row (so none repeats)."""
    if not pa.types.is_int64(ids.type) or ids.null_count:
        return False
    values = [np.frombuffer(c.buffers()[1], dtype=np.int64, count=len(c), offset=c.offset * 8) for c in ids.chunks]
    whole = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
    return bool((np.diff(whole) > 0).all())


def _newest_per_id(cursor, files: list[tuple[ConvertedPart, bool]]) -> TableScan:
    """The files' tickets one after another, only the last row read of each ticket id (its newest export)."""
    scan = TableScan(tuple(part for part, _ in files))
    if len(files) == 1 and files[0][1]:
        return scan
    scan.register(cursor)
    stacked = scan.sql()
    rows, ids = cursor.execute(f"SELECT count(*), count(DISTINCT ticket_id) FROM ({stacked})").fetchall()[0]
    if rows == ids:
        return scan
    name = fresh_name("tickets")
    cursor.execute(
        f"CREATE TABLE {name} AS SELECT * EXCLUDE (seq), seq AS pos, NULL AS reason FROM ({stacked}) "
        "QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY seq DESC) = 1 ORDER BY seq"
    )
    newest = ConvertedPart(cursor.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0], name)
    engine.drop_with(newest, name)
    return TableScan((newest,))


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every file of the source's path (a glob), the last row read of each ticket id wins."""
    report = SourceReport()
    cursor = engine.cursor()
    try:
        tickets = _newest_per_id(
            cursor, [_read_file(cursor, path, options, report) for path in expand_path(options["path"])]
        )
    finally:
        cursor.close()
    if "created" not in report.columns_used:
        report.warnings.append("no created time: tickets are counted as a whole, response times are unknown")
    report.rows = len(tickets)
    return SourceResult({"tickets": tickets}, report)
