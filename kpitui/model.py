"""The Snapshot: every number the board and `kpitui snapshot` show, as frozen dataclasses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints


def detail(default: Any = None) -> Any:
    """A field the panes use that is not part of the snapshot JSON contract."""
    return field(default=default, metadata={"detail": True})


@dataclass(frozen=True)
class SourceStatus:
    """How one source's last refresh went."""

    type: str
    status: str = "pending"
    rows: int | None = None
    skipped_rows: int | None = None
    last_success: datetime | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    layout: str = detail("")
    interval: float = detail(0.0)
    unit: str = detail("rows")  # what `rows` counts (a warehouse's tables)


@dataclass(frozen=True)
class Movements:
    """MRR movements between two dates, in major units."""

    new: float = 0.0
    expansion: float = 0.0
    contraction: float = 0.0
    churn: float = 0.0
    reactivation: float = 0.0
    net_new: float = 0.0


@dataclass(frozen=True)
class RevenuePoint:
    """Month-end MRR."""

    month: str
    mrr: float


@dataclass(frozen=True)
class CustomerMovement:
    """One customer's MRR change over the movement period."""

    customer_id: str
    name: str
    kind: str
    old_mrr: float
    new_mrr: float


@dataclass(frozen=True)
class PlanMrr:
    """MRR and paying customers of one plan (product)."""

    plan: str
    mrr: float
    customers: int


@dataclass(frozen=True)
class IntervalMrr:
    """MRR and paying customers of one billing interval."""

    interval: str
    mrr: float
    customers: int


@dataclass(frozen=True)
class Cohort:
    """Customers who first paid in one month, and the share still paying (logo) and of their first MRR (revenue)
    in each month since (index 0 = that month; None where the month is after as_of)."""

    month: str
    customers: int
    logo: tuple[float | None, ...]
    revenue: tuple[float | None, ...]


@dataclass(frozen=True)
class RevenueMetrics:
    """Revenue KPIs at `as_of` (DESIGN.md section 4)."""

    mrr: float
    arr: float
    paying_customers: int
    arpa: float | None
    movements: Movements
    customer_churn_rate: float | None
    gross_mrr_churn_rate: float | None
    net_mrr_churn_rate: float | None
    nrr: float | None
    ltv: float | None
    quick_ratio: float | None
    history: tuple[RevenuePoint, ...]
    trial_conversion: float | None = None
    cmrr: float | None = None
    mrr_at_risk: float | None = None
    acv: float | None = None
    by_plan: tuple[PlanMrr, ...] = ()
    by_interval: tuple[IntervalMrr, ...] = ()
    cohorts: tuple[Cohort, ...] = ()
    top_movements: tuple[CustomerMovement, ...] = detail(())


@dataclass(frozen=True)
class NpsPoint:
    """NPS of one month."""

    month: str
    score: float | None
    responses: int


@dataclass(frozen=True)
class NpsComment:
    """A response with a comment, for the comment list."""

    responded_at: datetime | None
    score: int
    comment: str
    segment: str = ""


@dataclass(frozen=True)
class NpsMetrics:
    """NPS over the window ending `as_of`."""

    score: float | None
    responses: int
    promoters: int
    passives: int
    detractors: int
    margin_of_error: float | None
    previous_score: float | None
    history: tuple[NpsPoint, ...]
    distribution: tuple[int, ...] = detail(())
    comments: tuple[NpsComment, ...] = detail(())
    windowed: bool = detail(True)
    window_days: int = detail(90)
    change_is_significant: bool | None = detail(None)
    segments: tuple[tuple[str, float | None, int], ...] = detail(())
    timezone: str = detail("UTC")  # the survey's: its window's days and its months


@dataclass(frozen=True)
class DurationStats:
    """Median, P90 and mean of a duration in minutes."""

    median: float | None = None
    p90: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class SupportPoint:
    """Support volume and speed of one month."""

    month: str
    tickets: int
    first_response_median: float | None


@dataclass(frozen=True)
class GroupStats:
    """Support figures for one priority or channel."""

    name: str
    tickets: int
    first_response_median: float | None
    resolution_median: float | None
    sla_breach_rate: float | None
    target_minutes: float | None = None


@dataclass(frozen=True)
class OpenTicket:
    """An unsolved ticket, for the slowest-open list."""

    ticket_id: str
    subject: str
    priority: str
    age_minutes: float


@dataclass(frozen=True)
class SupportMetrics:
    """Support KPIs over the reporting period ending `as_of`."""

    tickets: int
    backlog: int | None
    first_response_minutes: DurationStats
    resolution_minutes: DurationStats
    sla_breach_rate: float | None
    csat: float | None
    history: tuple[SupportPoint, ...]
    previous_first_response_median: float | None = detail(None)
    previous_resolution_median: float | None = detail(None)
    previous_tickets: int | None = detail(None)
    reopen_rate: float | None = detail(None)
    by_priority: tuple[GroupStats, ...] = detail(())
    by_channel: tuple[GroupStats, ...] = detail(())
    daily: tuple[tuple[str, int], ...] = detail(())
    heatmap: tuple[tuple[int, ...], ...] = detail(())
    slowest_open: tuple[OpenTicket, ...] = detail(())
    has_created: bool = detail(True)
    minutes_basis: str = detail("calendar")
    invalid_durations: int = detail(0)
    timezone: str = detail("UTC")
    without_business_minutes: int = detail(0)
    warnings: tuple[str, ...] = detail(())


@dataclass(frozen=True)
class FunnelStepResult:
    """One funnel step's counts and rates."""

    name: str
    users: int
    conversion_from_previous: float | None
    conversion_from_start: float | None
    abandonments: int


@dataclass(frozen=True)
class BreakdownRow:
    """Funnel entry and completion for one source / medium."""

    source: str
    medium: str
    entered: int
    completed: int
    conversion: float | None


@dataclass(frozen=True)
class FunnelMetrics:
    """Funnel over the reporting period ending `as_of`."""

    steps: tuple[FunnelStepResult, ...]
    overall_conversion: float | None
    previous_overall_conversion: float | None = detail(None)
    weekly: tuple[tuple[str, float | None], ...] = detail(())
    breakdown: tuple[BreakdownRow, ...] = detail(())
    daily_visitors: tuple[tuple[str, int], ...] = detail(())
    daily_signups: tuple[tuple[str, int], ...] = detail(())
    users: int | None = detail(None)
    sessions: int | None = detail(None)
    monthly_visitors: int | None = detail(None)
    preaggregated: bool = detail(False)
    provisional_after: str | None = detail(None)  # figures from here (UTC, ISO) may still change: GA4 rewrites them


@dataclass(frozen=True)
class RetentionCohort:
    """Users whose first visit fell in one week (its Monday), and the share of them active in each week since
    (index 0 = that week, up to the week holding as_of)."""

    week: str
    users: int
    returning: tuple[float, ...]


@dataclass(frozen=True)
class EngagementMetrics:
    """Active users, stickiness, retention by first-visit week and lead velocity at `as_of`."""

    dau: int
    wau: int
    mau: int
    stickiness: float | None
    lead_velocity_rate: float | None
    retention: tuple[RetentionCohort, ...]
    daily_active: tuple[tuple[str, int], ...] = detail(())
    leads: int = detail(0)
    previous_leads: int = detail(0)
    lead_event: str = detail("sign_up")
    signups: int = detail(0)  # users with a `sign_up` in the period


@dataclass(frozen=True)
class SourceMatch:
    """How many of a source's rows were linked to a billing customer."""

    matched: int
    rows: int
    ambiguous: int = detail(0)
    unit: str = detail("rows")


@dataclass(frozen=True)
class BandNps:
    """NPS of the linked respondents in one MRR band."""

    band: str
    score: float | None
    responses: int


@dataclass(frozen=True)
class PlanNps:
    """NPS of the linked respondents on one plan."""

    plan: str
    score: float | None
    responses: int


@dataclass(frozen=True)
class BandTickets:
    """Tickets of linked customers in one MRR band over the period, and their first-response median."""

    band: str
    tickets: int
    first_response_median: float | None


@dataclass(frozen=True)
class AccountAtRisk:
    """A paying customer with reasons to worry, largest MRR first."""

    customer: str
    mrr: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CustomersMetrics:
    """One customer across billing, surveys, tickets and GA4: figures by plan and MRR band, accounts at risk."""

    matched: dict[str, SourceMatch]
    nps_by_plan: tuple[PlanNps, ...]
    nps_by_mrr_band: tuple[BandNps, ...]
    tickets_by_mrr_band: tuple[BandTickets, ...]
    detractor_mrr: float | None
    at_risk: tuple[AccountAtRisk, ...]


@dataclass(frozen=True)
class ChannelCost:
    """Spend and new paying customers of one acquisition channel over the period."""

    channel: str
    spend: float
    new_customers: int
    cac: float | None


@dataclass(frozen=True)
class AcquisitionMetrics:
    """What acquiring a customer costs over the period, and how soon it pays back."""

    spend: float
    new_customers: int | None
    cac: float | None
    ltv_to_cac: float | None
    payback_months: float | None
    cost_per_signup: float | None
    by_channel: tuple[ChannelCost, ...]
    signups: int | None = detail(None)
    gross_margin: float = detail(0.8)


@dataclass(frozen=True)
class AlertState:
    """Where one KPI stands against its alert thresholds."""

    kpi: str
    value: float | None
    threshold: float | None
    state: str


@dataclass(frozen=True)
class Snapshot:
    """One refresh of every source and every metric."""

    as_of: date
    generated_at: datetime
    currency: str
    sources: dict[str, SourceStatus]
    revenue: RevenueMetrics | None = None
    nps: NpsMetrics | None = None
    support: SupportMetrics | None = None
    funnel: FunnelMetrics | None = None
    customers: CustomersMetrics | None = None
    acquisition: AcquisitionMetrics | None = None
    engagement: EngagementMetrics | None = None
    alerts: tuple[AlertState, ...] = ()
    period_days: int = detail(30)
    trends: dict[str, tuple[tuple[str, float], ...]] | None = field(default=None, metadata={"detail": True})
    goals: dict[str, float] | None = field(default=None, metadata={"detail": True})
    failed_sections: dict[str, str] | None = field(default=None, metadata={"detail": True})  # section → why


def to_plain(value: Any) -> Any:
    """JSON-ready data of a snapshot part: contract fields only, NaN as null."""
    if is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value) if not f.metadata.get("detail")}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    return value


def lookup(plain: dict[str, Any], path: str) -> Any:
    """The value at a dotted KPI path of the snapshot JSON, or None."""
    node: Any = plain
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted KPI paths and leaf values, lists indexed (`revenue.history.0.mrr`)."""
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list):
        rows = []
        for i, item in enumerate(value):
            rows.extend(flatten(item, f"{prefix}.{i}"))
        return rows
    return [(prefix, value)]


def to_stored(value: Any) -> Any:
    """JSON-ready data of a whole snapshot, detail fields included (for the store; see `from_stored`)."""
    if is_dataclass(value):
        return {f.name: to_stored(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): to_stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_stored(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@cache
def field_types(kind: type) -> dict[str, Any]:
    """A dataclass's fields' type hints, resolved once."""
    return get_type_hints(kind)


def from_stored(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a model dataclass, or a type hint of one of its fields) from `to_stored` data."""
    if data is None:
        return None
    origin, args = get_origin(kind), get_args(kind)
    if origin in (UnionType, Union):
        return from_stored(next(a for a in args if a is not type(None)), data)
    if is_dataclass(kind):
        hints = field_types(kind)
        return kind(**{f.name: from_stored(hints[f.name], data[f.name]) for f in fields(kind) if f.name in data})
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_stored(args[0], item) for item in data)
        return tuple(from_stored(arg, item) for arg, item in zip(args, data, strict=True))
    if origin is dict:
        return {key: from_stored(args[1], item) for key, item in data.items()}
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    if kind is float:
        return float(data)
    return data
