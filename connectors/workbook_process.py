"""Reads an xlsx, binary xls or ods workbook in a process of its own, so that a damaged one cannot take kpitui down
(two changed bytes once made the reader ask for 2 TB and abort). The workbook's bytes on stdin; its first sheet with
data as CSV text on stdout, or exit code `REFUSED` with one line on stderr saying what is wrong.

Run: python -m connectors.workbook_process < WORKBOOK
"""

from __future__ import annotations

import io
import sys

from connectors.spreadsheets import REFUSED, has_data, rows_as_csv


def main() -> int:
    """Read the workbook on stdin; write its CSV, or why it cannot be read."""
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(sys.stdin.buffer.read()))
        sheets = (book.get_sheet_by_index(i).to_python() for i in range(len(book.sheet_names)))
        rows = next((rows for rows in sheets if has_data(rows)), [])
    except PasswordError:
        sys.stderr.write("the workbook is password-protected; save it again without one")
    except (CalamineError, ValueError) as exc:
        sys.stderr.write(f"not a readable spreadsheet ({exc}); save it again as CSV")
    else:
        sys.stdout.buffer.write(rows_as_csv(rows))
        return 0
    return REFUSED


if __name__ == "__main__":
    sys.exit(main())
