"""Marketing spend exports and what acquiring a customer costs: the four layouts read as users have them, a
hand-computed CAC, LTV:CAC, payback and per-channel table, at two dates."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.frames import conform
from connectors.spend import load
from kpitui.metrics import MetricsError
from kpitui.metrics.acquisition import AcquisitionInputs, compute_acquisition
from kpitui.metrics.revenue import RevenueEngine, RevenueSettings
from kpitui.metrics.revenue_kpis import accounts
from tests.billing_frames import book

SPEND = Path(__file__).parent / "data" / "spend"
AS_OF = date(2026, 11, 20)  # the 30 days 10-22 … 11-20


def test_the_four_layouts():
    result = load({"path": str(SPEND / "*.csv")})
    spend = result.frames["spend"]
    assert result.report.layout == "generic, Google Ads, LinkedIn Campaign Manager, Meta Ads Manager"
    assert list(spend["channel"]) == ["newsletter", "google", "google", "google", "linkedin", "facebook"]
    assert list(spend["spend"]) == [90.0, 1200.0, 300.0, 999.0, 400.0, 200.0]  # the totals row is not spend
    assert list(spend["currency"]) == ["usd", "usd", "usd", "usd", "usd", "eur"]  # Meta's is in the column name
    meta = spend.iloc[-1]
    assert (meta["start"].date(), meta["end"].date()) == (date(2026, 11, 11), date(2026, 11, 30))
    assert [(s.file, s.line, s.reason) for s in result.report.skipped] == [
        ("google_ads.csv", 7, "unreadable date 'not a date'")
    ]


def test_an_unknown_layout_is_one_message_with_the_columns_and_the_mapping(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text("Week,Network,Money\n2026-11-02,bing,10\n")
    with pytest.raises(ConnectorError) as info:
        load({"path": str(path)})
    message = str(info.value)
    assert message.startswith(f"{path}: not a spend export kpitui knows (columns found: Week, Network, Money)")
    assert 'columns = { date = "…", spend = "…"' in message
    mapped = load({"path": str(path), "columns": {"date": "Week", "channel": "Network", "spend": "Money"}})
    assert list(mapped.frames["spend"]["channel"]) == ["bing"] and mapped.report.layout == "mapped columns"


def customers():
    """Three customers first paid in the period (Google, LinkedIn, no channel), one long before."""
    subs = [
        {"subscription_id": "sub_n1", "start": "2026-11-05"},
        {"subscription_id": "sub_n2", "start": "2026-11-10"},
        {"subscription_id": "sub_n3", "start": "2026-11-12"},
        {"subscription_id": "sub_old"},
    ]
    b = book(subs, [{"subscription_id": s["subscription_id"], "unit_amount": 10000} for s in subs])
    channels = {"cus_n1": "Google", "cus_n2": "linkedin", "cus_old": "google"}
    b.customers = conform(
        "customers",
        pd.DataFrame(
            [
                {"customer_id": c, "metadata": json.dumps({"utm_source": channels[c]} if c in channels else {})}
                for c in ("cus_n1", "cus_n2", "cus_n3", "cus_old")
            ]
        ),
    )
    return b


def inputs(as_of: date = AS_OF, fx: dict | None = None) -> AcquisitionInputs:
    b = customers()
    return AcquisitionInputs(
        spend=load({"path": str(SPEND / "*.csv")}).frames["spend"],
        accounts=accounts(RevenueEngine(b, RevenueSettings(), as_of), b.customers),
        currency="usd",
        fx={"eur": 1.10} if fx is None else fx,
        period_days=30,
        channel_metadata_key="utm_source",
        gross_margin=0.8,
        arpa=100.0,
        ltv=2000.0,
        signups=42,
    )


def test_worked_example():
    """Spend in 10-22…11-20: Google 1,200 + 300 (10-01 is before), Meta €200 over 11-11…11-30 of which 10 of 20 days
    fall in = €100 × 1.10, LinkedIn 400, newsletter 90: 2,100. New paying customers 3: CAC 700; LTV:CAC 2,000 ÷ 700;
    payback 700 ÷ (100 × 0.8) = 8.75 months; cost per sign-up 2,100 ÷ 42 = 50."""
    m = compute_acquisition(inputs(), AS_OF)
    assert m.spend == pytest.approx(2100.0) and m.new_customers == 3
    assert m.cac == pytest.approx(700.0)
    assert m.ltv_to_cac == pytest.approx(2000 / 700)
    assert m.payback_months == pytest.approx(8.75)
    assert m.cost_per_signup == pytest.approx(50.0)
    assert [(c.channel, round(c.spend, 6), c.new_customers, c.cac) for c in m.by_channel] == [
        ("google", 1500.0, 1, 1500.0),
        ("linkedin", 400.0, 1, 400.0),
        ("facebook", 110.0, 0, None),
        ("newsletter", 90.0, 0, None),
        ("(unknown)", 0.0, 1, None),  # a new customer whose channel is not known has no CAC of its own
    ]


def test_a_month_later():
    """At 12-20 (11-21 … 12-20): Meta's 11-21…11-30 half, €100 × 1.10 = 110; no new customer: CAC null."""
    later = date(2026, 12, 20)
    m = compute_acquisition(inputs(later), later)
    assert m.spend == pytest.approx(110.0) and m.new_customers == 0
    assert m.cac is None and m.ltv_to_cac is None and m.payback_months is None


def test_a_missing_rate_is_an_error_naming_the_currency():
    with pytest.raises(MetricsError, match=r"no \[fx\] rate for eur"):
        compute_acquisition(inputs(fx={}), AS_OF)


def test_one_snapshot_builds_the_billing_accounts_once(demo, monkeypatch):
    """Customers and acquisition both read the billing accounts: one snapshot builds them once."""
    from kpitui import pipeline
    from tests.conftest import AS_OF as DEMO_DAY
    from tests.conftest import FROZEN

    states = {name: pipeline.fetch(name, source, None, FROZEN) for name, source in demo.config.sources.items()}
    calls = []
    real = pipeline.billing_accounts
    monkeypatch.setattr(pipeline, "billing_accounts", lambda *args: calls.append(args) or real(*args))
    monkeypatch.setattr(pipeline, "_SECTIONS", {})
    snapshot = pipeline.compute_snapshot(demo.config, states, DEMO_DAY, FROZEN)
    assert snapshot.customers is not None and snapshot.acquisition is not None
    assert len(calls) == 1


def test_a_quoted_line_break_stays_in_its_field_and_bad_rows_keep_their_line(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text('date,channel,campaign,spend\n2026-11-01,google,"Brand\nsearch",10\nsoon,google,x,5\n')
    result = load({"path": str(path)})
    assert list(result.frames["spend"]["campaign"]) == ["Brand\nsearch"]
    assert [(s.line, s.reason) for s in result.report.skipped] == [(4, "unreadable date 'soon'")]
