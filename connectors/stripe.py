"""Stripe-like billing API → subscriptions, items, discounts, invoice lines, customers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import httpx
import pandas as pd

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.frames import conform
from connectors.http import RetryPolicy, get_json
from connectors.secrets import redact

DEFAULT_BASE_URL = "https://api.stripe.com"
STRIPE_VERSION = "2025-03-31.basil"
PAGE_LIMIT = 100
EVENT_REACH = 29 * 86400  # the Events API keeps 30 days; past that, reload everything
CLOCK_SKEW = 300  # seconds of overlap between syncs, in case clocks disagree


def _dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]…, or None where anything is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _id(value: Any) -> str | None:
    """The id of an expanded object or the id string itself."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _ts(value: Any) -> pd.Timestamp | None:
    if value in (None, ""):
        return None
    return pd.Timestamp(int(value), unit="s", tz="UTC")


class StripeSource:
    """Reads a Stripe-compatible API; one instance per configured source."""

    def __init__(
        self,
        options: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        env = os.environ if env is None else env
        self.key_env = options.get("api_key_env", "STRIPE_API_KEY")
        key = options.get("api_key") or env.get(self.key_env, "")
        if not key:
            raise ConnectorError(
                f"no API key: set {self.key_env} to your secret key (or api_key_env to the variable that holds it)"
            )
        self.key = key
        self.base_url = options.get("base_url", DEFAULT_BASE_URL).rstrip("/")
        self.policy = RetryPolicy(max_retries=int(options.get("max_retries", 4)))
        if sleep is not None:
            self.policy.sleep = sleep
        self.client = httpx.Client(
            base_url=self.base_url,
            auth=(key, ""),
            headers={"Stripe-Version": options.get("stripe_version", STRIPE_VERSION)},
            timeout=float(options.get("timeout", 30.0)),
            transport=transport,
        )
        self.report = SourceReport(layout="stripe")
        self.expand_discounts = True
        self.clock = clock
        self.synced_at: int | None = None
        self.objects: dict[str, dict[str, dict]] = {}
        self.discounts: dict[str, dict] = {}
        self.lines: dict[str, list[dict]] = {}
        self.status_changes: dict[str, tuple[str, int]] = {}  # subscription → (status it changed to, when)
        self.products: dict[str, dict] = {}
        self.schedules: list[dict] | None = None  # None: the API has no subscription schedules

    def _describe(self, response: httpx.Response) -> str:
        """One line for an HTTP error, never containing the key."""
        if response.status_code in (401, 403):
            return f"the key in {self.key_env} was rejected ({response.status_code}); check it is a valid secret key"
        message = ""
        try:
            message = str(response.json().get("error", {}).get("message", ""))[:200]
        except (ValueError, AttributeError):
            pass
        host = httpx.URL(self.base_url).host
        return redact(f"{response.status_code} from {host}" + (f": {message}" if message else ""), self.key)

    def _count_request(self) -> None:
        self.report.requests += 1

    def _list(self, path: str, params: list[tuple[str, str]]) -> Iterator[dict]:
        """Every object of a list endpoint, following `starting_after` until `has_more` is false."""
        seen: set[str] = set()
        cursor = None
        while True:
            page_params = [*params, ("limit", str(PAGE_LIMIT))]
            if cursor:
                page_params.append(("starting_after", cursor))
            page = get_json(self.client, path, page_params, self.policy, self._describe, self._count_request)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise ConnectorError(f"{path}: the API answered without a list; is base_url a Stripe-like API?")
            fresh = [obj for obj in data if obj.get("id") not in seen]
            if data and not fresh:
                raise ConnectorError(f"{path}: the API repeated a page (cursor {cursor}); stopped to avoid a loop")
            for obj in fresh:
                seen.add(obj.get("id"))
                yield obj
            if not page.get("has_more") or not data:
                return
            cursor = data[-1].get("id")

    def _subscriptions(self) -> list[dict]:
        params = [("status", "all")]
        if self.expand_discounts:
            try:
                return list(self._list("/v1/subscriptions", [*params, ("expand[]", "data.discounts")]))
            except ConnectorError as exc:
                if "expand" not in str(exc).lower():
                    raise
                self.expand_discounts = False
                self.report.warnings.append("the API cannot expand discounts; reading the older `discount` field")
        return list(self._list("/v1/subscriptions", params))

    def _invoice_lines(self, invoice: dict) -> list[dict]:
        lines = _dig(invoice, "lines", "data") or []
        if _dig(invoice, "lines", "has_more"):
            lines = list(self._list(f"/v1/invoices/{invoice['id']}/lines", []))
        return lines

    def load(self) -> SourceResult:
        """The whole book: a full load the first time (or past the Events API's reach), then only
        what changed since the last refresh, read from the Events API."""
        self.report = SourceReport(layout="stripe")
        started = int(self.clock())
        if self.synced_at is None or started - self.synced_at > EVENT_REACH:
            self._full_load(started)
        else:
            try:
                self._apply_events()
                self.report.layout = "stripe (incremental)"
            except _FullLoadNeededError as reason:
                self.report.warnings.append(f"full reload: {reason}")
                self._full_load(started)
        subscriptions = list(self.objects["subscription"].values())
        frames = book_frames(
            list(self.objects["customer"].values()),
            [dict(s, discounts=self._expanded(s)) for s in subscriptions],
            list(self.objects["invoice"].values()),
            lambda invoice: self.lines[invoice["id"]],
            self.status_changes,
            self.products,
            self.schedules,
        )
        self.report.rows = len(subscriptions)
        return SourceResult(frames, self.report)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def _full_load(self, started: int) -> None:
        customers = list(self._list("/v1/customers", []))
        subscriptions = self._subscriptions()
        invoices = list(self._list("/v1/invoices", []))
        self.objects = {
            "customer": {o["id"]: o for o in customers},
            "subscription": {o["id"]: o for o in subscriptions},
            "invoice": {o["id"]: o for o in invoices},
        }
        self.discounts = {d["id"]: d for s in subscriptions for d in s.get("discounts") or [] if isinstance(d, dict)}
        self.lines = {o["id"]: self._invoice_lines(o) for o in invoices}
        self.status_changes = {}
        self._note_status_changes(self._list("/v1/events", [("type", "customer.subscription.updated")]))
        self._read_products()
        self._read_schedules()
        self.synced_at = started - CLOCK_SKEW

    def _read_products(self) -> None:
        """Every product, listed once, for plan names."""
        self.products = {o["id"]: o for o in self._optional_list("/v1/products", [], "plan names") or []}

    def _read_schedules(self) -> None:
        """Every subscription schedule with its phases' prices (four expansion levels, Stripe's maximum)."""
        params = [("expand[]", "data.phases.items.price")]
        self.schedules = self._optional_list("/v1/subscription_schedules", params, "committed MRR (CMRR)")

    def _optional_list(self, path: str, params: list[tuple[str, str]], needed_for: str) -> list[dict] | None:
        """A list some Stripe-compatible services lack: a 404 leaves it out with a warning, never fails the source."""
        try:
            return list(self._list(path, params))
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            self.report.warnings.append(f"the API has no {path}; {needed_for} left out")
            return None

    def _note_status_changes(self, events: Iterable[dict]) -> None:
        """Remember, per subscription, the latest status change an event records (`previous_attributes.status`)."""
        for event in sorted(events, key=lambda e: e.get("created") or 0):
            obj = _dig(event, "data", "object") or {}
            previous = _dig(event, "data", "previous_attributes") or {}
            if obj.get("object") == "subscription" and "status" in previous and obj.get("id"):
                self.status_changes[obj["id"]] = (obj.get("status"), int(event.get("created") or 0))

    def _apply_events(self) -> None:
        """Upsert every object changed since the last sync, oldest event first."""
        events = list(self._list("/v1/events", [("created[gt]", str(self.synced_at))]))
        self._note_status_changes(events)
        types = {str(e.get("type", "")).split(".")[0] for e in events}
        if "product" in types:
            self._read_products()
        if "subscription_schedule" in types and self.schedules is not None:
            self._read_schedules()
        for event in sorted(events, key=lambda e: e.get("created", 0)):
            obj = _dig(event, "data", "object") or {}
            kind = obj.get("object")
            if kind not in self.objects or "id" not in obj:
                continue
            if str(event.get("type", "")).endswith(".deleted") and kind == "customer":
                self.objects[kind].pop(obj["id"], None)
                continue
            if kind == "subscription":
                unknown = [d for d in obj.get("discounts") or [] if isinstance(d, str) and d not in self.discounts]
                if unknown:
                    raise _FullLoadNeededError(f"subscription {obj['id']} has a discount not seen before")
                self.discounts.update({d["id"]: d for d in obj.get("discounts") or [] if isinstance(d, dict)})
            if kind == "invoice":
                self.lines[obj["id"]] = self._invoice_lines(obj)
            self.objects[kind][obj["id"]] = obj
            self.synced_at = max(self.synced_at, int(event.get("created", 0)) - CLOCK_SKEW)

    def _expanded(self, subscription: dict) -> list:
        """The subscription's discounts as objects (events carry only their ids)."""
        return [self.discounts.get(d, d) if isinstance(d, str) else d for d in subscription.get("discounts") or []]


class _FullLoadNeededError(Exception):
    """Incremental refresh cannot be trusted; reload everything."""


def _period(obj: dict, sub: dict, edge: str) -> int | None:
    """An item's current period start or end: on the item (current API), else on the subscription (older ones)."""
    return obj.get(f"current_period_{edge}") or sub.get(f"current_period_{edge}")


def _subscription_rows(
    sub: dict, status_change: tuple[str, int] | None = None, products: Mapping[str, dict] | None = None
) -> tuple[dict, list[dict], list[dict]]:
    """One subscription → its row, its item rows and its discount rows; `status_change` is the latest status
    change the Events API recorded for it."""
    items = _dig(sub, "items", "data") or []
    prices = [item.get("price") or item.get("plan") or {} for item in items]
    currency = sub.get("currency") or next((p.get("currency") for p in prices if p.get("currency")), None)
    starts = [p for p in (_period(item, sub, "start") for item in items) if p] or [sub.get("current_period_start")]
    ends = [p for p in (_period(item, sub, "end") for item in items) if p] or [sub.get("current_period_end")]
    changed_to, changed_at = status_change or (None, None)
    row = {
        "subscription_id": sub["id"],
        "customer_id": _id(sub.get("customer")),
        "status": sub.get("status"),
        "status_since": _ts(changed_at) if changed_to == sub.get("status") else None,
        "currency": (currency or "").lower() or None,
        "created": _ts(sub.get("created")),
        "start": _ts(sub.get("start_date") or sub.get("created")),
        "trial_start": _ts(sub.get("trial_start")),
        "trial_end": _ts(sub.get("trial_end")),
        "current_period_start": _ts(min(starts, key=lambda p: p or 0)),
        "current_period_end": _ts(max(ends, key=lambda p: p or 0)),
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "cancel_at": _ts(sub.get("cancel_at")),
        "canceled_at": _ts(sub.get("canceled_at")),
        "ended_at": _ts(sub.get("ended_at")),
    }
    item_rows = []
    for item, price in zip(items, prices):
        recurring = price.get("recurring") or price
        tiers = price.get("tiers")
        product = price.get("product")
        product = product if isinstance(product, dict) else (products or {}).get(product, product)
        item_rows.append(
            {
                "subscription_id": sub["id"],
                "item_id": item.get("id"),
                "price_id": price.get("id"),
                "product_id": _id(product),
                "product_name": product.get("name") if isinstance(product, dict) else None,
                "price_nickname": price.get("nickname"),
                "unit_amount": price.get("unit_amount", price.get("amount")),
                "quantity": item.get("quantity", 1),
                "interval": recurring.get("interval"),
                "interval_count": recurring.get("interval_count", 1),
                "usage_type": recurring.get("usage_type", "licensed"),
                "tiers_mode": price.get("tiers_mode"),
                "tiers": json.dumps(tiers) if tiers else None,
                "current_period_start": _ts(_period(item, sub, "start")),
                "current_period_end": _ts(_period(item, sub, "end")),
            }
        )
    discounts = {}
    for discount in [*(sub.get("discounts") or []), sub.get("discount")]:
        if isinstance(discount, dict) and discount.get("id") not in discounts:
            discounts[discount.get("id")] = _discount_row(discount, sub["id"], row["customer_id"])
    return row, item_rows, list(discounts.values())


def _discount_row(discount: dict, subscription_id: str | None, customer_id: str | None) -> dict:
    coupon = discount.get("coupon") or _dig(discount, "source", "coupon") or {}
    return {
        "subscription_id": subscription_id,
        "customer_id": customer_id or _id(discount.get("customer")),
        "coupon_id": coupon.get("id"),
        "percent_off": coupon.get("percent_off"),
        "amount_off": coupon.get("amount_off"),
        "currency": coupon.get("currency"),
        "duration": coupon.get("duration"),
        "duration_in_months": coupon.get("duration_in_months"),
        "start": _ts(discount.get("start")),
        "end": _ts(discount.get("end")),
    }


def _line_row(invoice: dict, line: dict) -> dict:
    item_details = _dig(line, "parent", "subscription_item_details") or {}
    parent_type = _dig(line, "parent", "type")
    kind = line.get("type") or ("invoiceitem" if parent_type == "invoice_item_details" else "subscription")
    invoice_sub = invoice.get("subscription") or _dig(invoice, "parent", "subscription_details", "subscription")
    discounts = sum(d.get("amount", 0) for d in line.get("discount_amounts") or [])
    return {
        "invoice_id": invoice.get("id"),
        "customer_id": _id(invoice.get("customer")),
        "subscription_id": _id(line.get("subscription") or item_details.get("subscription") or invoice_sub),
        "status": invoice.get("status"),
        "currency": (line.get("currency") or invoice.get("currency") or "").lower(),
        "amount": (line.get("amount") or 0) - discounts,
        "period_start": _ts(_dig(line, "period", "start")),
        "period_end": _ts(_dig(line, "period", "end")),
        "proration": bool(line.get("proration") or item_details.get("proration")),
        "type": kind,
    }


def book_frames(
    customers: list[dict],
    subscriptions: list[dict],
    invoices: list[dict],
    lines_of: Callable[[dict], list[dict]] = lambda inv: _dig(inv, "lines", "data") or [],
    status_changes: Mapping[str, tuple[str, int]] | None = None,
    products: Mapping[str, dict] | None = None,
    schedules: list[dict] | None = None,
) -> dict[str, pd.DataFrame]:
    """Raw API objects → the canonical billing frames (`status_changes`: subscription → its latest status change;
    `products` by id, for plan names; `schedules`: subscription schedules, None where the API has none)."""
    sub_rows, item_rows, discount_rows = [], [], []
    for sub in subscriptions:
        row, items, discounts = _subscription_rows(sub, (status_changes or {}).get(sub["id"]), products)
        sub_rows.append(row)
        item_rows.extend(items)
        discount_rows.extend(discounts)
    for customer in customers:
        if isinstance(customer.get("discount"), dict):
            discount_rows.append(_discount_row(customer["discount"], None, customer.get("id")))
    line_rows = [_line_row(inv, line) for inv in invoices for line in lines_of(inv)]
    customer_rows = [
        {
            "customer_id": c.get("id"),
            "name": c.get("name"),
            "email": c.get("email"),
            "created": _ts(c.get("created")),
            "metadata": json.dumps(c["metadata"]) if c.get("metadata") else None,
        }
        for c in customers
    ]
    frames = {
        "customers": conform("customers", pd.DataFrame(customer_rows)),
        "subscriptions": conform("subscriptions", pd.DataFrame(sub_rows)),
        "subscription_items": conform("subscription_items", pd.DataFrame(item_rows)),
        "discounts": conform("discounts", pd.DataFrame(discount_rows)),
        "invoice_lines": conform("invoice_lines", pd.DataFrame(line_rows)),
    }
    if schedules is not None:
        frames["schedule_phases"] = conform("schedule_phases", pd.DataFrame(_phase_rows(schedules)))
    return frames


def _phase_rows(schedules: list[dict]) -> list[dict]:
    """One row per item of each phase of the schedules still running or not yet started."""
    rows = []
    for schedule in schedules:
        if schedule.get("status") not in ("active", "not_started"):
            continue
        for phase in schedule.get("phases") or []:
            for item in phase.get("items") or []:
                price = item.get("price") or item.get("plan") or {}
                if not isinstance(price, dict):
                    continue  # not expanded: no amount to value the phase with
                recurring = price.get("recurring") or price
                rows.append(
                    {
                        "schedule_id": schedule.get("id"),
                        "subscription_id": _id(schedule.get("subscription")),
                        "phase_start": _ts(phase.get("start_date")),
                        "phase_end": _ts(phase.get("end_date")),
                        "price_id": price.get("id"),
                        "unit_amount": price.get("unit_amount", price.get("amount")),
                        "quantity": item.get("quantity", 1),
                        "interval": recurring.get("interval"),
                        "interval_count": recurring.get("interval_count", 1),
                        "usage_type": recurring.get("usage_type", "licensed"),
                        "currency": (price.get("currency") or phase.get("currency") or "").lower() or None,
                    }
                )
    return rows
