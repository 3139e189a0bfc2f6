"""Every revenue figure against a brute-force reference written from DESIGN.md section 4, one subscription and one
customer at a time, on random books: every status, dated or not, trials, forever and repeating discounts (100 % off
too), paid invoice lines (of $0 too), several subscriptions per customer, at several as_of dates."""

from __future__ import annotations

import itertools
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitui.metrics.revenue import RevenueSettings, compute_revenue
from tests.billing_frames import book

STATUSES = ["active", "past_due", "canceled", "unpaid", "paused", "trialing", "incomplete", "incomplete_expired"]
DAY = pd.Timedelta(days=1)
US = pd.Timedelta(microseconds=1)
BASE = pd.Timestamp("2025-06-01", tz="UTC")
AS_OF_DATES = [date(2026, 11, 22), date(2026, 12, 1), date(2026, 10, 31)]

_days = st.none() | st.integers(0, 700)
_subscription = st.fixed_dictionaries(
    {
        "start": st.integers(0, 600),
        "customer": st.integers(1, 6),
        "amount": st.sampled_from([0, 1000, 2500, 5000]) | st.integers(0, 50000),
        "interval": st.sampled_from(["month", "year"]),
        "status": st.sampled_from(STATUSES),
        "trial": st.none() | st.integers(0, 60),
        "ended": _days,
        "canceled": _days,
        "cancel_at": _days,
        "since": _days,
        "period": _days,
        # a discount from the subscription's start: percent off, and its end in days after the start (None: forever)
        "discount": st.none() | st.tuples(st.sampled_from([50.0, 100.0]), st.none() | st.integers(1, 200)),
        # a paid invoice line: its start in days after the subscription's start, its length, its amount
        "line": st.none()
        | st.tuples(st.just(0) | st.integers(0, 400), st.sampled_from([30, 365]), st.sampled_from([0, 3000])),
    }
)


def _day(offset: int | None) -> pd.Timestamp | None:
    return None if offset is None else BASE + offset * DAY


def _random_book(rows: list[dict]) -> tuple:
    """Random subscriptions as a Book, and the same as plain dicts the reference reads."""
    subs, items, discounts, lines, plain = [], [], [], [], []
    for i, r in enumerate(rows):
        start, sid, cid = BASE + r["start"] * DAY, f"sub_{i}", f"cus_{r['customer']}"
        sub = {
            "subscription_id": sid,
            "customer_id": cid,
            "status": r["status"],
            "start": start,
            "trial_end": None if r["trial"] is None else start + r["trial"] * DAY,
            "ended_at": _day(r["ended"]),
            "canceled_at": _day(r["canceled"]),
            "cancel_at": _day(r["cancel_at"]),
            "status_since": _day(r["since"]),
            "current_period_start": _day(r["period"]),
        }
        subs.append(sub)
        items.append({"subscription_id": sid, "unit_amount": r["amount"], "interval": r["interval"]})
        discount = None
        if r["discount"] is not None:
            percent, length = r["discount"]
            discount = (percent, start, None if length is None else start + length * DAY)
            discounts.append(
                {"subscription_id": sid, "customer_id": cid, "percent_off": percent, "start": start,
                 "end": discount[2], "duration": "forever" if length is None else "repeating"}
            )  # fmt: skip
        line = None
        if r["line"] is not None:
            offset, length, amount = r["line"]
            line = (start + offset * DAY, start + (offset + length) * DAY, amount / 100 / (1 if length == 30 else 12))
            lines.append(
                {"invoice_id": f"in_{i}", "customer_id": cid, "subscription_id": sid, "status": "paid",
                 "currency": "usd", "amount": amount, "period_start": line[0], "period_end": line[1],
                 "proration": False, "type": "subscription"}
            )  # fmt: skip
        monthly = r["amount"] / 100 / (12 if r["interval"] == "year" else 1)
        plain.append({**sub, "monthly": monthly, "discount": discount, "line": line})
    return book(subs, items, discounts=discounts or None, lines=lines or None), plain


def _stops_counting(s: dict, observed: pd.Timestamp) -> list[pd.Timestamp]:
    """When a subscription stops counting: ended, a cancel_at, and when a status that is not counted began (the
    Events API's date, else the end of its last paid line but never after it was read, else its period's start)."""
    stops = [s["ended_at"], s["cancel_at"]]
    if s["status"] not in ("active", "past_due"):
        paid_until = None if s["line"] is None else min(s["line"][1], observed)
        estimate = s["status_since"] or paid_until or s["current_period_start"] or observed
        if s["status"] == "canceled":
            estimate = s["ended_at"] or s["canceled_at"] or estimate
        stops.append(estimate)
    return [stop for stop in stops if stop is not None]


def _subscription_mrr(s: dict, t: pd.Timestamp, now: pd.Timestamp, observed: pd.Timestamp) -> float:
    """One subscription's MRR at t, by DESIGN.md section 4's rules as they read."""
    if s["status"] in ("trialing", "incomplete", "incomplete_expired"):
        return 0.0
    if t < s["start"] or (s["trial_end"] is not None and t < s["trial_end"]):
        return 0.0
    if any(t >= stop for stop in _stops_counting(s, observed)):
        return 0.0
    if s["line"] is not None and s["line"][0] <= t < s["line"][1] and t < now:
        return s["line"][2]  # a paid invoice covering t is what was paid, before as_of
    if s["discount"] is not None:
        percent, begins, ends = s["discount"]
        if begins <= t and (ends is None or t < ends):
            return s["monthly"] * (1 - percent / 100)
    return s["monthly"]


class Reference:
    """The figures of one book at one as_of, computed customer by customer."""

    def __init__(self, plain: list[dict], as_of: date) -> None:
        self.plain = plain
        self.now = pd.Timestamp(as_of, tz="UTC") + DAY - US
        self.observed = pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(hours=12)
        month = pd.Timestamp(as_of.replace(day=1), tz="UTC")
        self.month_ends = [month - pd.DateOffset(months=k) - US for k in range(11, -1, -1)]  # the 12 before as_of's
        self.customers = sorted({s["customer_id"] for s in plain})
        self._seen: dict[pd.Timestamp, dict[str, float]] = {}

    def mrr(self, t: pd.Timestamp) -> dict[str, float]:
        """Each customer's MRR at t."""
        if t not in self._seen:
            out = dict.fromkeys(self.customers, 0.0)
            for s in self.plain:
                out[s["customer_id"]] += _subscription_mrr(s, t, self.now, self.observed)
            self._seen[t] = out
        return self._seen[t]

    def _dates(self, subs: list[dict]) -> list[pd.Timestamp]:
        """Every instant by as_of at which the subscriptions' MRR can change (the dates the book holds, as_of)."""
        dates = {self.now, self.observed}
        for s in subs:
            dates |= {s[k] for k in ("start", "trial_end", "ended_at", "canceled_at", "cancel_at")} - {None}
            dates |= {s["status_since"], s["current_period_start"]} - {None}
            dates |= {*(s["discount"] or ())[1:], *(s["line"] or ())[:2]} - {None}
        return sorted(t for t in dates if t <= self.now)

    def first_paid(self, customer: str) -> pd.Timestamp | None:
        """The first instant by as_of at which the customer's MRR was above zero (MRR only changes at `_dates`)."""
        subs = [s for s in self.plain if s["customer_id"] == customer]
        return next((t for t in self._dates(subs) if self.mrr(t)[customer] > 0), None)

    def trial_conversion(self) -> float | None:
        """Trials that ended in the 30 days ending as_of (and by when the book was read) and whose subscription's
        MRR was above zero at some instant by as_of, ÷ those trials."""
        start = self.now + US - pd.Timedelta(days=30)
        ended = [
            s
            for s in self.plain
            if s["trial_end"] is not None and start <= s["trial_end"] <= min(self.now, self.observed)
        ]
        paid = [s for s in ended if any(_subscription_mrr(s, t, self.now, self.observed) > 0 for t in self._dates([s]))]
        return len(paid) / len(ended) if ended else None

    def movements(self) -> dict[str, float]:
        """Per customer from the last month end to as_of: new, reactivation (paid before), churn, expansion,
        contraction (each customer classified on MRR to a millionth, so float noise is no movement; the totals)."""
        start, old, new = self.month_ends[-1], self.mrr(self.month_ends[-1]), self.mrr(self.now)
        totals = dict.fromkeys(["new", "reactivation", "churn", "expansion", "contraction"], 0.0)
        self.churned = 0
        for c in self.customers:
            before, after, change = round(old[c], 6), round(new[c], 6), abs(new[c] - old[c])
            if before == 0 and after > 0:
                first = self.first_paid(c)
                totals["reactivation" if first is not None and first < start else "new"] += change
            elif before > 0 and after == 0:
                totals["churn"] += change
                self.churned += 1
            elif after != before:
                totals["expansion" if after > before else "contraction"] += change
        return totals

    def churn_rates(self) -> list[float | None]:
        """Customer churn of each of the six monthly periods ending at as_of (the last one this month to date)."""
        points = [*self.month_ends[-6:], self.now]
        rates = []
        for prev, cur in itertools.pairwise(points):
            before, after = self.mrr(prev), self.mrr(cur)
            paying = [c for c in self.customers if before[c] > 0]
            rates.append(sum(after[c] == 0 for c in paying) / len(paying) if paying else None)
        return rates

    def cohorts(self) -> list[tuple[str, int, list, list]]:
        """Customers by the month they first paid; the share paying and the MRR ÷ the first month's in each month
        since (None after as_of)."""
        points = [*self.month_ends[1:], self.now]
        mrr = [self.mrr(t) for t in points]
        month_of = {c: f.strftime("%Y-%m") for c in self.customers if (f := self.first_paid(c)) is not None}
        out = []
        for i, point in enumerate(points):
            members = [c for c, m in month_of.items() if m == point.strftime("%Y-%m")]
            base = sum(mrr[i][c] for c in members)
            logo, revenue = [], []
            for later in mrr[i:]:
                logo.append(sum(later[c] > 0 for c in members) / len(members) if members else None)
                revenue.append(sum(later[c] for c in members) / base if base else None)
            out.append((point.strftime("%Y-%m"), len(members), logo + [None] * i, revenue + [None] * i))
        return out


def _same(actual, expected) -> bool:
    """Equal, numbers to 1e-6 and None only where None is expected."""
    if expected is None or actual is None:
        return actual is expected
    return actual == pytest.approx(expected, abs=1e-6)


def _rate(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


@settings(max_examples=150, deadline=None)
@given(st.lists(_subscription, min_size=1, max_size=25), st.sampled_from(AS_OF_DATES))
def test_every_revenue_figure_against_a_brute_force_reference(rows, as_of):
    """MRR history, movements, churn rates, NRR, LTV, quick ratio, trial conversion and cohorts equal the rules
    applied by hand."""
    b, plain = _random_book(rows)
    ref = Reference(plain, as_of)
    r = compute_revenue(b, RevenueSettings(), as_of, observed=ref.observed)

    history = [sum(ref.mrr(t).values()) for t in [*ref.month_ends[1:], ref.now]]
    assert [p.mrr for p in r.history] == pytest.approx(history, abs=1e-6)
    now, start = ref.mrr(ref.now), ref.mrr(ref.month_ends[-1])
    paying = [c for c in ref.customers if now[c] > 0]
    assert (r.mrr, r.paying_customers) == (pytest.approx(sum(now.values()), abs=1e-6), len(paying))

    m = ref.movements()
    got = r.movements
    assert (got.new, got.reactivation, got.churn, got.expansion, got.contraction) == pytest.approx(
        (m["new"], m["reactivation"], m["churn"], m["expansion"], m["contraction"]), abs=1e-6
    )
    start_mrr, start_paying = sum(start.values()), sum(v > 0 for v in start.values())
    assert _same(r.customer_churn_rate, _rate(ref.churned, start_paying))
    assert _same(r.gross_mrr_churn_rate, _rate(m["churn"] + m["contraction"], start_mrr))
    lost = m["churn"] + m["contraction"] - m["expansion"] - m["reactivation"]
    assert _same(r.net_mrr_churn_rate, _rate(lost, start_mrr))
    assert _same(r.quick_ratio, _rate(m["new"] + m["reactivation"] + m["expansion"], m["churn"] + m["contraction"]))

    then = ref.mrr(ref.now - pd.DateOffset(years=1))
    cohort = [c for c in ref.customers if then[c] > 0]
    assert _same(r.nrr, _rate(sum(now[c] for c in cohort), sum(then[c] for c in cohort)))
    known = [rate for rate in ref.churn_rates() if rate is not None]
    mean_churn = sum(known) / len(known) if known else 0.0
    arpa = _rate(sum(now.values()), len(paying))
    assert _same(r.ltv, None if arpa is None or mean_churn == 0 else arpa / mean_churn)

    assert _same(r.trial_conversion, ref.trial_conversion())
    for got_cohort, (month, size, logo, revenue) in zip(r.cohorts, ref.cohorts(), strict=True):
        assert (got_cohort.month, got_cohort.customers) == (month, size)
        assert all(map(_same, got_cohort.logo, logo)), month
        assert all(map(_same, got_cohort.revenue, revenue)), month


@settings(max_examples=30, deadline=None)
@given(st.lists(_subscription, min_size=1, max_size=20), st.integers(0, 400))
def test_a_closed_month_is_the_same_at_every_later_date(rows, days_later):
    """A month's history figure does not depend on the as_of date it is seen from (the book read at as_of)."""
    b, _ = _random_book(rows)
    first_as_of, later_as_of = date(2026, 5, 31), date(2026, 6, 1) + pd.Timedelta(days=days_later)
    observed = pd.Timestamp("2026-11-22 12:00", tz="UTC")
    first = compute_revenue(b, RevenueSettings(), first_as_of, observed=observed)
    later = compute_revenue(b, RevenueSettings(), later_as_of, observed=observed)
    seen = {p.month: p.mrr for p in first.history[:-1]}
    for point in later.history[:-1]:
        if point.month in seen:
            assert point.mrr == pytest.approx(seen[point.month], abs=1e-6), point.month
