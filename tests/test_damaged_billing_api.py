"""A Stripe-like API serving the demo book with objects damaged at random (a field nulled, dropped or given a value
of another JSON type, hostile or huge), read by a full load and then by an incremental refresh whose event carries
another damaged object: the source always loads, every undamaged subscription is read, and the revenue figures
and accounts are computed (DESIGN.md section 7: a bad row is skipped and counted, never the end of a source)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.stripe import StripeSource
from kpitui.demo.billing_api import BillingServer
from kpitui.demo.billing_book import Book, build_book
from kpitui.metrics import MetricsError
from kpitui.metrics.revenue import Book as RevenueBook
from kpitui.metrics.revenue import RevenueEngine, RevenueSettings, compute_revenue
from kpitui.metrics.revenue_kpis import accounts

KEY = "sk_test_abcdefgh12345678"
AS_OF = date(2026, 11, 22)
NOW = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp())


def _book() -> Book:
    """The demo book of 15 customers (one subscription schedule), with a customer-level coupon and three status
    changes on the Events API."""
    book = build_book(2, AS_OF, customers=15)
    coupon = {"id": "FIRST10", "amount_off": 1000, "currency": "usd", "duration": "once"}
    book.customers[0]["discount"] = {"id": "di_customer", "coupon": coupon, "start": NOW - 86400}
    for subscription in book.subscriptions[:3]:
        book.change(subscription, subscription["created"] + 3600, previous={"status": "trialing"})
    return book


BOOK = _book()
KINDS = [
    kind
    for kind in ("customers", "subscriptions", "invoices", "events", "products", "schedules")
    if getattr(BOOK, kind)
]
VALUES = [None, "x", "", "2026-13-45", "[bold]", "\x1b[31m", "1700000000", -1, 0, 1.5, 1e308, 10**20, float("nan"),
          True, [], [None], {}, {"object": "list", "data": None}, {"id": 5}, "usd"]  # fmt: skip


def _paths(obj: object, prefix: tuple = ()) -> list[tuple]:
    """Every field path inside an object (the first three entries of each list)."""
    found = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj[:3]) if isinstance(obj, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return found


def _damage(draw, obj: dict) -> None:
    """Give one field of the object (or of something inside it) another value, or drop it."""
    path = draw(st.sampled_from(_paths(obj)))
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.sampled_from(VALUES))


@pytest.fixture(scope="module")
def server():
    running = BillingServer(Book(), api_key=KEY).start()
    yield running
    running.stop()


def _figures(frames: dict) -> None:
    """Every revenue figure and the accounts, as the board computes them (or a currency without a rate, which
    the board shows as the one line it is)."""
    book = RevenueBook(frames["subscriptions"], frames["subscription_items"], frames["discounts"],
                       frames["invoice_lines"], frames["customers"], frames.get("schedule_phases"))  # fmt: skip
    settings = RevenueSettings(fx=(("eur", 1.08), ("gbp", 1.27)))
    try:
        compute_revenue(book, settings, AS_OF)
    except MetricsError as error:
        assert str(error).startswith("no [fx] rate for ")
        return
    accounts(RevenueEngine(book, settings, AS_OF), book.customers)


@given(data=st.data())
@settings(max_examples=50, deadline=None)
def test_a_damaged_object_is_skipped_the_rest_of_the_book_read(server, data):
    book = copy.deepcopy(BOOK)
    for _ in range(data.draw(st.integers(1, 3))):
        _damage(data.draw, data.draw(st.sampled_from(getattr(book, data.draw(st.sampled_from(KINDS))))))
    # an event holds the very subscription it changed: compare each with the book as it was
    untouched = {was["id"] for was, now in zip(BOOK.subscriptions, book.subscriptions, strict=True) if was == now}
    server.book = book
    clock = iter([NOW, NOW + 60])
    source = StripeSource(
        {"base_url": server.base_url, "api_key": KEY}, sleep=lambda s: None, clock=lambda: next(clock)
    )
    full = source.load()
    assert untouched <= set(full.frames["subscriptions"]["subscription_id"])
    _figures(full.frames)

    changed = copy.deepcopy(data.draw(st.sampled_from(BOOK.subscriptions + BOOK.invoices + BOOK.customers)))
    kind, changed_id = changed["object"], changed["id"]
    _damage(data.draw, changed)
    prefix = "customer.subscription" if kind == "subscription" else kind
    event = {"id": "evt_damaged", "object": "event", "type": f"{prefix}.updated", "created": NOW + 30,
             "data": {"object": changed}}  # fmt: skip
    book.events.insert(0, event)
    incremental = source.load()
    reloaded = any(w.startswith("full reload") for w in incremental.report.warnings)  # e.g. a discount the
    # damaged book hid from the full load: reading everything again is the rule
    assert incremental.report.layout == "stripe (incremental)" or reloaded
    kept = untouched - {changed_id}
    assert kept <= set(incremental.frames["subscriptions"]["subscription_id"])
    _figures(incremental.frames)
