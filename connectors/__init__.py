"""Connectors: read a source, return canonical frames and a report."""

from connectors.base import ConnectorError, SkippedRow, SourceReport, SourceResult

__all__ = ["ConnectorError", "SkippedRow", "SourceReport", "SourceResult"]
