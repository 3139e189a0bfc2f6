"""Hand-computed worked examples, one per MRR rule of DESIGN.md section 4, plus a property test."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kpitui.metrics import MetricsError
from kpitui.metrics.revenue import Book, RevenueSettings, compute_revenue
from tests.billing_frames import T0, book

AS_OF = date(2026, 11, 22)


def mrr(b: Book, **kw) -> float:
    return compute_revenue(b, RevenueSettings(**kw), AS_OF).mrr


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"unit_amount": 5000}, 50.0),  # $50/month
        ({"unit_amount": 120000, "interval": "year"}, 100.0),  # $1,200/year ÷ 12
        ({"unit_amount": 30000, "interval": "month", "interval_count": 3}, 100.0),  # quarterly
        ({"unit_amount": 1000, "interval": "week"}, 10 * 52 / 12),  # weekly × 52 ÷ 12
        ({"unit_amount": 100, "interval": "day"}, 365 / 12),  # daily × 365 ÷ 12
        ({"unit_amount": 2900, "quantity": 7}, 203.0),  # seats
        ({"unit_amount": 9900, "usage_type": "metered"}, 0.0),  # metered excluded
    ],
)
def test_item_mrr_normalisation(item, expected):
    assert mrr(book([{"subscription_id": "sub_1"}], [{"subscription_id": "sub_1", **item}])) == pytest.approx(expected)


def test_graduated_and_volume_tiers():
    tiers = json.dumps(
        [
            {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
            {"up_to": None, "unit_amount": 500, "flat_amount": 2000},
        ]
    )
    graduated = book(
        [{"subscription_id": "sub_1"}],
        [{"subscription_id": "sub_1", "tiers": tiers, "tiers_mode": "graduated", "quantity": 8}],
    )
    volume = book(
        [{"subscription_id": "sub_1"}],
        [{"subscription_id": "sub_1", "tiers": tiers, "tiers_mode": "volume", "quantity": 8}],
    )
    assert mrr(graduated) == pytest.approx((5 * 1000 + 3 * 500 + 2000) / 100)  # 85.00
    assert mrr(volume) == pytest.approx((8 * 500 + 2000) / 100)  # 60.00


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", 50.0),
        ("past_due", 50.0),
        ("trialing", 0.0),
        ("incomplete", 0.0),
        ("unpaid", 0.0),
        ("paused", 0.0),
        ("incomplete_expired", 0.0),
    ],
)
def test_counted_statuses(status, expected):
    b = book([{"subscription_id": "sub_1", "status": status}], [{"subscription_id": "sub_1", "unit_amount": 5000}])
    assert mrr(b) == expected


def test_past_due_can_be_excluded_by_setting():
    b = book([{"subscription_id": "sub_1", "status": "past_due"}], [{"subscription_id": "sub_1", "unit_amount": 5000}])
    assert mrr(b, counted_statuses=("active",)) == 0.0


@pytest.mark.parametrize(
    ("discount", "expected"),
    [
        ({"percent_off": 20.0, "duration": "forever"}, 80.0),
        ({"percent_off": 50.0, "duration": "repeating", "end": "2027-01-01"}, 50.0),
        ({"percent_off": 50.0, "duration": "repeating", "end": "2026-06-01"}, 100.0),  # expired
        ({"percent_off": 50.0, "duration": "once"}, 100.0),  # once never reduces MRR
        ({"amount_off": 1500, "duration": "forever"}, 85.0),  # $15 per monthly period
        ({"percent_off": 100.0, "duration": "forever"}, 0.0),  # free, not paying
        ({"amount_off": 50000, "duration": "forever"}, 0.0),  # never below zero
    ],
)
def test_discounts(discount, expected):
    b = book(
        [{"subscription_id": "sub_1"}],
        [{"subscription_id": "sub_1", "unit_amount": 10000}],
        [{"subscription_id": "sub_1", "customer_id": "cus_1", "start": T0, **discount}],
    )
    assert mrr(b) == pytest.approx(expected)


def test_amount_off_on_a_yearly_plan_is_spread_over_twelve_months():
    b = book(
        [{"subscription_id": "sub_1"}],
        [{"subscription_id": "sub_1", "unit_amount": 120000, "interval": "year"}],
        [{"subscription_id": "sub_1", "amount_off": 12000, "duration": "forever", "start": T0}],
    )
    assert mrr(b) == pytest.approx(100 - 10)


def test_free_customer_is_not_a_paying_customer():
    b = book(
        [{"subscription_id": "sub_1"}, {"subscription_id": "sub_2"}],
        [{"subscription_id": "sub_1", "unit_amount": 10000}, {"subscription_id": "sub_2", "unit_amount": 10000}],
        [{"subscription_id": "sub_2", "percent_off": 100.0, "duration": "forever", "start": T0}],
    )
    result = compute_revenue(b, RevenueSettings(), AS_OF)
    assert (result.mrr, result.paying_customers, result.arpa, result.arr) == (100.0, 1, 100.0, 1200.0)


def test_zero_decimal_currency_and_fx():
    b = book(
        [{"subscription_id": "sub_1", "currency": "jpy"}, {"subscription_id": "sub_2", "currency": "eur"}],
        [{"subscription_id": "sub_1", "unit_amount": 10000}, {"subscription_id": "sub_2", "unit_amount": 5000}],
    )
    # ¥10,000 at 0.0067 $/¥ = $67; €50 at 1.08 = $54
    assert mrr(b, fx=(("jpy", 0.0067), ("eur", 1.08))) == pytest.approx(67 + 54)


def test_missing_fx_rate_is_an_error_not_a_skip():
    b = book([{"subscription_id": "sub_1", "currency": "gbp"}], [{"subscription_id": "sub_1", "unit_amount": 1000}])
    with pytest.raises(MetricsError, match="no \\[fx\\] rate for gbp"):
        mrr(b)


def test_cancel_at_period_end_counts_until_the_period_ends_unless_immediately():
    b = book(
        [{"subscription_id": "sub_1", "cancel_at_period_end": True}],
        [{"subscription_id": "sub_1", "unit_amount": 5000}],
    )
    assert mrr(b) == 50.0
    assert mrr(b, cancel_immediately=True) == 0.0


def test_movements_per_customer_and_rates():
    """Four customers on 2026-10-31 → 2026-11-22: one new, one churned, one expanded, one reactivated."""
    subs = [
        {"subscription_id": "sub_a", "customer_id": "cus_a", "start": "2026-11-05"},  # new $100
        {
            "subscription_id": "sub_b",
            "customer_id": "cus_b",
            "ended_at": "2026-11-10",
            "status": "canceled",
        },  # churn $50
        {"subscription_id": "sub_c", "customer_id": "cus_c"},  # $200 now, invoiced $150 in October: expansion $50
        {
            "subscription_id": "sub_d1",
            "customer_id": "cus_d",
            "start": "2026-01-01",
            "ended_at": "2026-03-01",
            "status": "canceled",
        },
        {"subscription_id": "sub_d2", "customer_id": "cus_d", "start": "2026-11-15"},  # reactivation $30
    ]
    items = [
        {"subscription_id": "sub_a", "unit_amount": 10000},
        {"subscription_id": "sub_b", "unit_amount": 5000},
        {"subscription_id": "sub_c", "unit_amount": 20000},
        {"subscription_id": "sub_d1", "unit_amount": 3000},
        {"subscription_id": "sub_d2", "unit_amount": 3000},
    ]
    lines = [
        {
            "invoice_id": "in_1",
            "customer_id": "cus_c",
            "subscription_id": "sub_c",
            "status": "paid",
            "currency": "usd",
            "amount": 15000,
            "period_start": "2026-10-15",
            "period_end": "2026-11-15",
            "proration": False,
            "type": "subscription",
        }
    ]
    r = compute_revenue(book(subs, items, lines=lines), RevenueSettings(), AS_OF)
    m = r.movements
    assert (m.new, m.churn, m.expansion, m.reactivation, m.contraction) == (100.0, 50.0, 50.0, 30.0, 0.0)
    assert m.net_new == pytest.approx(130.0)
    assert r.history[-2].mrr == 200.0  # October: b $50 + c $150 (invoice wins)
    assert r.mrr == 330.0  # a 100 + c 200 + d 30
    assert r.customer_churn_rate == pytest.approx(1 / 2)
    assert r.gross_mrr_churn_rate == pytest.approx(50 / 200)
    assert r.net_mrr_churn_rate == pytest.approx((50 - 50 - 30) / 200)
    assert r.quick_ratio == pytest.approx((100 + 30 + 50) / 50)
    # the largest changes first; of equal ones, the larger MRR now
    assert [(mv.customer_id, mv.kind, mv.old_mrr, mv.new_mrr) for mv in r.top_movements] == [
        ("cus_a", "new", 0.0, 100.0),
        ("cus_c", "expansion", 150.0, 200.0),
        ("cus_b", "churn", 50.0, 0.0),
        ("cus_d", "reactivation", 0.0, 30.0),
    ]


def test_nrr_and_ltv():
    """Two customers paying a year ago ($100 each): one churned, one grew to $150 → NRR 75 %."""
    subs = [
        {"subscription_id": "sub_a", "customer_id": "cus_a", "start": "2025-06-01"},
        {
            "subscription_id": "sub_b",
            "customer_id": "cus_b",
            "start": "2025-06-01",
            "ended_at": "2026-09-15",
            "status": "canceled",
        },
    ]
    items = [{"subscription_id": "sub_a", "unit_amount": 15000}, {"subscription_id": "sub_b", "unit_amount": 10000}]
    lines = [
        {
            "invoice_id": "in_a",
            "customer_id": "cus_a",
            "subscription_id": "sub_a",
            "status": "paid",
            "currency": "usd",
            "amount": 10000,
            "period_start": "2025-11-01",
            "period_end": "2025-12-01",
            "type": "subscription",
        }
    ]
    r = compute_revenue(book(subs, items, lines=lines), RevenueSettings(), AS_OF)
    assert r.nrr == pytest.approx(150 / 200)
    # monthly churn over the last six complete months: one of two customers churned in September
    assert r.ltv == pytest.approx(150 / ((1 / 2) / 6))


def test_only_paid_invoice_lines_are_history():
    """An open invoice for October ($10) does not replace the subscription's $50 in October's history."""
    line = {
        "invoice_id": "in_1",
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "currency": "usd",
        "amount": 1000,
        "period_start": "2026-10-15",
        "period_end": "2026-11-15",
        "type": "subscription",
    }
    for status, october in (("open", 50.0), ("uncollectible", 50.0), ("paid", 10.0)):
        b = book(
            [{"subscription_id": "sub_1"}],
            [{"subscription_id": "sub_1", "unit_amount": 5000}],
            lines=[{**line, "status": status}],
        )
        assert compute_revenue(b, RevenueSettings(), AS_OF).history[-2].mrr == october, status


def test_excluded_past_due_stops_counting_when_it_began():
    """past_due since 2026-10-10 (from the Events API), not counted by setting: September counts, October not."""
    b = book(
        [{"subscription_id": "sub_1", "status": "past_due", "status_since": "2026-10-10"}],
        [{"subscription_id": "sub_1", "unit_amount": 5000}],
    )
    r = compute_revenue(b, RevenueSettings(counted_statuses=("active",)), AS_OF)
    assert [p.mrr for p in r.history[-3:]] == [50.0, 0.0, 0.0]
    assert r.movements.churn == 0.0  # it churned in October, not again in November


def test_cancel_immediately_ends_a_scheduled_cancellation_when_it_was_made():
    """Canceled at period end, scheduled on 2026-10-20: with `immediately` it left MRR on 10-20 (October's close)."""
    b = book(
        [{"subscription_id": "sub_1", "cancel_at_period_end": True, "canceled_at": "2026-10-20"}],
        [{"subscription_id": "sub_1", "unit_amount": 5000}],
    )
    r = compute_revenue(b, RevenueSettings(cancel_immediately=True), AS_OF)
    assert [p.mrr for p in r.history[-3:]] == [50.0, 0.0, 0.0]
    assert compute_revenue(b, RevenueSettings(), AS_OF).mrr == 50.0


def test_a_customer_whose_trial_was_canceled_is_new_not_reactivated():
    """Trial 2026-05-01 → canceled at its end (never paid); a paid plan from 2026-11-05 is new MRR."""
    b = book(
        [
            {
                "subscription_id": "sub_1",
                "customer_id": "cus_x",
                "status": "canceled",
                "start": "2026-05-01",
                "trial_end": "2026-05-15",
                "ended_at": "2026-05-15",
            },
            {"subscription_id": "sub_2", "customer_id": "cus_x", "start": "2026-11-05"},
        ],
        [{"subscription_id": "sub_1", "unit_amount": 5000}, {"subscription_id": "sub_2", "unit_amount": 5000}],
    )
    m = compute_revenue(b, RevenueSettings(), AS_OF).movements
    assert (m.new, m.reactivation) == (50.0, 0.0)


@pytest.mark.parametrize(
    ("price", "discounts"),
    [
        (0, None),  # a $0 "Free" plan
        (5000, [{"subscription_id": "sub_1", "percent_off": 100.0, "duration": "forever", "start": "2026-03-01"}]),
    ],
    ids=["free plan", "100% coupon"],
)
def test_a_free_customer_who_upgrades_is_new_and_in_the_cohort_of_the_month_it_first_paid(price, discounts):
    """Free 2026-03-01 → 2026-06-30 (never paid: a 100 % discount makes a free customer), then $50 from 2026-11-05:
    November's movement is $50 new, not reactivation, and the customer is in the 2026-11 cohort, not 2026-03."""
    subs = [
        {"subscription_id": "sub_1", "customer_id": "cus_x", "status": "canceled", "start": "2026-03-01",
         "ended_at": "2026-06-30"},
        {"subscription_id": "sub_2", "customer_id": "cus_x", "start": "2026-11-05"},
    ]  # fmt: skip
    items = [{"subscription_id": "sub_1", "unit_amount": price}, {"subscription_id": "sub_2", "unit_amount": 5000}]
    r = compute_revenue(book(subs, items, discounts=discounts), RevenueSettings(), AS_OF)
    assert (r.movements.new, r.movements.reactivation) == (50.0, 0.0)
    cohorts = {c.month: c.customers for c in r.cohorts}
    assert (cohorts["2026-03"], cohorts["2026-11"]) == (0, 1)


def test_a_customer_who_paid_at_a_discount_and_returns_is_reactivated():
    """Half price 2026-03-01 → 2026-06-30 ($25 paid), then $50 from 2026-11-05: reactivation, March's cohort."""
    subs = [
        {"subscription_id": "sub_1", "customer_id": "cus_x", "status": "canceled", "start": "2026-03-01",
         "ended_at": "2026-06-30"},
        {"subscription_id": "sub_2", "customer_id": "cus_x", "start": "2026-11-05"},
    ]  # fmt: skip
    items = [{"subscription_id": "sub_1", "unit_amount": 5000}, {"subscription_id": "sub_2", "unit_amount": 5000}]
    half = [{"subscription_id": "sub_1", "percent_off": 50.0, "duration": "forever", "start": "2026-03-01"}]
    r = compute_revenue(book(subs, items, discounts=half), RevenueSettings(), AS_OF)
    assert (r.movements.new, r.movements.reactivation) == (0.0, 50.0)
    cohorts = {c.month: c for c in r.cohorts}
    assert (cohorts["2026-03"].customers, cohorts["2026-11"].customers) == (1, 0)
    assert cohorts["2026-03"].logo[:5] == (1.0, 1.0, 1.0, 0.0, 0.0)  # paying at the ends of March to May, not June


@pytest.mark.parametrize(
    ("discount", "expected"),
    [
        ({"percent_off": 10.0}, 144.0),  # 10 % off both subscriptions: (100 + 60) × 0.9
        ({"amount_off": 1500}, 145.0),  # $15 off the customer's bill once a month, not once per subscription
    ],
)
def test_a_customer_discount_applies_to_all_its_subscriptions(discount, expected):
    """cus_1 has $100 and $60 subscriptions and a forever coupon on the customer (no subscription id)."""
    b = book(
        [{"subscription_id": "sub_1", "customer_id": "cus_1"}, {"subscription_id": "sub_2", "customer_id": "cus_1"}],
        [{"subscription_id": "sub_1", "unit_amount": 10000}, {"subscription_id": "sub_2", "unit_amount": 6000}],
        [{"subscription_id": None, "customer_id": "cus_1", "start": T0, "duration": "forever", **discount}],
    )
    assert mrr(b) == pytest.approx(expected)


def test_a_customer_whose_first_month_was_free_is_in_this_months_cohort():
    """Started 2026-11-05 at $50 with a paid $0 first invoice (11-05 → 12-05): paying at as_of (MRR is the price
    from now on), so it is November's new MRR and in the 2026-11 cohort."""
    line = {"invoice_id": "in_1", "subscription_id": "sub_1", "status": "paid", "currency": "usd", "amount": 0,
            "period_start": "2026-11-05", "period_end": "2026-12-05", "type": "subscription"}  # fmt: skip
    b = book([{"subscription_id": "sub_1", "start": "2026-11-05"}], [{"subscription_id": "sub_1", "unit_amount": 5000}],
             lines=[line])  # fmt: skip
    r = compute_revenue(b, RevenueSettings(), AS_OF)
    assert (r.mrr, r.movements.new) == (50.0, 50.0)
    assert {c.month: c.customers for c in r.cohorts}["2026-11"] == 1
