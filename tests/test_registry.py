"""One registry of connectors: config, pipeline and panes take source types, keys and sections from it."""

from __future__ import annotations

import pytest

from connectors import registry
from connectors.registry import CONNECTORS, Connector
from kpitui.config import ConfigError, parse_config
from kpitui.pipeline import read_source


def test_every_connector_has_a_reader_and_checked_keys():
    for connector in CONNECTORS.values():
        assert callable(connector.load_function())
        config = parse_config({"sources": {"s": {"type": connector.type, **{k: "x" for k in connector.required}}}})
        assert config.sources["s"].type == connector.type


def test_a_registered_type_is_configured_and_read_through_the_registry(tmp_path, monkeypatch):
    """A new file connector needs one registry entry: the config takes its keys, the pipeline reads it."""
    csv = tmp_path / "t.csv"
    csv.write_text("Id,Created at,Status\n1,2026-11-20 10:00,Open\n")
    tickets = CONNECTORS["tickets"]
    extra = Connector("helpdesk", "support", tickets.reader, {"path": "string", "team": "string"}, ("path",))
    monkeypatch.setitem(registry.CONNECTORS, "helpdesk", extra)
    monkeypatch.setitem(registry.SECTION_OF, "helpdesk", "support")
    config = parse_config({"sources": {"desk": {"type": "helpdesk", "path": str(csv), "team": "EU"}}})
    result, signature = read_source(config.sources["desk"])
    assert result.report.rows == 1 and signature[0][0] == str(csv)
    with pytest.raises(ConfigError, match=r"\[sources.desk\] team: expected a string"):
        parse_config({"sources": {"desk": {"type": "helpdesk", "path": str(csv), "team": 3}}})
    with pytest.raises(ConfigError, match=r"\[sources.desk\] path: missing"):
        parse_config({"sources": {"desk": {"type": "helpdesk"}}})
