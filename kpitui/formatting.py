"""Human formats for numbers, money, rates, durations and ages; never imports textual."""

from __future__ import annotations

from datetime import datetime

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}
DASH = "—"


def money(value: float | None, currency: str = "usd", compact: bool = False) -> str:
    """`$117,989` or compact `$118.0k`; a dash for null."""
    if value is None:
        return DASH
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    sign = "-" if value < 0 else ""
    value = abs(value)
    if compact and value >= 10_000:
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if value >= size:
                return f"{sign}{symbol}{value / size:.1f}{suffix}"
    return f"{sign}{symbol}{value:,.0f}"


def interval(name: str) -> str:
    """A billing interval as people say it: `month` → `monthly`, `3 months` stays."""
    return {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}.get(name, f"every {name}")


def percent(value: float | None, digits: int = 1) -> str:
    """0.052 → `5.2%`."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 0) -> str:
    """Thousands separators; a dash for null."""
    return DASH if value is None else f"{value:,.{digits}f}"


def counted(count: int, noun: str) -> str:
    """`1 promoter`, `1,204 promoters`: a count and its noun."""
    return f"{number(count)} {noun}{'' if count == 1 else 's'}"


def minutes(value: float | None) -> str:
    """Minutes as `45m`, `3h 20m` or `2d 4h`."""
    if value is None:
        return DASH
    total = round(value)
    if total < 60:
        return f"{total}m"
    if total < 24 * 60:
        return f"{total // 60}h {total % 60:02d}m"
    return f"{total // 1440}d {(total % 1440) // 60}h"


def age(then: datetime | None, now: datetime) -> str:
    """How long ago, in words: `just now`, `4 min ago`, `3 h ago`, `2 d ago`."""
    if then is None:
        return "never"
    seconds = max((now - then).total_seconds(), 0)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} d ago"


def change(current: float | None, previous: float | None, kind: str = "relative") -> tuple[str, int]:
    """`▲ 4.2%` and its direction (1 up, -1 down, 0 flat or unknown)."""
    if current is None or previous is None:
        return "", 0
    delta = current - previous
    direction = (delta > 0) - (delta < 0)
    arrow = {1: "▲", -1: "▼", 0: "■"}[direction]
    if kind == "points":
        return f"{arrow} {abs(delta):.1f} pts", direction
    if kind == "rate":
        return f"{arrow} {abs(delta) * 100:.1f} pp", direction
    if previous == 0:
        return f"{arrow} new", direction
    return f"{arrow} {abs(delta) / abs(previous) * 100:.1f}%", direction
