"""A realistic, deterministic Stripe-like book: plans, seats, coupons, trials, churn, win-backs."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from kpitui.demo.names import company, person

_PLANS = [
    # id, product, usd amount, eur amount, interval, per-seat
    ("starter_monthly", "prod_starter", 2900, 2700, "month", True),
    ("pro_monthly", "prod_pro", 7900, 7200, "month", True),
    ("pro_yearly", "prod_pro", 79000, 72000, "year", True),
    ("business_yearly", "prod_business", 199000, 185000, "year", False),
]
ACQUISITION_CHANNELS = ("google", "linkedin", "newsletter", "facebook")  # the demo's ad spend, and its customers'
_PRODUCTS = {"prod_starter": "Starter", "prod_pro": "Pro", "prod_business": "Business"}
_COUPONS = [
    {"id": "LAUNCH20", "percent_off": 20.0, "amount_off": None, "duration": "forever", "duration_in_months": None},
    {"id": "WELCOME25", "percent_off": 25.0, "amount_off": None, "duration": "repeating", "duration_in_months": 3},
    {"id": "FIRST10", "percent_off": None, "amount_off": 1000, "duration": "once", "duration_in_months": None},
]


@dataclass
class Book:
    """Stripe-shaped objects, newest first, as the list endpoints return them."""

    customers: list[dict] = field(default_factory=list)
    subscriptions: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    discounts: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    schedules: list[dict] = field(default_factory=list)  # phases' items hold whole prices

    def change(self, obj: dict, created: int, kind: str = "updated", previous: dict | None = None) -> None:
        """Record a change to a customer, subscription or invoice as Stripe would: an event, newest first, with the
        changed fields' former values (`previous_attributes`) when given."""
        lists = {"customer": self.customers, "subscription": self.subscriptions, "invoice": self.invoices}
        objects = lists[obj["object"]]
        if kind == "created":
            objects.insert(0, obj)
        prefix = "customer.subscription" if obj["object"] == "subscription" else obj["object"]
        self.events.insert(
            0,
            {
                "id": f"evt_{len(self.events) + 1:07d}",
                "object": "event",
                "type": f"{prefix}.{kind}",
                "created": created,
                "data": {"object": obj, **({"previous_attributes": previous} if previous else {})},
            },
        )


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month, day=day)


def _price(plan: tuple, currency: str) -> dict:
    plan_id, product, usd, eur, interval, _ = plan
    return {
        "id": f"{plan_id}_{currency}",
        "object": "price",
        "currency": currency,
        "product": product,
        "unit_amount": usd if currency == "usd" else eur,
        "billing_scheme": "per_unit",
        "tiers_mode": None,
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
    }


class _Builder:
    """Walks each customer month by month and records what Stripe would hold."""

    def __init__(self, seed: int, as_of: date, customers: int) -> None:
        self.rng = random.Random(seed)
        self.now = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)
        self.start = self.now - timedelta(days=548)
        self.count = customers
        self.book = Book()
        self.seq = 0

    def _id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}_{self.seq:07d}"

    def build(self) -> Book:
        span = (self.now - self.start).total_seconds()
        for _ in range(self.count):
            # growth: more sign-ups later (square-root spread), a weekday bias
            joined = self.start + timedelta(seconds=span * self.rng.random() ** 0.7)
            if joined.weekday() >= 5 and self.rng.random() < 0.5:
                joined -= timedelta(days=2)
            self._customer(joined)
        for key in ("customers", "subscriptions", "invoices"):
            getattr(self.book, key).sort(key=lambda o: (o["created"], o["id"]), reverse=True)
        self.book.products = [
            {"id": product, "object": "product", "name": name, "active": True} for product, name in _PRODUCTS.items()
        ]
        self._schedule_upgrades(random.Random(self.rng.random()))
        return self.book

    def _schedule_upgrades(self, rng: random.Random) -> None:
        """Schedule a move to Pro in the coming months for some monthly Starter customers (committed MRR)."""
        pro = next(plan for plan in _PLANS if plan[0] == "pro_monthly")
        for sub in self.book.subscriptions:
            item = sub["items"]["data"][0]
            if sub["status"] != "active" or item["price"]["id"] != f"starter_monthly_{sub['currency']}":
                continue
            if rng.random() < 0.08:
                switch = _epoch(_add_months(self.now, rng.randint(1, 3)).replace(day=1, hour=0))
                current = {"price": item["price"], "quantity": item["quantity"]}
                upgrade = {"price": _price(pro, sub["currency"]), "quantity": item["quantity"]}
                self.book.schedules.append(
                    {
                        "id": self._id("sub_sched"),
                        "object": "subscription_schedule",
                        "subscription": sub["id"],
                        "customer": sub["customer"],
                        "status": "active",
                        "created": _epoch(self.now - timedelta(days=rng.randint(1, 20))),
                        "phases": [
                            {
                                "start_date": item["current_period_start"],
                                "end_date": switch,
                                "items": [current],
                            },
                            {"start_date": switch, "end_date": None, "items": [upgrade]},
                        ],
                    }
                )

    def _customer(self, joined: datetime) -> None:
        rng = self.rng
        currency = "eur" if rng.random() < 0.22 else "usd"
        name = company(rng)
        customer = {
            "id": self._id("cus"),
            "object": "customer",
            "name": name,
            "created": _epoch(joined),
            "email": f"{person(rng).lower()}@{name.split()[0].lower()}.example",
            "discount": None,
        }
        channels = (*ACQUISITION_CHANNELS, None)  # one in five: no channel known
        channel = channels[zlib.crc32(customer["id"].encode()) % len(channels)]
        customer["metadata"] = {"utm_source": channel} if channel else {}
        self.book.customers.append(customer)
        start = joined
        while start < self.now:
            ended = self._subscription(customer, start, currency)
            if ended is None or rng.random() > 0.25:
                return
            start = ended + timedelta(days=rng.randint(30, 150))

    def _subscription(self, customer: dict, start: datetime, currency: str) -> datetime | None:
        """Simulate one subscription; returns when it ended, or None if still running."""
        rng = self.rng
        plan = rng.choices(_PLANS, weights=[45, 35, 12, 8])[0]
        price = _price(plan, currency)
        seats = rng.randint(1, 12) if plan[5] else 1
        sub_id, item_id = self._id("sub"), self._id("si")
        trial_end = start + timedelta(days=14) if rng.random() < 0.3 else None
        coupon = rng.choices([None, *_COUPONS], weights=[80, 8, 8, 4])[0]
        discount = None
        if coupon:
            discount = {
                "id": self._id("di"),
                "object": "discount",
                "coupon": dict(coupon, object="coupon"),
                "customer": customer["id"],
                "subscription": sub_id,
                "start": _epoch(start),
                "end": _epoch(_add_months(start, coupon["duration_in_months"]))
                if coupon["duration_in_months"]
                else None,
            }
            self.book.discounts[discount["id"]] = discount
        if trial_end and trial_end > self.now:
            status, ended = "trialing", None
        elif trial_end and rng.random() < 0.35:
            status, ended = "canceled", trial_end
        else:
            status, ended = "active", None
        period = trial_end or start
        months = 12 if plan[4] == "year" else 1
        cancel_at_period_end = False
        while ended is None and period < self.now:
            end = _add_months(period, months)
            self._invoice(customer, sub_id, item_id, price, seats, period, end, discount)
            churn = 0.028 * months * (0.6 if seats > 5 else 1.0)
            if rng.random() < churn:
                if end > self.now:
                    cancel_at_period_end = True
                else:
                    ended, status = end, "canceled"
                break
            if plan[5]:
                roll = rng.random()
                if roll < 0.06 * months:
                    seats += rng.randint(1, 3)
                elif roll < 0.085 * months and seats > 1:
                    seats -= 1
            period = end
        if status == "active" and rng.random() < 0.03:
            status = "past_due"
        self.book.subscriptions.append(
            {
                "id": sub_id,
                "object": "subscription",
                "customer": customer["id"],
                "status": status,
                "currency": currency,
                "created": _epoch(start),
                "start_date": _epoch(start),
                "trial_start": _epoch(start) if trial_end else None,
                "trial_end": _epoch(trial_end) if trial_end else None,
                "cancel_at_period_end": cancel_at_period_end,
                "canceled_at": _epoch(ended) if ended else None,
                "ended_at": _epoch(ended) if ended else None,
                "discounts": [discount["id"]] if discount else [],
                "items": {
                    "object": "list",
                    "has_more": False,
                    "data": [
                        {
                            "id": item_id,
                            "object": "subscription_item",
                            "price": price,
                            "quantity": seats,
                            "current_period_start": _epoch(period),
                            "current_period_end": _epoch(_add_months(period, months)),
                        }
                    ],
                },
            }
        )
        return ended

    def _invoice(self, customer, sub_id, item_id, price, seats, start, end, discount) -> None:
        amount = price["unit_amount"] * seats
        off = 0
        if discount:
            coupon = discount["coupon"]
            running = discount["end"] is None or _epoch(start) < discount["end"]
            first = _epoch(start) <= discount["start"] + 86400 * 15
            if (coupon["duration"] != "once" and running) or (coupon["duration"] == "once" and first):
                off = (
                    round(amount * coupon["percent_off"] / 100)
                    if coupon["percent_off"]
                    else min(amount, coupon["amount_off"])
                )
        created = _epoch(start)
        self.book.invoices.append(
            {
                "id": self._id("in"),
                "object": "invoice",
                "customer": customer["id"],
                "created": created,
                "currency": price["currency"],
                "status": "open" if end > self.now and self.rng.random() < 0.05 else "paid",
                "subtotal": amount,
                "total": amount - off,
                "tax": 0,
                "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub_id}},
                "lines": {
                    "object": "list",
                    "has_more": False,
                    "data": [
                        {
                            "id": self._id("il"),
                            "object": "line_item",
                            "amount": amount,
                            "currency": price["currency"],
                            "quantity": seats,
                            "period": {"start": created, "end": _epoch(end)},
                            "discount_amounts": [{"amount": off, "discount": discount["id"]}] if off else [],
                            "parent": {
                                "type": "subscription_item_details",
                                "subscription_item_details": {
                                    "subscription": sub_id,
                                    "subscription_item": item_id,
                                    "proration": False,
                                },
                            },
                        }
                    ],
                },
            }
        )


def build_book(seed: int, as_of: date, customers: int = 420) -> Book:
    """A deterministic book of `customers` customers over the 18 months before `as_of`."""
    return _Builder(seed, as_of, customers).build()
