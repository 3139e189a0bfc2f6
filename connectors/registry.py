"""The one list of connectors: each source type, the config keys it takes, the Snapshot sections it feeds and how
it is read. Config, pipeline and panes read this; none of them lists source types."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# a config key's kind of value, checked by the config reader: string, duration, count, bytes, timezone,
# date_order, score_values, string_table


@dataclass(frozen=True)
class Connector:
    """A source type: its config keys (key → kind of value), the keys it needs, its own section (the pane that shows
    its figures), the other sections that read its tables (`also_feeds`: cross-source figures) and its reader
    (`module:name`: a `load(options)` function for files, which are their own storage; a class whose instances
    `load()` again and again for an API, whose tables the store keeps)."""

    type: str
    section: str
    reader: str
    keys: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    reads_files: bool = True
    keeps_tables: bool = False  # the store keeps its tables (a billing book), for a restart to draw at once
    default_refresh: float | None = None  # seconds between refreshes where the app's default does not fit
    variants: tuple[Connector, ...] = ()  # the same type read another way, chosen by the first key it requires
    also_feeds: tuple[str, ...] = ()

    @property
    def feeds(self) -> tuple[str, ...]:
        """Every section that reads this connector's tables, its own first."""
        return (self.section, *self.also_feeds)

    def load_function(self) -> Callable[..., Any]:
        """The reader itself, imported on first use (connectors import pandas, pyarrow or httpx)."""
        module, name = self.reader.split(":")
        return getattr(importlib.import_module(module), name)

    def resolve(self, options: Mapping[str, Any]) -> Connector:
        """The variant a source's options choose (by the key it requires first), else this connector."""
        return next((v for v in self.variants if v.required[0] in options), self)


_FILE_KEYS = {"path": "string", "timezone": "timezone"}
_TABLE_KEYS = {**_FILE_KEYS, "date_order": "date_order", "columns": "string_table"}
_EVENTS_FEED = ("engagement", "customers", "acquisition")  # events: engagement, usage, sign-ups

CONNECTORS: dict[str, Connector] = {
    c.type: c
    for c in (
        Connector(
            "stripe",
            "revenue",
            "connectors.stripe:StripeSource",
            {
                "api_key_env": "string",
                "api_key": "string",
                "base_url": "string",
                "stripe_version": "string",
                "timeout": "duration",
                "max_retries": "count",
            },
            reads_files=False,
            keeps_tables=True,
            also_feeds=("customers", "acquisition"),
        ),
        Connector(
            "ga4",
            "funnel",
            "connectors.ga4:load",
            _FILE_KEYS,
            ("path",),
            variants=(
                Connector(
                    "ga4",
                    "funnel",
                    "connectors.bigquery:BigQuerySource",
                    {
                        "bigquery": "string",
                        "maximum_bytes_billed": "bytes",
                        "location": "string",
                        "billing_project": "string",
                        "timezone": "timezone",
                        "timeout": "duration",
                    },
                    ("bigquery", "maximum_bytes_billed"),
                    reads_files=False,
                    default_refresh=6 * 3600.0,  # GA4 writes a daily table once a day; a refresh costs money
                    also_feeds=_EVENTS_FEED,
                ),
            ),
            also_feeds=_EVENTS_FEED,
        ),
        Connector(
            "tickets",
            "support",
            "connectors.tickets:load",
            {**_TABLE_KEYS, "customer_column": "string"},
            ("path",),
            also_feeds=("customers",),
        ),
        Connector(
            "nps",
            "nps",
            "connectors.nps:load",
            {
                **_TABLE_KEYS,
                "score_column": "string",
                "score_values": "score_values",  # "positions": SurveyMonkey's numerical-value export
                "comment_column": "string",
                "date_column": "string",
                "segment_column": "string",
                "customer_column": "string",
            },
            ("path",),
            also_feeds=("customers",),
        ),
        Connector(
            "spend",
            "acquisition",
            "connectors.spend:load",
            {
                "path": "string",
                "date_order": "date_order",
                "columns": "string_table",
                "channel": "string",  # every row's channel, where the export does not say it
                "currency": "string",  # every row's currency, where the export does not say it
            },
            ("path",),
        ),
    )
}
SECTION_OF = {kind: connector.section for kind, connector in CONNECTORS.items()}  # source type → its own section
# sections computed after every source's own, in this order (acquisition reads revenue's and engagement's figures)
LATER_SECTIONS = ("engagement", "customers", "acquisition")
SECTIONS = (*(s for s in dict.fromkeys(SECTION_OF.values()) if s not in LATER_SECTIONS), *LATER_SECTIONS)


def feeds(kind: str, section: str) -> bool:
    """Whether a source type's tables feed a section (its own or a cross-source one)."""
    connector = CONNECTORS.get(kind)
    return connector is not None and section in connector.feeds
