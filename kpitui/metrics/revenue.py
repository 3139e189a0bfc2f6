"""MRR, movements, churn, NRR, LTV: Stripe's and ChartMogul's definitions, vectorised."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kpitui.metrics.money import to_reporting
from kpitui.model import CustomerMovement, Movements, RevenueMetrics, RevenuePoint

_MONTHS_PER_INTERVAL = {"month": 1.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}
_NEVER_PAID = ("incomplete", "incomplete_expired")
_AVG_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class RevenueSettings:
    """The (setting) choices of DESIGN.md section 4 that touch revenue."""

    currency: str = "usd"
    fx: tuple[tuple[str, float], ...] = ()
    counted_statuses: tuple[str, ...] = ("active", "past_due")
    apply_discounts: bool = True
    cancel_immediately: bool = False


@dataclass
class Book:
    """The billing frames of one or more sources."""

    subscriptions: pd.DataFrame
    items: pd.DataFrame
    discounts: pd.DataFrame
    invoice_lines: pd.DataFrame
    customers: pd.DataFrame


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
    months = items["interval"].map(_MONTHS_PER_INTERVAL).astype(float) * items["interval_count"].astype(float).fillna(
        1.0
    )
    monthly = amount / months
    return monthly.where(items["usage_type"].fillna("licensed") != "metered", 0.0).fillna(0.0)


class RevenueEngine:
    """Precomputes per-subscription amounts once, then answers MRR per customer at any date."""

    def __init__(self, book: Book, settings: RevenueSettings, as_of: date) -> None:
        self.settings = settings
        self.as_of_end = end_of_day(as_of)
        subs = book.subscriptions.drop_duplicates("subscription_id", keep="last").set_index("subscription_id")
        self.subs = subs
        items = book.items
        monthly = item_mrr(items).groupby(items["subscription_id"]).sum()
        self.base = monthly.reindex(subs.index).fillna(0.0)
        period_months = (
            (
                items["interval"].map(_MONTHS_PER_INTERVAL).astype(float)
                * items["interval_count"].astype(float).fillna(1.0)
            )
            .groupby(items["subscription_id"])
            .first()
        )
        self.period_months = period_months.reindex(subs.index).fillna(1.0)
        self.discounts = book.discounts if settings.apply_discounts else book.discounts.iloc[0:0]
        self.lines = self._usable_lines(book.invoice_lines)
        self.customer_of = subs["customer_id"].astype(str)
        self.currency_of = subs["currency"].astype(str).str.lower()

    def _usable_lines(self, lines: pd.DataFrame) -> pd.DataFrame:
        """Subscription lines of real invoices, with their monthly amount."""
        if lines.empty:
            return lines.assign(monthly=pd.Series(dtype=float))
        keep = (
            (lines["type"].fillna("subscription") == "subscription")
            & ~lines["proration"].fillna(False).astype(bool)
            & lines["status"].isin(["paid", "open", "uncollectible"])
            & lines["subscription_id"].notna()
            & lines["period_end"].gt(lines["period_start"])
        )
        lines = lines[keep].copy()
        days = (lines["period_end"] - lines["period_start"]).dt.total_seconds() / 86400
        months = days / _AVG_MONTH_DAYS
        months = months.where(months < 0.9, months.round())
        lines["monthly"] = lines["amount"].astype(float) / months
        return lines

    def _active(self, t: pd.Timestamp) -> pd.Series:
        """Whether each subscription is billing (counted) at t."""
        subs = self.subs
        started = subs["start"].fillna(subs["created"]) <= t
        not_ended = subs["ended_at"].isna() | (subs["ended_at"] > t)
        out_of_trial = subs["trial_end"].isna() | (subs["trial_end"] <= t)
        active = started & not_ended & out_of_trial & ~subs["status"].isin(_NEVER_PAID)
        if t >= self.as_of_end:
            counted = subs["status"].isin(self.settings.counted_statuses) | (subs["status"] == "canceled")
            active &= counted
            if self.settings.cancel_immediately:
                active &= ~subs["cancel_at_period_end"].fillna(False).astype(bool)
        return active

    def _discounted(self, t: pd.Timestamp, amounts: pd.Series) -> pd.Series:
        """Apply the forever and still-running repeating discounts at t."""
        d = self.discounts
        if d.empty:
            return amounts
        running = (
            d["duration"].isin(["forever", "repeating"])
            & (d["start"].isna() | (d["start"] <= t))
            & (d["end"].isna() | (d["end"] > t))
        )
        d = d[running]
        if d.empty:
            return amounts
        sub_level = d[d["subscription_id"].notna()]
        customer_level = d[d["subscription_id"].isna()]
        keep = 1 - sub_level["percent_off"].astype(float).fillna(0.0) / 100
        factor = keep.groupby(sub_level["subscription_id"]).prod().reindex(amounts.index).fillna(1.0)
        off = sub_level["amount_off"].astype(float).fillna(0.0).groupby(sub_level["subscription_id"]).sum()
        off = off.reindex(amounts.index).fillna(0.0) / self.period_months
        if not customer_level.empty:
            cust_keep = (
                (1 - customer_level["percent_off"].astype(float).fillna(0.0) / 100)
                .groupby(customer_level["customer_id"])
                .prod()
            )
            factor = factor * self.customer_of.map(cust_keep).fillna(1.0)
            cust_off = (
                customer_level["amount_off"].astype(float).fillna(0.0).groupby(customer_level["customer_id"]).sum()
            )
            first_sub = ~self.customer_of.duplicated()
            off = off + (self.customer_of.map(cust_off).fillna(0.0) / self.period_months).where(first_sub, 0.0)
        return (amounts * factor - off).clip(lower=0.0)

    def subscription_mrr(self, t: pd.Timestamp) -> pd.Series:
        """MRR of each subscription at t in its own currency's minor units."""
        active = self._active(t)
        amounts = self._discounted(t, self.base.where(active, 0.0))
        if t < self.as_of_end and not self.lines.empty:
            lines = self.lines
            covering = lines[(lines["period_start"] <= t) & (lines["period_end"] > t)]
            invoiced = covering.groupby("subscription_id")["monthly"].sum()
            invoiced = invoiced[invoiced.index.isin(active.index[active])]
            amounts = amounts.copy()
            amounts.loc[invoiced.index] = invoiced.clip(lower=0.0)
        return amounts

    def customer_mrr(self, t: pd.Timestamp) -> pd.Series:
        """MRR of each customer at t, in major units of the reporting currency."""
        amounts = self.subscription_mrr(t)
        converted = to_reporting(amounts, self.currency_of, self.settings.currency, dict(self.settings.fx))
        return converted.groupby(self.customer_of).sum()


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


def compute_revenue(book: Book, settings: RevenueSettings, as_of: date, top: int = 50) -> RevenueMetrics:
    """Every revenue KPI at `as_of`, with 12 months of history."""
    engine = RevenueEngine(book, settings, as_of)
    now = engine.as_of_end
    this_month_end = month_end(now)
    month_ends = [month_end(this_month_end - pd.DateOffset(months=k)) for k in range(12, 0, -1)]
    per_date = {t: engine.customer_mrr(t) for t in month_ends}
    current = engine.customer_mrr(now)
    table = pd.DataFrame({**per_date, now: current}).fillna(0.0)
    start_col = month_ends[-1]

    earlier = table[month_ends[:-1]].gt(0).any(axis=1)
    ended_before = book.subscriptions[
        book.subscriptions["ended_at"].notna()
        & (book.subscriptions["ended_at"] <= start_col)
        & ~book.subscriptions["status"].isin(_NEVER_PAID)
    ]["customer_id"].astype(str)
    paid_before = earlier | table.index.to_series().isin(set(ended_before))
    moves = classify_movements(table[start_col], table[now], paid_before)
    movements = summarise_movements(moves)

    mrr = float(table[now].sum())
    paying = int((table[now] > 0).sum())
    start_mrr = float(table[start_col].sum())
    start_paying = int((table[start_col] > 0).sum())
    churned = int((moves["kind"] == "churn").sum())

    ago = now - pd.DateOffset(years=1)
    then = engine.customer_mrr(ago)
    cohort = then[then > 0]
    nrr = _rate(float(current.reindex(cohort.index).fillna(0.0).sum()), float(cohort.sum()))

    rates = []
    for prev, cur in zip(month_ends[-7:-1], month_ends[-6:]):
        base = table[prev] > 0
        if base.sum():
            rates.append(float(((table[cur] == 0) & base).sum() / base.sum()))
    mean_churn = float(np.mean(rates)) if rates else 0.0
    arpa = _rate(mrr, paying)
    names = _customer_names(book.customers)
    changed = moves[moves["kind"] != ""].copy()
    changed["size"] = (changed["new"] - changed["old"]).abs()
    changed = changed.sort_values(["size", "new"], ascending=False).head(top)
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
        top_movements=tuple(
            CustomerMovement(str(cid), names.get(str(cid), str(cid)), row.kind, float(row.old), float(row.new))
            for cid, row in changed.iterrows()
        ),
    )


def _customer_names(customers: pd.DataFrame) -> dict[str, str]:
    """Customer id → display name (falls back to email, then id)."""
    if customers.empty:
        return {}
    label = customers["name"].fillna(customers.get("email")).fillna(customers["customer_id"])
    return dict(zip(customers["customer_id"].astype(str), label.astype(str)))
