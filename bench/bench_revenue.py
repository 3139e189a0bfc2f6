"""Issue 3: a full load of ~10,000 subscriptions from the demo API (requests counted) and every revenue metric
over them and ~100,000 invoice lines vs one pandas groupby-sum over the same lines.

Run from the repo root: python -m bench.bench_revenue
"""

from __future__ import annotations

import math
import sys
import time
from datetime import date

from bench.common import best_of, peak_rss_mb, report
from connectors.stripe import StripeSource
from kpitui.demo.billing_api import BillingServer
from kpitui.demo.billing_book import build_book
from kpitui.metrics.revenue import Book, RevenueSettings, compute_revenue

AS_OF = date(2026, 11, 22)


def main() -> int:
    book = build_book(9, AS_OF, customers=9_700)
    server = BillingServer(book, api_key="sk_test_bench").start()
    try:
        source = StripeSource({"base_url": server.base_url, "api_key": "sk_test_bench"})
        load_seconds, result = best_of(1, source.load)
        for sub in [s for s in book.subscriptions if s["status"] == "active"][:10]:
            sub["items"]["data"][0]["quantity"] += 1
            book.change(sub, created=int(time.time()))
        incremental_seconds, incremental = best_of(1, source.load)
    finally:
        server.stop()
    updates = [e for e in book.events if e["type"] == "customer.subscription.updated"]
    lists = (book.customers, book.subscriptions, book.invoices, updates, book.products, book.schedules)
    expected = sum(max(1, math.ceil(len(objs) / 100)) for objs in lists)
    subs, lines = len(book.subscriptions), len(result.frames["invoice_lines"])
    print(f"{subs:,} subscriptions, {len(book.customers):,} customers, {lines:,} invoice lines")
    print(
        f"full load: {result.report.requests} requests (ceil(N/100) per list = {expected}) in {load_seconds:.2f} s "
        f"{'ok' if result.report.requests == expected else 'OVER'}"
    )
    print(
        f"incremental refresh after 10 changes: {incremental.report.requests} request(s) in "
        f"{incremental_seconds:.2f} s {'ok' if incremental.report.requests <= 3 else 'OVER'}"
    )
    f = result.frames
    revenue_book = Book(
        f["subscriptions"],
        f["subscription_items"],
        f["discounts"],
        f["invoice_lines"],
        f["customers"],
        f.get("schedule_phases"),
    )
    settings = RevenueSettings(fx=(("eur", 1.08),))
    invoice_lines = f["invoice_lines"]
    floor, _ = best_of(5, lambda: invoice_lines.groupby("customer_id")["amount"].sum())
    seconds, metrics = best_of(3, lambda: compute_revenue(revenue_book, settings, AS_OF))
    print(f"MRR {metrics.mrr:,.0f}, net new {metrics.movements.net_new:,.0f}")
    ok = report("every revenue metric", seconds, floor, 5.0)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0 if ok and result.report.requests == expected else 1


if __name__ == "__main__":
    sys.exit(main())
