"""GA4 events where they live: BigQuery runs the funnel's and engagement's SQL and sends back only the figures
(google-cloud-bigquery, the `bigquery` extra). A refresh's cost is known from a dry run before it is spent, and
refused over `maximum_bytes_billed`. Credentials are Google's own (Application Default Credentials), never read or
kept here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.ga4_warehouse import Dataset, events_sql, to_bigquery

if TYPE_CHECKING:
    from kpitui.metrics.engagement import EngagementPlan
    from kpitui.metrics.funnel import FunnelPlan, FunnelQuery
    from kpitui.model import EngagementMetrics, FunnelMetrics

PRICE_PER_TIB = 6.25  # USD, on-demand analysis in BigQuery's US multi-region (2026)
_TIB = 1 << 40
_TIMEOUT = 300.0  # seconds a query may run before the refresh gives up
PROVISIONAL = timedelta(hours=72)  # GA4 rewrites a day's table as late hits arrive, for up to 72 hours
_BASE_COLUMNS = {"user_id", "session_id", "event_name", "source", "medium", "t", "seq"}
INSTALL = "pip install 'kpitui[bigquery]'"


def human_bytes(count: float) -> str:
    """A byte count as people read it: 1.2 GB, 38 MB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def price(scanned: int) -> float:
    """What scanning `scanned` bytes costs on demand, in USD."""
    return scanned / _TIB * PRICE_PER_TIB


def suggested_limit(scanned: int) -> str:
    """A `maximum_bytes_billed` for a refresh that scans `scanned`: twice that, rounded up (the export grows)."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if scanned * 2 >= size or unit == "MB":
            return f"{-(-scanned * 2 // size)}{unit}"
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class WarehouseSettings:
    """A GA4 source's `bigquery` options."""

    dataset: Dataset
    maximum_bytes_billed: int
    location: str | None = None
    billing_project: str | None = None
    timeout: float = _TIMEOUT

    @staticmethod
    def of(options: Mapping[str, Any]) -> WarehouseSettings:
        return WarehouseSettings(
            dataset=Dataset.parse(options["bigquery"]),
            maximum_bytes_billed=int(options["maximum_bytes_billed"]),
            location=options.get("location"),
            billing_project=options.get("billing_project"),
            timeout=float(options.get("timeout", _TIMEOUT)),
        )


def provisional_after(period_end_us: int, now: datetime) -> str | None:
    """The instant after which a period ending at `period_end_us` (µs since the epoch) may still change, as
    ISO text; None when all of it is older than GA4's 72 hours."""
    since = now - PROVISIONAL
    end = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=period_end_us)
    return since.isoformat(timespec="minutes") if end > since else None


def _library() -> Any:
    """google-cloud-bigquery, or a message saying how to install it."""
    try:
        from google.cloud import bigquery
    except ImportError:
        raise ConnectorError(f"reading GA4 from BigQuery needs Google's client: {INSTALL}") from None
    return bigquery


def _bounded_retry(settings: WarehouseSettings) -> Any:
    """The client's retry of transient errors, bounded by the source's timeout (at most a minute; the client's own
    is ten)."""
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_deadline(min(60.0, settings.timeout))


def _failure(error: Exception, settings: WarehouseSettings) -> ConnectorError | None:
    """One message with what to do for a failure of Google's client or its credentials, else None."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    where = f"{settings.dataset.project}.{settings.dataset.dataset}"
    first = str(error).splitlines()[0][:300] if str(error) else error.__class__.__name__
    if isinstance(error, auth.DefaultCredentialsError):
        return ConnectorError(
            "BigQuery: no Google credentials: run `gcloud auth application-default login`, or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        )
    if isinstance(error, auth.RefreshError | api.Unauthorized):
        return ConnectorError(f"BigQuery refused the credentials ({first}): sign in again or renew the key", 401)
    if isinstance(error, api.Forbidden | api.TooManyRequests):
        reasons = {e.get("reason") for e in getattr(error, "errors", None) or [] if isinstance(e, dict)}
        if reasons & {"quotaExceeded", "rateLimitExceeded"} or isinstance(error, api.TooManyRequests):
            return ConnectorError(f"BigQuery quota exceeded ({first}): the next refresh tries again", 403)
        return ConnectorError(
            f"BigQuery denied access to {where} ({first}): the account needs BigQuery Data Viewer on the dataset "
            "and BigQuery Job User on the billing project",
            403,
        )
    if isinstance(error, api.NotFound):
        return ConnectorError(f"BigQuery: {where} not found ({first}): check `bigquery` and `location`", 404)
    if isinstance(error, api.BadRequest):
        return ConnectorError(f"BigQuery rejected the query ({first})", 400)
    if isinstance(error, api.ServerError | api.RetryError):
        return ConnectorError(f"BigQuery is failing ({first}): the next refresh tries again")
    if isinstance(error, TimeoutError):
        return ConnectorError(f"BigQuery did not answer within {settings.timeout:.0f} s: the next refresh tries again")
    return None


def _guarded(work: Callable[[], Any], settings: WarehouseSettings) -> Any:
    """`work()`, a failure of Google's client turned into one message."""
    try:
        return work()
    except Exception as exc:
        failure = _failure(exc, settings)
        if failure is None:
            raise
        raise failure from None


class WarehouseEvents:
    """A property's events in BigQuery as the funnel's `events`: the funnel's SQL runs there."""

    def __init__(self, settings: WarehouseSettings, client: Any, daily: set[str], active: bool = False) -> None:
        self.settings, self.client, self.daily, self.active = settings, client, daily, active

    def funnel_sql(self, plan: FunnelPlan) -> tuple[FunnelQuery, str]:
        """The funnel's query object and its BigQuery SQL over the days the plan's spans read."""
        params, spans = plan.params, plan.spans
        query = plan.query(_BASE_COLUMNS | {"param." + key for key in params})
        events = events_sql(self.settings.dataset, spans.first_read, spans.last_day, self.daily, params)
        return query, to_bigquery(query.single("SELECT 1 AS x"), events, params)

    def refresh_cost(self, plan: FunnelPlan) -> int:
        """The bytes a refresh of the funnel scans (a dry run: free, nothing runs)."""
        return self._dry_run(self.funnel_sql(plan)[1])

    def engagement_sql(self, plan: EngagementPlan) -> str:
        """Engagement's BigQuery SQL over the days the plan reads."""
        events = events_sql(self.settings.dataset, plan.first, plan.as_of, self.daily, (), self.active)
        return to_bigquery(plan.single("SELECT 1 AS x"), events, ())

    def engagement_cost(self, plan: EngagementPlan) -> int:
        """The bytes a refresh of engagement scans (a dry run)."""
        return self._dry_run(self.engagement_sql(plan))

    def run_funnel(self, plan: FunnelPlan) -> FunnelMetrics:
        """The funnel's figures, computed in BigQuery."""
        query, sql = self.funnel_sql(plan)
        metrics = query.metrics(self._run(sql))
        return replace(metrics, provisional_after=provisional_after(plan.spans.period.hi, datetime.now(UTC)))

    def run_engagement(self, plan: EngagementPlan) -> EngagementMetrics:
        """Engagement's figures, computed in BigQuery."""
        return plan.metrics(self._run(self.engagement_sql(plan)))

    def _run(self, sql: str) -> list[tuple]:
        """A query's rows; refused without running when its dry run scans more than `maximum_bytes_billed`."""
        scanned, limit = self._dry_run(sql), self.settings.maximum_bytes_billed
        if scanned > limit:
            raise ConnectorError(
                f"BigQuery: a refresh would scan {human_bytes(scanned)} (${price(scanned):.2f} on demand), over "
                f"maximum_bytes_billed = {limit} ({human_bytes(limit)}); it was not run: raise the limit to spend it"
            )
        bigquery = _library()
        config = bigquery.QueryJobConfig(maximum_bytes_billed=limit, use_query_cache=True)
        retry, timeout = _bounded_retry(self.settings), self.settings.timeout
        job = lambda: self.client.query(sql, job_config=config, retry=retry, job_retry=retry)  # noqa: E731
        rows = _guarded(lambda: job().result(timeout=timeout, retry=retry, job_retry=retry), self.settings)
        return [tuple(row.values()) for row in rows]

    def _dry_run(self, sql: str) -> int:
        """The bytes a query would scan."""
        config = _library().QueryJobConfig(dry_run=True, use_query_cache=False)
        retry = _bounded_retry(self.settings)
        job = _guarded(lambda: self.client.query(sql, job_config=config, retry=retry, job_retry=None), self.settings)
        return int(job.total_bytes_processed or 0)


class BigQuerySource:
    """A GA4 source read from its BigQuery export: each `load()` lists the dataset's tables (which checks the
    credentials and the dataset, and says which days have their daily table) and reads the newest one's columns
    (whether it has `is_active_user`); the funnel's figures are computed there when the snapshot asks for them."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.settings = WarehouseSettings.of(options)
        self._client: Any = None

    def client(self) -> Any:
        """Google's client, made once, as Google's libraries make it: Application Default Credentials."""
        if self._client is None:
            bigquery = _library()
            project = self.settings.billing_project or self.settings.dataset.project
            location = self.settings.location
            self._client = _guarded(lambda: bigquery.Client(project=project, location=location), self.settings)
        return self._client

    def load(self) -> SourceResult:
        client = self.client()
        dataset = f"{self.settings.dataset.project}.{self.settings.dataset.dataset}"
        retry = _bounded_retry(self.settings)
        tables = _guarded(lambda: [t.table_id for t in client.list_tables(dataset, retry=retry)], self.settings)
        daily = {name.removeprefix("events_") for name in tables if name.startswith("events_2")}
        intraday = [name for name in tables if name.startswith("events_intraday_")]
        if not daily and not intraday:
            raise ConnectorError(f"BigQuery: {dataset} holds no GA4 export tables (events_YYYYMMDD)")
        newest = f"{dataset}.events_{max(daily)}" if daily else f"{dataset}.{max(intraday)}"
        columns = _guarded(lambda: [f.name for f in client.get_table(newest, retry=retry).schema], self.settings)
        active = "is_active_user" in columns
        report = SourceReport(rows=len(daily) + len(intraday), layout="GA4 BigQuery export (warehouse)", unit="tables")
        report.requests = 2
        if daily:
            report.columns_used["daily tables"] = f"{min(daily)}…{max(daily)}"
        if active:
            report.columns_used["active users"] = "is_active_user"
        return SourceResult({"events": WarehouseEvents(self.settings, client, daily, active)}, report)
