"""What acquiring a customer costs (DESIGN.md section 4 revenue, the issue's rules): CAC = spend in the period ÷
new paying customers in the period; LTV:CAC; payback months = CAC ÷ (ARPA × gross margin); cost per sign-up;
per channel where a new customer's acquisition channel is known (a customer metadata key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from kpitui.metrics.money import exchange_rates
from kpitui.metrics.tables import parse_metadata
from kpitui.model import AcquisitionMetrics, ChannelCost

UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class AcquisitionInputs:
    """Spend rows, the billing accounts (or None without a billing source) and the figures acquisition reads."""

    spend: pd.DataFrame  # the canonical `spend` table
    accounts: pd.DataFrame | None  # `revenue_kpis.accounts`
    currency: str
    fx: dict[str, float]
    period_days: int
    channel_metadata_key: str
    gross_margin: float
    arpa: float | None
    ltv: float | None
    signups: int | None  # users with a sign_up in the period (engagement), None without events


def _rate(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def spend_in_period(spend: pd.DataFrame, first: date, last: date, currency: str, fx: dict[str, float]) -> pd.Series:
    """Each row's spend that falls in the days [first, last], in the reporting currency: a row over several days
    is spread evenly over them."""
    start = spend["start"].dt.date
    end = spend["end"].dt.date
    days = [(e - s).days + 1 for s, e in zip(start, end, strict=True)]
    inside = [max(0, (min(e, last) - max(s, first)).days + 1) for s, e in zip(start, end, strict=True)]
    share = pd.Series(inside, index=spend.index, dtype=float) / pd.Series(days, index=spend.index, dtype=float)
    return spend["spend"].astype(float) * share * exchange_rates(spend["currency"], currency, fx)


def _channel(text: Any, key: str) -> str:
    """A customer's acquisition channel from its metadata, folded; UNKNOWN where it has none."""
    value = parse_metadata(text).get(key)
    return str(value).strip().lower() if value not in (None, "") else UNKNOWN


def compute_acquisition(inputs: AcquisitionInputs, as_of: date) -> AcquisitionMetrics:
    """Every acquisition figure over the period ending `as_of`."""
    first, last = as_of - timedelta(days=inputs.period_days - 1), as_of
    spend = inputs.spend.assign(cost=spend_in_period(inputs.spend, first, last, inputs.currency, inputs.fx))
    by_channel = spend.groupby(spend["channel"].fillna(UNKNOWN))["cost"].sum()
    total = float(spend["cost"].sum())
    new: pd.Series | None = None
    if inputs.accounts is not None:
        begun = inputs.accounts["first_paid"]
        lo, hi = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last + timedelta(days=1), tz="UTC")
        fresh = inputs.accounts[begun.ge(lo) & begun.lt(hi)]
        new = fresh["metadata"].map(lambda m: _channel(m, inputs.channel_metadata_key)).value_counts()
    count = None if new is None else int(new.sum())
    cac = _rate(total, count)
    channels = sorted(set(by_channel.index) | (set(new.index) if new is not None else set()))
    rows = []
    for channel in channels:
        customers = int(new.get(channel, 0)) if new is not None else 0
        cost = float(by_channel.get(channel, 0.0))
        known = new is not None and channel != UNKNOWN  # an unknown channel's customers have no spend of their own
        rows.append(ChannelCost(channel, cost, customers, _rate(cost, customers) if known else None))
    rows.sort(key=lambda r: (-r.spend, -r.new_customers, r.channel))
    margin = inputs.gross_margin
    return AcquisitionMetrics(
        spend=total,
        new_customers=count,
        cac=cac,
        ltv_to_cac=_rate(inputs.ltv, cac),
        payback_months=_rate(cac, None if inputs.arpa is None else inputs.arpa * margin),
        cost_per_signup=_rate(total, inputs.signups),
        by_channel=tuple(rows),
        signups=inputs.signups,
        gross_margin=margin,
    )
