"""Vectorised parsing of the timestamps, durations and numbers found in exports (pyarrow first)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
)
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M%z")


def normalise_header(name: str) -> str:
    """Lower case, single spaces, no underscores or BOM: how aliases are compared."""
    return re.sub(r"[\s_]+", " ", name.replace("\ufeff", "")).strip().lower()


def _strings(values: pd.Series) -> pa.Array:
    """The values as a trimmed arrow string array (nulls for blanks)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    array = pa.array(values.array, type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _by_fit(text: pa.Array, formats: tuple[str, ...]) -> list[str]:
    """Formats ordered by how many of the first 500 values they parse (most first)."""
    sample = pc.drop_null(text)[:500]
    hits = {fmt: pc.count(pc.strptime(sample, format=fmt, unit="us", error_is_null=True)).as_py() for fmt in formats}
    return [fmt for fmt in sorted(formats, key=lambda f: -hits[f]) if hits[fmt] or len(sample) == 500]


def _coalesce_times(text: pa.Array, formats: tuple[str, ...], aware: bool) -> pa.Array:
    result = pa.nulls(len(text), pa.timestamp("us", tz="UTC" if aware else None))
    for fmt in _by_fit(text, formats):
        missing = pc.and_(pc.is_null(result), pc.is_valid(text))
        if not pc.any(missing).as_py():
            break
        parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        if aware:
            parsed = parsed.cast(pa.timestamp("us", tz="UTC"))
        result = pc.coalesce(result, parsed)
    return result


def parse_times(values: pd.Series, timezone: str = "UTC") -> tuple[pd.Series, pd.Series]:
    """Parse timestamp text to UTC; naive times are in `timezone`. Returns (times, bad mask)."""
    text = _strings(values)
    present = pd.Series(pc.is_valid(text).to_numpy(zero_copy_only=False), index=values.index)
    naive = pd.Series(_coalesce_times(text, _NAIVE_FORMATS, False).to_pandas().to_numpy(), index=values.index)
    naive = naive.astype("datetime64[us]")
    if timezone == "UTC":
        result = naive.dt.tz_localize("UTC")
    else:
        result = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    result = result.astype("datetime64[us, UTC]")
    if (present & result.isna()).any():
        aware = _coalesce_times(text, _AWARE_FORMATS, True).to_pandas()
        aware.index = values.index
        result = result.fillna(aware.astype("datetime64[us, UTC]"))
    leftover = present & result.isna()
    if leftover.any():
        result = result.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for index, raw in values[leftover].items():
                stamp = pd.to_datetime(str(raw).strip(), errors="coerce")
                if stamp is not pd.NaT and not pd.isna(stamp):
                    stamp = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp
                    result.loc[index] = stamp.tz_convert("UTC")
    return result, present & result.isna()


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers that may carry thousands separators; returns (floats, bad mask)."""
    text = _strings(values)
    present = pd.Series(pc.is_valid(text).to_numpy(zero_copy_only=False), index=values.index)
    cleaned = pc.replace_substring(text, ",", "")
    try:
        numbers = pd.Series(pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False), index=values.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(pd.Series(cleaned.to_pandas().to_numpy(), index=values.index), errors="coerce")
    numbers = numbers.astype(float)
    return numbers, present & numbers.isna()


def parse_hms_minutes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`HH:MM:SS` (hours may exceed 24) or a plain number of hours → minutes; returns (minutes, bad)."""
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    parts = text.str.extract(r"^(-?\d+):(\d{1,2})(?::(\d{1,2}))?$")
    hours = pd.to_numeric(parts[0], errors="coerce")
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0)
    minutes = hours * 60 + pd.to_numeric(parts[1], errors="coerce") + seconds / 60
    plain = pd.to_numeric(text, errors="coerce") * 60
    result = minutes.where(minutes.notna(), plain).astype(float)
    return result, present & result.isna()


_ARROW_TYPES = {"float64": pa.float64(), "boolean": pa.bool_(), "string": pa.string()}


def map_unique(values: pd.Series, convert: Callable[[str], Any], dtype: str) -> pd.Series:
    """Apply a Python function once per distinct value (fast for low-cardinality columns)."""
    encoded = pc.dictionary_encode(_strings(values))
    mapped = pa.array([convert(u) for u in encoded.dictionary.to_pylist()], type=_ARROW_TYPES[dtype])
    taken = pc.take(mapped, encoded.indices)
    if dtype == "float64":
        return pd.Series(taken.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")
    return pd.Series(taken.to_pandas(), dtype=dtype).set_axis(values.index)
