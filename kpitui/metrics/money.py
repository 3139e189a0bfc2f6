"""Currency helpers: minor units, zero-decimal currencies and FX to the reporting currency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpitui.metrics import MetricsError

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
MONTHS_PER_INTERVAL = {"month": 1.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}  # months in one billing interval


def minor_per_major(currency: str) -> int:
    """How many minor units make one major unit of the currency."""
    if currency in ZERO_DECIMAL:
        return 1
    if currency in THREE_DECIMAL:
        return 1000
    return 100


def exchange_rates(currencies: pd.Series, reporting: str, fx: dict[str, float], minor: bool = False) -> np.ndarray:
    """Per row: units of `reporting` per unit of its currency (null: the reporting currency); with `minor`, per
    minor unit of it. A currency without an `[fx]` rate is an error naming it."""
    codes = currencies.fillna(reporting).astype(str).str.lower()
    factors = {}
    for code in codes.unique():
        if code == reporting:
            rate = 1.0
        elif code in fx:
            rate = fx[code]
        else:
            raise MetricsError(
                f"no [fx] rate for {code}; add e.g. {code} = 1.0 under [fx] (units of {reporting} per {code})"
            )
        factors[code] = rate / minor_per_major(code) if minor else rate
    return codes.map(factors).to_numpy(dtype=float)


def conversion_factors(currencies: pd.Series, reporting: str, fx: dict[str, float]) -> np.ndarray:
    """Per row: the factor turning minor units of its currency into major units of `reporting`."""
    return exchange_rates(currencies, reporting, fx, minor=True)
