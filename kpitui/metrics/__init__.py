"""Pure KPI functions: frames in, frozen dataclasses out; no I/O, no clock, no UI."""


class MetricsError(Exception):
    """The data cannot produce a figure (e.g. a missing FX rate); the message says why."""
