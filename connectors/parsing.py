"""Vectorised parsing of the timestamps, durations and numbers found in exports."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

_FORMATS = ("ISO8601", "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M")


def normalise_header(name: str) -> str:
    """Lower case, single spaces, no underscores or BOM: how aliases are compared."""
    return re.sub(r"[\s_]+", " ", name.replace("\ufeff", "")).strip().lower()


def parse_times(values: pd.Series, timezone: str = "UTC") -> tuple[pd.Series, pd.Series]:
    """Parse mixed timestamp text to UTC; naive times are in `timezone`. Returns (times, bad mask)."""
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    remaining = present.copy()
    for fmt in _FORMATS:
        if not remaining.any():
            break
        chunk = text[remaining]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(chunk, format=fmt, errors="coerce", utc=False)
        parsed = _to_utc(parsed, chunk, timezone)
        ok = parsed.notna()
        result.loc[ok[ok].index] = parsed[ok]
        remaining &= result.isna()
    if remaining.any():
        chunk = text[remaining]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.Series([pd.to_datetime(v, errors="coerce") for v in chunk], index=chunk.index, dtype=object)
        for idx, ts in parsed.items():
            if ts is not pd.NaT and ts is not None and not pd.isna(ts):
                ts = ts.tz_localize(timezone) if ts.tzinfo is None else ts
                result.loc[idx] = ts.tz_convert("UTC")
    return result, present & result.isna()


def _to_utc(parsed: pd.Series, text: pd.Series, timezone: str) -> pd.Series:
    """Localise naive results to `timezone` and convert everything to UTC."""
    if parsed.dtype == object:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        return parsed
    if getattr(parsed.dt, "tz", None) is None:
        return parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    return parsed.dt.tz_convert("UTC")


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers that may carry thousands separators; returns (floats, bad mask)."""
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    present = text.notna() & (text != "")
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers, present & numbers.isna()


def parse_hms_minutes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`HH:MM:SS` (hours may exceed 24) or a plain number of hours → minutes; returns (minutes, bad)."""
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    parts = text.str.extract(r"^(-?\d+):(\d{1,2})(?::(\d{1,2}))?$")
    hours = pd.to_numeric(parts[0], errors="coerce")
    minutes = (
        hours * 60 + pd.to_numeric(parts[1], errors="coerce") + pd.to_numeric(parts[2], errors="coerce").fillna(0) / 60
    )
    plain = pd.to_numeric(text, errors="coerce") * 60
    result = minutes.where(minutes.notna(), plain).astype(float)
    return result, present & result.isna()


def first_line_numbers(mask: pd.Series) -> np.ndarray:
    """The index labels (file line numbers) where mask is true."""
    return np.asarray(mask[mask].index)
