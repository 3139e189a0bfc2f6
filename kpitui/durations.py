"""Parse and print the short durations used in the config ("5m", "24h", "30d")."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_PERIOD = re.compile(r"^\s*(\d+)\s*(d|w|m|y)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PERIOD_DAYS = {"d": 1, "w": 7, "m": 365 / 12, "y": 365}


def parse_duration(text: str) -> float:
    """Seconds in a duration like `90s`, `5m`, `4h`, `30d`, `2w`; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_period(text: str) -> int:
    """Days in a reporting period like `7d`, `30d`, `90d`, `12m` (months), `1y`."""
    match = _PERIOD.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a period: {text!r}")
    return round(int(match.group(1)) * _PERIOD_DAYS[match.group(2)])


def format_period(days: int) -> str:
    """The short label for a period in days (365 days reads as 12m)."""
    return "12m" if days == 365 else f"{days}d"


def format_seconds(seconds: float) -> str:
    """A compact interval label: 45s, 5m, 2h, 3d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{int(seconds)}s"
