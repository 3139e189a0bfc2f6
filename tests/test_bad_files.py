"""Issue 8: a corpus of bad files; each gives a clear message naming file, line and problem, counts the good
rows, and leaves the user's file untouched."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import ga4, nps, spend, tickets
from connectors.base import ConnectorError
from kpitui.cli import run
from kpitui.metrics.support import SupportSettings, compute_support
from tests.scans import scanned

BAD = Path(__file__).parent / "data" / "bad"


def digest(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


@pytest.mark.parametrize(
    ("name", "rows", "skipped", "warning"),
    [
        ("header_only.csv", 0, [], "header_only.csv: a header but no data rows"),
        ("semicolon.csv", 2, [], None),
        ("tab.tsv", 2, [], None),
        ("cp1252.csv", 1, [], None),
        ("utf16.csv", 1, [], None),
        ("bom.csv", 1, [], None),
        ("crlf.csv", 2, [], None),
        ("ragged.csv", 2, [(3, "expected 8 fields, found 3"), (4, "expected 8 fields, found 10")], None),
        ("unclosed_quote.csv", 1, [(3, "unclosed quote: this field runs to the end of the file")], None),
        ("duplicate_columns.csv", 1, [], None),
        (  # negative durations are data errors: the tickets still count, the values are not used (DESIGN.md §4)
            "negative_durations.csv",
            3,
            [],
            "negative_durations.csv: 1 ticket has a negative first response minutes "
            "(not used; the tickets still count)",
        ),
    ],
)
def test_ticket_corpus(name, rows, skipped, warning):
    path = BAD / name
    before = digest(path)
    result = tickets.load({"path": str(path)})
    assert result.report.rows == rows
    assert [(s.file, s.line, s.reason) for s in result.report.skipped] == [(name, *s) for s in skipped]
    if warning:
        assert warning in result.report.warnings
    assert digest(path) == before


def test_encodings_keep_the_text():
    for name in ("cp1252.csv", "utf16.csv"):
        frame = scanned(tickets.load({"path": str(BAD / name)}).frames["tickets"])
        assert frame.loc[0, "subject"] == "Café crème"


def test_crlf_values_have_no_carriage_returns():
    frame = scanned(tickets.load({"path": str(BAD / "crlf.csv")}).frames["tickets"])
    assert list(frame["status"]) == ["solved", "open"]
    assert "\r" not in "".join(frame["subject"].dropna())


def test_duplicate_columns_use_the_first():
    frame = scanned(tickets.load({"path": str(BAD / "duplicate_columns.csv")}).frames["tickets"])
    assert frame.loc[0, "subject"] == "First"


def test_future_dates_are_not_in_the_period():
    result = tickets.load({"path": str(BAD / "future_dates.csv")})
    metrics = compute_support(result.frames["tickets"], SupportSettings(30), date(2026, 11, 20))
    assert (result.report.rows, metrics.tickets, metrics.backlog) == (2, 1, 1)


def test_scores_out_of_range_are_skipped_with_lines():
    result = nps.load({"path": str(BAD / "scores_out_of_range.csv")})
    assert result.report.rows == 1
    assert [(s.line, s.reason) for s in result.report.skipped] == [
        (2, "score is not a whole number 0–10"),
        (3, "score is not a whole number 0–10"),
        (5, "score is not a whole number 0–10"),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "empty.csv", "empty.csv: the file is empty"),
        (lambda d: d / "nope.csv", "nope.csv: no such file; check the path"),
        (lambda d: d, "is a directory"),
        (lambda d: d / "*.xyz", r"\*.xyz: the pattern matches no file"),
    ],
)
def test_unusable_paths_are_one_clear_error(tmp_path, make, message):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ConnectorError, match=message):
        tickets.load({"path": str(make(tmp_path))})


def test_binary_file(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 20)
    with pytest.raises(ConnectorError, match=r"export\.csv: looks like a binary file"):
        tickets.load({"path": str(path)})


def test_a_50_mb_single_field_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("w") as handle:
        handle.write('Id,Subject,Created at\n1,"' + "x" * 50_000_000 + '",2026-11-01 10:00\n2,small,2026-11-02 10:00\n')
    result = tickets.load({"path": str(path)})
    frame = scanned(result.frames["tickets"])
    assert result.report.rows == 2 and len(frame.loc[0, "subject"]) == 50_000_000


def test_windows_1252_text_far_into_a_file_is_read_once(tmp_path):
    header = b"Id,Subject,Status,Priority,Created at,Solved at,First reply time in minutes,Full resolution time\n"
    good = b"%d,Login,Solved,High,2026-11-01 10:00,2026-11-01 12:00,30,120\n"
    rows = [good % i for i in range(1, 3001)]
    rows[1] = b"2,Short,Open\n"
    rows[2999] = good.replace(b"Login", b"Caf\xe9 cr\xe8me") % 3000
    path = tmp_path / "excel.csv"
    path.write_bytes(header + b"".join(rows))
    assert len(header + b"".join(rows[:2999])) > 65536  # past the part checked up front

    result = tickets.load({"path": str(path)})

    frame = scanned(result.frames["tickets"])
    assert frame["subject"].iloc[-1] == "Café crème"
    assert result.report.rows == 2999
    assert [(s.line, s.reason) for s in result.report.skipped] == [(3, "expected 8 fields, found 3")]


def test_broken_parquet_is_one_clear_error(tmp_path):
    path = tmp_path / "events.parquet"
    path.write_bytes(b"PAR1 this was cut off while copying")
    with pytest.raises(ConnectorError, match=r"events\.parquet: not a readable Parquet file \(.*magic bytes"):
        ga4.load({"path": str(path)})


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_an_event_export_without_user_ids_is_one_clear_error(tmp_path, fmt):
    """The message lists the file's own columns, none of kpitui's (an NDJSON file with a broken line too)."""
    path = tmp_path / f"events.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table({"event_timestamp": [1], "event_name": ["page_view"], "page": ["/"]}), path)
    elif fmt == "csv":
        path.write_text("event_timestamp,event_name,page\n1,page_view,/\n")
    else:
        path.write_text('{"event_timestamp": 1, "event_name": "page_view", "page": "/"}\n{broken\n')
    found = "found event_name, event_timestamp, page$"
    with pytest.raises(ConnectorError, match=rf"events\.{fmt}: .*no user_pseudo_id column; {found}"):
        ga4.load({"path": str(path)})


def test_large_ga4_csv_files_are_read_or_named(tmp_path, capsys):
    """Files of 1 MiB and more are memory-mapped: an event export still loads, a CSV that is not an export is
    one message naming the file (it was an `unexpected AttributeError`)."""
    events = tmp_path / "events.csv"
    rows = "".join(f"20261110,{1_794_300_000_000_000 + i},page_view,u{i % 500}\n" for i in range(40_000))
    events.write_text("event_date,event_timestamp,event_name,user_pseudo_id\n" + rows)
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n" + "x,y,z\n" * 400_000)
    assert events.stat().st_size > 1 << 20 and other.stat().st_size > 2_000_000
    assert ga4.load({"path": str(events)}).report.rows == 40_000
    config = tmp_path / "kpitui.toml"
    config.write_text(f'[sources.web]\ntype = "ga4"\npath = "{other}"\n')
    assert run(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{other}: not a GA4 export kpitui knows" in out and "unexpected" not in out


def test_large_csv_files_with_quoted_line_breaks_and_a_ragged_row_are_read(tmp_path):
    """A memory-mapped CSV (1 MiB or more) whose records hold line breaks in quoted cells, its last one too, and a
    ragged row: read and reported as a small file is (each was an `unexpected AttributeError`)."""
    record = '20261110,{t},page_view,u{u},"[{{""key"": ""ga_session_id"",\n ""value"": {{""int_value"": 1}}}}]"\n'
    records = [record.format(t=1_794_300_000_000_000 + i, u=i % 500) for i in range(15_000)]  # two lines each
    records.insert(6_000, "20261110,1794300000000000,page_view,u1,[],extra\n")  # line 1 + 2 × 6,000 + 1
    path = tmp_path / "events.csv"
    path.write_text("event_date,event_timestamp,event_name,user_pseudo_id,event_params\n" + "".join(records))
    assert path.stat().st_size > 1 << 20
    result = ga4.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(12_002, "expected 5 fields, found 6")]
    assert result.report.rows == 15_000


@pytest.mark.parametrize("blank", [False, True])
def test_bad_rows_after_multi_line_cells_are_reported_at_their_lines(tmp_path, blank):
    """Tickets whose subjects span two and three lines, a bad date on the records starting at lines 8 and 12 (and a
    blank line before the second when `blank`): each is reported at the line its record starts."""
    rows = [
        '1,"Export fails\non big files",2026-11-01 10:00',  # lines 2-3
        '2,"Login\nloops\nforever",2026-11-02 10:00',  # 4-6
        "3,Plain,2026-11-03 10:00",  # 7
        '4,"Bad\ndate",soon',  # 8-9
        '5,"Two\nlines",2026-11-05 10:00',  # 10-11
        *([""] if blank else []),  # 12
        "6,Also bad,later",  # 12, or 13 after the blank line
    ]
    path = tmp_path / "tickets.csv"
    path.write_text("Id,Subject,Created at\n" + "\n".join(rows) + "\n")
    result = tickets.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [
        (8, "unreadable 'Created at' date"),
        (13 if blank else 12, "unreadable 'Created at' date"),
    ]


def test_a_value_that_does_not_fit_its_columns_type_leaves_only_that_column_as_text(tmp_path):
    """The reader types columns from the first rows; a later value that does not fit (the date `soon` on the last
    row) makes that column text, and only it: the others stay typed (every column was read as text, each figure
    over them slower), and the row is reported at its line."""
    rows = "".join(f"{i},2026-11-01 10:{i % 60:02d},Open,{i}\n" for i in range(2000)) + "2000,soon,Open,5\n"
    path = tmp_path / "tickets.csv"
    path.write_text("Id,Created at,Status,First reply time in minutes\n" + rows)
    result = tickets.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(2002, "unreadable 'Created at' date")]
    (_, table), = result.frames["tickets"].parts[0].arrow  # fmt: skip
    kinds = {name: str(table.schema.field(name).type) for name in ("Id", "Created at", "First reply time in minutes")}
    assert kinds == {"Id": "int64", "Created at": "large_string", "First reply time in minutes": "double"}
    assert result.report.rows == 2000


def test_an_engine_out_of_memory_is_the_sources_error_not_a_crash(tmp_path, capsys):
    """A funnel that needs more than `[engine] memory_limit` and cannot spill (its temp_directory is a file):
    the snapshot is written, the source says what to change (it was a traceback out of `kpitui snapshot`)."""
    import json

    from kpitui import engine

    events = tmp_path / "events.parquet"
    engine.cursor().execute(
        f"COPY (SELECT CAST(1794300000000000 + i * 1000 AS BIGINT) AS event_timestamp, "
        f"CASE WHEN i % 3 = 0 THEN 'page_view' ELSE 'sign_up' END AS event_name, 'u' || (i % 200000) AS "
        f"user_pseudo_id FROM range(3000000) r(i)) TO '{events}' (FORMAT PARQUET)"
    )
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.web]\ntype = "ga4"\npath = "{events}"\n\n[funnel]\nsteps = ["page_view", "sign_up"]\n\n'
        f'[engine]\nmemory_limit = "20MB"\ntemp_directory = "{blocked}"\n'
    )
    try:
        code = run(["snapshot", "--config", str(config), "--as-of", "2026-11-10", "--format", "json",
                    "--data-dir", str(tmp_path / "data")])  # fmt: skip
    finally:
        engine.configure(engine.EngineSettings())
    out = capsys.readouterr()
    snapshot = json.loads(out.out)
    assert code == 1 and snapshot["funnel"] is None  # a source failed
    assert "error: source web: the analytics engine needed more memory" in out.err
    web = snapshot["sources"]["web"]
    assert web["status"] == "error"
    assert web["error"].startswith("the analytics engine needed more memory than [engine] memory_limit (20MB)")


def test_blank_lines_before_the_header_are_passed_over(tmp_path):
    """An export that starts with blank lines: the header is the first line with text, and bad rows are reported
    at their own lines (it was an `unexpected` engine error for tickets and surveys)."""
    path = tmp_path / "tickets.csv"
    path.write_text("\n \n\nId,Subject,Created at\n1,Login,2026-11-01 10:00\n2,Bad date,soon\n3,Short\n")
    result = tickets.load({"path": str(path)})
    assert result.report.rows == 1
    assert sorted((s.line, s.reason) for s in result.report.skipped) == [
        (6, "unreadable 'Created at' date"),
        (7, "expected 3 fields, found 2"),
    ]
    survey = tmp_path / "survey.csv"
    survey.write_text("\n\nscore,comment,created_at\n9,Great,2026-11-01\n11,Too high,2026-11-02\n")
    result = nps.load({"path": str(survey)})
    assert result.report.rows == 1
    assert [(s.line, s.reason) for s in result.report.skipped] == [(5, "score is not a whole number 0–10")]


def test_a_utf16_export_cut_short_is_read_to_its_last_whole_row(tmp_path):
    """A UTF-16 export whose copy stopped in the middle of a character (an odd number of bytes), one of its
    characters a lone surrogate: the whole rows are read, the cut one is reported as a UTF-8 file's would be (it
    was an `unexpected UnicodeDecodeError`)."""
    text = "Id,Subject,Created at\r\n1,Café,2026-11-01 10:00\r\n2,Cr§me,2026-11-02 10:00\r\n3,Cut"
    lone_surrogate = b"\x00\xd8"
    data = b"\xff\xfe" + text.encode("utf-16-le").replace("§".encode("utf-16-le"), lone_surrogate)
    path = tmp_path / "tickets.csv"
    path.write_bytes(data[:-1])
    result = tickets.load({"path": str(path)})
    assert list(scanned(result.frames["tickets"])["subject"]) == ["Café", "Cr\ufffdme"]
    assert [(s.line, s.reason) for s in result.report.skipped] == [(4, "expected 3 fields, found 2")]


def test_columns_without_a_name_are_read_past(tmp_path):
    """Headers with an empty name (a trailing comma on every line, an unnamed column): the exports read as they
    would without it (each was an `unexpected ParserException`)."""
    original = (Path(__file__).parent / "data" / "ga4" / "events_flattened.csv").read_text()
    path = tmp_path / "events.csv"
    path.write_text("".join(line + ",\n" for line in original.splitlines()))
    expected = scanned(
        ga4.load({"path": str(Path(__file__).parent / "data" / "ga4" / "events_flattened.csv")}).frames["events"]
    )
    pd.testing.assert_frame_equal(scanned(ga4.load({"path": str(path)}).frames["events"]), expected)
    survey = tmp_path / "survey.csv"
    survey.write_text("score,,comment\n9,x,Great\n3,y,Slow\n")
    result = nps.load({"path": str(survey)})
    assert result.report.rows == 2
    assert list(scanned(result.frames["responses"])["comment"]) == ["Great", "Slow"]


def test_ui_reports_with_a_repeated_metric_or_none_are_read(tmp_path):
    """A GA4 report whose table names its dimension and a metric twice, and one whose table has no metric column:
    read, a repeated column as `Sessions.1` (they were an `unexpected ValueError` and `AttributeError`; a repeated
    metric was two rows of one metric)."""
    path = tmp_path / "report.csv"
    header = "Session source,Sessions,Sessions,Session source"
    path.write_text(f"# Traffic acquisition\n# 20261101-20261130\n\n{header}\ngoogle,10,12,11\n")
    traffic = ga4.load({"path": str(path)}).frames["traffic"]
    assert sorted(zip(traffic["metric"], traffic["value"], strict=True)) == [
        ("Session source.1", 11.0),
        ("Sessions", 10.0),
        ("Sessions.1", 12.0),
    ]
    assert set(traffic["dimension_value"]) == {"google"}
    path.write_text("# Traffic acquisition\n# 20261101-20261130\n\nSession source\ngoogle\n")
    assert len(ga4.load({"path": str(path)}).frames["traffic"]) == 0


@pytest.mark.parametrize("missing", ["event_timestamp", "event_name"])
@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_an_event_export_without_event_times_or_names_is_one_clear_error(tmp_path, fmt, missing):
    """An export of events without an `event_timestamp` column, or with `event_names` for `event_name` (a CSV's was
    an `unexpected KeyError` or `BinderException`, an NDJSON file's rows were all skipped)."""
    event = {"event_date": "20261110", "event_timestamp": "1794300000000000", "event_names": "page_view"}
    event = {name: value for name, value in {**event, "user_pseudo_id": "u1"}.items() if name != missing}
    if missing == "event_timestamp":
        event["event_name"] = event.pop("event_names")
    path = tmp_path / f"events.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table({name: [value] for name, value in event.items()}), path)
    elif fmt == "csv":
        path.write_text(",".join(event) + "\n" + ",".join(event.values()) + "\n")
    else:
        path.write_text(json.dumps(event) + "\n")
    found = f"found {', '.join(sorted(event))}$"
    with pytest.raises(ConnectorError, match=rf"events\.{fmt}: not a GA4 event export: no {missing} column; {found}"):
        ga4.load({"path": str(path)})


@pytest.mark.parametrize("typed", [True, False])
def test_durations_that_are_no_durations_are_reported_at_their_lines(tmp_path, typed):
    """Minutes that are infinite or longer than a century (1e308 took the whole Support section down with an
    engine `Conversion Error`): each such row is skipped and reported at its line, as an unreadable value is,
    whether the reader typed the column as numbers or (`typed` False: a word in it) read it as text."""
    rows = [
        "1,Login,2026-11-01 10:00,30",
        "2,Infinite,2026-11-02 10:00,inf",
        "3,Empty,2026-11-03 10:00,NaN",  # an empty cell, as in pandas: no reply yet
        "4,Huge,2026-11-04 10:00,1e308",
        "5,114 years,2026-11-05 10:00,60000000",
        "6,Fine,2026-11-06 10:00,45",
        *([] if typed else ["7,Word,2026-11-07 10:00,soon"]),
    ]
    path = tmp_path / "tickets.csv"
    path.write_text("Id,Subject,Created at,First reply time in minutes\n" + "\n".join(rows) + "\n")
    result = tickets.load({"path": str(path)})
    (_, table), = result.frames["tickets"].parts[0].arrow  # fmt: skip
    assert str(table.schema.field("First reply time in minutes").type) == ("double" if typed else "large_string")
    reason = "'First reply time in minutes' is not a duration"
    bad_lines = [3, 5, 6] if typed else [3, 5, 6, 8]
    assert [(s.line, s.reason) for s in result.report.skipped] == [(line, reason) for line in bad_lines]
    metrics = compute_support(result.frames["tickets"], SupportSettings(30), date(2026, 11, 20))
    assert (result.report.rows, metrics.tickets, metrics.first_response_minutes.median) == (3, 3, 37.5)


def test_a_csv_with_classic_mac_line_endings_is_read_by_line(tmp_path):
    """Excel for Mac's "CSV (Macintosh)" ends lines with a carriage return alone: read, bad rows at their lines (it
    was an `unexpected Error: new-line character seen in unquoted field`)."""
    path = tmp_path / "tickets.csv"
    path.write_bytes(b"Id,Subject,Created at\r1,Login,2026-11-01 10:00\r2,Bad,soon\r3,Export,2026-11-03 10:00\r")
    result = tickets.load({"path": str(path)})
    assert list(scanned(result.frames["tickets"])["subject"]) == ["Login", "Export"]
    assert [(s.line, s.reason) for s in result.report.skipped] == [(3, "unreadable 'Created at' date")]


def test_a_binary_file_behind_a_byte_order_mark_is_named(tmp_path):
    """A workbook with a UTF-8 byte order mark put before it is no text export (it was an `unexpected Error`)."""
    path = tmp_path / "export.xls"
    path.write_bytes(
        b"\xef\xbb\xbf" + (Path(__file__).parent / "data" / "tickets" / "freshdesk_binary.xls").read_bytes()
    )
    with pytest.raises(ConnectorError, match=r"export\.xls: looks like a binary file"):
        tickets.load({"path": str(path)})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_event_export_with_a_column_named_like_sql_names_is_read(tmp_path, fmt):
    """A column named `p` (a header cell split in two) beside the event params: the params are still read (the
    column was bound in place of the SQL lambda's parameter `p`: an `unexpected BinderException`)."""
    path = tmp_path / f"events.{fmt}"
    if fmt == "csv":
        path.write_text(
            "event_date,event_timestamp,event_name,user_pseudo_id,p,event_params.0.key,event_params.0.value.int_value\n"
            "20261110,1794300000000000,page_view,u1,x,ga_session_id,11\n"
        )
    else:
        param = pa.array([[{"key": "ga_session_id", "value": {"int_value": 11}}]])
        table = {"event_timestamp": [1794300000000000], "event_name": ["page_view"], "user_pseudo_id": ["u1"]}
        pq.write_table(pa.table({**table, "p": ["x"], "event_params": param}), path)
    frame = scanned(ga4.load({"path": str(path)}).frames["events"])
    assert list(zip(frame["event_name"], frame["session_id"], strict=True)) == [("page_view", "11")]


def test_cells_past_the_csv_modules_field_limit_are_read(tmp_path):
    """A 200 KB cell (a campaign name, a report's dimension value) in the files read with Python's csv module,
    whose default limit is 128 KiB (each was an `unexpected Error: field larger than field limit`)."""
    long = "x" * 200_000
    costs = tmp_path / "spend.csv"
    costs.write_text(f"date,channel,campaign,spend,currency\n2026-11-03,Newsletter,{long},90,usd\n")
    assert spend.load({"path": str(costs)}).frames["spend"]["campaign"].tolist() == [long]
    report = tmp_path / "report.csv"
    report.write_text(f"# Traffic acquisition\n# 20261101-20261130\n\nSession source,Sessions\n{long},10\n")
    assert ga4.load({"path": str(report)}).frames["traffic"]["dimension_value"].tolist() == [long]


def test_a_header_wider_than_a_spreadsheet_is_one_clear_error(tmp_path):
    """A first line of 200,001 columns (a cut file whose header ran into 200,000 commas) is no header: one message,
    at once (every query over so wide a table took seconds: the refresh ran for minutes)."""
    path = tmp_path / "tickets.csv"
    path.write_text("Id,Subject,Created at" + "," * 200_000 + "\n1,Login,2026-11-01 10:00\n")
    with pytest.raises(
        ConnectorError,
        match=r"tickets\.csv: the first line has over 16,384 columns, more than a sheet holds: is it the header\?",
    ):
        tickets.load({"path": str(path)})


def test_a_ragged_windows_1252_row_far_into_a_file_is_a_bad_row(tmp_path):
    """A row with one field too many and an Excel (Windows-1252) `é`, past the part of the file checked up front:
    the file is read as Windows-1252 and that row reported at its line (the whole file was refused as "not a
    readable CSV": the bad-row handler could not be handed a row that is not UTF-8)."""
    rows = [b"%d,Login,2026-11-01 10:00\n" % i for i in range(1, 4001)]
    rows[3500] = b"3501,Caf\xe9,extra,2026-11-01 10:00\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"Id,Subject,Created at\n" + b"".join(rows))
    assert len(b"".join(rows[:3500])) > 65536
    result = tickets.load({"path": str(path)})
    assert [(s.line, s.reason) for s in result.report.skipped] == [(3502, "expected 3 fields, found 4")]
    assert result.report.rows == 3999


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_windows_1252_text_behind_a_byte_order_mark_is_read_quietly(tmp_path):
    """A UTF-8 byte order mark before Windows-1252 text (a tool that added one on saving): read as Windows-1252,
    without pyarrow printing "Exception ignored … UnicodeDecodeError" on stderr over the board."""
    path = tmp_path / "tickets.csv"
    path.write_bytes(b"\xef\xbb\xbfId,Subject,Created at\n1,Caf\xe9 cr\xe8me,2026-11-01 10:00\n2,Cr\xe8me\n")
    result = tickets.load({"path": str(path)})
    assert list(scanned(result.frames["tickets"])["subject"]) == ["Café crème"]
    assert [(s.line, s.reason) for s in result.report.skipped] == [(3, "expected 3 fields, found 2")]
