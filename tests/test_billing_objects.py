"""A Stripe-like API whose objects have fields of the wrong shape (DESIGN.md §7: a bad row is skipped and counted):
each bad object is skipped and named with the field and why, the rest of the book is read; served over HTTP on
127.0.0.1 by the demo API."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from connectors.stripe import StripeSource
from kpitui.demo.billing_api import BillingServer
from kpitui.demo.billing_book import Book
from kpitui.metrics.revenue import Book as RevenueBook
from kpitui.metrics.revenue import RevenueSettings, compute_revenue

KEY = "sk_test_abcdefgh12345678"
AS_OF = date(2026, 11, 22)
MONTH_START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
MONTH_END = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
YEAR_END = int(datetime(2027, 11, 1, tzinfo=UTC).timestamp())


def _subscription(name: str, amount: object, interval: str = "month", quantity: int = 1, **fields) -> dict:
    """An active subscription of customer cus_NAME to one price, in its period on AS_OF."""
    end = MONTH_END if interval == "month" else YEAR_END
    price = {"id": f"price_{name}", "currency": "usd", "product": "prod_x", "unit_amount": amount,
             "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"}}  # fmt: skip
    item = {"id": f"si_{name}", "price": price, "quantity": quantity,
            "current_period_start": MONTH_START, "current_period_end": end}  # fmt: skip
    return {"id": f"sub_{name}", "object": "subscription", "customer": f"cus_{name}", "status": "active",
            "currency": "usd", "created": MONTH_START - 86400 * 90, "start_date": MONTH_START - 86400 * 90,
            "cancel_at_period_end": False, "discounts": [],
            "items": {"object": "list", "has_more": False, "data": [item]}, **fields}  # fmt: skip


def _customer(name: str, **fields) -> dict:
    return {"id": f"cus_{name}", "object": "customer", "name": name.title(), "created": MONTH_START - 86400 * 90,
            "email": None, "metadata": {}, **fields}  # fmt: skip


def _invoice(name: str, lines: list[dict]) -> dict:
    return {"id": f"in_{name}", "object": "invoice", "customer": f"cus_{name}", "created": MONTH_START,
            "currency": "usd", "status": "paid", "subscription": f"sub_{name}",
            "lines": {"object": "list", "has_more": False, "data": lines}}  # fmt: skip


def _line(name: str, amount: object) -> dict:
    return {"id": f"il_{name}", "amount": amount, "currency": "usd", "period": {"start": MONTH_START, "end": MONTH_END},
            "discount_amounts": [], "proration": False}  # fmt: skip


def _damaged_book() -> Book:
    """Two good subscriptions ($100 a month; 2 seats at $1,200 a year = $200 a month) and five bad objects."""
    good = [_subscription("a", 10000), _subscription("e", 120000, "year", quantity=2)]
    bad = [
        _subscription("b", "lots"),  # an amount that is no number
        _subscription("c", 5000, items=True),  # items that are no list object
        _subscription("d", 5000, status=None),  # no status: whether it counts is unknown
    ]
    customers = [_customer(n) for n in "abcde"] + [_customer("f", created="2026-13-45"), "cus_g"]
    invoices = [_invoice("a", [_line("a1", 10000), _line("a2", [])])]
    products = [{"id": "prod_x", "object": "product", "name": 5}]
    return Book(customers=customers, subscriptions=good + bad, invoices=invoices, products=products)


@pytest.fixture
def damaged():
    server = BillingServer(_damaged_book(), api_key=KEY).start()
    yield server
    server.stop()


def _revenue(frames: dict):
    book = RevenueBook(frames["subscriptions"], frames["subscription_items"], frames["discounts"],
                       frames["invoice_lines"], frames["customers"])  # fmt: skip
    return compute_revenue(book, RevenueSettings(), AS_OF)


def test_each_bad_object_is_skipped_and_named_the_rest_is_read(damaged):
    """Hand-computed: MRR = $100 + 2 × $1,200 / 12 = $300 from sub_a and sub_e; the three bad subscriptions, the
    customer with an impossible date, the list entry that is no object, the invoice line whose amount is a list
    and the product whose name is a number are each skipped with the field and why."""
    result = StripeSource({"base_url": damaged.base_url, "api_key": KEY}, sleep=lambda s: None).load()
    skipped = sorted((row.file, row.reason) for row in result.report.skipped)
    assert skipped == [
        ("/v1/customers", "an entry that is text, not an object"),
        ("customer cus_f", "created is text, not a Unix time"),
        ("invoice in_a line il_a2", "amount is a list, not a number"),
        ("product prod_x", "name is a number, not text"),
        ("subscription sub_b", "items.data[0].price.unit_amount is text, not a number"),
        ("subscription sub_c", "items is true/false, not an object"),
        ("subscription sub_d", "status is missing"),
    ]
    frames = result.frames
    assert sorted(frames["subscriptions"]["subscription_id"]) == ["sub_a", "sub_e"]
    assert sorted(frames["customers"]["customer_id"]) == ["cus_a", "cus_b", "cus_c", "cus_d", "cus_e"]
    assert list(frames["invoice_lines"]["amount"]) == [10000]
    assert frames["subscription_items"]["product_name"].isna().all()
    assert result.report.rows == 2
    revenue = _revenue(frames)
    assert (revenue.mrr, revenue.paying_customers) == (300.0, 2)


def test_the_summary_names_the_skipped_objects(damaged):
    result = StripeSource({"base_url": damaged.base_url, "api_key": KEY}, sleep=lambda s: None).load()
    assert "1 row(s) skipped, status is missing: subscription sub_d" in result.report.summary_of_skips()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("created",), 10**20, "created is out of range, not a Unix time"),
        (("created",), 1e308, "created is out of range, not a Unix time"),
        (("cancel_at_period_end",), "false", "cancel_at_period_end is text, not true/false"),
        (("customer",), ["cus_a"], "customer is a list, not an id"),
        (("customer",), None, "customer is missing"),
        (("customer",), "", "customer is missing"),
        (("customer",), {"object": "list", "data": None}, "customer.id is missing"),
        (("items", "data", 0, "quantity"), {"n": 1}, "items.data[0].quantity is an object, not a number"),
        (("items", "data", 0, "price"), "price_a", "items.data[0].price is text, not an object"),
        (
            ("items", "data", 0, "price", "recurring", "interval"),
            1,
            "items.data[0].price.recurring.interval is a number, not text",
        ),
        (
            ("items", "data", 0, "price", "tiers"),
            [{"up_to": "x"}],
            "items.data[0].price.tiers[0].up_to is text, not a number",
        ),
        (("discounts",), True, "discounts is true/false, not a list"),
        (
            ("discounts",),
            [{"id": "di_1", "coupon": {"percent_off": "x"}}],
            "discounts[0].coupon.percent_off is text, not a number",
        ),
        (
            ("items", "data", 0, "price", "unit_amount"),
            float("nan"),
            "items.data[0].price.unit_amount is not a finite number",
        ),
    ],
)
def test_a_subscription_of_the_wrong_shape_is_skipped_with_its_field(path, value, reason):
    """One field of sub_a damaged at a time: sub_a is skipped with that reason, sub_e's $200 is still read."""
    book = _damaged_book()
    book.subscriptions = [_subscription("a", 10000), _subscription("e", 120000, "year", quantity=2)]
    target = book.subscriptions[0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    server = BillingServer(book, api_key=KEY).start()
    try:
        result = StripeSource({"base_url": server.base_url, "api_key": KEY}, sleep=lambda s: None).load()
    finally:
        server.stop()
    assert ("subscription sub_a", reason) in [(row.file, row.reason) for row in result.report.skipped]
    assert _revenue(result.frames).mrr == 200.0


def test_numbers_sent_as_decimal_text_are_read():
    """Some Stripe-like APIs send whole numbers as JSON strings: "10000" cents and "1793491200" seconds read as
    the numbers they spell, so sub_a's $100 counts."""
    book = _damaged_book()
    book.subscriptions = [copy.deepcopy(_subscription("a", "10000"))]
    book.subscriptions[0]["items"]["data"][0]["current_period_end"] = str(MONTH_END)
    server = BillingServer(book, api_key=KEY).start()
    try:
        result = StripeSource({"base_url": server.base_url, "api_key": KEY}, sleep=lambda s: None).load()
    finally:
        server.stop()
    assert not [row for row in result.report.skipped if row.file.startswith("subscription")]
    assert _revenue(result.frames).mrr == 100.0


def test_an_invoice_id_is_one_part_of_the_lines_url():
    """An invoice whose lines come a page at a time is listed at /v1/invoices/ID/lines: an id holding `/`, `?` or
    `..` is quoted into that one part of the path, so its own lines are read (not another endpoint's)."""
    book = _damaged_book()
    book.customers, book.products = [_customer("a")], []
    invoice = _invoice("a", [_line("a1", 10000), _line("a2", 2500)])
    invoice["id"] = "in_a/../../customers?limit=1"
    invoice["lines"]["has_more"] = True
    book.invoices = [invoice]
    server = BillingServer(book, api_key=KEY).start()
    try:
        result = StripeSource({"base_url": server.base_url, "api_key": KEY}, sleep=lambda s: None).load()
    finally:
        server.stop()
    assert list(result.frames["invoice_lines"]["amount"]) == [10000, 2500]
    assert ("/v1/invoices/in_a%2F..%2F..%2Fcustomers%3Flimit%3D1/lines", [("limit", "100")]) in server.log
