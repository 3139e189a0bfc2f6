"""A canonical table the engine reads where it lies: SELECTs over export files, or over Arrow tables a connector
read itself, stacked in file order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

_ROWS_PER_PART = 1 << 40  # `seq` = part number × this + the row within the part: file order across parts
_names = itertools.count()


def fresh_name(kind: str) -> str:
    """A fresh name for a table the engine reads (an Arrow table registered, a file read into the engine)."""
    return f"{kind}_{next(_names)}"


class ScanPart(Protocol):
    """One file's canonical rows: `select(params)` gives the table's columns (and a `param.KEY` column for each of
    `params`, where the table has params) and `row`, the row's order in the file; `arrow` names the Arrow tables it
    reads, to register before it runs."""

    rows: int
    arrow: tuple[tuple[str, Any], ...]

    def select(self, params: tuple[str, ...]) -> str: ...


@dataclass(frozen=True)
class ConvertedPart:
    """One file's canonical rows, converted by SQL each time a metric reads them: `source` a FROM item of every
    row with its position `pos` and the reason it cannot be used (`reason`, null when it can), over the Arrow
    tables in `arrow`."""

    rows: int
    source: str
    arrow: tuple[tuple[str, Any], ...] = ()

    def select(self, params: tuple[str, ...] = ()) -> str:
        """The canonical columns of the usable rows, and `row`, each one's position in its file."""
        return f"SELECT * EXCLUDE (pos, reason), pos AS row FROM {self.source} WHERE reason IS NULL"


@dataclass(frozen=True)
class TableScan:
    """A canonical table as parts, one per file, in file order."""

    parts: tuple[ScanPart, ...]

    def __len__(self) -> int:
        return sum(part.rows for part in self.parts)

    @staticmethod
    def stack(scans: list[TableScan]) -> TableScan:
        """Several scans (files, sources) one after another."""
        return TableScan(tuple(part for scan in scans for part in scan.parts))

    def sql(self, params: tuple[str, ...] = ()) -> str:
        """The whole table, `seq` numbering its rows in file order."""
        return " UNION ALL ".join(
            f"SELECT * EXCLUDE (row), {number} * {_ROWS_PER_PART} + row AS seq FROM ({part.select(params)})"
            for number, part in enumerate(self.parts)
        )

    def register(self, cursor: Any) -> None:
        """Make the Arrow tables the parts read visible to the cursor."""
        for part in self.parts:
            for name, table in part.arrow:
                cursor.register(name, table)
