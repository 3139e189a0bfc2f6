"""Marketing spend exports (Google Ads, Meta Ads Manager, LinkedIn Campaign Manager, or a generic
`date,channel,campaign,spend[,currency]` CSV; FORMATS.md) → `spend`: one row per campaign and date range. The files
are small (a row per campaign and day), read with the csv module."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.files import normalise_header, read_text, sniff_delimiter
from connectors.paths import expand_path

FIELDS = ("date", "end", "channel", "campaign", "spend", "currency")  # what `columns` may map


@dataclass(frozen=True)
class Layout:
    """An export's layout: its name, the header it is known by, its columns for each field and its channel."""

    name: str
    known_by: tuple[str, ...]
    columns: dict[str, str]
    channel: str | None = None  # the channel of every row, where the export is one ad network's


LAYOUTS = (
    Layout(
        "Google Ads",
        ("day", "cost"),
        {"date": "day", "campaign": "campaign", "spend": "cost", "currency": "currency code"},
        "google",
    ),
    Layout(
        "Meta Ads Manager",
        ("reporting starts", "reporting ends"),
        {"date": "reporting starts", "end": "reporting ends", "campaign": "campaign name", "spend": "amount spent"},
        "facebook",
    ),
    Layout(
        "LinkedIn Campaign Manager",
        ("start date (in utc)", "total spent"),
        {"date": "start date (in utc)", "campaign": "campaign name", "spend": "total spent", "currency": "currency"},
        "linkedin",
    ),
    Layout(
        "generic",
        ("date", "spend"),
        {
            "date": "date",
            "end": "end",
            "channel": "channel",
            "campaign": "campaign",
            "spend": "spend",
            "currency": "currency",
        },
    ),
)
_CURRENCY_IN_NAME = re.compile(r"\(([A-Za-z]{3})\)\s*$")  # Meta: `Amount spent (USD)`
_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y")
_NAMED = ("%Y-%m-%d", "%Y/%m/%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y%m%d")


def _header(rows: list[list[str]]) -> tuple[int, Layout | None]:
    """The header row (title and date-range rows may come first) and the layout it names."""
    for index, row in enumerate(rows[:10]):
        names = {_base(cell) for cell in row}
        for layout in LAYOUTS:
            if set(layout.known_by) <= names:
                return index, layout
    return 0, None


def _base(name: str) -> str:
    """A header without a trailing `(USD)`, compared as aliases are."""
    return normalise_header(_CURRENCY_IN_NAME.sub("", name))


def parse_day(text: str, day_first: bool) -> date | None:
    """A date as exports write it (ISO, also with a time as spreadsheets write date cells, `Nov 1, 2026`,
    `11/01/2026` month- or day-first); None if unreadable."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    for form in (*_NAMED, *(_DAY_FIRST if day_first else _MONTH_FIRST)):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def parse_amount(text: str) -> float | None:
    """`1,234.56`, `$1,234.56`, `1234` as a number; None if unreadable or negative."""
    cleaned = re.sub(r"[^\d.\-]", "", text.replace(",", ""))
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value >= 0 else None


def _unknown(path: Path, header: list[str]) -> ConnectorError:
    found = ", ".join(h for h in header if h.strip())[:400] or "(none)"
    return ConnectorError(
        f"{path}: not a spend export kpitui knows (columns found: {found}); expected Google Ads (Day, Campaign, "
        "Cost), Meta Ads (Reporting starts, Reporting ends, Amount spent (USD)), LinkedIn (Start Date (in UTC), "
        "Total Spent, Currency) or date,channel,campaign,spend[,currency]; or map yours in the source: "
        'columns = { date = "…", spend = "…", channel = "…", campaign = "…", currency = "…" }'
    )


def _columns(path: Path, header: list[str], layout: Layout | None, overrides: Mapping[str, str]) -> dict[str, int]:
    """Field → the index of the column it comes from (the `columns` setting wins)."""
    unknown = [k for k in overrides if k not in FIELDS]
    if unknown:
        raise ConnectorError(f"[columns] {', '.join(unknown)}: not a spend field; use one of {', '.join(FIELDS)}")
    by_name = {_base(h): i for i, h in reversed(list(enumerate(header)))}
    wanted = {**(layout.columns if layout else {}), **{k: _base(v) for k, v in overrides.items()}}
    found = {field: by_name[name] for field, name in wanted.items() if name in by_name}
    for field, name in overrides.items():
        if field not in found:
            raise ConnectorError(
                f"{path}: [columns] {field} = {name!r}: no such column; found: {', '.join(header)[:400]}"
            )
    if "date" not in found or "spend" not in found:
        raise _unknown(path, header)
    return found


def _read_file(path: Path, options: Mapping[str, Any], report: SourceReport, rows: dict[str, list]) -> str:
    """Append one file's rows (skipping bad ones with their line); the layout's name."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.split("\n", 1)[0]))
    lines, table, read = [], [], 0
    for row in reader:  # each record with the line it starts on (a quoted field may hold line breaks)
        lines.append(read + 1)
        table.append(row)
        read = reader.line_num
    start, layout = _header(table)
    overrides = options.get("columns", {})
    if layout is None and not overrides:
        raise _unknown(path, table[0] if table else [])
    header = table[start]
    columns = _columns(path, header, layout, overrides)
    named_currency = next((m.group(1).lower() for h in header if (m := _CURRENCY_IN_NAME.search(h))), None)
    channel = options.get("channel") or (layout.channel if layout else None)
    day_first = options.get("date_order") == "day-first"
    cell = lambda row, field: row[columns[field]].strip() if field in columns and columns[field] < len(row) else ""  # noqa: E731
    for line, row in zip(lines[start + 1 :], table[start + 1 :], strict=True):
        if not any(c.strip() for c in row):
            continue
        if row[0].strip().lower().startswith("total"):  # Google Ads' and others' totals rows
            continue
        first = parse_day(cell(row, "date"), day_first)
        last = parse_day(cell(row, "end"), day_first) if cell(row, "end") else first
        amount = parse_amount(cell(row, "spend"))
        reason = (
            f"unreadable date {cell(row, 'date')!r}" if first is None
            else f"unreadable end date {cell(row, 'end')!r}" if last is None or last < first
            else f"spend {cell(row, 'spend')!r} is not an amount" if amount is None
            else None
        )  # fmt: skip
        if reason:
            report.skip(path.name, line, reason)
            continue
        currency = (cell(row, "currency") or named_currency or options.get("currency") or "").lower() or None
        rows["start"].append(datetime(first.year, first.month, first.day, tzinfo=UTC))
        rows["end"].append(datetime(last.year, last.month, last.day, tzinfo=UTC))
        rows["channel"].append((cell(row, "channel") or channel or "(unknown)").strip().lower())
        rows["campaign"].append(cell(row, "campaign") or None)
        rows["spend"].append(amount)
        rows["currency"].append(currency)
    return layout.name if layout else "mapped columns"


def load(options: Mapping[str, Any]) -> SourceResult:
    """Read every spend file of the source's path (a glob)."""
    import pandas as pd

    from connectors.frames import conform

    report = SourceReport()
    rows: dict[str, list] = {name: [] for name in ("start", "end", "channel", "campaign", "spend", "currency")}
    layouts = [_read_file(path, options, report, rows) for path in expand_path(options["path"])]
    report.layout = ", ".join(dict.fromkeys(layouts))
    report.rows = len(rows["spend"])
    return SourceResult({"spend": conform("spend", pd.DataFrame(rows))}, report)
