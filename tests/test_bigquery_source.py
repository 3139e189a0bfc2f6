"""A GA4 source read from BigQuery with Google's own client, created as kpitui creates it for users (Application
Default Credentials from a service-account key), against a BigQuery-shaped server on 127.0.0.1: the funnel's
figures come from the warehouse, a refresh over `maximum_bytes_billed` is refused before it runs, and auth, quota,
server errors and slow jobs are one clear message each."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.bigquery import BigQuerySource
from connectors.ga4_warehouse import days_between, suffix
from kpitui import engine
from kpitui.cli import run
from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.funnel import FunnelSpans, compute_funnel
from tests.bigquery_server import BigQueryServer, Failure
from tests.board import workers_done
from tests.ga4_export import DATASET, Warehouse, by_day, canonical, exported, micros

AS_OF = pd.Timestamp("2026-11-20").date()
SPANS = FunnelSpans.ending(AS_OF, 30, "UTC")
STEPS = (FunnelStep("Visit", "session_start"), FunnelStep("Sign-up", "sign_up"), FunnelStep("Purchase", "purchase"))
DAY = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
ROWS = [
    ("u1", "session_start", DAY("2026-11-16 09:00"), 1, None, "newsletter"),
    ("u1", "sign_up", DAY("2026-11-20 10:30"), 2, "google", None),
    ("u1", "purchase", DAY("2026-11-20 10:45"), 2, None, None),
    ("u2", "session_start", DAY("2026-11-01 12:00"), 1, None, None),
    ("u2", "sign_up", DAY("2026-11-19 12:00"), 2, None, None),
    ("u3", "session_start", DAY("2026-11-18 07:00"), 1, None, None),
]
OPTIONS = {"bigquery": f"{DATASET.project}.{DATASET.dataset}", "maximum_bytes_billed": 10**9, "timeout": 5.0}


def _service_account(path: Path, token_uri: str) -> None:
    """A service-account key file as Google issues them (any RSA key), its token endpoint the local server."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": DATASET.project,
                "private_key_id": "test-key",
                "private_key": pem.decode(),
                "client_email": f"kpitui@{DATASET.project}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )


@pytest.fixture(params=[False], ids=["without is_active_user"])
def bigquery(request, tmp_path, monkeypatch):
    """The server with the export's tables (the last day only intraday; with `is_active_user`, false for u3, when
    the test asks for it), and the environment Google's libraries read: the key file and the API endpoint."""
    cursor = engine.cursor()
    warehouse = Warehouse(cursor, active=request.param)
    rows = [(*row, row[0] != "u3") for row in exported(ROWS)] if request.param else exported(ROWS)
    days = by_day(rows)
    for day in days_between(SPANS.first_read, SPANS.last_day)[:-1]:
        warehouse.table(f"events_{suffix(day)}", days.get(suffix(day), []))
    warehouse.table(f"events_intraday_{suffix(AS_OF)}", days.get(suffix(AS_OF), []))
    warehouse.wildcards()
    cursor.execute("USE memory")
    server = BigQueryServer(cursor)
    endpoint = server.start()
    server.options = {**OPTIONS, "location": f"loopback-{endpoint.rsplit(':', 1)[1]}"}  # a reader of its own
    key = tmp_path / "key.json"
    _service_account(key, f"{endpoint}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", endpoint)
    yield server
    server.stop()
    cursor.execute(f'DETACH "{DATASET.project}"')
    cursor.close()


def _funnel(options: dict):
    events = BigQuerySource(options).load().frames["events"]
    return compute_funnel(events, FunnelConfig(STEPS), AS_OF)


def test_the_funnel_comes_from_the_warehouse(bigquery):
    metrics = _funnel(bigquery.options)
    assert [s.users for s in metrics.steps] == [3, 2, 1]
    assert metrics == compute_funnel(canonical(ROWS), FunnelConfig(STEPS), AS_OF)


def test_engagement_comes_from_the_warehouse(bigquery):
    """DAU on 11-20: u1; the 7 and 30 days: u1, u2 (11-19), u3 (11-18); the same figures as over the files."""
    from kpitui.metrics.engagement import compute_engagement

    events = BigQuerySource(bigquery.options).load().frames["events"]
    metrics = compute_engagement(events, AS_OF)
    assert (metrics.dau, metrics.wau, metrics.mau, metrics.signups) == (1, 3, 3, 2)
    assert metrics == compute_engagement(canonical(ROWS), AS_OF)
    assert bigquery.tokens_issued == 1  # the key was exchanged for a token at its token_uri
    project = f"/bigquery/v2/projects/{DATASET.project}"
    assert bigquery.requests[:5] == [
        "POST /token",
        f"GET {project}/datasets/{DATASET.dataset}/tables",
        f"GET {project}/datasets/{DATASET.dataset}/tables/events_{suffix(days_between(SPANS.first_read, AS_OF)[-2])}",
        f"POST {project}/jobs",  # the dry run
        f"POST {project}/jobs",  # the job
    ]
    assert len(bigquery.queries) == 1 and "_TABLE_SUFFIX BETWEEN" in bigquery.queries[0]


@pytest.mark.parametrize("bigquery", [True], ids=["with is_active_user"], indirect=True)
def test_engagement_counts_gas_active_users_where_the_export_has_them(bigquery):
    """u3 (11-18) was not an active user: DAU u1; WAU and MAU u1, u2; as over the same events in a file."""
    from kpitui.metrics.engagement import compute_engagement

    source = BigQuerySource(bigquery.options).load()
    metrics = compute_engagement(source.frames["events"], AS_OF)
    assert (metrics.dau, metrics.wau, metrics.mau) == (1, 2, 2)
    flagged = canonical(ROWS).assign(is_active_user=lambda frame: frame["user_id"] != "u3")
    assert metrics == compute_engagement(flagged, AS_OF)
    assert source.report.columns_used["active users"] == "is_active_user"


def test_rows_come_back_in_pages(bigquery):
    bigquery.page_size = 2
    assert [s.users for s in _funnel(bigquery.options).steps] == [3, 2, 1]
    assert sum("/queries/" in r for r in bigquery.requests) > 3


def test_a_refresh_over_the_byte_limit_is_refused_before_it_runs(bigquery):
    bigquery.scanned_bytes = 4_300_000_000
    with pytest.raises(ConnectorError) as caught:
        _funnel({**bigquery.options, "maximum_bytes_billed": 2_000_000_000})
    assert str(caught.value) == (
        "BigQuery: a refresh would scan 4.3 GB ($0.02 on demand), over maximum_bytes_billed = 2000000000 (2.0 GB); "
        "it was not run: raise the limit to spend it"
    )
    assert bigquery.queries == []  # only the dry run reached the server


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (Failure("/token", 401, "invalid_grant", "Invalid JWT Signature."),
         "BigQuery refused the credentials"),
        (Failure("/jobs", 403, "quotaExceeded", "Quota exceeded: Your project exceeded quota for free query bytes"),
         "BigQuery quota exceeded (403 POST"),
        (Failure("/jobs", 403, "accessDenied", "Access Denied: User does not have bigquery.jobs.create permission"),
         "the account needs BigQuery Data Viewer on the dataset and BigQuery Job User on the billing project"),
        (Failure("/tables", 404, "notFound", "Not found: Dataset kpitui-test:analytics_123456"),
         "BigQuery: kpitui-test.analytics_123456 not found"),
        (Failure("/jobs", 503, "backendError", "Backend error", times=1000),
         "BigQuery is failing"),
    ],
)  # fmt: skip
def test_failures_are_one_message_each(bigquery, failure, message):
    bigquery.failures.append(failure)
    with pytest.raises(ConnectorError) as caught:
        _funnel(bigquery.options)
    assert message in str(caught.value)
    assert "BEGIN PRIVATE KEY" not in str(caught.value) and "token-" not in str(caught.value)


def test_a_passing_server_error_is_retried(bigquery):
    bigquery.failures.append(Failure("/jobs", 503, "backendError", "Backend error", times=1))
    assert [s.users for s in _funnel(bigquery.options).steps] == [3, 2, 1]


def test_a_slow_job_gives_up_after_the_timeout(bigquery):
    bigquery.pending_polls = 10**9
    with pytest.raises(ConnectorError, match=r"BigQuery did not answer within 2 s"):
        _funnel({**bigquery.options, "timeout": 2.0})


def test_kpitui_snapshot_and_check_with_three_lines_of_config(bigquery, tmp_path, capsys):
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.web]\ntype = "ga4"\nbigquery = "{OPTIONS["bigquery"]}"\nmaximum_bytes_billed = "1GB"\n'
        f'location = "{bigquery.options["location"]}"\n\n'
        '[funnel]\nsteps = ["session_start", "sign_up", "purchase"]\n'
    )
    args = ["--config", str(config)]
    assert run(["snapshot", *args, "--as-of", "2026-11-20", "--format", "json", "--data-dir", str(tmp_path / "d")]) == 0
    snapshot = json.loads(capsys.readouterr().out)
    assert [s["users"] for s in snapshot["funnel"]["steps"]] == [3, 2, 1]
    table = ["snapshot", *args, "--as-of", "2026-11-20", "--format", "table", "--data-dir", str(tmp_path / "d")]
    assert run(table) == 0
    assert "ok, 60 tables" in capsys.readouterr().out  # 59 daily tables and today's intraday one, not rows
    bigquery.scanned_bytes = 12_400_000_000
    assert run(["check", *args]) == 0
    out = capsys.readouterr().out
    assert (  # 59 daily tables and today's intraday one
        "✓ web (ga4): 60 tables, layout GA4 BigQuery export (warehouse); columns: daily tables='20260922…20261119'"
        in out
    )
    assert (  # the funnel's query and engagement's, each scanning what the server says
        "a refresh scans 24.8 GB ($0.14 on demand; funnel 12.4 GB, engagement 12.4 GB) of maximum_bytes_billed "
        "1.0 GB a query: it would be refused" in out
    )
    assert 'maximum_bytes_billed = "25GB"' in out  # twice the dry run, rounded up


def test_without_the_extra_the_message_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def missing(name, *args, **kwargs):
        if name.startswith("google.cloud"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(ConnectorError, match=r"needs Google's client: pip install 'kpitui\[bigquery\]'"):
        BigQuerySource(OPTIONS).load()


def test_the_last_72_hours_are_provisional():
    """GA4 rewrites a day's table for 72 hours: a period ending less than that before now is marked from then."""
    from datetime import UTC, datetime

    from connectors.bigquery import provisional_after

    end = lambda text: micros(pd.Timestamp(text, tz="UTC"))  # noqa: E731
    now = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    assert provisional_after(end("2026-12-03"), now) == "2026-11-29T15:30+00:00"  # the period ending today
    assert provisional_after(end("2026-11-30"), now) == "2026-11-29T15:30+00:00"  # ended 39.5 hours ago
    assert provisional_after(end("2026-11-29 15:30"), now) is None  # ended exactly 72 hours ago
    assert provisional_after(end("2026-11-21"), now) is None


async def test_the_funnel_pane_says_what_is_provisional(bigquery):
    """The board over a warehouse source, as of today: the funnel's title names the instant its figures may
    still change from."""
    from datetime import UTC, date, datetime

    from textual.widgets import Label

    from kpitui.app import KpiApp
    from kpitui.config import Config, SourceConfig

    source = SourceConfig("web", "ga4", 6 * 3600.0, dict(bigquery.options))
    config = Config(sources={"web": source}, funnel=FunnelConfig(STEPS))
    app = KpiApp(config, as_of=date.today(), clock=lambda: datetime.now(UTC))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await workers_done(app)
        await pilot.press("5")
        title = str(app.query_one("#fun-title", Label).render())
    assert title.startswith("Funnel · provisional since ") and title.endswith("(GA4 still rewrites the last 72 hours)")
    assert bigquery.queries  # the figures came from the warehouse


def test_the_config_of_a_warehouse_source():
    """`bigquery` chooses the warehouse reader: it needs `maximum_bytes_billed` (no default fits every property),
    takes sizes as people write them and refreshes every 6 hours unless told; `path` is not asked for."""
    from kpitui.config import ConfigError, parse_config

    source = {"type": "ga4", "bigquery": "my-project.analytics_1", "maximum_bytes_billed": "20GB"}
    web = parse_config({"sources": {"web": source}}).sources["web"]
    assert (web.refresh, web.options["maximum_bytes_billed"]) == (6 * 3600.0, 20_000_000_000)
    with pytest.raises(ConfigError, match=r"\[sources\.web\] maximum_bytes_billed: missing"):
        parse_config({"sources": {"web": {"type": "ga4", "bigquery": "my-project.analytics_1"}}})
    with pytest.raises(ConfigError, match=r'maximum_bytes_billed: expected a size like "20GB"'):
        parse_config({"sources": {"web": {**source, "maximum_bytes_billed": "lots"}}})
    with pytest.raises(ConfigError, match=r"\[sources\.web\] path: missing"):
        parse_config({"sources": {"web": {"type": "ga4"}}})


def test_a_failing_refresh_keeps_the_last_figures_with_their_age(bigquery, tmp_path):
    """The warehouse answers at 09:00 and is over quota at 15:00: the funnel keeps 09:00's figures, the source is
    stale since 09:00 with the reason."""
    from datetime import UTC, datetime

    from kpitui.config import Config, SourceConfig
    from kpitui.pipeline import refresh_all

    source = SourceConfig("web", "ga4", 6 * 3600.0, dict(bigquery.options))
    config = Config(sources={"web": source}, funnel=FunnelConfig(STEPS))
    morning, afternoon = datetime(2026, 11, 20, 9, tzinfo=UTC), datetime(2026, 11, 20, 15, tzinfo=UTC)
    first = refresh_all(config, AS_OF, morning)
    bigquery.failures.append(Failure("/jobs", 403, "quotaExceeded", "Quota exceeded", times=1000))
    second = refresh_all(config, AS_OF, afternoon)
    assert second.funnel == first.funnel and [s.users for s in second.funnel.steps] == [3, 2, 1]
    web = second.sources["web"]
    assert (web.status, web.last_success) == ("stale", morning)
    assert web.error.startswith("BigQuery quota exceeded")
