"""Stripe-like API objects → the canonical billing rows, each object's fields checked as they are read: an object
with a field of the wrong shape is skipped whole and reported, naming the field and why (DESIGN.md §7)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from connectors.base import SourceReport
from connectors.frames import conform
from connectors.schemas import SCHEMAS, TIME

_WHOLE = re.compile(r"-?[0-9]{1,16}")  # a whole number sent as JSON text
_LARGEST = 2**53  # JSON's exact integers; amounts and counts past this are damage, not data
_LAST_SECOND = 7_258_118_400  # 2200-01-01 UTC: later Unix times are damage, not dates


class BadObjectError(ValueError):
    """An API object with a field of the wrong shape; the message names the field and why."""


def kind_of(value: Any) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return {str: "text", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _numeric(value: Any) -> int | float | None:
    """A JSON number, or whole-number text read as one; None for anything else."""
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class Fields:
    """Checked reads of one API object's fields: a field of the wrong shape raises BadObjectError naming its path
    in the object (`items.data[0].price.unit_amount`); a field missing or null reads as None."""

    def __init__(self, obj: Any, path: str = "") -> None:
        if not isinstance(obj, dict):
            where = path + " is" if path else "an entry that is"
            raise BadObjectError(f"{where} {kind_of(obj)}, not an object")
        self.obj, self.path = obj, path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _wrong(self, key: str, wanted: str) -> BadObjectError:
        return BadObjectError(f"{self._name(key)} is {kind_of(self.obj.get(key))}, not {wanted}")

    def required(self, key: str) -> None:
        """Fail unless the field is present, not null and not empty."""
        if self.obj.get(key) in (None, ""):
            raise BadObjectError(f"{self._name(key)} is missing")

    def text(self, key: str) -> str | None:
        """A text field."""
        value = self.obj.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(key, "text")

    def number(self, key: str, default: float | None = None) -> float | None:
        """A number field (whole numbers may come as JSON text); `default` when missing or null."""
        if self.obj.get(key) is None:
            return default
        value = _numeric(self.obj[key])
        if value is None:
            raise self._wrong(key, "a number")
        if not math.isfinite(value):
            raise BadObjectError(f"{self._name(key)} is not a finite number")
        if abs(value) > _LARGEST:
            raise BadObjectError(f"{self._name(key)} is out of range, not a number")
        return value

    def seconds(self, key: str) -> int | None:
        """A Unix time in whole seconds, from 1970 to 2200."""
        if self.obj.get(key) is None:
            return None
        value = _numeric(self.obj[key])
        if value is None:
            raise self._wrong(key, "a Unix time")
        if not 0 <= value < _LAST_SECOND:  # NaN too
            raise BadObjectError(f"{self._name(key)} is out of range, not a Unix time")
        return int(value)

    def flag(self, key: str) -> bool:
        """A true/false field, false when missing or null."""
        value = self.obj.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        raise self._wrong(key, "true/false")

    def ref(self, key: str) -> str | None:
        """The id of another object: the id itself, or the object expanded."""
        value = self.obj.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict):
            expanded = Fields(value, self._name(key))
            expanded.required("id")
            return expanded.text("id")
        raise self._wrong(key, "an id")

    def child(self, key: str) -> Fields | None:
        """A nested object."""
        value = self.obj.get(key)
        return None if value is None else Fields(value, self._name(key))

    def expanded(self, key: str) -> Fields | None:
        """Another object when the field holds it expanded; None when it holds its id (or nothing)."""
        self.ref(key)
        return self.child(key) if isinstance(self.obj.get(key), dict) else None

    def values(self, key: str) -> list[Any]:
        """A list field's values, none when missing or null."""
        value = self.obj.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        raise self._wrong(key, "a list")

    def children(self, key: str) -> list[Fields]:
        """A list of nested objects."""
        return [Fields(value, f"{self._name(key)}[{i}]") for i, value in enumerate(self.values(key))]


_NOTHING = Fields({})


def _period(item: Fields, sub: Fields, edge: str) -> int | None:
    """An item's current period start or end: on the item (current API), else on the subscription (older ones)."""
    return item.seconds(f"current_period_{edge}") or sub.seconds(f"current_period_{edge}")


def _tiers(price: Fields) -> str | None:
    """A price's tiers as JSON for the revenue rules (`up_to` null on the last; Stripe's "inf" read as null)."""
    tiers = []
    for tier in price.children("tiers"):
        up_to = None if tier.obj.get("up_to") == "inf" else tier.number("up_to")
        tiers.append({"up_to": up_to, "unit_amount": tier.number("unit_amount"),
                      "flat_amount": tier.number("flat_amount")})  # fmt: skip
    return json.dumps(tiers) if tiers else None


def _price(item: Fields) -> Fields:
    """An item's price (a legacy plan on older APIs)."""
    return item.child("price") or item.child("plan") or _NOTHING


def _priced(item: Fields) -> dict:
    """What an item's price and quantity bill: amount, quantity, interval and usage."""
    price = _price(item)
    recurring = price.child("recurring") or price
    return {
        "price_id": price.text("id"),
        "unit_amount": price.number("unit_amount", price.number("amount")),
        "quantity": item.number("quantity", 1),
        "interval": recurring.text("interval"),
        "interval_count": recurring.number("interval_count", 1),
        "usage_type": recurring.text("usage_type") or "licensed",
    }


def _item_row(sub: Fields, item: Fields, product_names: Mapping[str, str]) -> dict:
    price = _price(item)
    product, expanded = price.ref("product"), price.expanded("product")
    return {
        "subscription_id": sub.text("id"),
        "item_id": item.text("id"),
        **_priced(item),
        "product_id": product,
        "product_name": expanded.text("name") if expanded else product_names.get(product or ""),
        "price_nickname": price.text("nickname"),
        "tiers_mode": price.text("tiers_mode"),
        "tiers": _tiers(price),
        "current_period_start": _period(item, sub, "start"),
        "current_period_end": _period(item, sub, "end"),
    }


def _subscription_rows(
    sub: Fields, status_change: tuple[str, int] | None, product_names: Mapping[str, str]
) -> tuple[dict, list[dict], list[dict]]:
    """One subscription → its row, its item rows and its discount rows; `status_change` is the latest status
    change the Events API recorded for it."""
    for key in ("id", "status", "customer"):
        sub.required(key)
    items = (sub.child("items") or _NOTHING).children("data")
    item_rows = [_item_row(sub, item, product_names) for item in items]
    currency = sub.text("currency") or next(filter(None, (_price(item).text("currency") for item in items)), None)
    starts = [row["current_period_start"] for row in item_rows if row["current_period_start"] is not None]
    ends = [row["current_period_end"] for row in item_rows if row["current_period_end"] is not None]
    changed_to, changed_at = status_change or (None, None)
    status = sub.text("status")
    row = {
        "subscription_id": sub.text("id"),
        "customer_id": sub.ref("customer"),
        "status": status,
        "status_since": changed_at if changed_to == status else None,
        "currency": (currency or "").lower() or None,
        "created": sub.seconds("created"),
        "start": sub.seconds("start_date") or sub.seconds("created"),
        "trial_start": sub.seconds("trial_start"),
        "trial_end": sub.seconds("trial_end"),
        "current_period_start": min(starts) if starts else sub.seconds("current_period_start"),
        "current_period_end": max(ends) if ends else sub.seconds("current_period_end"),
        "cancel_at_period_end": sub.flag("cancel_at_period_end"),
        "cancel_at": sub.seconds("cancel_at"),
        "canceled_at": sub.seconds("canceled_at"),
        "ended_at": sub.seconds("ended_at"),
    }
    discounts: dict[str | None, dict] = {}
    entries = [(value, f"discounts[{i}]") for i, value in enumerate(sub.values("discounts"))]
    for value, path in [*entries, (sub.obj.get("discount"), "discount")]:
        if value is None or isinstance(value, str):
            continue  # not expanded: an id names no amount
        discount = Fields(value, path)
        if discount.text("id") not in discounts:
            discounts[discount.text("id")] = _discount_row(discount, row["subscription_id"], row["customer_id"])
    return row, item_rows, list(discounts.values())


def _discount_row(discount: Fields, subscription_id: str | None, customer_id: str | None) -> dict:
    coupon = discount.child("coupon") or (discount.child("source") or _NOTHING).child("coupon") or _NOTHING
    return {
        "subscription_id": subscription_id,
        "customer_id": customer_id or discount.ref("customer"),
        "coupon_id": coupon.text("id"),
        "percent_off": coupon.number("percent_off"),
        "amount_off": coupon.number("amount_off"),
        "currency": coupon.text("currency"),
        "duration": coupon.text("duration"),
        "duration_in_months": coupon.number("duration_in_months"),
        "start": discount.seconds("start"),
        "end": discount.seconds("end"),
    }


def _invoice_rows(invoice: Fields, fetched: Mapping[str, list[Any]]) -> tuple[dict, list[Any]]:
    """What every line of an invoice shares, and its lines (`fetched` apart where the invoice holds only the
    first page)."""
    invoice.required("customer")
    details = (invoice.child("parent") or _NOTHING).child("subscription_details") or _NOTHING
    shared = {
        "invoice_id": invoice.text("id"),
        "customer_id": invoice.ref("customer"),
        "subscription_id": invoice.ref("subscription") or details.ref("subscription"),
        "status": invoice.text("status"),
        "currency": invoice.text("currency") or "",
    }
    lines = fetched.get(shared["invoice_id"] or "")
    return shared, (invoice.child("lines") or _NOTHING).values("data") if lines is None else lines


def _line_row(line: Fields, invoice: dict) -> dict:
    parent = line.child("parent") or _NOTHING
    item_details = parent.child("subscription_item_details") or _NOTHING
    kind = line.text("type") or ("invoiceitem" if parent.text("type") == "invoice_item_details" else "subscription")
    discounts = sum(d.number("amount", 0) for d in line.children("discount_amounts"))
    period = line.child("period") or _NOTHING
    return {
        **invoice,
        "subscription_id": line.ref("subscription") or item_details.ref("subscription") or invoice["subscription_id"],
        "currency": (line.text("currency") or invoice["currency"]).lower(),
        "amount": line.number("amount", 0) - discounts,
        "period_start": period.seconds("start"),
        "period_end": period.seconds("end"),
        "proration": line.flag("proration") or item_details.flag("proration"),
        "type": kind,
    }


def _customer_rows(customer: Fields) -> tuple[dict, list[dict]]:
    """A customer's row, and its customer-level discount's row."""
    metadata = customer.child("metadata")
    row = {
        "customer_id": customer.text("id"),
        "name": customer.text("name"),
        "email": customer.text("email"),
        "created": customer.seconds("created"),
        "metadata": json.dumps(metadata.obj) if metadata and metadata.obj else None,
    }
    discount = customer.child("discount")
    return row, [] if discount is None else [_discount_row(discount, None, row["customer_id"])]


def _phase_rows(schedule: Fields) -> list[dict]:
    """One row per item of each phase of a schedule still running or not yet started."""
    if schedule.text("status") not in ("active", "not_started"):
        return []
    rows = []
    for phase in schedule.children("phases"):
        for item in phase.children("items"):
            if isinstance(item.obj.get("price"), str):
                continue  # not expanded: no amount to value the phase with
            rows.append(
                {
                    "schedule_id": schedule.text("id"),
                    "subscription_id": schedule.ref("subscription"),
                    "phase_start": phase.seconds("start_date"),
                    "phase_end": phase.seconds("end_date"),
                    **_priced(item),
                    "currency": (_price(item).text("currency") or phase.text("currency") or "").lower() or None,
                }
            )
    return rows


def _label(kind: str, obj: Any) -> str:
    """How a skipped object is named: its kind and id (clipped: ids are the API's text)."""
    identity = obj.get("id") if isinstance(obj, dict) else None
    return f"{kind} {identity[:80]}" if isinstance(identity, str) else kind


class _Reader:
    """Reads objects of one book, skipping and reporting the ones of the wrong shape."""

    def __init__(self, report: SourceReport) -> None:
        self.report = report

    def read(self, name: str, obj: Any, rows: Callable[..., Any], *args: Any) -> Any:
        """`rows(Fields(obj), *args)`, or None when the object is of the wrong shape (reported under `name`)."""
        try:
            return rows(Fields(obj), *args)
        except BadObjectError as bad:
            self.report.skip(name, None, str(bad))
            return None


def product_names(products: Mapping[str, Any], report: SourceReport) -> dict[str, str]:
    """Product id → name, for plan names."""
    reader = _Reader(report)
    names = {key: reader.read(_label("product", obj), obj, Fields.text, "name") for key, obj in products.items()}
    return {key: name for key, name in names.items() if name is not None}


def book_frames(
    customers: list[Any],
    subscriptions: list[Any],
    invoices: list[Any],
    fetched_lines: Mapping[str, list[Any]] | None = None,
    status_changes: Mapping[str, tuple[str, int]] | None = None,
    products: Mapping[str, Any] | None = None,
    schedules: list[Any] | None = None,
    report: SourceReport | None = None,
) -> dict[str, pd.DataFrame]:
    """Raw API objects → the canonical billing frames; objects of the wrong shape are skipped and reported in
    `report`. `fetched_lines`: invoice id → its lines, where they were listed apart; `status_changes`: subscription
    → its latest status change; `products` by id, for plan names; `schedules`: None where the API has none."""
    reader = _Reader(SourceReport() if report is None else report)
    names, changes = product_names(products or {}, reader.report), status_changes or {}
    sub_rows, item_rows, discount_rows, customer_rows, line_rows = [], [], [], [], []
    for sub in subscriptions:
        change = changes.get(sub.get("id")) if isinstance(sub, dict) and isinstance(sub.get("id"), str) else None
        read = reader.read(_label("subscription", sub), sub, _subscription_rows, change, names)
        if read is not None:
            sub_rows.append(read[0])
            item_rows.extend(read[1])
            discount_rows.extend(read[2])
    for customer in customers:
        read = reader.read(_label("customer", customer), customer, _customer_rows)
        if read is not None:
            customer_rows.append(read[0])
            discount_rows.extend(read[1])
    for invoice in invoices:
        name = _label("invoice", invoice)
        shared, lines = reader.read(name, invoice, _invoice_rows, fetched_lines or {}) or ({}, [])
        line_rows.extend(reader.read(f"{name} {_label('line', line)}", line, _line_row, shared) for line in lines)
    frames = {
        "customers": _frame("customers", customer_rows),
        "subscriptions": _frame("subscriptions", sub_rows),
        "subscription_items": _frame("subscription_items", item_rows),
        "discounts": _frame("discounts", discount_rows),
        "invoice_lines": _frame("invoice_lines", [row for row in line_rows if row is not None]),
    }
    if schedules is not None:
        phases = [row for s in schedules for row in reader.read(_label("schedule", s), s, _phase_rows) or []]
        frames["schedule_phases"] = _frame("schedule_phases", phases)
    return frames


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """Rows of one canonical table as its frame, their times (Unix seconds) made timestamps a column at a time."""
    frame = pd.DataFrame(rows)
    for column, kind in SCHEMAS[name].items():
        if kind == TIME and column in frame:
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return conform(name, frame)
