"""Sources → frames → metrics → Snapshot: the one path shared by the board and `kpitui snapshot`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connectors.registry import CONNECTORS, SECTION_OF, SECTIONS, Connector, feeds
from kpitui.config import Config, SourceConfig
from kpitui.metrics import MetricsError
from kpitui.model import Snapshot, SourceStatus, to_plain
from kpitui.provenance import code_digest

if TYPE_CHECKING:
    import pandas as pd

    from connectors.base import SourceResult
    from kpitui.metrics.acquisition import AcquisitionInputs
    from kpitui.metrics.customers import CustomerInputs
    from kpitui.metrics.revenue import Book, ClosedMonths, RevenueSettings
    from kpitui.metrics.support import SupportSettings
    from kpitui.store import Store

TREND_DAYS = 120


@dataclass
class SourceState:
    """How a source's latest refresh went, its last good result and the signatures of the files that result was
    read from (file sources); a file source restored from the store has its signatures and no result until read."""

    status: SourceStatus
    result: SourceResult | None = None
    signature: tuple | None = None


@dataclass
class Shared:
    """What one snapshot's sections share: the sections computed so far and, built once on first use, the billing
    accounts the cross-source sections read."""

    config: Config
    states: dict[str, SourceState]
    as_of: date
    sections: dict[str, object]

    @cached_property
    def accounts(self) -> pd.DataFrame | None:
        """Per billing customer at as_of (`revenue_kpis.accounts`), or None without a billing source."""
        return billing_accounts(self.config, self.states, self.as_of)


_READERS: dict[tuple, Any] = {}  # an API source's reader, per source and options
_FILES: dict[str, tuple[tuple, SourceResult]] = {}  # source name → (what was read, its result)


def _options_key(source: SourceConfig) -> tuple:
    return (source.name, tuple(sorted((k, str(v)) for k, v in source.options.items())))


def load_source(source: SourceConfig) -> SourceResult:
    """Run the source's connector; raises ConnectorError (or anything unexpected)."""
    return read_source(source)[0]


def read_source(source: SourceConfig) -> tuple[SourceResult, tuple | None]:
    """The source's tables and, for a file source, the signatures of the files read (taken before the read: a
    change during it shows next time).

    An API source's reader is kept per source (and options) so later refreshes read only the changes. File
    sources whose files have not changed since their last load give that load's result again (the same object).
    """
    connector = connector_of(source)
    if not connector.reads_files:
        key = _options_key(source)
        if key not in _READERS:
            _READERS[key] = connector.load_function()(source.options)
        return _READERS[key].load(), None
    from connectors.paths import file_signatures

    signature = file_signatures(source.options["path"])
    read = (_options_key(source), signature)
    last = _FILES.get(source.name)
    if last is not None and last[0] == read:
        return last[1], signature
    result = connector.load_function()(source.options)
    _FILES[source.name] = (read, result)
    return result, signature


def describe_error(error: BaseException) -> str:
    """One line for the user: connector messages as they are, anything else with its type."""
    from connectors.base import ConnectorError
    from connectors.secrets import redact

    if isinstance(error, ConnectorError):
        return redact(str(error))
    return redact(f"unexpected {error.__class__.__name__}: {error}"[:300])


def succeeded(source: SourceConfig, result: SourceResult, now: datetime, signature: tuple | None = None) -> SourceState:
    """The state after a successful refresh (of these files, for a file source)."""
    report = result.report
    status = SourceStatus(
        type=source.type,
        interval=source.refresh,
        status="ok",
        rows=report.rows,
        skipped_rows=report.skipped_rows,
        last_success=now,
        error=None,
        warnings=tuple(report.warnings + report.summary_of_skips()),
        layout=report.layout,
        unit=report.unit,
    )
    return SourceState(status, result, signature)


def failed(state: SourceState | None, source: SourceConfig, message: str) -> SourceState:
    """The state after a failed refresh: stale if older good data remains (a result, or for a file source the
    stored section computed from the files it last read), else error."""
    if state is not None and (state.result is not None or state.signature is not None):
        stale = replace(state.status, status="stale", error=message, interval=source.refresh)
        return SourceState(stale, state.result, state.signature)
    return SourceState(SourceStatus(type=source.type, status="error", error=message, interval=source.refresh))


def pending(source: SourceConfig) -> SourceState:
    """The state before a source's first refresh."""
    return SourceState(SourceStatus(type=source.type, interval=source.refresh))


def _sources_feeding(config: Config, section: str) -> list[str]:
    """The configured sources whose tables feed a section, in config order."""
    return [name for name, source in config.sources.items() if feeds(source.type, section)]


def _feeding(config: Config, states: dict[str, SourceState], section: str) -> dict[str, SourceState]:
    """The states of the sources whose tables feed a section."""
    return {name: states[name] for name in _sources_feeding(config, section) if name in states}


def _frames(config: Config, states: dict[str, SourceState], section: str, name: str) -> pd.DataFrame | None:
    """The named table stacked over every source feeding a section that has data (scans one after another)."""
    parts = [
        s.result.frames[name]
        for s in _feeding(config, states, section).values()
        if s.result is not None and name in s.result.frames
    ]
    if not parts:
        return None
    from connectors.scan import TableScan

    if isinstance(parts[0], TableScan):
        return TableScan.stack(parts)
    from connectors.frames import stack

    return stack(parts)


def compute_snapshot(
    config: Config,
    states: dict[str, SourceState],
    as_of: date,
    now: datetime,
    closed: ClosedMonths | None = None,
    kept: StoredSections | None = None,
) -> Snapshot:
    """Every metric from the sources' last good tables (and the stored closing MRR rows, `closed`; the stored
    sections, `kept`, where their files, as_of and settings are the same). A section that fails (a metrics,
    warehouse or engine error, or one no rule foresaw) keeps its last figures computed from the same inputs (its
    sources stale since then), else marks its sources as errors; the other sections are computed."""
    from connectors.base import ConnectorError
    from kpitui import engine
    from kpitui.metrics.alerts import evaluate_alerts, freshness_alerts, hold_stale

    engine.configure(config.engine)
    sections: dict[str, object] = {}
    failures: dict[str, str] = {}
    statuses = {name: state.status for name, state in states.items()}
    shared = Shared(config, states, as_of, sections)
    settings = (config.funnel, config.engagement, config.customers, config.acquisition)
    for section in SECTIONS:
        inputs = repr((section, as_of, settings, [config.sources[n] for n in _sources_feeding(config, section)]))
        try:
            sections[section] = _section_once(section, config, states, as_of, closed or {}, kept or {}, shared)
            _LAST_GOOD[section] = (inputs, sections[section], now)
        except Exception as exc:  # a metrics error, a warehouse's, the engine's (memory, spill space), or data no
            # rule foresaw: that section fails, the others are still computed
            known = str(exc) if isinstance(exc, MetricsError | ConnectorError) else engine.failure(exc)
            message = failures[section] = known or describe_error(exc)
            last_inputs, last, last_at = _LAST_GOOD.get(section, (None, None, None))
            sections[section], kept_at = (last, last_at) if last_inputs == inputs else (None, None)
            for name in _feeding(config, states, section):  # stale where the last figures are kept, with their age
                if SECTION_OF[config.sources[name].type] != section:
                    continue  # a cross-source section's failure is its own (null), not its sources'
                status = "stale" if kept_at is not None else "error"
                statuses[name] = replace(statuses[name], status=status, error=message, last_success=kept_at)
    snapshot = Snapshot(
        as_of=as_of,
        generated_at=now,
        currency=config.currency,
        sources=statuses,
        period_days=config.period_days,
        goals=dict(config.goals),
        failed_sections=failures,
        **sections,
    )
    thresholds = hold_stale(evaluate_alerts(config.alerts, to_plain(snapshot)), statuses, now, config.stale_after)
    return replace(snapshot, alerts=thresholds + freshness_alerts(statuses, now, config.stale_after))


_SECTIONS: dict[str, tuple] = {}  # section → (the config and its inputs by identity, its metrics, those inputs)
_LAST_GOOD: dict[str, tuple] = {}  # section → (its inputs: as_of, settings, sources; its last figures; when computed)
StoredSections = dict[str, tuple[str, Any]]  # section → (the key of what it was computed from, its result)


def section_key(section: str, config: Config, states: dict[str, SourceState], as_of: date) -> str | None:
    """What a file-fed section is computed from: the files read (their signatures), as_of, the settings and the
    code (`provenance.code_digest`); None when no source feeding it has read files, or one feeding it is not
    files."""
    if not _fed_by_files(config, section):
        return None
    read = sorted(
        (name, state.signature)
        for name, state in _feeding(config, states, section).items()
        if state.signature is not None
    )
    if not read:
        return None
    import hashlib

    options = [sorted(config.sources[name].options.items()) for name, _ in read]
    settings = (
        config.period_days,
        config.funnel,
        config.metrics,
        sorted(config.sla_minutes.items()),
        options,
        config.engagement,
        config.customers,
        config.acquisition,
        sorted(config.fx.items()),
        config.currency,
    )
    text = repr((code_digest(), section, as_of.isoformat(), settings, read))
    return hashlib.sha256(text.encode()).hexdigest()


def _fed_by_files(config: Config, section: str) -> bool:
    """Whether every source feeding a section reads files (which are their own storage)."""
    return all(connector_of(config.sources[name]).reads_files for name in _sources_feeding(config, section))


def _unread(section: str, config: Config, states: dict[str, SourceState]) -> bool:
    """Whether a source feeding the section has read files whose tables this process does not hold."""
    return any(s.result is None and s.signature is not None for s in _feeding(config, states, section).values())


def _section_once(
    section: str,
    config: Config,
    states: dict[str, SourceState],
    as_of: date,
    closed: ClosedMonths,
    kept: StoredSections,
    shared: Shared,
):
    """`_section`, or the stored section where it was computed from the same files, as_of and settings (or, for
    files not read in this process, the last one computed); reused while the config and the sources' results
    are the same objects: a refresh of a billing source leaves a two-million-event funnel as it was."""
    stored = kept.get(section)
    if stored is not None and stored[0] == section_key(section, config, states, as_of):
        return stored[1]
    if _unread(section, config, states):
        return stored[1] if stored is not None else None
    results = [(name, state.result) for name, state in _feeding(config, states, section).items()]
    key = (config, as_of, tuple((name, id(result)) for name, result in results))
    if section == "revenue":
        key += (tuple(closed), _book_read_at(config, states))
    last = _SECTIONS.get(section)
    if last is None or last[0] != key:
        value = _section(section, config, states, as_of, closed, shared)
        last = (key, value, results)  # held: their ids stay theirs
        _SECTIONS[section] = last
    return last[1]


def _book_read_at(config: Config, states: dict[str, SourceState]) -> datetime | None:
    """When the billing book in use was read: the latest good refresh of a billing source."""
    times = [
        s.status.last_success
        for s in _feeding(config, states, "revenue").values()
        if s.result is not None and s.status.last_success is not None
    ]
    return max(times, default=None)


def revenue_inputs(config: Config, states: dict[str, SourceState]) -> tuple[Book, RevenueSettings, str] | None:
    """The billing book of every billing source, the revenue settings and their closing-rows fingerprint."""
    frame = lambda name: _frames(config, states, "revenue", name)  # noqa: E731
    subscriptions = frame("subscriptions")
    if subscriptions is None:
        return None
    from kpitui.metrics.revenue import Book, RevenueSettings

    book = Book(
        subscriptions,
        frame("subscription_items"),
        frame("discounts"),
        frame("invoice_lines"),
        frame("customers"),
        frame("schedule_phases"),
    )
    settings = RevenueSettings(
        currency=config.currency,
        fx=tuple(config.fx.items()),
        counted_statuses=config.metrics.counted_statuses,
        apply_discounts=config.metrics.apply_discounts,
        cancel_immediately=config.metrics.cancel_at_period_end == "immediately",
        period_days=config.period_days,
    )
    sources = sorted(_sources_feeding(config, "revenue"))
    return book, settings, f"{settings.fingerprint()} {sources}"


def _zone(config: Config, states: dict[str, SourceState], section: str) -> str:
    """The time zone of the first source feeding a section (`timezone`, default UTC): its days and periods."""
    return next((config.sources[n].options.get("timezone", "UTC") for n in _feeding(config, states, section)), "UTC")


def _section(
    section: str,
    config: Config,
    states: dict[str, SourceState],
    as_of: date,
    closed: ClosedMonths,
    shared: Shared,
):
    """Compute one section from the tables of the sources feeding it (and what the snapshot's sections share), or
    None without data."""
    frame = lambda name: _frames(config, states, section, name)  # noqa: E731
    if section == "revenue":
        inputs = revenue_inputs(config, states)
        if inputs is None:
            return None
        from kpitui.metrics.revenue import compute_revenue

        book, settings, _ = inputs
        return compute_revenue(book, settings, as_of, observed=_book_read_at(config, states), closed=closed)
    if section == "support":
        tickets = frame("tickets")
        if tickets is None:
            return None
        from kpitui.metrics.support import compute_support

        return compute_support(tickets, _support_settings(config, states), as_of)
    if section == "nps":
        responses = frame("responses")
        if responses is None:
            return None
        from kpitui.metrics.nps import compute_nps

        return compute_nps(responses, as_of, config.metrics.nps_window_days, timezone=_zone(config, states, section))
    if section == "engagement":
        events = frame("events")
        if events is None or not (hasattr(events, "run_engagement") or len(events)):
            return None
        from kpitui.metrics.engagement import compute_engagement

        zone = _zone(config, states, section)
        return compute_engagement(events, as_of, config.period_days, zone, config.engagement.lead_event)
    if section == "customers":
        linked = customer_inputs(config, states, shared.accounts)
        if linked is None:
            return None
        from kpitui.metrics.customers import compute_customers

        return compute_customers(linked, as_of)
    if section == "acquisition":
        costs = acquisition_inputs(config, states, shared)
        if costs is None:
            return None
        from kpitui.metrics.acquisition import compute_acquisition

        return compute_acquisition(costs, as_of)
    return _funnel_section(config, states, as_of)


def billing_accounts(config: Config, states: dict[str, SourceState], as_of: date) -> pd.DataFrame | None:
    """Per billing customer at as_of: its MRR, plan, flags and first paid time (`revenue_kpis.accounts`)."""
    inputs = revenue_inputs(config, states)
    if inputs is None:
        return None
    from kpitui.metrics.revenue import RevenueEngine
    from kpitui.metrics.revenue_kpis import accounts

    book, settings, _ = inputs
    return accounts(RevenueEngine(book, settings, as_of, _book_read_at(config, states)), book.customers)


def _tables_of(config: Config, states: dict[str, SourceState], section: str, name: str) -> tuple[tuple[str, Any], ...]:
    """(source name, table) of each source whose own section this is and that holds the named table."""
    return tuple(
        (source, state.result.frames[name])
        for source, state in _feeding(config, states, section).items()
        if SECTION_OF[config.sources[source].type] == section
        and state.result is not None
        and name in state.result.frames
    )


def _support_settings(config: Config, states: dict[str, SourceState]) -> SupportSettings:
    """The period, SLA targets, minutes basis and helpdesk time zone the support figures use."""
    from kpitui.metrics.support import SupportSettings

    return SupportSettings(
        config.period_days,
        tuple(config.sla_minutes.items()),
        config.metrics.support_minutes == "business",
        _zone(config, states, "support"),
    )


def customer_inputs(
    config: Config, states: dict[str, SourceState], accounts: pd.DataFrame | None
) -> CustomerInputs | None:
    """The billing accounts and, per source, the survey, ticket and (file) event tables linked to them."""
    if accounts is None:
        return None
    from kpitui.metrics.customers import CustomerInputs

    web = tuple((n, t) for n, t in _tables_of(config, states, "funnel", "events") if not hasattr(t, "run_funnel"))
    return CustomerInputs(
        accounts=accounts,
        surveys=_tables_of(config, states, "nps", "responses"),
        helpdesks=_tables_of(config, states, "support", "tickets"),
        web=web,
        settings=config.customers,
        nps_window_days=config.metrics.nps_window_days,
        support=_support_settings(config, states),
        nps_timezone=_zone(config, states, "nps"),
        web_timezone=_zone(config, states, "funnel"),
    )


def acquisition_inputs(config: Config, states: dict[str, SourceState], shared: Shared) -> AcquisitionInputs | None:
    """The spend rows, the billing accounts and the revenue and engagement figures acquisition reads."""
    spend = _frames(config, states, "acquisition", "spend")
    if spend is None:
        return None
    from kpitui.metrics.acquisition import AcquisitionInputs

    revenue, engagement = shared.sections.get("revenue"), shared.sections.get("engagement")
    return AcquisitionInputs(
        spend=spend,
        accounts=shared.accounts,
        currency=config.currency,
        fx=dict(config.fx),
        period_days=config.period_days,
        channel_metadata_key=config.acquisition.channel_metadata_key,
        gross_margin=config.acquisition.gross_margin,
        arpa=getattr(revenue, "arpa", None),
        ltv=getattr(revenue, "ltv", None),
        signups=getattr(engagement, "signups", None),
    )


def _funnel_section(config: Config, states: dict[str, SourceState], as_of: date):
    """The funnel from events, else from a pre-aggregated funnel export and report traffic, or None."""
    frame = lambda name: _frames(config, states, "funnel", name)  # noqa: E731
    events, steps, traffic = frame("events"), frame("funnel_steps"), frame("traffic")
    if events is not None and config.funnel.steps and (hasattr(events, "run_funnel") or len(events)):
        from kpitui.metrics.funnel import compute_funnel

        return compute_funnel(events, config.funnel, as_of, config.period_days, _zone(config, states, "funnel"))
    if (steps is None or steps.empty) and (traffic is None or traffic.empty):
        return None
    from kpitui.metrics.funnel_reports import funnel_from_steps, with_report_traffic

    funnel = funnel_from_steps(steps) if steps is not None and not steps.empty else None
    if traffic is not None and not traffic.empty:
        return with_report_traffic(funnel, traffic, as_of, config.period_days)
    return funnel


def fetch(name: str, source: SourceConfig, store: Store | None, now: datetime) -> SourceState:
    """Load a source and keep its status in the store (with a billing source's frames, or a file source's file
    signatures); raises what the connector raises."""
    result, signature = read_source(source)
    state = succeeded(source, result, now, signature)
    if store is not None:
        store.save_source(name, state.status, result.frames if connector_of(source).keeps_tables else None, signature)
    return state


def connector_of(source: SourceConfig) -> Connector:
    """The connector that reads a source, as its options choose."""
    return CONNECTORS[source.type].resolve(source.options)


def restore(config: Config, store: Store) -> dict[str, SourceState]:
    """The stored last good state of each configured source: a billing source's frames, a file source's file
    signatures (its section is stored)."""
    states = {}
    for name, (status, signature) in store.load_sources(set(config.sources)).items():
        result = store.load_frames(name) if signature is None else None
        if result is not None or signature is not None:
            states[name] = SourceState(status, result, signature)
    return states


def compute_and_record(
    config: Config,
    states: dict[str, SourceState],
    as_of: date,
    now: datetime,
    store: Store | None,
    kept: StoredSections | None = None,
) -> Snapshot:
    """Compute the snapshot; with a store, reuse and record the file-fed sections (`kept`: those already read
    from it), record today's KPIs and attach the stored daily trends."""
    if store is None:
        return compute_snapshot(config, states, as_of, now)
    kept = store.load_sections() if kept is None else kept
    inputs = revenue_inputs(config, states)
    closed = store.load_closings(inputs[2]) if inputs is not None else {}
    snapshot = compute_snapshot(config, states, as_of, now, closed, kept)
    if inputs is not None and as_of == now.date() and snapshot.revenue is not None:
        close_months(store, inputs, as_of, set(closed), _book_read_at(config, states))
    for section in SECTIONS:
        key = section_key(section, config, states, as_of)
        value = getattr(snapshot, section)
        if (
            key is not None
            and value is not None
            and not _unread(section, config, states)
            and kept.get(section, ("",))[0] != key
        ):
            store.save_section(section, key, value)
    from kpitui.store import scalar_kpis

    store.record_kpis(as_of, scalar_kpis(to_plain(snapshot)))
    snapshot = replace(snapshot, trends=store.kpi_history(as_of - timedelta(days=TREND_DAYS)))
    store.save_snapshot(snapshot)
    return snapshot


def close_months(
    store: Store, inputs: tuple[Book, RevenueSettings, str], as_of: date, stored: set[str], read_at: datetime | None
) -> None:
    """On a refresh whose as_of is today: store the closing MRR of each month that ended since the last one, from a
    book read after the month ended (a book stored before its end, restored at start, leaves it to the next read)."""
    from kpitui.metrics.revenue import month_closings, months_to_close

    months = months_to_close(as_of, stored, read_at)
    if months:
        book, settings, fingerprint = inputs
        store.save_closings(fingerprint, month_closings(book, settings, as_of, months, read_at))


def _unchanged(
    config: Config, stored: dict[str, SourceState], kept: StoredSections, as_of: date, now: datetime
) -> dict[str, SourceState]:
    """The file sources every section they feed can be taken from the store for: computed from the files as they
    are now, for this as_of and these settings (fresh as of now, nothing to read). A section that also reads a
    billing book, read anew each run, needs its files' rows."""
    from connectors.base import ConnectorError
    from connectors.paths import file_signatures

    out: dict[str, SourceState] = {}
    needed: set[str] = set()
    for section in SECTIONS:
        names = _sources_feeding(config, section)
        if not _fed_by_files(config, section):
            needed.update(names)
            continue
        if not names or not set(names) <= set(stored) or section not in kept:
            continue
        try:
            current = {n: file_signatures(config.sources[n].options["path"]) for n in names}
        except ConnectorError:
            needed.update(names)
            continue
        fresh = {n: SourceState(replace(stored[n].status, last_success=now), None, current[n]) for n in names}
        if section_key(section, config, fresh, as_of) == kept[section][0]:  # the key holds the files' signatures
            out.update(fresh)
        else:
            needed.update(names)
    return {name: state for name, state in out.items() if name not in needed}


def refresh_all(config: Config, as_of: date, now: datetime, store: Store | None = None) -> Snapshot:
    """Refresh every source once (failures become error or stale statuses) and compute the snapshot; with a
    store, file sources whose stored section still holds (the same files, as_of and settings) are not read."""
    stored: dict[str, SourceState] = {}
    kept: StoredSections = {}
    if store is not None:
        stored = {
            name: SourceState(st, None, sig) for name, (st, sig) in store.load_sources(set(config.sources)).items()
        }
        kept = store.load_sections()
    unchanged = _unchanged(config, stored, kept, as_of, now)
    states: dict[str, SourceState] = {}
    for name, source in config.sources.items():
        if name in unchanged:
            states[name] = unchanged[name]
            continue
        try:
            states[name] = fetch(name, source, store, now)
        except Exception as exc:  # every failure becomes a status line; stored data stays in use
            last = stored.get(name)
            if last is not None and last.signature is None and store is not None:  # the stored billing book
                last = SourceState(last.status, store.load_frames(name))
            states[name] = failed(last, source, describe_error(exc))
    return compute_and_record(config, states, as_of, now, store, kept)
