"""Spreadsheet exports read like the CSV export of the same data: Freshdesk's .xls download (Excel 2003 XML), a
binary .xls, an .ods, and an export opened and saved again in Excel as .xlsx (dates, numbers and durations become typed
cells). The same figures, bad rows at their sheet rows, and one clear message for what cannot be read."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from connectors import nps, spend, tickets
from connectors.base import ConnectorError, SkippedRow
from kpitui.metrics.nps import compute_nps
from kpitui.metrics.support import SupportSettings, compute_support
from tests.scans import scanned

DATA = Path(__file__).parent / "data"
FRESHDESK = DATA / "tickets/freshdesk_export.csv"
AS_OF = date(2026, 11, 20)


def _typed(value: str) -> object:
    """A CSV value as Excel types it on opening: whole numbers, ISO times, H:MM:SS as a time (a duration past 24h);
    control characters (an ANSI escape in a comment) cannot be stored in a sheet."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value == "":
        return None
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if hms := re.fullmatch(r"(\d+):(\d\d):(\d\d)", value):
        hours, minutes, seconds = map(int, hms.groups())
        return time(hours, minutes, seconds) if hours < 24 else timedelta(hours=hours, minutes=minutes, seconds=seconds)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def excel_resave(source: Path, target: Path, header_rows: int = 1, *, empty_first_sheet: bool = False) -> Path:
    """The CSV opened in Excel and saved as .xlsx (optionally behind an empty first sheet)."""
    book = openpyxl.Workbook()
    sheet = book.active
    if empty_first_sheet:
        sheet.title = "Notes"
        sheet = book.create_sheet("Export")
    with source.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle)):
            sheet.append([_typed(v) for v in row] if number >= header_rows else row)
    book.save(target)
    return target


def _support(result, business: bool = False):
    return compute_support(result.frames["tickets"], SupportSettings(30, business=business), AS_OF)


@pytest.fixture(params=["freshdesk_spreadsheetml.xls", "freshdesk_binary.xls", "freshdesk_calc.ods", "resaved.xlsx"])
def freshdesk_sheet(request, tmp_path) -> Path:
    """The same five Freshdesk tickets as freshdesk_export.csv, as a spreadsheet."""
    if request.param == "resaved.xlsx":
        return excel_resave(FRESHDESK, tmp_path / "resaved.xlsx")
    return DATA / "tickets" / request.param


def test_a_freshdesk_spreadsheet_gives_the_figures_of_its_csv_export(freshdesk_sheet):
    """Tickets 1, 2, 3, 5 in the period (4's created time is unreadable); replies 60, 210, 30 min; solves 360, 1440,
    120 min; CSAT 2 of 3; business hours: ticket 2 has none, ticket 5's is negative, ticket 3's 00:00:00 is no
    reply; ticket 1's description spans two lines of the CSV, so its bad row is CSV line 6 and sheet row 5."""
    sheet, export = tickets.load({"path": str(freshdesk_sheet)}), tickets.load({"path": str(FRESHDESK)})
    assert sheet.report.layout == export.report.layout == "Freshdesk/Freshservice"
    assert sheet.report.skipped == [SkippedRow(freshdesk_sheet.name, 5, "unreadable 'Created time' date")]
    assert export.report.skipped == [SkippedRow(FRESHDESK.name, 6, "unreadable 'Created time' date")]
    calendar = _support(sheet)
    assert (calendar.tickets, calendar.backlog, calendar.csat) == (4, 1, pytest.approx(2 / 3))
    assert (calendar.first_response_minutes.median, calendar.first_response_minutes.p90) == (60.0, 180.0)
    assert calendar.resolution_minutes.median == 360.0
    business = _support(sheet, business=True)
    assert (business.first_response_minutes.median, business.without_business_minutes) == (60.0, 2)
    assert business.resolution_minutes.p90 == pytest.approx(360 + 0.8 * (1575 - 360))  # 26:15:00 is 1,575 min
    assert (calendar, business) == (_support(export), _support(export, business=True))
    subjects = scanned(sheet.frames["tickets"]).set_index("ticket_id")["subject"]
    assert subjects.to_dict() == {"1": "Refund", "2": "Crash", "3": "Login", "5": "Merged"}


def test_survey_and_spend_spreadsheets_read_like_their_csv(tmp_path):
    """SurveyMonkey's two header rows and Google Ads' title rows survive the trip through Excel."""
    survey_csv = DATA / "nps/surveymonkey.csv"
    survey = nps.load({"path": str(excel_resave(survey_csv, tmp_path / "survey.xlsx", header_rows=2))})
    expected = compute_nps(nps.load({"path": str(survey_csv)}).frames["responses"], AS_OF)
    got = compute_nps(survey.frames["responses"], AS_OF)
    assert (got.score, got.promoters, got.passives, got.detractors) == (25.0, 2, 1, 1)
    figures = lambda m: (m.score, m.responses, m.margin_of_error, m.previous_score, m.history)  # noqa: E731
    assert figures(got) == figures(expected)
    ads_csv = DATA / "spend/google_ads.csv"
    ads = spend.load({"path": str(excel_resave(ads_csv, tmp_path / "ads.xlsx", header_rows=3))})
    assert ads.frames["spend"].equals(spend.load({"path": str(ads_csv)}).frames["spend"])


def test_the_first_sheet_with_data_is_read(tmp_path):
    """An empty sheet before the export (xlsx); an empty worksheet and a row placed by ss:Index (Excel 2003 XML)."""
    workbook = excel_resave(FRESHDESK, tmp_path / "notes_first.xlsx", empty_first_sheet=True)
    assert _support(tickets.load({"path": str(workbook)})) == _support(tickets.load({"path": str(FRESHDESK)}))
    cell = '<Cell><Data ss:Type="String">{}</Data></Cell>'
    xml = (
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Empty"><Table/></Worksheet>'
        '<Worksheet ss:Name="Tickets"><Table>'
        f"<Row>{cell.format('Id')}{cell.format('Created at')}{cell.format('First reply time in minutes')}</Row>"
        f"<Row>{cell.format('1')}{cell.format('2026-11-10 09:00')}{cell.format('30')}</Row>"
        f'<Row ss:Index="4">{cell.format("2")}{cell.format("never")}{cell.format("45")}</Row>'
        "</Table></Worksheet></Workbook>"
    )
    path = tmp_path / "zendesk.xls"
    path.write_text(xml)
    result = tickets.load({"path": str(path)})
    assert result.report.skipped == [SkippedRow("zendesk.xls", 4, "unreadable 'Created at' date")]
    assert _support(result).first_response_minutes.median == 30.0


def test_a_date_cell_of_an_excel_2003_xml_export_is_a_date(tmp_path):
    """Excel 2003 XML writes date cells as `2026-11-01T00:00:00.000` (xlsx as `2026-11-01 00:00:00`): a day."""
    cell = '<Cell><Data ss:Type="{}">{}</Data></Cell>'
    rows = [
        [("String", "date"), ("String", "channel"), ("String", "spend")],
        [("DateTime", "2026-11-01T00:00:00.000"), ("String", "google"), ("Number", "120.5")],
        [("DateTime", "not a date"), ("String", "google"), ("Number", "3")],
    ]
    table = "".join("<Row>" + "".join(cell.format(*c) for c in row) + "</Row>" for row in rows)
    path = tmp_path / "spend.xls"
    path.write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        f'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table>{table}</Table></Worksheet></Workbook>'
    )
    result = spend.load({"path": str(path)})
    assert result.frames["spend"][["start", "spend"]].to_dict("records") == [
        {"start": datetime(2026, 11, 1, tzinfo=UTC), "spend": 120.5}
    ]
    assert result.report.skipped == [SkippedRow("spend.xls", 3, "unreadable date 'not a date'")]


def test_a_spreadsheet_that_cannot_be_read_is_one_clear_message(tmp_path):
    """A workbook cut short, and a zipped CSV (how some helpdesks deliver exports), each name the file and the fix."""
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(excel_resave(FRESHDESK, tmp_path / "whole.xlsx").read_bytes()[:1500])
    with pytest.raises(ConnectorError, match=r"cut\.xlsx: not a readable spreadsheet \(.+\); save it again as CSV"):
        tickets.load({"path": str(cut)})
    zipped = tmp_path / "export.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tickets.csv", FRESHDESK.read_bytes())
    zipped.write_bytes(buffer.getvalue())
    with pytest.raises(ConnectorError, match=r"export\.xlsx: a zip archive, not an export: unzip it"):
        tickets.load({"path": str(zipped)})


def test_a_hostile_xml_workbook_is_refused_not_expanded_or_followed(tmp_path):
    """Entities that expand a billion times, and one naming a local file: refused with the file named, nothing read."""
    ns = 'xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"'
    body = '<Workbook {}><Worksheet><Table><Row><Cell><Data ss:Type="String">{}</Data></Cell></Row></Table></Worksheet>'
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    hostile = {
        "laughs.xls": f'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY lol0 "lol">{laughs}]>' + body.format(ns, "&lol9;"),
        "passwd.xls": '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + body.format(ns, "&e;"),
    }
    for name, xml in hostile.items():
        (tmp_path / name).write_text(xml + "</Workbook>")
        with pytest.raises(
            ConnectorError, match=rf"{re.escape(name)}: not a readable spreadsheet \((limit on input|undefined entity)"
        ):
            tickets.load({"path": str(tmp_path / name)})


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tickets.xls", "<html><body><table><tr><td>Ticket ID</td><td>Created time</td></tr></table></body></html>"),
        ("tickets.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<tickets type="array"><ticket><id>1</id></ticket>'),
    ],
    ids=["an HTML table saved as .xls", "a helpdesk's XML export"],
)
def test_html_or_xml_that_is_no_workbook_is_one_clear_message(tmp_path, name, text):
    """Read as CSV it would only say "no ticket id column; found: <html>…"; it says what the file is instead."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConnectorError, match=rf"{re.escape(name)}: an HTML or XML file, not a CSV export or a work"):
        tickets.load({"path": str(path)})


def test_a_workbook_that_makes_its_reader_abort_is_one_clear_message(tmp_path, capsys):
    """`bad/damaged_workbook.xls` is the binary .xls fixture with two bytes changed: it makes the workbook reader ask
    for 2 TB and abort, which took the whole process down. The reader runs in a process of its own: the snapshot is
    written (exit code 1: a source failed), the source names the file."""
    import json

    from kpitui.cli import run

    config = tmp_path / "kpitui.toml"
    config.write_text(f'[sources.support]\ntype = "tickets"\npath = "{DATA / "bad/damaged_workbook.xls"}"\n')
    assert run(["snapshot", "--config", str(config), "--data-dir", str(tmp_path), "--format", "json"]) == 1
    status = json.loads(capsys.readouterr().out)["sources"]["support"]
    assert status["status"] == "error"
    assert re.fullmatch(
        r".*damaged_workbook\.xls: not a readable spreadsheet \(its reader stopped: .+\); save it again as CSV",
        status["error"],
    )


@pytest.mark.parametrize(
    ("where", "index", "message"),
    [
        ("Row", "1000000000", "row 1000000000 is past Excel's last row, 1048576"),
        ("Cell", "100000", "column 100000 is past Excel's last column, 16384"),
        ("Cell", "B", "ss:Index 'B' is not a number"),
    ],
)
def test_an_excel_2003_xml_workbook_with_a_broken_index_is_one_clear_message(tmp_path, where, index, message):
    """An `ss:Index` far past Excel's sheet (it filled memory with empty rows) or not a number (an `unexpected
    ValueError`)."""
    ns = 'xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"'
    row = f'<Row ss:Index="{index}">' if where == "Row" else "<Row>"
    cell = f'<Cell ss:Index="{index}">' if where == "Cell" else "<Cell>"
    path = tmp_path / "tickets.xls"
    path.write_text(f'<?xml version="1.0"?><Workbook {ns}><Worksheet><Table>{row}{cell}<Data ss:Type="String">1'
                    "</Data></Cell></Row></Table></Worksheet></Workbook>")  # fmt: skip
    with pytest.raises(ConnectorError, match=rf"tickets\.xls: not a readable spreadsheet \({re.escape(message)}\)"):
        tickets.load({"path": str(path)})
