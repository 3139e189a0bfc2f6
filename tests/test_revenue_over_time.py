"""Revenue over time (DESIGN.md section 4, "Statuses have dates", "The past does not move"): one book, read
through the real connector from the demo API on 127.0.0.1, snapshotted at several dates a month apart."""

from __future__ import annotations

import itertools
import json
import time
import tomllib
from datetime import UTC, date, datetime

import pytest

from kpitui.cli import run
from kpitui.config import parse_config
from kpitui.demo.billing_api import BillingServer
from kpitui.demo.billing_book import Book
from kpitui.pipeline import compute_and_record, refresh_all, restore
from kpitui.store import Store

KEY = "sk_test_overtime_0001"


def epoch(day: str) -> int:
    """Midnight UTC of a YYYY-MM-DD day, as Stripe's epoch seconds."""
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def subscription(
    sid: str, status: str, amount: int, start: str, *, period_start: str | None = None, **dates: str
) -> dict:
    """A monthly USD subscription of one seat in the current API's shape (periods on the item)."""
    period_start = period_start or start
    return {
        "id": sid,
        "object": "subscription",
        "customer": sid.replace("sub", "cus"),
        "status": status,
        "currency": "usd",
        "created": epoch(start),
        "start_date": epoch(start),
        "cancel_at_period_end": False,
        "discounts": [],
        **{key: epoch(value) for key, value in dates.items()},
        "items": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": sid.replace("sub", "si"),
                    "object": "subscription_item",
                    "quantity": 1,
                    "current_period_start": epoch(period_start),
                    "current_period_end": epoch(period_start) + 30 * 86400,
                    "price": {
                        "id": "price_monthly",
                        "object": "price",
                        "currency": "usd",
                        "product": "prod_app",
                        "unit_amount": amount,
                        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
                    },
                }
            ],
        },
    }


def invoice(iid: str, sid: str, amount: int, start: str, end: str, status: str = "paid") -> dict:
    """A one-line subscription invoice for [start, end)."""
    return {
        "id": iid,
        "object": "invoice",
        "customer": sid.replace("sub", "cus"),
        "created": epoch(start),
        "currency": "usd",
        "status": status,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": sid}},
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": iid.replace("in", "il"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": "usd",
                    "period": {"start": epoch(start), "end": epoch(end)},
                    "parent": {
                        "type": "subscription_item_details",
                        "subscription_item_details": {"subscription": sid, "proration": False},
                    },
                }
            ],
        },
    }


def statuses_book() -> Book:
    """Seven customers, one rule each; the book itself never changes between the snapshots.

    a  active   $100 since 2026-01-10
    b  unpaid   $50 since 02-01; the Events API dates the change active → unpaid at 10-20
    c  unpaid   $40 since 03-01; no event; paid monthly through 10-01 (October's invoice is open)
    d  paused   $30 since 04-01; no event, no invoice; current period began 08-15
    e  active   $20 since 05-01, but its cancel_at (09-20) has passed
    f  canceled $60 since 06-01, canceled_at 10-05 and no ended_at
    g  trialing $70 since 11-01 (trial to 12-15): never counts
    h  active   $25 since 10-10: new in October
    """
    subs = [
        subscription("sub_a", "active", 10000, "2026-01-10"),
        subscription("sub_b", "unpaid", 5000, "2026-02-01", period_start="2026-10-01"),
        subscription("sub_c", "unpaid", 4000, "2026-03-01", period_start="2026-10-01"),
        subscription("sub_d", "paused", 3000, "2026-04-01", period_start="2026-08-15"),
        subscription("sub_e", "active", 2000, "2026-05-01", period_start="2026-09-01", cancel_at="2026-09-20"),
        subscription("sub_f", "canceled", 6000, "2026-06-01", period_start="2026-09-01", canceled_at="2026-10-05"),
        subscription("sub_g", "trialing", 7000, "2026-11-01", trial_start="2026-11-01", trial_end="2026-12-15"),
        subscription("sub_h", "active", 2500, "2026-10-10"),
    ]
    months = [f"2026-{m:02d}-01" for m in range(3, 11)]  # paid lines 03-01 … 10-01
    invoices = [invoice(f"in_c{i}", "sub_c", 4000, s, e) for i, (s, e) in enumerate(itertools.pairwise(months))]
    invoices.append(invoice("in_c9", "sub_c", 4000, "2026-10-01", "2026-11-01", status="open"))
    customers = [
        {"id": s["customer"], "object": "customer", "name": s["customer"], "created": s["created"]} for s in subs
    ]
    book = Book(customers=customers, subscriptions=subs, invoices=invoices)
    book.change(subs[1], created=epoch("2026-10-20"), previous={"status": "active"})
    return book


@pytest.fixture
def api():
    server = BillingServer(statuses_book(), api_key=KEY).start()
    yield server
    server.stop()


def snapshot(api: BillingServer, tmp_path, monkeypatch, as_of: str, capsys) -> dict:
    """`kpitui snapshot --as-of` over the API, as JSON."""
    monkeypatch.setenv("OVERTIME_KEY", KEY)
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.billing]\ntype = "stripe"\nbase_url = "{api.base_url}"\napi_key_env = "OVERTIME_KEY"\n'
    )
    code = run(["snapshot", "--config", str(config), "--as-of", as_of, "--format", "json", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)["revenue"]


# month-end MRR (hand-computed from the rules): Jan a 100; Feb +b 150; Mar +c 190; Apr +d 220; May +e 240;
# Jun +f 300; Jul 300; Aug d stopped 08-15: 270; Sep e ended 09-20: 250; Oct b, c, f stopped, h new: 125; Nov 125
MONTH_ENDS = {
    "2025-10": 0.0,
    "2025-11": 0.0,
    "2025-12": 0.0,
    "2026-01": 100.0,
    "2026-02": 150.0,
    "2026-03": 190.0,
    "2026-04": 220.0,
    "2026-05": 240.0,
    "2026-06": 300.0,
    "2026-07": 300.0,
    "2026-08": 270.0,
    "2026-09": 250.0,
    "2026-10": 125.0,
    "2026-11": 125.0,
}


@pytest.mark.parametrize(
    ("as_of", "mrr", "movements", "customer_churn", "gross_churn"),
    [
        # September: e ends (cancel_at passed): 270 → 250; one of five paying customers churned
        ("2026-09-30", 250.0, {"churn": 20.0, "new": 0.0, "net_new": -20.0}, 1 / 5, 20 / 270),
        # October: c (last paid line ended 10-01), f (canceled_at 10-05), b (event 10-20) churn; h is new
        ("2026-10-31", 125.0, {"churn": 150.0, "new": 25.0, "net_new": -125.0}, 3 / 4, 150 / 250),
        # November: nobody churns again; g is still in trial
        ("2026-11-30", 125.0, {"churn": 0.0, "new": 0.0, "net_new": 0.0}, 0.0, 0.0),
    ],
)
def test_statuses_have_dates_through_the_cli(
    api, tmp_path, monkeypatch, capsys, as_of, mrr, movements, customer_churn, gross_churn
):
    revenue = snapshot(api, tmp_path, monkeypatch, as_of, capsys)
    assert revenue["mrr"] == pytest.approx(mrr)
    for kind, value in movements.items():
        assert revenue["movements"][kind] == pytest.approx(value), kind
    assert revenue["customer_churn_rate"] == pytest.approx(customer_churn)
    assert revenue["gross_mrr_churn_rate"] == pytest.approx(gross_churn)
    history = {point["month"]: point["mrr"] for point in revenue["history"]}
    assert history == {month: MONTH_ENDS[month] for month in history}
    assert revenue["movements"]["net_new"] == pytest.approx(mrr - revenue["history"][-2]["mrr"])


def test_a_customer_churns_once_and_closed_months_never_change(api, tmp_path, monkeypatch, capsys):
    """Summed over three monthly snapshots, each churned customer's MRR is counted once; every month shown by
    more than one snapshot has one figure."""
    snapshots = [
        snapshot(api, tmp_path, monkeypatch, day, capsys) for day in ("2026-09-30", "2026-10-31", "2026-11-30")
    ]
    assert sum(s["movements"]["churn"] for s in snapshots) == pytest.approx(20 + 50 + 40 + 60)
    figures: dict[str, set[float]] = {}
    for s in snapshots:
        for point in s["history"]:
            figures.setdefault(point["month"], set()).add(round(point["mrr"], 6))
    assert all(len(values) == 1 for values in figures.values()), figures


def test_ltv_uses_the_same_churn_as_the_movements(api, tmp_path, monkeypatch, capsys):
    """LTV at 11-30: ARPA $62.50 (a and h) ÷ the mean customer churn of Jun–Nov: 0, 0, 1/6 (d), 1/5 (e), 3/4, 0."""
    revenue = snapshot(api, tmp_path, monkeypatch, "2026-11-30", capsys)
    assert revenue["arpa"] == pytest.approx(62.5)
    assert revenue["ltv"] == pytest.approx(62.5 / ((1 / 6 + 1 / 5 + 3 / 4) / 6))


def _config(api: BillingServer, counted: str = '["active", "past_due"]'):
    return parse_config(
        tomllib.loads(
            f'[sources.billing]\ntype = "stripe"\nbase_url = "{api.base_url}"\napi_key = "{KEY}"\n'
            f"[metrics]\ncounted_statuses = {counted}\n"
        )
    )


def turn_unpaid_without_a_dated_event(api: BillingServer, sid: str) -> None:
    """The subscription turns unpaid; its update event (now) does not say what the status was."""
    sub = next(s for s in api.book.subscriptions if s["id"] == sid)
    sub["status"] = "unpaid"
    api.book.change(sub, created=int(time.time()))


def _history(snapshot) -> dict[str, float]:
    return {point.month: point.mrr for point in snapshot.revenue.history}


def test_stored_closing_rows_keep_the_past_when_the_book_changes(api, tmp_path):
    """h is active on 11-02, when a refresh whose as_of is today closes October (h $25). In November h turns
    unpaid with no event and no invoice, so its lifecycle estimate (current period start 10-10) would drop it from
    October too; the stored closing row keeps October at $125 and h churns in November instead."""
    store = Store(tmp_path / "kpitui.sqlite3")
    first = refresh_all(_config(api), date(2026, 11, 2), datetime(2026, 11, 2, 9, tzinfo=UTC), store)
    assert _history(first)["2026-10"] == pytest.approx(125.0)
    turn_unpaid_without_a_dated_event(api, "sub_h")
    later = refresh_all(_config(api), date(2026, 12, 3), datetime(2026, 12, 3, 9, tzinfo=UTC), store)
    history = _history(later)
    assert history["2026-10"] == pytest.approx(125.0)  # stored row wins over the lifecycle estimate
    assert history["2026-11"] == pytest.approx(100.0)  # h stopped counting: churn lands in November
    backdated = refresh_all(_config(api), date(2026, 11, 30), datetime(2026, 12, 3, 10, tzinfo=UTC), store)
    assert _history(backdated)["2026-10"] == pytest.approx(125.0)
    assert backdated.revenue.movements.churn == pytest.approx(25.0)  # h, once, in November
    assert store.closed_months() == {"2026-10", "2026-11"}  # the backdated refresh wrote nothing


def test_a_month_is_closed_only_from_a_book_read_after_it_ended(api, tmp_path):
    """The book is read on 10-31 at 20:00; h is canceled at 22:00. The board restarts on 11-02 and first computes
    from the stored book: October has not ended in it, so October is not closed from it (it would freeze h's $25 in
    October for good). The refresh that reads the book again closes October at $100 (a alone)."""
    store = Store(tmp_path / "kpitui.sqlite3")
    refresh_all(_config(api), date(2026, 10, 31), datetime(2026, 10, 31, 20, tzinfo=UTC), store)
    sub_h = next(s for s in api.book.subscriptions if s["id"] == "sub_h")
    sub_h.update(status="canceled", canceled_at=epoch("2026-10-31T22:00"), ended_at=epoch("2026-10-31T22:00"))
    api.book.change(sub_h, created=int(time.time()), previous={"status": "active"})  # after the last sync
    restarted = datetime(2026, 11, 2, 8, tzinfo=UTC)
    stale = compute_and_record(_config(api), restore(_config(api), store), date(2026, 11, 2), restarted, store)
    assert _history(stale)["2026-10"] == pytest.approx(125.0)  # what the stored book says, shown with its age
    assert store.closed_months() == {"2026-09"}
    fresh = refresh_all(_config(api), date(2026, 11, 2), datetime(2026, 11, 2, 9, tzinfo=UTC), store)
    assert _history(fresh)["2026-10"] == pytest.approx(100.0)
    assert store.closed_months() == {"2026-09", "2026-10"}
    later = refresh_all(_config(api), date(2026, 12, 3), datetime(2026, 12, 3, 9, tzinfo=UTC), store)
    assert _history(later)["2026-10"] == pytest.approx(100.0)


def test_a_settings_change_recomputes_instead_of_using_stored_rows(api, tmp_path):
    store = Store(tmp_path / "kpitui.sqlite3")
    refresh_all(_config(api), date(2026, 11, 2), datetime(2026, 11, 2, 9, tzinfo=UTC), store)
    turn_unpaid_without_a_dated_event(api, "sub_h")
    other = refresh_all(_config(api, '["active"]'), date(2026, 11, 2), datetime(2026, 11, 2, 10, tzinfo=UTC), store)
    assert _history(other)["2026-10"] == pytest.approx(100.0)  # recomputed: h's estimate applies


def test_new_revenue_figures_are_alert_paths(api, tmp_path, monkeypatch, capsys):
    """At 11-30: CMRR $125 (nothing at risk, no schedules), trial conversion null (g's trial ends 12-15)."""
    monkeypatch.setenv("OVERTIME_KEY", KEY)
    config = tmp_path / "kpitui.toml"
    config.write_text(
        f'[sources.billing]\ntype = "stripe"\nbase_url = "{api.base_url}"\napi_key_env = "OVERTIME_KEY"\n'
        '[[alerts]]\nkpi = "revenue.cmrr"\nbelow = 200\n'
        '[[alerts]]\nkpi = "revenue.trial_conversion"\nbelow = 0.2\n'
        '[[alerts]]\nkpi = "revenue.by_plan.0.mrr"\nbelow = 100\n'
    )
    argv = [
        "snapshot",
        "--config",
        str(config),
        "--as-of",
        "2026-11-30",
        "--format",
        "json",
        "--data-dir",
        str(tmp_path),
    ]
    assert run(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["revenue"]["cmrr"] == pytest.approx(125.0) and data["revenue"]["mrr_at_risk"] == 0.0
    assert data["revenue"]["by_plan"] == [{"plan": "prod_app", "mrr": 125.0, "customers": 2}]
    assert [(a["kpi"], a["value"], a["state"]) for a in data["alerts"]] == [
        ("revenue.cmrr", 125.0, "warning"),
        ("revenue.trial_conversion", None, "unknown"),
        ("revenue.by_plan.0.mrr", 125.0, "ok"),
    ]
