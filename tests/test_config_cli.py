"""Config errors and every CLI subcommand with its exit code."""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from pathlib import Path

import pytest

from kpitui.cli import run
from kpitui.config import ConfigError, load_config, parse_config
from kpitui.starter import starter_config

DATA = Path(__file__).parent / "data"
SNAPSHOT_KEYS = {
    "as_of", "generated_at", "currency", "sources", "revenue", "nps", "support", "funnel", "customers", "acquisition",
    "engagement", "alerts",
}  # fmt: skip


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[app]\nrefresh = 5", "[app] refresh: expected a duration like"),
        ('[app]\ncurrency = "dollars"', "[app] currency: expected a three-letter ISO currency code"),
        ('[board]\ntiles = ["revenue"]', "[board] tiles: 'revenue' is not a KPI; use a short name (mrr, arr,"),
        ('[board]\ntiles = [{ kpi = "mrr", format = "euros" }]', '[board.tiles[0]] format: expected one of "money"'),
        ('[app]\ntheme = "neon"', '[app] theme: expected one of "ansi-dark", "ansi-light"'),
        ('[app]\ncolour = "red"', "[app] colour: unknown key; expected one of currency, refresh, period, theme"),
        (
            '[sources.x]\ntype = "jira"',
            "[sources.x] type: expected one of stripe, ga4, tickets, nps, spend, got 'jira'",
        ),
        (
            '[sources.x]\ntype = ["tickets"]',
            "[sources.x] type: expected one of stripe, ga4, tickets, nps, spend, got ['ti",
        ),
        (
            "[sources.x]\ntype = { a = 1 }",
            "[sources.x] type: expected one of stripe, ga4, tickets, nps, spend, got {'a'",
        ),
        ('[sources.x]\ntype = "tickets"', "[sources.x] path: missing; this source needs it"),
        (
            '[sources.x]\ntype = "tickets"\npath = "a.csv"\ntimezone = "Mars/Base"',
            "[sources.x] timezone: expected an IANA",
        ),
        (
            '[sources.x]\ntype = "nps"\npath = "a.csv"\ndate_order = "dmy"',
            '[sources.x] date_order: expected one of "month-first", "day-first", got \'dmy\'',
        ),
        (
            '[sources.x]\ntype = "nps"\npath = "a.csv"\nscore_values = "numerical"',
            '[sources.x] score_values: expected one of "scores", "positions", got \'numerical\'',
        ),
        ('[sla]\nurgent = "soon"', "[sla] urgent: expected a duration"),
        ('[[alerts]]\nkpi = "revenue.mrr"', "[alerts[0]]: needs above or below"),
        ("[funnel]\nsteps = []", "[funnel] steps: expected a list of event names"),
        ("[bogus]\nx = 1", "[bogus]: unknown section"),
        ("[customers]\nmrr_bands = [100, 10]", "[customers] mrr_bands: expected rising MRR bounds from 0"),
        ("[acquisition]\ngross_margin = 80", "[acquisition] gross_margin: expected a fraction above 0"),
        ('[sources.x]\ntype = "spend"', "[sources.x] path: missing; this source needs it"),
    ],
)
def test_config_problems_name_file_key_and_expectation(tmp_path, toml, message):
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(f"{path}: ")
    assert message in info.value.problems[0]


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        parse_config({"app": {"refresh": 1, "period": "soon"}, "fx": {"eur": "x"}})
    assert len(info.value.problems) == 3


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[app\n"))
    with pytest.raises(ConfigError, match="no such config file; create one with: kpitui init"):
        load_config(tmp_path / "nope.toml")


def test_readable_config_with_a_key_warns_with_the_fix(tmp_path):
    path = write(tmp_path, '[sources.b]\ntype = "stripe"\napi_key = "sk_live_x"\n', mode=0o644)
    assert load_config(path).warnings == (f"{path}: holds an API key but others can read it; run: chmod 600 {path}",)


def test_starter_config_is_valid_toml_and_a_valid_config():
    text = starter_config()
    assert text.count("\n# ") >= 8
    config = parse_config(tomllib.loads(text))
    assert list(config.sources) == ["billing"]  # the file examples are disabled until pointed at real files
    assert config.sla_minutes == {"urgent": 60.0, "high": 240.0, "normal": 1440.0}


def test_init_writes_once_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "k.toml"
    assert run(["init", "--path", str(target)]) == 0
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert run(["init", "--path", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path, capsys):
    path = write(tmp_path, "[app]\nrefresh = 5\ntheme = 3\n")
    assert run(["snapshot", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith(f"error: {path}: [app] ") for line in err)


def test_usage_error_exits_2(capsys):
    assert run(["snapshot", "--format", "xml"]) == 2
    assert run(["snapshot", "--as-of", "yesterday"]) == 2


def test_snapshot_json_contract_on_demo(capsys):
    assert run(["snapshot", "--demo", "--as-of", "2026-11-22", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == SNAPSHOT_KEYS
    assert data["as_of"] == "2026-11-22"
    assert set(data["revenue"]) == {
        "mrr",
        "arr",
        "paying_customers",
        "arpa",
        "movements",
        "customer_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "nrr",
        "ltv",
        "quick_ratio",
        "history",
        "trial_conversion",
        "cmrr",
        "mrr_at_risk",
        "acv",
        "by_plan",
        "by_interval",
        "cohorts",
    }
    revenue = data["revenue"]
    assert sum(p["mrr"] for p in revenue["by_plan"]) == pytest.approx(revenue["mrr"], abs=1e-3)
    assert sum(i["mrr"] for i in revenue["by_interval"]) == pytest.approx(revenue["mrr"], abs=1e-3)
    assert [set(p) for p in revenue["by_plan"][:1]] == [{"plan", "mrr", "customers"}]
    assert len(revenue["cohorts"]) == 12 and set(revenue["cohorts"][0]) == {"month", "customers", "logo", "revenue"}
    assert revenue["cohorts"][-1]["logo"][1:] == [None] * 11  # this month's cohort: later months have not happened
    assert 0 < revenue["trial_conversion"] <= 1 and revenue["acv"] > 0
    assert data["revenue"]["arr"] == pytest.approx(12 * data["revenue"]["mrr"])
    moves = data["revenue"]["movements"]
    assert moves["net_new"] == pytest.approx(data["revenue"]["mrr"] - data["revenue"]["history"][-2]["mrr"], abs=1e-3)
    assert len(data["revenue"]["history"]) == 12 and data["revenue"]["history"][-1]["month"] == "2026-11"
    assert set(data["support"]) == {
        "tickets",
        "backlog",
        "first_response_minutes",
        "resolution_minutes",
        "sla_breach_rate",
        "csat",
        "history",
    }  # DESIGN.md section 6's keys, no more: the SLA warnings are the source's, not the section's
    assert set(data["support"]["first_response_minutes"]) == {"median", "p90", "mean"}
    assert -100 <= data["nps"]["score"] <= 100
    assert [s["name"] for s in data["funnel"]["steps"]] == ["session_start", "sign_up", "begin_checkout", "purchase"]
    assert all(s["status"] == "ok" for s in data["sources"].values())
    assert "sk_test_demo" not in json.dumps(data)
    customers, acquisition, engagement = data["customers"], data["acquisition"], data["engagement"]
    assert set(customers) == {
        "matched", "nps_by_plan", "nps_by_mrr_band", "tickets_by_mrr_band", "detractor_mrr", "at_risk"
    }  # fmt: skip
    assert set(customers["matched"]) == {"survey", "support", "web"}
    assert set(customers["matched"]["survey"]) == {"matched", "rows"}
    assert set(customers["at_risk"][0]) == {"customer", "mrr", "reasons"} and "@" not in json.dumps(customers)
    assert set(acquisition) == {
        "spend", "new_customers", "cac", "ltv_to_cac", "payback_months", "cost_per_signup", "by_channel"
    }  # fmt: skip
    assert set(acquisition["by_channel"][0]) == {"channel", "spend", "new_customers", "cac"}
    assert set(engagement) == {"dau", "wau", "mau", "stickiness", "lead_velocity_rate", "retention"}
    assert set(engagement["retention"][0]) == {"week", "users", "returning"}


def test_snapshot_csv_and_table(capsys):
    assert run(["snapshot", "--demo", "--as-of", "2026-11-22", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "kpi,value"
    assert any(line.startswith("revenue.mrr,") for line in lines)
    assert any(line.startswith("acquisition.by_channel.0.cac,") for line in lines)
    assert run(["snapshot", "--demo", "--as-of", "2026-11-22", "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "MRR" in table and "DAU / WAU / MAU" in table and "CAC / cost per sign-up" in table
    assert re.search(r"matched in survey +\d[\d,]* of [\d,]+ responses", table)


def test_snapshot_json_gives_each_sources_warnings(tmp_path, capsys):
    """DESIGN.md section 6: every source has type, status, rows, skipped_rows, last_success, error and warnings."""
    path = write(tmp_path, f'[sources.survey]\ntype = "nps"\npath = "{DATA}/nps/surveymonkey.csv"\n')
    assert run(["snapshot", "--config", str(path), "--as-of", "2026-11-20", "--format", "json"]) == 0
    survey = json.loads(capsys.readouterr().out)["sources"]["survey"]
    assert set(survey) == {"type", "status", "rows", "skipped_rows", "last_success", "error", "warnings"}
    assert (survey["rows"], survey["skipped_rows"]) == (4, 2)
    assert survey["warnings"] == [
        'surveymonkey.csv: 1 response scores 11 and none 0: if this is SurveyMonkey\'s "numerical value" export '
        '(choice positions 1–11), set score_values = "positions"',
        "surveymonkey.csv: dates like 03/11/2026 fit both orders and were read month-first; set date_order = "
        '"day-first" under [sources.NAME] if they are day-first',
        "1 row(s) skipped, score is not a whole number 0–10: surveymonkey.csv:7",
        "1 row(s) skipped, no score: surveymonkey.csv:8",
    ]


def test_snapshot_with_a_failing_source_exits_1_and_prints_the_rest(tmp_path, capsys):
    path = write(
        tmp_path,
        f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/zendesk.csv"\n'
        f'[sources.survey]\ntype = "nps"\npath = "{tmp_path}/missing.csv"\n',
    )
    assert run(["snapshot", "--config", str(path), "--as-of", "2026-11-20", "--format", "json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["support"]["tickets"] == 5 and data["nps"] is None and data["revenue"] is None
    assert data["sources"]["survey"]["status"] == "error"
    assert "missing.csv: no such file" in captured.err


def test_alert_states_in_the_snapshot(tmp_path, capsys):
    path = write(
        tmp_path,
        f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/zendesk.csv"\n'
        '[[alerts]]\nkpi = "support.first_response_minutes.median"\nabove = 45\n'
        '[[alerts]]\nkpi = "support.backlog"\nabove = 10\n'
        '[[alerts]]\nkpi = "nps.score"\nbelow = 0\n',
    )
    assert run(["snapshot", "--config", str(path), "--as-of", "2026-11-20", "--format", "json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    assert [(a["kpi"], a["state"]) for a in alerts] == [
        ("support.first_response_minutes.median", "warning"),
        ("support.backlog", "ok"),
        ("nps.score", "unknown"),
    ]


def test_check_reports_layouts_and_masks_keys(tmp_path, capsys, demo, monkeypatch):
    key = "sk_test_demo_key_0000"
    monkeypatch.setenv("DEMO_KEY", key)
    base = demo.config.sources["billing"].options["base_url"]
    path = write(
        tmp_path,
        f'[sources.billing]\ntype = "stripe"\napi_key_env = "DEMO_KEY"\nbase_url = "{base}"\n'
        f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/zendesk.csv"\n'
        f'[sources.web]\ntype = "ga4"\npath = "{tmp_path}/*.ndjson"\n',
    )
    assert run(["check", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "✓ billing (stripe):" in out and "key sk_test_demo_key_…0000 from DEMO_KEY" in out
    assert "✓ support (tickets): 5 rows" in out and "layout Zendesk" in out
    assert "2 row(s) skipped" not in out and "1 row(s) skipped, missing ticket id: zendesk.csv:8" in out
    assert "✗ web (ga4):" in out and "matches no file" in out
    assert key not in out


def test_screenshot_writes_one_svg_per_pane_the_same_on_every_run(tmp_path, capsys):
    """Each pane's SVG, byte for byte the same when taken again: no animation is caught half-way."""
    runs = [tmp_path / "shots", tmp_path / "again"]
    for out in runs:
        assert run(["screenshot", "--demo", "--as-of", "2026-11-22", "--out", str(out), "--size", "100x30"]) == 0
    out = runs[0]
    assert sorted(p.name for p in out.iterdir()) == [
        "customers.svg",
        "funnel.svg",
        "nps.svg",
        "overview.svg",
        "revenue.svg",
        "support.svg",
    ]
    assert all("sk_test_demo" not in p.read_text() for p in out.iterdir())
    assert [p.read_text() for p in sorted(out.iterdir())] == [p.read_text() for p in sorted(runs[1].iterdir())]


def test_non_ui_modules_never_import_textual_or_rich():
    code = (
        "import sys; import connectors.stripe, connectors.tickets, connectors.nps, connectors.ga4, "
        "kpitui.config, kpitui.pipeline, kpitui.report, kpitui.demo.setup, kpitui.metrics.revenue, "
        "kpitui.metrics.support, kpitui.metrics.nps, kpitui.metrics.funnel, kpitui.metrics.alerts; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, result.stdout + result.stderr


def test_serve_starts_the_same_board_with_the_same_options(tmp_path):
    from kpitui.cli import _board_arguments, _parser

    args = _parser().parse_args(
        ["serve", "--port=9001", "--config", str(tmp_path / "c.toml"), "--no-animation", "--as-of", "2026-11-22"]
    )
    assert args.port == 9001
    assert _board_arguments(args) == ["--config", str(tmp_path / "c.toml"), "--as-of", "2026-11-22", "--no-animation"]


def test_snapshot_errors_on_stderr_are_cleaned(tmp_path, capsys):
    hostile = tmp_path / "x\x1b[2Jy"
    hostile.mkdir()
    escaped = str(hostile).replace("\x1b", "\\u001b")  # TOML spells control characters as escapes
    path = write(tmp_path, f'[sources.survey]\ntype = "nps"\npath = "{escaped}/missing.csv"\n')
    assert run(["snapshot", "--config", str(path), "--format", "json"]) == 1
    err = capsys.readouterr().err
    assert "xy/missing.csv: the pattern matches no file" in err and "\x1b" not in err


def test_screenshot_uses_demo_data_unless_config_is_given(tmp_path, monkeypatch):
    from kpitui.cli import _parser, _resolve_config

    config = write(tmp_path, '[app]\ncurrency = "eur"\n')
    monkeypatch.setenv("KPITUI_CONFIG", str(config))
    resolved, demo = _resolve_config(_parser().parse_args(["screenshot"]))
    try:
        assert demo is not None and "billing" in resolved.sources
    finally:
        demo.stop()
    resolved, demo = _resolve_config(_parser().parse_args(["screenshot", "--config", str(config)]))
    assert demo is None and resolved.currency == "eur"


def test_check_counts_rows_with_thousands_separators(tmp_path, capsys):
    """`kpitui check` writes row counts as the board does: 1,200, not 1200."""
    header, first = (DATA / "tickets" / "zendesk.csv").read_text().splitlines()[:2]
    body = [first.replace(",101,", f",{1000 + n},", 1) for n in range(1200)]
    (tmp_path / "tickets.csv").write_text("\n".join([header, *body]) + "\n")
    path = write(tmp_path, f'[sources.support]\ntype = "tickets"\npath = "{tmp_path}/tickets.csv"\n')
    assert run(["check", "--config", str(path)]) == 0
    assert "✓ support (tickets): 1,200 rows" in capsys.readouterr().out


def test_demo_takes_goals_alerts_and_board_settings_from_a_config(tmp_path, capsys):
    """`kpitui demo --config FILE` (and `--demo`): the demo's sources, the file's goals, alerts, period, theme."""
    path = write(
        tmp_path,
        '[app]\nperiod = "7d"\ntheme = "ansi-dark"\n[goals]\nmrr = 200000\n'
        '[[alerts]]\nkpi = "support.backlog"\nabove = 1\n'
        f'[sources.mine]\ntype = "tickets"\npath = "{tmp_path}/not-used.csv"\n',
    )
    argv = ["snapshot", "--demo", "--config", str(path), "--as-of", "2026-11-22", "--format", "json"]
    assert run([*argv, "--data-dir", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["sources"]) == {"billing", "web", "support", "survey", "ads"}  # the demo's, not the file's
    assert [(a["kpi"], a["state"]) for a in data["alerts"]] == [("support.backlog", "warning")]
    assert data["support"]["tickets"] < 300  # a 7-day period (the 30-day one holds 527)


def test_demo_numbers_have_a_store_of_their_own_per_demo_day(tmp_path, capsys):
    """`--demo --config FILE` borrows the file's board settings, never its store (the demo's book would otherwise
    become the user's history and month closings, for good); and each day's demo book is another data set, so each
    demo day has its own store (a demo started today used to restore another day's book and close months from it)."""
    path = write(tmp_path, '[app]\nperiod = "7d"\n')
    data = tmp_path / "data"
    for day in ("2026-11-22", "2026-11-23"):
        argv = ["snapshot", "--demo", "--config", str(path), "--as-of", day, "--format", "json"]
        assert run([*argv, "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in data.glob("*.sqlite3")) == [
        "demo-2-20261122-2026-11-22.sqlite3",
        "demo-2-20261122-2026-11-23.sqlite3",
    ]


def test_demo_data_sets_unused_for_a_week_are_deleted(tmp_path, capsys):
    """Each demo day is a data set of its own (13 MB of exports in the cache, a store in the data dir): starting a
    demo deletes those not used for a week, never its own, other days used lately, or anything not a demo's."""
    cache, data = tmp_path / "cache" / "kpitui", tmp_path / "data" / "kpitui"
    week_ago = time.time() - 8 * 86400
    old = [cache / "demo-2-20261122-2026-11-01", data / "demo-2-20261122-2026-11-01.sqlite3", data / "demo.sqlite3"]
    recent = [cache / "demo-2-20261122-2026-11-20", data / "demo-2-20261122-2026-11-20.sqlite3-wal"]
    own = [cache / "demo-2-20261122-2026-11-22", data / "demo-2-20261122-2026-11-22.sqlite3"]
    others = [data / "kpitui-0123456789.sqlite3", cache / "duckdb"]
    for path in [*old, *recent, *own, *others]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if path.parent == cache else path.write_bytes(b"")
    for path in [*old, *own, *others]:
        os.utime(path, (week_ago, week_ago))
    assert run(["snapshot", "--demo", "--as-of", "2026-11-22", "--format", "json", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert [path.exists() for path in old] == [False, False, False]
    assert all(path.exists() for path in [*recent, *own, *others])
    assert (cache / own[0].name / "zendesk-tickets.csv").exists()  # its own files are written where they were


def test_snapshot_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    """`kpitui snapshot … | true`: the reader is gone before the first line (Python takes far longer to start than
    `true` to exit); no traceback about the closed pipe, exit 0."""
    import subprocess
    import sys

    path = write(tmp_path, f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/zendesk.csv"\n')
    command = (
        f"{sys.executable} -m kpitui snapshot --config {path} --as-of 2026-11-20 --format csv "
        f"--data-dir {tmp_path / 'data'} | true"
    )
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert (done.stderr, done.returncode) == ("", 0)


def test_board_rotation_from_the_config_or_the_command_line(tmp_path):
    assert parse_config({"board": {"rotate": "30s"}}).rotate == 30.0
    with pytest.raises(ConfigError, match=r"\[board\] rotate: expected a duration"):
        parse_config({"board": {"rotate": 30}})
    from kpitui.cli import _board_arguments, _parser

    args = _parser().parse_args(["demo", "--rotate", "45s"])
    assert (args.rotate, _board_arguments(args)[-2:]) == (45.0, ["--rotate", "45s"])
    assert run(["demo", "--rotate", "0s"]) == 2


def test_check_names_key_bindings_that_do_not_exist(tmp_path, capsys):
    path = write(
        tmp_path,
        f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/zendesk.csv"\n'
        '[keys]\n"refresh.everything" = "f5"\n',
    )
    assert run(["check", "--config", str(path)]) == 2
    assert "[keys] refresh.everything: no such key binding; the bindings are app.help" in capsys.readouterr().err


def test_a_snapshot_of_tickets_and_surveys_never_imports_pandas(tmp_path):
    """Importing pandas costs a third of a second: the ticket and survey paths (read, convert, every metric, the
    snapshot JSON) hand Arrow tables to the engine instead."""
    import subprocess
    import sys

    config = write(
        tmp_path,
        f'[sources.support]\ntype = "tickets"\npath = "{DATA}/tickets/freshdesk.csv"\n'
        f'[sources.survey]\ntype = "nps"\npath = "{DATA}/nps/delighted.csv"\n',
    )
    argv = [
        "snapshot",
        "--config",
        str(config),
        "--as-of",
        "2026-11-20",
        "--format",
        "json",
        "--data-dir",
        str(tmp_path),
    ]
    code = (
        "import sys; from kpitui.cli import run; status = run(sys.argv[1:]); "
        "print('pandas' in sys.modules, file=sys.stderr); sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=os.environ)
    assert (result.returncode, result.stderr.strip()) == (0, "False")
    data = json.loads(result.stdout)
    assert data["support"]["tickets"] > 0 and data["nps"]["responses"] > 0


def test_alerts_and_goals_take_the_cross_source_figures(tmp_path, capsys):
    """An alert on CAC and one on stickiness fire on the demo's figures; a goal takes a short name."""
    path = write(
        tmp_path,
        '[goals]\ncac = 100\n[[alerts]]\nkpi = "acquisition.cac"\nabove = 1\n'
        '[[alerts]]\nkpi = "engagement.stickiness"\nbelow = 0.5\n'
        '[[alerts]]\nkpi = "customers.detractor_mrr"\nabove = 1000000000\n',
    )
    argv = ["snapshot", "--demo", "--config", str(path), "--as-of", "2026-11-22", "--format", "json"]
    assert run([*argv, "--data-dir", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(a["kpi"], a["state"]) for a in data["alerts"]] == [
        ("acquisition.cac", "warning"), ("engagement.stickiness", "warning"), ("customers.detractor_mrr", "ok")
    ]  # fmt: skip
    assert data["alerts"][0]["value"] == data["acquisition"]["cac"]
