"""Billing frames from short dicts, for the revenue worked examples."""

from __future__ import annotations

import pandas as pd

from connectors.frames import conform, empty
from kpitui.metrics.revenue import Book

T0 = "2025-01-01"


def book(subs: list[dict], items: list[dict], discounts: list[dict] | None = None, lines=None) -> Book:
    """Frames from short dicts; defaults: active since 2025-01-01, USD, monthly, licensed."""
    sub_rows = [
        {
            "customer_id": s["subscription_id"].replace("sub", "cus"),
            "status": "active",
            "currency": "usd",
            "start": T0,
            "created": T0,
            **s,
        }
        for s in subs
    ]
    item_rows = [
        {"interval": "month", "interval_count": 1, "quantity": 1, "usage_type": "licensed", **i} for i in items
    ]
    return Book(
        conform("subscriptions", pd.DataFrame(sub_rows)),
        conform("subscription_items", pd.DataFrame(item_rows)),
        conform("discounts", pd.DataFrame(discounts or [])) if discounts else empty("discounts"),
        conform("invoice_lines", pd.DataFrame(lines)) if lines else empty("invoice_lines"),
        empty("customers"),
    )
