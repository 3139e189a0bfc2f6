"""Currency helpers: minor units, zero-decimal currencies and FX to the reporting currency."""

from __future__ import annotations

import pandas as pd

from kpitui.metrics import MetricsError

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())


def minor_per_major(currency: str) -> int:
    """How many minor units make one major unit of the currency."""
    if currency in ZERO_DECIMAL:
        return 1
    if currency in THREE_DECIMAL:
        return 1000
    return 100


def to_reporting(amounts: pd.Series, currencies: pd.Series, reporting: str, fx: dict[str, float]) -> pd.Series:
    """Convert minor-unit amounts in mixed currencies to major units of `reporting`."""
    factors = {}
    for currency in currencies.dropna().unique():
        code = str(currency).lower()
        if code == reporting:
            rate = 1.0
        elif code in fx:
            rate = fx[code]
        else:
            raise MetricsError(
                f"no [fx] rate for {code}; add e.g. {code} = 1.0 under [fx] (units of {reporting} per {code})"
            )
        factors[currency] = rate / minor_per_major(code)
    return amounts * currencies.map(factors).astype(float)
