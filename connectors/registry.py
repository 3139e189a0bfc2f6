"""The one list of connectors: each source type, the config keys it takes, the Snapshot section it feeds and how
it is read. Config, pipeline and panes read this; none of them lists source types."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# a config key's kind of value, checked by the config reader: string, duration, count, bytes, timezone,
# date_order, string_table


@dataclass(frozen=True)
class Connector:
    """A source type: its config keys (key → kind of value), the keys it needs, the section it feeds and its reader
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

    def load_function(self) -> Callable[..., Any]:
        """The reader itself, imported on first use (connectors import pandas, pyarrow or httpx)."""
        module, name = self.reader.split(":")
        return getattr(importlib.import_module(module), name)

    def resolve(self, options: Mapping[str, Any]) -> Connector:
        """The variant a source's options choose (by the key it requires first), else this connector."""
        return next((v for v in self.variants if v.required[0] in options), self)


_FILE_KEYS = {"path": "string", "timezone": "timezone"}
_TABLE_KEYS = {**_FILE_KEYS, "date_order": "date_order", "columns": "string_table"}

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
                ),
            ),
        ),
        Connector("tickets", "support", "connectors.tickets:load", _TABLE_KEYS, ("path",)),
        Connector(
            "nps",
            "nps",
            "connectors.nps:load",
            {
                **_TABLE_KEYS,
                "score_column": "string",
                "comment_column": "string",
                "date_column": "string",
                "segment_column": "string",
            },
            ("path",),
        ),
    )
}
SECTION_OF = {kind: connector.section for kind, connector in CONNECTORS.items()}  # source type → its section
SECTIONS = tuple(dict.fromkeys(SECTION_OF.values()))  # the sections sources feed


def types_feeding(section: str) -> set[str]:
    """The source types whose tables feed a section."""
    return {kind for kind, fed in SECTION_OF.items() if fed == section}
