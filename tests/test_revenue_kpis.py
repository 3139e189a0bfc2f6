"""Hand-computed examples of the revenue KPIs beyond MRR (DESIGN.md section 4, last Revenue bullet): trial
conversion, CMRR and MRR at risk, ACV, MRR by plan and by interval, cohort retention."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from connectors.frames import conform
from kpitui.metrics.revenue import RevenueSettings, compute_revenue
from tests.billing_frames import book

AS_OF = date(2026, 11, 22)  # the 30-day period is [2026-10-24, 2026-11-23)


def kpi_book():
    """Seven subscriptions; MRR 300 = 100 (1) + 100 (2, yearly) + 50 (3) + 30 (6) + 20 (7).

    1 Basic $100/mo, with a schedule: $150/mo from 2027-02-01 (+$50), $300/mo from 2028-01-01 (past 12 months)
    2 Pro $1,200/yr, cancel_at_period_end: at risk
    3 Basic $50/mo, trial 10-20 → 11-03: ended in the period and converted
    4 Basic $50/mo, trial 10-25 → 11-08, canceled at its end: ended in the period, not converted
    5 Basic $50/mo, trial to 12-05: not ended
    6 Basic $30/mo, cancel_at 2027-01-15: at risk
    7 Pro $20/mo, trial 09-01 → 09-15: ended before the period
    """
    subs = [
        {"subscription_id": "sub_1"},
        {"subscription_id": "sub_2", "start": "2026-02-01", "cancel_at_period_end": True},
        {"subscription_id": "sub_3", "start": "2026-10-20", "trial_start": "2026-10-20", "trial_end": "2026-11-03"},
        {
            "subscription_id": "sub_4",
            "status": "canceled",
            "start": "2026-10-25",
            "trial_start": "2026-10-25",
            "trial_end": "2026-11-08",
            "ended_at": "2026-11-08",
        },
        {"subscription_id": "sub_5", "status": "trialing", "start": "2026-11-21", "trial_end": "2026-12-05"},
        {"subscription_id": "sub_6", "start": "2026-03-01", "cancel_at": "2027-01-15"},
        {"subscription_id": "sub_7", "start": "2026-09-01", "trial_start": "2026-09-01", "trial_end": "2026-09-15"},
    ]
    basic = {"product_id": "prod_basic", "product_name": "Basic"}
    pro = {"product_id": "prod_pro", "product_name": "Pro"}
    items = [
        {"subscription_id": "sub_1", "unit_amount": 10000, **basic},
        {"subscription_id": "sub_2", "unit_amount": 120000, "interval": "year", **pro},
        {"subscription_id": "sub_3", "unit_amount": 5000, **basic},
        {"subscription_id": "sub_4", "unit_amount": 5000, **basic},
        {"subscription_id": "sub_5", "unit_amount": 5000, **basic},
        {"subscription_id": "sub_6", "unit_amount": 3000, **basic},
        {"subscription_id": "sub_7", "unit_amount": 2000, **pro},
    ]
    b = book(subs, items)
    phase = {"schedule_id": "sub_sched_1", "subscription_id": "sub_1", "currency": "usd", "quantity": 1}
    b.schedules = conform(
        "schedule_phases",
        pd.DataFrame(
            [
                {**phase, "phase_start": "2025-01-01", "unit_amount": 10000, "interval": "month"},
                {**phase, "phase_start": "2027-02-01", "unit_amount": 15000, "interval": "month"},
                {**phase, "phase_start": "2028-01-01", "unit_amount": 30000, "interval": "month"},
            ]
        ),
    )
    return b


def test_trial_conversion_over_the_period():
    r = compute_revenue(kpi_book(), RevenueSettings(), AS_OF)
    assert r.trial_conversion == pytest.approx(1 / 2)


@pytest.mark.parametrize(
    ("discount", "line", "converted"),
    [
        ({"percent_off": 100.0, "duration": "forever"}, None, 0.0),  # a free customer, not a paying one
        ({"percent_off": 50.0, "duration": "forever"}, None, 1.0),  # paying, at half price
        (None, {"amount": 0, "period_start": "2026-11-03", "period_end": "2026-12-03"}, 1.0),  # a free first month
    ],
)
def test_a_trial_that_ends_on_a_free_subscription_has_not_converted(discount, line, converted):
    """A $50 trial 10-20 → 11-03, ending in the period, converted if it became paying (MRR above 0) by as_of: not
    on a 100 % coupon; yes at half price, and after a free first month (paying at as_of: MRR is the price now)."""
    sub = {"subscription_id": "sub_1", "start": "2026-10-20", "trial_start": "2026-10-20", "trial_end": "2026-11-03"}
    discounts = [{"subscription_id": "sub_1", "start": "2026-10-20", **discount}] if discount else None
    lines = [{"invoice_id": "in_1", "subscription_id": "sub_1", "status": "paid", "currency": "usd",
              "type": "subscription", **line}] if line else None  # fmt: skip
    b = book([sub], [{"subscription_id": "sub_1", "unit_amount": 5000}], discounts, lines)
    assert compute_revenue(b, RevenueSettings(), AS_OF).trial_conversion == converted


def test_cmrr_adds_scheduled_increases_and_takes_away_mrr_at_risk():
    r = compute_revenue(kpi_book(), RevenueSettings(), AS_OF)
    assert r.mrr == pytest.approx(300.0)
    assert r.mrr_at_risk == pytest.approx(100.0 + 30.0)
    assert r.cmrr == pytest.approx(300.0 + 50.0 - 130.0)


def test_with_cancel_immediately_a_scheduled_cancellation_is_not_subtracted_twice():
    r = compute_revenue(kpi_book(), RevenueSettings(cancel_immediately=True), AS_OF)
    assert r.mrr == pytest.approx(200.0)  # sub_2 is already out
    assert r.mrr_at_risk == pytest.approx(30.0)  # only the future cancel_at
    assert r.cmrr == pytest.approx(200.0 + 50.0 - 30.0)


def test_acv_is_twelve_times_the_mean_subscription_mrr():
    r = compute_revenue(kpi_book(), RevenueSettings(), AS_OF)
    assert r.acv == pytest.approx(12 * 300.0 / 5)


def test_mrr_by_plan_and_by_interval():
    r = compute_revenue(kpi_book(), RevenueSettings(), AS_OF)
    assert [(p.plan, p.mrr, p.customers) for p in r.by_plan] == [("Basic", 180.0, 3), ("Pro", 120.0, 2)]
    assert [(i.interval, i.mrr, i.customers) for i in r.by_interval] == [("month", 200.0, 4), ("year", 100.0, 1)]


def cohort_book():
    """a: first paid 09-10, $100 by its paid invoice to 10-10, $150 after; b: 09-20 → churned 10-15 ($100);
    c: first paid 10-05, $50 by its paid invoice to 11-05, $80 now."""
    subs = [
        {"subscription_id": "sub_a", "start": "2026-09-10"},
        {"subscription_id": "sub_b", "start": "2026-09-20", "status": "canceled", "ended_at": "2026-10-15"},
        {"subscription_id": "sub_c", "start": "2026-10-05"},
    ]
    items = [
        {"subscription_id": "sub_a", "unit_amount": 15000},
        {"subscription_id": "sub_b", "unit_amount": 10000},
        {"subscription_id": "sub_c", "unit_amount": 8000},
    ]
    line = {"status": "paid", "currency": "usd", "type": "subscription"}
    lines = [
        {**line, "invoice_id": "in_a", "subscription_id": "sub_a", "amount": 10000, "period_start": "2026-09-10",
         "period_end": "2026-10-10"},
        {**line, "invoice_id": "in_c", "subscription_id": "sub_c", "amount": 5000, "period_start": "2026-10-05",
         "period_end": "2026-11-05"},
    ]  # fmt: skip
    return book(subs, items, lines=lines)


def test_cohort_retention_by_first_paid_month():
    cohorts = {c.month: c for c in compute_revenue(cohort_book(), RevenueSettings(), AS_OF).cohorts}
    assert next(iter(cohorts)) == "2025-12" and list(cohorts)[-1] == "2026-11" and len(cohorts) == 12
    september, october, november = cohorts["2026-09"], cohorts["2026-10"], cohorts["2026-11"]
    # September: a and b; end of Sep both ($200), end of Oct only a ($150), at as_of a ($150)
    assert september.customers == 2
    assert september.logo[:3] == (1.0, 0.5, 0.5)
    assert september.revenue[:3] == (1.0, 0.75, 0.75)
    assert september.logo[3:] == (None,) * 9 and september.revenue[3:] == (None,) * 9  # not yet happened
    # October: c, $50 at the end of October, $80 now: revenue retention above 100 %
    assert (october.customers, october.logo[:2], october.revenue[:2]) == (1, (1.0, 1.0), (1.0, 1.6))
    assert october.logo[2:] == (None,) * 10
    assert (november.customers, november.logo, november.revenue) == (0, (None,) * 12, (None,) * 12)


def test_a_book_without_subscriptions_yet_has_accounts_without_mrr():
    """A new billing account: two customers, no subscription yet. Each is an account with MRR 0 and no plan (the
    plan labels raised a UFuncTypeError on the empty items table, so the Customers pane failed)."""
    from dataclasses import replace

    from kpitui.metrics.revenue import RevenueEngine
    from kpitui.metrics.revenue_kpis import accounts

    customers = conform("customers", pd.DataFrame({"customer_id": ["cus_a", "cus_b"], "name": ["A", "B"]}))
    b = replace(book([], []), customers=customers)
    rows = accounts(RevenueEngine(b, RevenueSettings(), date(2026, 11, 22)), customers)
    assert rows[["customer_id", "mrr", "plan"]].values.tolist() == [
        ["cus_a", 0.0, "(no plan)"],
        ["cus_b", 0.0, "(no plan)"],
    ]
