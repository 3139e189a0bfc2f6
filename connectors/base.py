"""What every connector returns and raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


PARAM_PREFIX = "param."  # a GA4 event param as a canonical column: `param.page_location`


class ConnectorError(Exception):
    """A source could not be read; the message tells the user what to do (`status`: the HTTP status behind it)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SkippedRow:
    """One input row that was not used, and why."""

    file: str
    line: int | None
    reason: str


@dataclass
class SourceReport:
    """What a connector read: counts, skipped rows and warnings."""

    rows: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    layout: str = ""
    columns_used: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    unit: str = "rows"  # what `rows` counts (a warehouse's tables)

    @property
    def skipped_rows(self) -> int:
        """How many rows were skipped."""
        return len(self.skipped)

    def skip(self, file: str, line: int | None, reason: str) -> None:
        """Record one skipped row."""
        self.skipped.append(SkippedRow(file, line, reason))

    def skip_many(self, file: str, lines: Any, reason: str) -> None:
        """Record many skipped rows that share a reason."""
        for line in lines:
            self.skipped.append(SkippedRow(file, int(line), reason))

    def summary_of_skips(self, limit: int = 3) -> list[str]:
        """A few human lines describing the skipped rows, grouped by reason."""
        by_reason: dict[str, list[SkippedRow]] = {}
        for row in self.skipped:
            by_reason.setdefault(row.reason, []).append(row)
        lines = []
        for reason, rows in by_reason.items():
            where = ", ".join(f"{r.file}:{r.line}" if r.line is not None else r.file for r in rows[:limit])
            more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
            lines.append(f"{len(rows)} row(s) skipped, {reason}: {where}{more}")
        return lines


@dataclass
class SourceResult:
    """Canonical frames by name plus the report of how they were read."""

    frames: dict[str, pd.DataFrame]
    report: SourceReport
