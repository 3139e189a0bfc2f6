"""The billing connector against real HTTP servers on 127.0.0.1: the demo API and localstripe."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.secrets import mask_key
from connectors.stripe import StripeSource
from kpitui.demo.billing_api import BillingServer, Fault
from kpitui.demo.billing_book import build_book
from kpitui.metrics.revenue import Book, RevenueSettings, compute_revenue

KEY = "sk_test_abcdefgh12345678"


@pytest.fixture
def server():
    running = BillingServer(build_book(3, date(2026, 11, 22), customers=250), api_key=KEY).start()
    yield running
    running.stop()


def _source(server: BillingServer, **options) -> StripeSource:
    return StripeSource({"base_url": server.base_url, "api_key": KEY, **options}, sleep=lambda s: None)


def test_full_load_pages_once_per_hundred_objects(server):
    result = _source(server).load()
    book = server.book
    updates = [e for e in book.events if e["type"] == "customer.subscription.updated"]
    lists = (book.customers, book.subscriptions, book.invoices, updates, book.products, book.schedules)
    expected = sum(max(1, math.ceil(len(objs) / 100)) for objs in lists)
    assert result.report.requests == expected
    assert ("/v1/events", [("type", "customer.subscription.updated"), ("limit", "100")]) in server.log
    assert len(result.frames["subscriptions"]) == len(book.subscriptions)
    assert len(result.frames["invoice_lines"]) == len(book.invoices)
    assert all(("expand[]", "data.discounts") in params for path, params in server.log if path == "/v1/subscriptions")


def test_expanded_discounts_are_read_once(server):
    frames = _source(server).load().frames
    with_discount = [s for s in server.book.subscriptions if s["discounts"]]
    assert len(frames["discounts"]) == len(with_discount)
    assert set(frames["discounts"]["coupon_id"]) <= {"LAUNCH20", "WELCOME25", "FIRST10"}


def test_mrr_from_the_api_matches_the_book(server):
    """MRR computed through HTTP equals MRR computed from the same objects in memory."""
    from connectors.stripe import book_frames

    loaded = _source(server).load().frames
    direct = book_frames(
        server.book.customers,
        [dict(s, discounts=[server.book.discounts[d] for d in s["discounts"]]) for s in server.book.subscriptions],
        server.book.invoices,
    )
    settings = RevenueSettings(fx=(("eur", 1.08),))

    def mrr(f):
        b = Book(f["subscriptions"], f["subscription_items"], f["discounts"], f["invoice_lines"], f["customers"])
        return compute_revenue(b, settings, date(2026, 11, 22)).mrr

    assert mrr(loaded) == pytest.approx(mrr(direct))
    assert mrr(loaded) > 0


def test_retries_503_and_429_then_succeeds(server):
    waits: list[float] = []
    server.faults.extend([Fault(503), Fault(429, {"Retry-After": "7"}), Fault(502)])
    source = StripeSource({"base_url": server.base_url, "api_key": KEY}, sleep=waits.append)
    result = source.load()
    assert len(result.frames["customers"]) == len(server.book.customers)
    assert len(waits) == 3 and waits[1] == 7.0


def test_gives_up_after_the_retry_budget(server):
    server.faults.extend([Fault(500)] * 10)
    with pytest.raises(ConnectorError, match=r"500 from 127\.0\.0\.1.*gave up after 3 attempts"):
        _source(server, max_retries=2).load()


def test_stripe_should_retry_false_is_not_retried(server):
    server.faults.append(Fault(503, {"Stripe-Should-Retry": "false"}))
    with pytest.raises(ConnectorError, match="503"):
        _source(server).load()
    assert len(server.log) == 1


def test_rejected_key_message_names_the_variable_not_the_key(server):
    with pytest.raises(ConnectorError) as info:
        StripeSource(
            {"base_url": server.base_url, "api_key_env": "MY_KEY"}, env={"MY_KEY": "sk_live_wrongkey9999"}
        ).load()
    assert "the key in MY_KEY was rejected (401)" in str(info.value)
    assert "wrongkey" not in str(info.value)


def test_missing_key_says_which_variable_to_set():
    with pytest.raises(ConnectorError, match="set STRIPE_API_KEY"):
        StripeSource({}, env={})


def test_repeated_cursor_stops_instead_of_looping(server):
    page = b'{"object": "list", "has_more": true, "data": [{"id": "cus_same"}]}'
    server.faults.extend([Fault(200, {}, page), Fault(200, {}, page)])
    with pytest.raises(ConnectorError, match="repeated a page"):
        _source(server).load()


def test_invalid_json_is_retried_then_reported(server):
    server.faults.extend([Fault(200, {}, b"{not json")] * 3)
    with pytest.raises(ConnectorError, match="not valid JSON"):
        _source(server, max_retries=2).load()


def test_unreachable_api_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectorError, match="cannot reach the API"):
        StripeSource(
            {"base_url": f"http://127.0.0.1:{port}", "api_key": KEY, "max_retries": 1}, sleep=lambda s: None
        ).load()


def test_subscriptions_without_a_status_are_skipped_and_the_accounts_computed(server):
    """An API that leaves `status` out (null): whether such a subscription counts is unknown, so each is skipped
    and reported; the accounts behind the Customers pane are still computed, none past due (they raised a
    TypeError that ended `kpitui snapshot` with a traceback)."""
    from kpitui.config import parse_config
    from kpitui.pipeline import billing_accounts, read_source, succeeded

    for subscription in server.book.subscriptions:
        subscription["status"] = None
    options = {"type": "stripe", "api_key": KEY, "base_url": server.base_url}
    config = parse_config({"sources": {"billing": options}, "fx": {"eur": 1.08, "gbp": 1.27}})
    result, _ = read_source(config.sources["billing"])
    states = {"billing": succeeded(config.sources["billing"], result, pd.Timestamp("2026-11-22", tz="UTC"))}
    accounts = billing_accounts(config, states, date(2026, 11, 20))
    assert len(accounts) == 250
    assert not accounts["past_due"].any() and (accounts["mrr"] == 0).all()
    assert {row.reason for row in result.report.skipped} == {"status is missing"}
    assert result.report.skipped_rows == len(server.book.subscriptions)


def _billing_and_tickets_snapshot(server: BillingServer, directory: Path) -> list[str]:
    """`kpitui snapshot --format json` arguments over the demo API and a Zendesk export (key in KPITUI_TEST_KEY)."""
    config = directory / "kpitui.toml"
    tickets = Path(__file__).parent / "data" / "tickets" / "zendesk.csv"
    config.write_text(
        f'[sources.billing]\ntype = "stripe"\napi_key_env = "KPITUI_TEST_KEY"\nbase_url = "{server.base_url}"\n'
        f'[sources.support]\ntype = "tickets"\npath = "{tickets}"\n[fx]\neur = 1.08\ngbp = 1.27\n'
    )
    return ["snapshot", "--config", str(config), "--data-dir", str(directory), "--as-of", "2026-11-20",
            "--format", "json"]  # fmt: skip


def test_a_section_that_fails_unforeseen_is_its_sources_error_the_rest_is_computed(
    server, tmp_path, monkeypatch, capsys
):
    """A metrics fault no rule foresaw (injected: the support figures raise) ended the whole snapshot with a
    traceback, and froze every pane of the board. Now that section's source is an error naming it, and the revenue
    figures are still computed and printed (exit code 1: a source failed)."""
    import json

    from kpitui import pipeline
    from kpitui.cli import run
    from kpitui.metrics import support

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setenv("KPITUI_TEST_KEY", KEY)
    monkeypatch.setattr(support, "compute_support", broken)
    for kept in ("_SECTIONS", "_LAST_GOOD"):  # no figures kept in this process from another test
        monkeypatch.setattr(pipeline, kept, {})
    assert run(_billing_and_tickets_snapshot(server, tmp_path)) == 1
    snapshot = json.loads(capsys.readouterr().out)
    assert snapshot["sources"]["support"]["error"] == "unexpected RuntimeError: injected fault"
    assert snapshot["support"] is None
    assert (snapshot["sources"]["billing"]["status"], snapshot["revenue"]["paying_customers"] > 0) == ("ok", True)


def test_mask_key():
    assert mask_key("sk_live_51Habcdefghijkl9z8y") == "sk_live_…9z8y"


# localstripe: a real Stripe-like server (legacy `plan` objects, subscription-level `discount`)


@pytest.fixture(scope="module")
def localstripe_url():
    pytest.importorskip("localstripe")
    from aiohttp import web
    from localstripe.server import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/v1/customers", auth=(KEY, ""), timeout=1)
            break
        except httpx.TransportError:
            threading.Event().wait(0.05)
    yield url
    loop.call_soon_threadsafe(loop.stop)


def test_localstripe_legacy_plans(localstripe_url):
    client = httpx.Client(base_url=localstripe_url, auth=(KEY, ""))
    client.post(
        "/v1/plans",
        data={"id": "ls_monthly", "amount": 2000, "currency": "usd", "interval": "month", "product[name]": "Basic"},
    )
    client.post(
        "/v1/plans",
        data={"id": "ls_yearly", "amount": 120000, "currency": "usd", "interval": "year", "product[name]": "Pro"},
    )
    for plan, quantity in (("ls_monthly", 3), ("ls_yearly", 1)):
        customer = client.post("/v1/customers", data={"name": f"Cust {plan}"}).json()
        card = client.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        ).json()
        client.post(f"/v1/payment_methods/{card['id']}/attach", data={"customer": customer["id"]})
        client.post(f"/v1/customers/{customer['id']}", data={"invoice_settings[default_payment_method]": card["id"]})
        sub = client.post(
            "/v1/subscriptions",
            data={"customer": customer["id"], "items[0][plan]": plan, "items[0][quantity]": quantity},
        ).json()
        assert sub["status"] == "active"
    result = StripeSource({"base_url": localstripe_url, "api_key": KEY}).load()
    assert "cannot expand discounts" in " ".join(result.report.warnings)
    f = result.frames
    b = Book(f["subscriptions"], f["subscription_items"], f["discounts"], f["invoice_lines"], f["customers"])
    revenue = compute_revenue(b, RevenueSettings(), date.today())
    assert revenue.mrr == pytest.approx(3 * 20 + 1200 / 12)
    assert revenue.paying_customers == 2
    # localstripe has products but no subscription schedules: CMRR is left without increases, with a warning
    assert "the API has no /v1/subscription_schedules; committed MRR (CMRR) left out" in result.report.warnings
    assert "schedule_phases" not in f
    assert sorted((p.plan, p.mrr) for p in revenue.by_plan) == [("Basic", 60.0), ("Pro", 100.0)]
    assert revenue.cmrr == pytest.approx(revenue.mrr)


def test_incremental_refresh_reads_only_the_changes(server):
    """After a full load, ten changed subscriptions cost one Events API request, and the MRR matches a full load."""
    now = [1_795_000_000.0]
    source = StripeSource({"base_url": server.base_url, "api_key": KEY}, clock=lambda: now[0])
    first = source.load()
    assert first.report.requests > 3
    changed = [s for s in server.book.subscriptions if s["status"] == "active"][:10]
    for i, sub in enumerate(changed):
        sub["items"]["data"][0]["quantity"] += 5
        server.book.change(sub, created=int(now[0]) + i)
    now[0] += 600
    second = source.load()
    assert second.report.requests == 1 and second.report.layout == "stripe (incremental)"
    fresh = _source(server).load()
    settings = RevenueSettings(fx=(("eur", 1.08),))

    def mrr(result):
        f = result.frames
        b = Book(f["subscriptions"], f["subscription_items"], f["discounts"], f["invoice_lines"], f["customers"])
        return compute_revenue(b, settings, date(2026, 11, 22)).mrr

    assert mrr(second) == pytest.approx(mrr(fresh))
    assert mrr(second) > mrr(first)
    now[0] += 31 * 86400  # past the Events API's reach: everything again
    third = source.load()
    assert third.report.requests == first.report.requests


def test_unknown_discount_in_an_event_forces_a_full_reload(server):
    now = [1_795_000_000.0]
    source = StripeSource({"base_url": server.base_url, "api_key": KEY}, clock=lambda: now[0])
    first = source.load()
    sub = next(s for s in server.book.subscriptions if not s["discounts"])
    server.book.discounts["di_new"] = {
        "id": "di_new",
        "object": "discount",
        "subscription": sub["id"],
        "coupon": {"id": "NEW", "percent_off": 10.0, "duration": "forever"},
    }
    sub["discounts"] = ["di_new"]
    server.book.change(sub, created=int(now[0]) + 1)
    now[0] += 60
    second = source.load()
    assert "full reload" in second.report.warnings[0]
    assert second.report.requests == first.report.requests + 1
    assert "NEW" in set(second.frames["discounts"]["coupon_id"])


def test_timeouts_and_resets_mid_body_are_retried(server):
    waits: list[float] = []
    server.faults.extend([Fault(200, delay=1.0), Fault(200, body=b'{"data": [' + b" " * 500 + b"]}", cut_after=20)])
    source = StripeSource({"base_url": server.base_url, "api_key": KEY, "timeout": 0.3}, sleep=waits.append)
    result = source.load()
    assert len(result.frames["customers"]) == len(server.book.customers)
    assert len(waits) == 2 and all(w > 0 for w in waits)  # two failures, each retried after a pause


def test_an_answer_that_trickles_in_is_cut_at_the_timeout_and_retried(server):
    """An API (or a proxy) that sends its answer a byte at a time never trips the per-read timeout: the refresh
    hung for good, and with it every later refresh of the source. Now a whole answer must come within `timeout`:
    one that trickles is cut there and retried like a timeout."""
    waits: list[float] = []
    page = b'{"object": "list", "has_more": false, "data": []}'
    server.faults.append(Fault(200, body=page, drip=0.05))  # 48 bytes: 2.4 s in all, each byte well within 0.5 s
    source = StripeSource({"base_url": server.base_url, "api_key": KEY, "timeout": 0.5}, sleep=waits.append)
    result = source.load()
    assert len(result.frames["customers"]) == len(server.book.customers)
    assert len(waits) == 1


def test_an_answer_that_always_trickles_is_one_clear_error(server):
    server.faults.extend([Fault(200, body=b'{"data": []}' + b" " * 40, drip=0.05)] * 2)
    source = StripeSource({"base_url": server.base_url, "api_key": KEY, "timeout": 0.5, "max_retries": 1},
                          sleep=lambda s: None)  # fmt: skip
    with pytest.raises(ConnectorError, match=r"^the API took over 0\.5 s to answer; gave up after 2 attempts$"):
        source.load()


def test_status_changes_are_dated_from_the_events_api(server):
    """The latest `customer.subscription.updated` whose previous_attributes name a status dates the current status;
    a change to a status the subscription has since left dates nothing."""
    unpaid, paused = [s for s in server.book.subscriptions if s["status"] == "active"][:2]
    unpaid["status"] = "unpaid"
    server.book.change(unpaid, created=1_790_000_000, previous={"status": "past_due"})
    server.book.change(paused, created=1_790_000_100, previous={"status": "active"})  # it said paused then
    paused_then = dict(paused, status="paused")
    server.book.events[0]["data"]["object"] = paused_then
    subs = _source(server).load().frames["subscriptions"].set_index("subscription_id")
    assert subs.loc[unpaid["id"], "status_since"] == pd.Timestamp(1_790_000_000, unit="s", tz="UTC")
    assert pd.isna(subs.loc[paused["id"], "status_since"])


def test_periods_come_from_items_or_from_older_subscriptions(server):
    """The current API puts current_period_start/end on items; older objects carry them on the subscription."""
    current, older = server.book.subscriptions[:2]
    older["current_period_start"], older["current_period_end"] = 1_780_000_000, 1_782_592_000
    for item in older["items"]["data"]:
        item.pop("current_period_start"), item.pop("current_period_end")
    subs = _source(server).load().frames["subscriptions"].set_index("subscription_id")
    item = current["items"]["data"][0]
    assert subs.loc[current["id"], "current_period_start"] == pd.Timestamp(
        item["current_period_start"], unit="s", tz="UTC"
    )
    assert subs.loc[older["id"], "current_period_end"] == pd.Timestamp(1_782_592_000, unit="s", tz="UTC")


def test_plan_names_and_schedules_are_read_once_per_full_load(server):
    """Products are listed once for plan names; schedules with their phases' prices expanded (four levels)."""
    frames = _source(server).load().frames
    assert set(frames["subscription_items"]["product_name"].dropna()) == {"Starter", "Pro", "Business"}
    phases = frames["schedule_phases"]
    assert len(server.book.schedules) > 0
    assert set(phases["schedule_id"]) == {s["id"] for s in server.book.schedules}
    assert phases["unit_amount"].notna().all() and set(phases["interval"]) == {"month"}
    assert [p for path, p in server.log if path == "/v1/subscription_schedules"] == [
        [("expand[]", "data.phases.items.price"), ("limit", "100")]
    ]


def test_a_schedule_change_relists_schedules_on_an_incremental_refresh(server):
    now = [1_795_000_000.0]
    source = StripeSource({"base_url": server.base_url, "api_key": KEY}, clock=lambda: now[0])
    first = source.load().frames["schedule_phases"]
    schedule = server.book.schedules[0]
    schedule["status"] = "canceled"
    server.book.events.insert(
        0, {"id": "evt_s", "type": "subscription_schedule.canceled", "created": int(now[0]) + 1, "data": {"object": {}}}
    )
    now[0] += 60
    second = source.load()
    assert second.report.requests == 2  # the events page and the schedules page
    assert schedule["id"] in set(first["schedule_id"]) and schedule["id"] not in set(
        second.frames["schedule_phases"]["schedule_id"]
    )


def test_a_cross_source_section_that_fails_is_an_error_line_of_the_snapshot(server, tmp_path, monkeypatch, capsys):
    """The Customers figures (billing joined with tickets) fail unforeseen: no source is to blame, so none is an
    error, and `kpitui snapshot` printed `"customers": null` and exited 0. Now stderr says why, and the exit code
    is 1; the other sections are printed."""
    import json

    from kpitui import pipeline
    from kpitui.cli import run
    from kpitui.metrics import customers

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setenv("KPITUI_TEST_KEY", KEY)
    monkeypatch.setattr(customers, "compute_customers", broken)
    for kept in ("_SECTIONS", "_LAST_GOOD"):  # no figures kept in this process from another test
        monkeypatch.setattr(pipeline, kept, {})
    assert run(_billing_and_tickets_snapshot(server, tmp_path)) == 1
    out, err = capsys.readouterr()
    snapshot = json.loads(out)
    assert snapshot["customers"] is None and snapshot["support"]["tickets"] > 0
    assert {source["status"] for source in snapshot["sources"].values()} == {"ok"}
    assert err == "error: customers not computed: unexpected RuntimeError: injected fault\n"
