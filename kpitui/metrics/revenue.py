"""MRR, movements, churn, NRR, LTV: Stripe's and ChartMogul's definitions, vectorised."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import numpy as np
import pandas as pd

from kpitui.metrics import revenue_kpis
from kpitui.metrics.money import MONTHS_PER_INTERVAL, conversion_factors
from kpitui.model import CustomerMovement, Movements, RevenueMetrics, RevenuePoint

_NEVER_COUNTED = ("trialing", "incomplete", "incomplete_expired")
_AVG_MONTH_DAYS = 365.25 / 12
CLOSING_COLUMNS = ["month", "customer_id", "currency", "mrr"]


@dataclass(frozen=True)
class RevenueSettings:
    """The (setting) choices of DESIGN.md section 4 that touch revenue."""

    currency: str = "usd"
    fx: tuple[tuple[str, float], ...] = ()
    counted_statuses: tuple[str, ...] = ("active", "past_due")
    apply_discounts: bool = True
    cancel_immediately: bool = False
    period_days: int = 30

    def fingerprint(self) -> str:
        """What a stored month-closing row depends on (not currency or FX: rows keep their own currency)."""
        return json.dumps([sorted(self.counted_statuses), self.apply_discounts, self.cancel_immediately])


@dataclass
class Book:
    """The billing frames of one or more sources."""

    subscriptions: pd.DataFrame
    items: pd.DataFrame
    discounts: pd.DataFrame
    invoice_lines: pd.DataFrame
    customers: pd.DataFrame
    schedules: pd.DataFrame | None = None  # schedule_phases, where the API has subscription schedules


def end_of_day(day: date) -> pd.Timestamp:
    """The last instant of a UTC day."""
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def month_end(ts: pd.Timestamp) -> pd.Timestamp:
    """The last instant of the month holding `ts`."""
    start = ts.normalize().replace(day=1)
    return start + pd.DateOffset(months=1) - pd.Timedelta(microseconds=1)


def tiered_amount(tiers_json: str, mode: str, quantity: float) -> float:
    """The period amount of a tiered price for a quantity, graduated or volume."""
    tiers = json.loads(tiers_json)
    if mode == "volume":
        for tier in tiers:
            if tier.get("up_to") is None or quantity <= tier["up_to"]:
                return quantity * (tier.get("unit_amount") or 0) + (tier.get("flat_amount") or 0)
        return 0.0
    total, lower = 0.0, 0.0
    for tier in tiers:
        upper = tier.get("up_to")
        upper = float("inf") if upper is None else float(upper)
        units = max(0.0, min(quantity, upper) - lower)
        if units > 0:
            total += units * (tier.get("unit_amount") or 0) + (tier.get("flat_amount") or 0)
        lower = upper
        if quantity <= upper:
            break
    return total


def item_mrr(items: pd.DataFrame) -> pd.Series:
    """Monthly amount of each item in its own currency's minor units (metered items are 0)."""
    amount = items["unit_amount"].astype(float).fillna(0.0) * items["quantity"].astype(float).fillna(1.0)
    tiered = items["tiers"].notna() & (items["tiers"].astype(str) != "")
    if tiered.any():
        amount = amount.copy()
        amount[tiered] = [
            tiered_amount(t, m or "graduated", float(q if pd.notna(q) else 1))
            for t, m, q in zip(
                items.loc[tiered, "tiers"], items.loc[tiered, "tiers_mode"], items.loc[tiered, "quantity"]
            )
        ]
    months = items["interval"].map(MONTHS_PER_INTERVAL).astype(float) * items["interval_count"].astype(float).fillna(
        1.0
    )
    monthly = amount / months
    return monthly.where(items["usage_type"].fillna("licensed") != "metered", 0.0).fillna(0.0)


_NO_TIME_MIN = np.iinfo(np.int64).min
_NO_TIME_MAX = np.iinfo(np.int64).max


def _ns(times: pd.Series, missing: int) -> np.ndarray:
    """UTC times as int64 nanoseconds, with `missing` where there is no time."""
    values = times.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    values[pd.isna(times).to_numpy()] = missing
    return values


def _flags(values: pd.Series, allowed: tuple[str, ...] | str) -> np.ndarray:
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    return values.astype(object).isin(allowed).to_numpy(dtype=bool)


class RevenueEngine:
    """Precomputes numpy arrays once, then answers MRR per subscription or customer at any date."""

    def __init__(self, book: Book, settings: RevenueSettings, as_of: date, observed: datetime | None = None) -> None:
        self.settings = settings
        self.as_of_end = end_of_day(as_of)
        observed = self.as_of_end if observed is None else pd.Timestamp(observed)
        subs = book.subscriptions.drop_duplicates("subscription_id", keep="last").reset_index(drop=True)
        position = pd.Index(subs["subscription_id"].astype(str))
        self.size = len(subs)
        items = book.items
        item_pos = position.get_indexer(items["subscription_id"].astype(str))
        known = item_pos >= 0
        self.base = np.bincount(item_pos[known], weights=item_mrr(items).to_numpy()[known], minlength=self.size)
        months = (
            items["interval"].map(MONTHS_PER_INTERVAL).astype(float) * items["interval_count"].astype(float).fillna(1.0)
        ).to_numpy()
        self.period_months = np.ones(self.size)
        first_item = ~pd.Series(item_pos).duplicated().to_numpy() & known
        self.period_months[item_pos[first_item]] = np.nan_to_num(months[first_item], nan=1.0)
        self.plan, self.interval = _plan_and_interval(items, item_pos, self.size)
        self.subs = subs
        self.observed = observed
        lines = _paid_subscription_lines(book.invoice_lines)
        start = _ns(subs["start"].fillna(subs["created"]), _NO_TIME_MAX)
        self.trial_end = _ns(subs["trial_end"], _NO_TIME_MIN)
        self.counted_from = np.maximum(start, self.trial_end)
        self.counted_until = _ns(counting_ends(subs, lines, settings, observed), _NO_TIME_MAX)
        self.never_counted = _flags(subs["status"], _NEVER_COUNTED)
        customers = subs["customer_id"].astype(str)
        self.currency = subs["currency"].fillna(settings.currency).astype(str).str.lower().to_numpy()
        self.customer_code, self.customers = pd.factorize(customers)
        self.factor = conversion_factors(subs["currency"], settings.currency, dict(settings.fx))
        self._prepare_lines(lines, position)
        self._prepare_discounts(book.discounts if settings.apply_discounts else book.discounts.iloc[0:0], position)

    def _prepare_lines(self, lines: pd.DataFrame, position: pd.Index) -> None:
        """Paid subscription lines: their subscription, period and monthly amount."""
        days = (lines["period_end"] - lines["period_start"]).dt.total_seconds() / 86400
        months = days / _AVG_MONTH_DAYS
        months = months.where(months < 0.9, months.round())
        pos = position.get_indexer(lines["subscription_id"].astype(str))
        known = pos >= 0
        self.line_pos = pos[known]
        self.line_start = _ns(lines["period_start"], _NO_TIME_MAX)[known]
        self.line_end = _ns(lines["period_end"], _NO_TIME_MIN)[known]
        self.line_monthly = (lines["amount"].astype(float) / months).to_numpy()[known]

    def _prepare_discounts(self, discounts: pd.DataFrame, position: pd.Index) -> None:
        """Recurring discounts, one row per subscription they apply to: a customer's discount applies to each of its
        subscriptions, its amount off to the first one only."""
        d = discounts[_flags(discounts["duration"], ("forever", "repeating"))].reset_index(drop=True)
        on_customer = d["subscription_id"].isna()
        own = pd.DataFrame({"sub": position.get_indexer(d["subscription_id"].fillna("").astype(str)), "first": True})
        owner = pd.DataFrame({"code": self.customers.get_indexer(d["customer_id"].fillna("").astype(str))})
        subs = pd.DataFrame(
            {
                "code": self.customer_code,
                "sub": np.arange(self.size),
                "first": ~pd.Series(self.customer_code).duplicated(),
            }
        )
        rows = pd.concat(
            [
                own[~on_customer & (own["sub"] >= 0)].reset_index(names="row"),
                owner[on_customer].reset_index(names="row").merge(subs, on="code"),
            ]
        )
        applied = d.iloc[rows["row"].to_numpy()]
        self.disc_sub = rows["sub"].to_numpy(dtype=np.int64)
        self.disc_start = _ns(applied["start"], _NO_TIME_MIN)
        self.disc_end = _ns(applied["end"], _NO_TIME_MAX)
        self.disc_keep = 1 - applied["percent_off"].astype(float).fillna(0.0).to_numpy() / 100
        self.disc_off = np.where(rows["first"], applied["amount_off"].astype(float).fillna(0.0), 0.0)

    def _active(self, t: np.ndarray) -> np.ndarray:
        """Whether each subscription counts at its instant t (ns): inside its counting interval, trial over."""
        return (self.counted_from <= t) & (t < self.counted_until) & ~self.never_counted

    @cached_property
    def first_paying(self) -> np.ndarray:
        """Per subscription: the first instant (ns) by as_of at which its MRR was above zero (_NO_TIME_MAX: never).
        Its MRR can only rise where it starts counting, a discount ends, an invoice line starts or ends, or invoices
        stop applying (as_of), so those instants are tried in turn."""
        first = np.full(self.size, _NO_TIME_MAX)
        t, pending = self.counted_from.copy(), ~self.never_counted
        while (pending := pending & (t < self.counted_until) & (t <= self.as_of_end.value)).any():
            paying = pending & (self._mrr_at(t) > 0)
            first[paying] = t[paying]
            pending &= ~paying
            t = self._next_rise(t)
        return first

    def _next_rise(self, t: np.ndarray) -> np.ndarray:
        """Per subscription: the next instant after its t at which its MRR can rise (see `first_paying`)."""
        later = np.where(t < self.as_of_end.value, self.as_of_end.value, _NO_TIME_MAX)
        for subs, times in (
            (self.disc_sub, self.disc_end),
            (self.line_pos, self.line_start),
            (self.line_pos, self.line_end),
        ):
            after = times > t[subs]
            np.minimum.at(later, subs[after], times[after])
        return later

    @property
    def paid(self) -> np.ndarray:
        """Per subscription: whether its MRR was above zero at some instant by as_of."""
        return self.first_paying < _NO_TIME_MAX

    def paid_before(self, t: pd.Timestamp) -> pd.Series:
        """Per customer: whether its MRR was above zero at some instant before t."""
        paid = self.first_paying < t.value
        return pd.Series(
            np.bincount(self.customer_code, weights=paid, minlength=len(self.customers)) > 0, index=self.customers
        )

    def _discounted(self, t: np.ndarray, amounts: np.ndarray) -> np.ndarray:
        """Apply the forever and still-running repeating discounts at each subscription's instant t (ns)."""
        at = t[self.disc_sub]
        running = (self.disc_start <= at) & (self.disc_end > at)
        factor = np.ones(self.size)
        off = np.zeros(self.size)
        np.multiply.at(factor, self.disc_sub[running], self.disc_keep[running])
        np.add.at(off, self.disc_sub[running], self.disc_off[running])
        return np.clip(amounts * factor - off / self.period_months, 0.0, None)

    def _mrr_at(self, t: np.ndarray) -> np.ndarray:
        """MRR of each subscription at its own instant t (ns), in its currency's minor units (a paid invoice line
        covering t wins before as_of)."""
        active = self._active(t)
        amounts = self._discounted(t, np.where(active, self.base, 0.0))
        at = t[self.line_pos]
        covering = (self.line_start <= at) & (self.line_end > at) & (at < self.as_of_end.value)
        pos = self.line_pos[covering]
        invoiced = np.bincount(pos, weights=self.line_monthly[covering], minlength=self.size)
        has_invoice = np.bincount(pos, minlength=self.size) > 0
        return np.where(has_invoice & active, np.clip(invoiced, 0.0, None), amounts)

    def subscription_mrr(self, t: pd.Timestamp) -> np.ndarray:
        """MRR of each subscription at t in its own currency's minor units (paid invoice lines win before as_of)."""
        return self._mrr_at(np.full(self.size, t.value))

    def customer_mrr(self, t: pd.Timestamp) -> pd.Series:
        """MRR of each customer at t, in major units of the reporting currency."""
        converted = self.subscription_mrr(t) * self.factor
        return pd.Series(
            np.bincount(self.customer_code, weights=converted, minlength=len(self.customers)), index=self.customers
        )

    def closing_rows(self, t: pd.Timestamp) -> pd.DataFrame:
        """Per customer and currency: MRR at t in that currency's minor units (a month's closing rows)."""
        frame = pd.DataFrame(
            {
                "customer_id": self.customers[self.customer_code],
                "currency": self.currency,
                "mrr": self.subscription_mrr(t),
            }
        )
        rows = frame.groupby(["customer_id", "currency"], as_index=False)["mrr"].sum()
        return rows[rows["mrr"] > 0].reset_index(drop=True)


def _plan_and_interval(items: pd.DataFrame, item_pos: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per subscription: the plan (product name, else id) and billing interval of its largest item."""
    count = items["interval_count"].astype(float).fillna(1.0)
    interval = items["interval"].astype(object).fillna("?")
    labels = interval.where(count == 1, count.map("{:g}".format).astype(object) + " " + interval + "s")
    ranked = pd.DataFrame(
        {
            "pos": item_pos,
            "value": item_mrr(items).to_numpy(),
            "plan": items["product_name"].fillna(items["product_id"]).fillna(items["price_nickname"]).astype(object),
            "interval": labels.to_numpy(),
        }
    )
    ranked = ranked[ranked["pos"] >= 0].sort_values("value", ascending=False, kind="stable").drop_duplicates("pos")
    plan = np.full(size, "(no plan)", dtype=object)
    plan[ranked["pos"]] = ranked["plan"].fillna("(no plan)")
    intervals = np.full(size, "?", dtype=object)
    intervals[ranked["pos"]] = ranked["interval"]
    return plan, intervals


def _paid_subscription_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The invoice lines that are revenue history: paid, recurring, not prorations, with a period."""
    keep = (
        (lines["type"].fillna("subscription") == "subscription")
        & ~lines["proration"].fillna(False).astype(bool)
        & lines["status"].astype(object).eq("paid")
        & lines["subscription_id"].notna()
        & lines["period_end"].gt(lines["period_start"])
    )
    return lines[keep]


def counting_ends(
    subs: pd.DataFrame, paid_lines: pd.DataFrame, settings: RevenueSettings, observed: pd.Timestamp
) -> pd.Series:
    """When each subscription stops counting (NaT: it has not), by DESIGN.md section 4's dated statuses.

    A status that is not counted began at `status_since` (the Events API), else at the end of the last paid line
    (never after `observed`, when the book was read), else at the current period's start; a canceled one ends at
    `ended_at`, else `canceled_at`; a `cancel_at` ends it too; with `cancel_immediately` a scheduled cancellation
    ends it when it was made."""
    times = {
        c: subs[c].astype("datetime64[us, UTC]")
        for c in ("status_since", "current_period_start", "ended_at", "canceled_at", "cancel_at")
    }
    last_paid = paid_lines.groupby(paid_lines["subscription_id"].astype(str))["period_end"].max().clip(upper=observed)
    paid_until = pd.to_datetime(last_paid.reindex(subs["subscription_id"].astype(str)).to_numpy(), utc=True)
    since = (
        times["status_since"]
        .fillna(pd.Series(paid_until, index=subs.index).astype("datetime64[us, UTC]"))
        .fillna(times["current_period_start"])
        .fillna(observed)
    )
    status = subs["status"].astype(object)
    since = since.mask(status.eq("canceled"), times["ended_at"].fillna(times["canceled_at"]).fillna(since))
    stops = [times["ended_at"], times["cancel_at"]]
    uncounted = ~status.isin(settings.counted_statuses) & ~status.isin(_NEVER_COUNTED)
    stops.append(since.where(uncounted))
    if settings.cancel_immediately:
        scheduled = subs["cancel_at_period_end"].fillna(False).astype(bool)
        stops.append(times["canceled_at"].fillna(observed).where(scheduled))
    return pd.concat(stops, axis=1).min(axis=1)


def classify_movements(before: pd.Series, after: pd.Series, paid_before: pd.Series) -> pd.DataFrame:
    """Per customer: old MRR, new MRR and the movement kind."""
    frame = pd.concat({"old": before, "new": after}, axis=1).fillna(0.0)
    old, new = frame["old"].round(6), frame["new"].round(6)
    prior = paid_before.reindex(frame.index).fillna(False).astype(bool)
    kind = np.select(
        [(old == 0) & (new > 0) & prior, (old == 0) & (new > 0), (old > 0) & (new == 0), new > old, new < old],
        ["reactivation", "new", "churn", "expansion", "contraction"],
        default="",
    )
    frame["kind"] = kind
    return frame


def summarise_movements(frame: pd.DataFrame) -> Movements:
    """Sum the per-customer movements into the six totals."""
    delta = frame["new"] - frame["old"]
    by_kind = delta.groupby(frame["kind"]).sum()
    get = lambda k: float(abs(by_kind.get(k, 0.0)))  # noqa: E731
    new, exp, con, churn, react = (get(k) for k in ("new", "expansion", "contraction", "churn", "reactivation"))
    return Movements(new, exp, con, churn, react, new + react + exp - con - churn)


def _rate(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


ClosedMonths = Mapping[str, pd.DataFrame]  # "YYYY-MM" → that month's stored closing rows (CLOSING_COLUMNS)


def _closing_key(t: pd.Timestamp) -> str | None:
    """The month `t` closes (`YYYY-MM`) when it is a month's last instant, else None."""
    return t.strftime("%Y-%m") if t == month_end(t) else None


def _stored_mrr(rows: pd.DataFrame, settings: RevenueSettings) -> pd.Series:
    """Stored closing rows → MRR per customer in major units of the reporting currency, at today's rates."""
    factor = conversion_factors(rows["currency"], settings.currency, dict(settings.fx))
    return (rows["mrr"].astype(float) * factor).groupby(rows["customer_id"].astype(str)).sum()


def previous_month_ends(as_of: date, count: int = 12) -> list[pd.Timestamp]:
    """The last instants of the `count` months before `as_of`'s month, oldest first."""
    this_month_end = month_end(end_of_day(as_of))
    return [month_end(this_month_end - pd.DateOffset(months=k)) for k in range(count, 0, -1)]


def months_to_close(as_of: date, stored: set[str], read_at: datetime | None) -> list[str]:
    """The months a refresh on `as_of` (today) closes: the month just ended, and any ended since the last stored;
    only those that had ended when the book was read (`read_at`)."""
    ends = [t for t in previous_month_ends(as_of) if read_at is not None and t < pd.Timestamp(read_at)]
    months = [t.strftime("%Y-%m") for t in ends]
    return [m for m in months if m > max(stored)] if stored else months[-1:]


def month_closings(
    book: Book, settings: RevenueSettings, as_of: date, months: list[str], observed: datetime | None = None
) -> pd.DataFrame:
    """The closing rows of `months` (`YYYY-MM`, each ended by `as_of`): per customer and currency, minor units."""
    engine = RevenueEngine(book, settings, as_of, observed)
    parts = [
        engine.closing_rows(month_end(pd.Timestamp(f"{month}-01", tz="UTC"))).assign(month=month) for month in months
    ]
    return pd.concat(parts, ignore_index=True)[CLOSING_COLUMNS] if parts else pd.DataFrame(columns=CLOSING_COLUMNS)


def compute_revenue(
    book: Book,
    settings: RevenueSettings,
    as_of: date,
    top: int = 50,
    observed: datetime | None = None,
    closed: ClosedMonths | None = None,
) -> RevenueMetrics:
    """Every revenue KPI at `as_of`, with 12 months of history; `observed` is when the book was read (default
    the end of `as_of`) and `closed` the stored closing rows, which win for their months."""
    engine = RevenueEngine(book, settings, as_of, observed)
    closed = closed or {}

    def mrr_at(t: pd.Timestamp) -> pd.Series:
        key = _closing_key(t)
        return _stored_mrr(closed[key], settings) if key in closed else engine.customer_mrr(t)

    now = engine.as_of_end
    month_ends = previous_month_ends(as_of)
    table = pd.DataFrame({t: mrr_at(t) for t in [*month_ends, now]}).fillna(0.0)
    current = table[now]
    start_col = month_ends[-1]

    earlier = table[month_ends[:-1]].gt(0).any(axis=1)
    paid_before = earlier | engine.paid_before(start_col).reindex(table.index, fill_value=False)
    moves = classify_movements(table[start_col], current, paid_before)
    movements = summarise_movements(moves)

    mrr = float(current.sum())
    paying = int((current > 0).sum())
    start_mrr = float(table[start_col].sum())
    start_paying = int((table[start_col] > 0).sum())
    churned = int((moves["kind"] == "churn").sum())

    then = mrr_at(now - pd.DateOffset(years=1))
    cohort = then[then > 0]
    nrr = _rate(float(current.reindex(cohort.index).fillna(0.0).sum()), float(cohort.sum()))

    # the six monthly periods ending at as_of (the last one is this month to date, as the movements are)
    points = [*month_ends[-6:], now]
    rates = [
        _rate(float(((table[cur] == 0) & (table[prev] > 0)).sum()), float((table[prev] > 0).sum()))
        for prev, cur in itertools.pairwise(points)
    ]
    known = [r for r in rates if r is not None]
    mean_churn = float(np.mean(known)) if known else 0.0
    arpa = _rate(mrr, paying)
    changed = moves[moves["kind"] != ""].copy()
    changed["size"] = (changed["new"] - changed["old"]).abs()
    changed = changed.sort_values(["size", "new"], ascending=False).head(top)
    names = _customer_names(book.customers, list(changed.index))
    sub_mrr_now = engine.subscription_mrr(now) * engine.factor
    at_risk = revenue_kpis.mrr_at_risk(engine, sub_mrr_now)
    increases = revenue_kpis.scheduled_increases(engine, book.schedules, sub_mrr_now)
    history = (
        *(RevenuePoint(t.strftime("%Y-%m"), float(table[t].sum())) for t in month_ends[1:]),
        RevenuePoint(now.strftime("%Y-%m"), mrr),
    )
    return RevenueMetrics(
        mrr=mrr,
        arr=12 * mrr,
        paying_customers=paying,
        arpa=arpa,
        movements=movements,
        customer_churn_rate=_rate(churned, start_paying),
        gross_mrr_churn_rate=_rate(movements.churn + movements.contraction, start_mrr),
        net_mrr_churn_rate=_rate(
            movements.churn + movements.contraction - movements.expansion - movements.reactivation, start_mrr
        ),
        nrr=nrr,
        ltv=None if arpa is None or mean_churn == 0 else arpa / mean_churn,
        quick_ratio=_rate(
            movements.new + movements.reactivation + movements.expansion, movements.churn + movements.contraction
        ),
        history=history,
        trial_conversion=revenue_kpis.trial_conversion(engine),
        cmrr=mrr + increases - at_risk,
        mrr_at_risk=at_risk,
        acv=revenue_kpis.acv(sub_mrr_now),
        by_plan=revenue_kpis.by_plan(engine, sub_mrr_now),
        by_interval=revenue_kpis.by_interval(engine, sub_mrr_now),
        cohorts=revenue_kpis.cohorts(engine, table, [*month_ends[1:], now]),
        top_movements=tuple(
            CustomerMovement(str(cid), names.get(str(cid), str(cid)), row.kind, float(row.old), float(row.new))
            for cid, row in changed.iterrows()
        ),
    )


def _customer_names(customers: pd.DataFrame, ids: list[str]) -> dict[str, str]:
    """Display names of the given customers (name, else email, else id)."""
    if customers.empty or not ids:
        return {}
    wanted = customers[customers["customer_id"].astype(object).isin(ids)]
    label = wanted["name"].fillna(wanted["email"]).fillna(wanted["customer_id"])
    return dict(zip(wanted["customer_id"].astype(str), label.astype(str), strict=True))
