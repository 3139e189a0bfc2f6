"""Revenue KPIs beyond MRR (DESIGN.md section 4): trial conversion, CMRR, ACV, MRR by plan and interval, cohorts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kpitui.metrics.money import MONTHS_PER_INTERVAL, conversion_factors
from kpitui.model import Cohort, IntervalMrr, PlanMrr

if TYPE_CHECKING:
    from kpitui.metrics.revenue import RevenueEngine


def _rate(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def trial_conversion(engine: RevenueEngine) -> float | None:
    """Trials that ended in the period (and by the time the book was read) and became paying (MRR above zero) by
    as_of, ÷ those trials."""
    at_end = engine.trial_end  # ns; the smallest int64 where there was no trial
    end = min(engine.as_of_end, engine.observed).value
    start = (engine.as_of_end + pd.Timedelta(microseconds=1) - pd.Timedelta(days=engine.settings.period_days)).value
    ended = (at_end >= start) & (at_end <= end)
    return _rate(float((ended & engine.paid).sum()), float(ended.sum()))


def _scheduled(engine: RevenueEngine) -> np.ndarray:
    """Per subscription: whether its cancellation is scheduled (at period end, or a future cancel_at)."""
    subs = engine.subs
    scheduled = subs["cancel_at_period_end"].fillna(False).astype(bool) | subs["cancel_at"].gt(engine.as_of_end)
    return scheduled.fillna(False).to_numpy(dtype=bool)


def mrr_at_risk(engine: RevenueEngine, mrr_now: np.ndarray) -> float:
    """MRR of subscriptions counted now whose cancellation is scheduled."""
    return float(mrr_now[_scheduled(engine)].sum())


def scheduled_increases(engine: RevenueEngine, phases: pd.DataFrame | None, mrr_now: np.ndarray) -> float:
    """Per counted subscription with a schedule: the rise from its MRR now to the MRR of its last phase starting in
    the next 12 months (only rises: DESIGN.md counts scheduled increases)."""
    if phases is None or phases.empty:
        return 0.0
    horizon = engine.as_of_end + pd.DateOffset(years=1)
    upcoming = phases[(phases["phase_start"] > engine.as_of_end) & (phases["phase_start"] <= horizon)]
    upcoming = upcoming[upcoming["usage_type"].fillna("licensed") != "metered"]
    if upcoming.empty:
        return 0.0
    months = upcoming["interval"].map(MONTHS_PER_INTERVAL) * upcoming["interval_count"].fillna(1.0)
    monthly = upcoming["unit_amount"].fillna(0.0) * upcoming["quantity"].fillna(1.0) / months
    factor = conversion_factors(upcoming["currency"], engine.settings.currency, dict(engine.settings.fx))
    per_phase = (
        pd.DataFrame({"sub": upcoming["subscription_id"].astype(str), "start": upcoming["phase_start"]})
        .assign(mrr=(monthly * factor).to_numpy())
        .groupby(["sub", "start"], as_index=False)["mrr"]
        .sum()
        .sort_values("start")
        .drop_duplicates("sub", keep="last")
    )
    now = pd.Series(mrr_now, index=engine.subs["subscription_id"].astype(str))
    counted = now.reindex(per_phase["sub"]).to_numpy()
    rises = per_phase["mrr"].to_numpy() - counted
    return float(np.nansum(np.where((counted > 0) & (rises > 0), rises, 0.0)))


def acv(mrr_now: np.ndarray) -> float | None:
    """Mean over paying subscriptions of 12 × the subscription's MRR."""
    paying = mrr_now[mrr_now > 0]
    return float(12 * paying.mean()) if len(paying) else None


def _grouped(labels: np.ndarray, engine: RevenueEngine, mrr_now: np.ndarray) -> list[tuple[str, float, int]]:
    """(label, MRR, paying customers) per label, largest MRR first."""
    frame = pd.DataFrame({"label": labels, "mrr": mrr_now, "customer": engine.customer_code})
    frame = frame[frame["mrr"] > 0]
    groups = frame.groupby("label").agg(mrr=("mrr", "sum"), customers=("customer", "nunique")).reset_index()
    groups = groups.sort_values(["mrr", "label"], ascending=[False, True])
    return [(str(g.label), float(g.mrr), int(g.customers)) for g in groups.itertuples(index=False)]


def by_plan(engine: RevenueEngine, mrr_now: np.ndarray) -> tuple[PlanMrr, ...]:
    """MRR and paying customers per plan (each subscription under its largest item's product)."""
    return tuple(PlanMrr(*row) for row in _grouped(engine.plan, engine, mrr_now))


def by_interval(engine: RevenueEngine, mrr_now: np.ndarray) -> tuple[IntervalMrr, ...]:
    """MRR and paying customers per billing interval."""
    return tuple(IntervalMrr(*row) for row in _grouped(engine.interval, engine, mrr_now))


def first_paid(engine: RevenueEngine) -> pd.Series:
    """Per customer that paid by as_of: the first instant its MRR was above zero (UTC)."""
    paid = engine.paid
    first = pd.Series(engine.first_paying[paid], index=engine.customers[engine.customer_code[paid]])
    return pd.to_datetime(first.groupby(level=0).min(), utc=True)


def accounts(engine: RevenueEngine, customers: pd.DataFrame) -> pd.DataFrame:
    """Per billing customer at as_of: name, email, metadata, MRR (reporting currency), plan (of its largest
    subscription), whether a subscription is past due or has a scheduled cancellation, and when it first paid
    (NaT if never)."""
    now = engine.as_of_end
    mrr = engine.subscription_mrr(now) * engine.factor
    subs = engine.subs
    since = subs["status_since"]
    per_sub = pd.DataFrame(
        {
            "customer_id": engine.customers[engine.customer_code],
            "mrr": mrr,
            "plan": engine.plan,
            "past_due": (subs["status"].eq("past_due").fillna(False) & (since.isna() | since.le(now))).to_numpy(bool),
            "cancelling": _scheduled(engine) & (mrr > 0),
        }
    ).sort_values("mrr", ascending=False, kind="stable")
    out = per_sub.groupby("customer_id", sort=False).agg(
        mrr=("mrr", "sum"), plan=("plan", "first"), past_due=("past_due", "any"), cancelling=("cancelling", "any")
    )
    out["first_paid"] = first_paid(engine).reindex(out.index)
    people = customers.drop_duplicates("customer_id", keep="last").set_index("customer_id")[
        ["name", "email", "metadata"]
    ]
    joined = out.join(people, how="outer")  # a customer without subscriptions: no MRR, no plan, no flags
    joined = joined.fillna({"mrr": 0.0, "plan": "(no plan)", "past_due": False, "cancelling": False})
    return joined.astype({"past_due": bool, "cancelling": bool}).rename_axis("customer_id").reset_index()


def cohorts(engine: RevenueEngine, table: pd.DataFrame, points: list[pd.Timestamp]) -> tuple[Cohort, ...]:
    """Customers by the month they first paid; cell m: the share paying m months later (logo) and their MRR then
    ÷ their MRR at the end of the first month (revenue). `points` are the cohort months' ends, the last one as_of."""
    first = first_paid(engine).dt.strftime("%Y-%m").reindex(table.index)
    mrr = table[points].to_numpy()  # customers × the cohort months
    out = []
    for i, point in enumerate(points):
        month = point.strftime("%Y-%m")
        members = mrr[(first == month).to_numpy()]
        since = members[:, i:]  # the cohort's MRR in its first month and each month after, up to as_of
        size, base = len(members), float(since[:, 0].sum()) if len(members) else 0.0
        logo = [_rate(float((since[:, m] > 0).sum()), float(size)) for m in range(since.shape[1])]
        revenue = [_rate(float(since[:, m].sum()), base) for m in range(since.shape[1])]
        blank = [None] * i  # months after as_of
        out.append(Cohort(month, size, tuple(logo + blank), tuple(revenue + blank)))
    return tuple(out)
