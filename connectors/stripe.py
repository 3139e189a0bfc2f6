"""Stripe-like billing API → subscriptions, items, discounts, invoice lines, customers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import ConnectorError, SourceReport, SourceResult
from connectors.billing_objects import BadObjectError, Fields, book_frames, kind_of
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


def _listed(value: Any) -> list:
    """A field that should hold a list: the list, or none (its shape is reported when the book is read)."""
    return value if isinstance(value, list) else []


def _with_id(obj: Any) -> bool:
    """Whether a list entry is an object with a text id, as every Stripe object is."""
    return isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"] != ""


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
        timeout = float(options.get("timeout", 30.0))  # for each read, and for each whole answer
        self.policy = RetryPolicy(max_retries=int(options.get("max_retries", 4)), answer_within=timeout)
        if sleep is not None:
            self.policy.sleep = sleep
        self.client = httpx.Client(
            base_url=self.base_url,
            auth=(key, ""),
            headers={"Stripe-Version": options.get("stripe_version", STRIPE_VERSION)},
            timeout=timeout,
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
            listed = [obj for obj in data if _with_id(obj)]
            for entry in (entry for entry in data if not _with_id(entry)):
                what = "without an id" if isinstance(entry, dict) else f"that is {kind_of(entry)}, not an object"
                self.report.skip(path, None, f"an entry {what}")
            fresh = [obj for obj in listed if obj["id"] not in seen]
            if listed and not fresh:
                raise ConnectorError(f"{path}: the API repeated a page (cursor {cursor[:80]}); stopped to avoid a loop")
            for obj in fresh:
                seen.add(obj["id"])
                yield obj
            if not page.get("has_more") or not data:
                return
            if not _with_id(data[-1]):
                raise ConnectorError(f"{path}: the page's last entry has no id to ask for the next page after")
            cursor = data[-1]["id"]

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

    def _fetch_lines(self, invoice: dict) -> None:
        """List an invoice's lines apart when it holds only their first page."""
        if _dig(invoice, "lines", "has_more") is True:
            self.lines[invoice["id"]] = list(self._list(f"/v1/invoices/{quote(invoice['id'], safe='')}/lines", []))
        else:
            self.lines.pop(invoice["id"], None)

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
        frames = book_frames(
            list(self.objects["customer"].values()),
            [dict(s, discounts=self._expanded(s)) for s in self.objects["subscription"].values()],
            list(self.objects["invoice"].values()),
            self.lines,
            self.status_changes,
            self.products,
            self.schedules,
            self.report,
        )
        self.report.rows = len(frames["subscriptions"])
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
        self.discounts = {}
        for subscription in subscriptions:
            self._remember_discounts(subscription)
        self.lines = {}
        for invoice in invoices:
            self._fetch_lines(invoice)
        self.status_changes = {}
        updates = self._list("/v1/events", [("type", "customer.subscription.updated")])
        self._note_status_changes(self._read_events(updates))
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

    def _read_events(self, events: Iterable[dict]) -> list[tuple[int, str, dict, dict]]:
        """Each event as (created, type, the object, the changed fields' former values), oldest first; an event of
        the wrong shape is skipped and reported."""
        read = []
        for event in events:
            try:
                fields = Fields(event)
                data = fields.child("data") or Fields({}, "data")
                changed, previous = data.child("object"), data.child("previous_attributes")
                created, kind = fields.seconds("created") or 0, fields.text("type") or ""
            except BadObjectError as bad:
                self.report.skip(f"event {event['id'][:80]}", None, str(bad))
                continue
            read.append((created, kind, changed.obj if changed else {}, previous.obj if previous else {}))
        return sorted(read, key=lambda e: e[0])

    def _note_status_changes(self, events: list[tuple[int, str, dict, dict]]) -> None:
        """Remember, per subscription, the latest status change an event records (`previous_attributes.status`)."""
        for created, _, obj, previous in events:
            if obj.get("object") == "subscription" and "status" in previous and _with_id(obj):
                self.status_changes[obj["id"]] = (obj.get("status"), created)

    def _apply_events(self) -> None:
        """Upsert every object changed since the last sync, oldest event first."""
        events = self._read_events(self._list("/v1/events", [("created[gt]", str(self.synced_at))]))
        self._note_status_changes(events)
        types = {kind.split(".")[0] for _, kind, _, _ in events}
        if "product" in types:
            self._read_products()
        if "subscription_schedule" in types and self.schedules is not None:
            self._read_schedules()
        for created, event_type, obj, _ in events:
            kind = obj.get("object")
            if not isinstance(kind, str) or kind not in self.objects or not _with_id(obj):
                continue
            if event_type.endswith(".deleted") and kind == "customer":
                self.objects[kind].pop(obj["id"], None)
                continue
            if kind == "subscription":
                ids = [d for d in _listed(obj.get("discounts")) if isinstance(d, str)]
                if any(d not in self.discounts for d in ids):
                    raise _FullLoadNeededError(f"subscription {obj['id'][:80]} has a discount not seen before")
                self._remember_discounts(obj)
            if kind == "invoice":
                self._fetch_lines(obj)
            self.objects[kind][obj["id"]] = obj
            self.synced_at = max(self.synced_at, created - CLOCK_SKEW)

    def _remember_discounts(self, subscription: dict) -> None:
        """Keep the subscription's expanded discounts by id: events name them by id only."""
        for discount in _listed(subscription.get("discounts")):
            if _with_id(discount):
                self.discounts[discount["id"]] = discount

    def _expanded(self, subscription: dict) -> Any:
        """The subscription's discounts as objects (events carry only their ids); a field that is no list as is."""
        discounts = subscription.get("discounts")
        if not isinstance(discounts, list):
            return discounts
        return [self.discounts.get(d, d) if isinstance(d, str) else d for d in discounts]


class _FullLoadNeededError(Exception):
    """Incremental refresh cannot be trusted; reload everything."""
