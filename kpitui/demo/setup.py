"""Start demo mode: write the export files, serve the billing API, and describe it as a Config."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from kpitui.config import Config, FunnelConfig, FunnelStep, SourceConfig
from kpitui.demo.billing_api import BillingServer
from kpitui.demo.billing_book import build_book
from kpitui.demo.exports import write_delighted, write_ga4_ndjson, write_spend, write_zendesk

DEMO_SEED = 20261122
DEMO_KEY = "sk_test_demo_key_0000"
_LAYOUT = 2  # the demo files' generation: a new one writes new files beside older demos' cached ones
UNUSED_FOR = timedelta(days=7)  # a demo data set (exports, store) unused for this long is deleted by the next demo


@dataclass
class Demo:
    """A running demo: its config and the billing server to stop at exit."""

    config: Config
    server: BillingServer
    name: str  # the data set's (`demo_name`)

    def stop(self) -> None:
        """Stop the billing API."""
        self.server.stop()


def demo_name(as_of: date, seed: int) -> str:
    """One demo data set's name (its files' generation, seed and day): its files and its history store go by it."""
    return f"demo-{_LAYOUT}-{seed}-{as_of.isoformat()}"


def demo_dir(as_of: date, seed: int) -> Path:
    """Where this demo's files live (the user cache dir)."""
    from platformdirs import user_cache_path

    return user_cache_path("kpitui") / demo_name(as_of, seed)


def prune_unused(directory: Path, pattern: str, keep: str) -> None:
    """Delete what `pattern` matches in `directory` and was last used over a week ago, but for `keep`'s (a name
    prefix): each demo day is a data set of its own (13 MB of exports, a store), and they would pile up."""
    unused_since = time.time() - UNUSED_FOR.total_seconds()
    for path in directory.glob(pattern):
        try:
            if path.name.startswith(keep) or path.stat().st_mtime >= unused_since:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: left as it is


def start_demo(as_of: date, seed: int = DEMO_SEED, directory: Path | None = None) -> Demo:
    """Write the demo exports (once per seed and day, in the user cache dir unless `directory` is given, deleting
    other days' there unused for a week) and start the billing API on loopback."""
    cached = directory is None
    directory = directory or demo_dir(as_of, seed)
    directory.mkdir(parents=True, exist_ok=True)
    book = build_book(seed, as_of)
    emails = [c["email"] for c in book.customers]
    files = {
        "tickets": (directory / "zendesk-tickets.csv", partial(write_zendesk, customers=emails)),
        "nps": (directory / "delighted-responses.csv", partial(write_delighted, customers=emails)),
        "ga4": (directory / "ga4-events.ndjson", partial(write_ga4_ndjson, customers=emails)),
        "spend": (directory / "ad-spend.csv", write_spend),
    }
    for offset, (path, write) in enumerate(files.values()):
        if not path.exists():
            unfinished = path.with_suffix(".partial")
            write(unfinished, seed + offset, as_of)
            unfinished.replace(path)
    if cached:
        os.utime(directory)  # used now
        prune_unused(directory.parent, "demo-*", directory.name)
    server = BillingServer(book, api_key=DEMO_KEY).start()
    sources = {
        "billing": SourceConfig("billing", "stripe", 300.0, {"base_url": server.base_url, "api_key": DEMO_KEY}),
        "web": SourceConfig("web", "ga4", 300.0, {"path": str(files["ga4"][0])}),
        "support": SourceConfig("support", "tickets", 120.0, {"path": str(files["tickets"][0]), "timezone": "UTC"}),
        "survey": SourceConfig("survey", "nps", 600.0, {"path": str(files["nps"][0])}),
        "ads": SourceConfig("ads", "spend", 3600.0, {"path": str(files["spend"][0])}),
    }
    config = Config(
        sources=sources,
        fx={"eur": 1.08},
        funnel=FunnelConfig(
            steps=tuple(FunnelStep(n, n) for n in ("session_start", "sign_up", "begin_checkout", "purchase")),
            window=30 * 86400.0,
        ),
        sla_minutes={"urgent": 60.0, "high": 240.0, "normal": 1440.0, "low": 2880.0},
    )
    return Demo(config, server, demo_name(as_of, seed))
