"""Vectorised parsing of the timestamps, durations and numbers found in exports (pyarrow first)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connectors.schemas import TEXT
from connectors.sql_text import AWARE_FORMATS as _AWARE_FORMATS
from connectors.sql_text import DAY_FIRST as _DAY_FIRST
from connectors.sql_text import DAY_SECOND as _DAY_SECOND
from connectors.sql_text import MONTH_FIRST as _MONTH_FIRST
from connectors.sql_text import NAIVE_FORMATS as _NAIVE_FORMATS
from connectors.sql_text import SLASH_DATE
from connectors.sql_text import STARTS_WITH_DAY as _STARTS_WITH_DAY

_SLASH_DATE = re.compile(SLASH_DATE)


Column = pd.Series | pa.Array | pa.ChunkedArray


def _arrow(values: Column) -> pa.Array:
    """The values as one arrow array."""
    if isinstance(values, pd.Series):
        if not isinstance(values.dtype, pd.StringDtype):
            values = values.astype("string")
        values = pa.array(values.array, type=TEXT)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values


def string_series(array: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An arrow array as a pandas `string` Series without copying through Python objects."""
    return pd.Series(pd.arrays.ArrowStringArray(pc.cast(array, TEXT)))


def _index(values: Column) -> pd.Index:
    """The pandas index results are given: the input's, or positions for arrow input."""
    return values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(values))


def trimmed(values: Column) -> pa.Array:
    """The values as a trimmed arrow string array (nulls for blanks)."""
    array = _arrow(values)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(TEXT)
    array = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)


_ISO_LIKE = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}


def _naive_formats(text: pa.Array, order: str | None) -> tuple[str, ...]:
    """The naive formats for a column of trimmed text, with slash dates in one order: the source's `date_order`
    setting, else day-first when some value starts with a number over 12, else month-first."""
    if order is None:
        order = "day-first" if pc.any(pc.match_substring_regex(text, _STARTS_WITH_DAY)).as_py() else "month-first"
    other = _MONTH_FIRST if order == "day-first" else _DAY_FIRST
    return tuple(fmt for fmt in _NAIVE_FORMATS if fmt not in other)


def unsettled_date_order(values: Column, parsers: tuple[str, ...]) -> bool:
    """Whether a date column's slash dates read as well day-first as month-first (no number over 12 in either
    place): only the source's `date_order` setting can tell. `values` is the column as read: text, or naive
    times when the typed read used `parsers`."""
    array = _arrow(values)
    if pa.types.is_timestamp(array.type):
        month_first = any(isinstance(parser, str) and parser in _MONTH_FIRST for parser in parsers)
        return month_first and (pc.max(pc.day(array)).as_py() or 0) <= 12
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return False  # numbers (Unix seconds): no slash dates
    text = trimmed(array)
    found = [
        pc.any(pc.match_substring_regex(text, pattern)).as_py()
        for pattern in (_SLASH_DATE.pattern, _STARTS_WITH_DAY, _DAY_SECOND)
    ]
    return found == [True, False, False]


def timestamp_parsers(values: Column, order: str | None = None) -> tuple[str, ...]:
    """pyarrow CSV timestamp parsers for the naive formats that read a sample of the values, best first.

    ISO-like formats are left to pyarrow's own ISO 8601 parser, which is much faster than strptime. Slash dates
    get one order (see `_naive_formats`), so a later value in the other order fails the typed read instead of
    being read in it.
    """
    text = trimmed(values)
    hits = _hits(text, _naive_formats(text, order))
    found = [fmt for fmt in sorted(hits, key=lambda f: -hits[f]) if hits[fmt]]
    others = tuple(fmt for fmt in found if fmt not in _ISO_LIKE)
    return (pacsv.ISO8601, *others) if len(others) < len(found) else others


def _hits(text: pa.Array, formats: tuple[str, ...]) -> dict[str, int]:
    """How many of the first 500 values each format parses."""
    sample = pc.drop_null(text)[:500]
    return {fmt: pc.count(pc.strptime(sample, format=fmt, unit="us", error_is_null=True)).as_py() for fmt in formats}


def _by_fit(text: pa.Array, formats: tuple[str, ...]) -> list[str]:
    """Formats ordered by how many of the first 500 values they parse (most first); all of them for a full sample."""
    hits = _hits(text, formats)
    full = len(text) - text.null_count >= 500
    return [fmt for fmt in sorted(formats, key=lambda f: -hits[f]) if hits[fmt] or full]


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


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    """Naive wall times in `timezone` → UTC."""
    naive = naive.astype("datetime64[us]")
    if timezone == "UTC":
        return naive.dt.tz_localize("UTC")
    return naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")


def parse_times(values: Column, timezone: str = "UTC", order: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse timestamp text to UTC; naive times are in `timezone`, slash dates in one `order` for the whole
    column (see `_naive_formats`). Returns (times, bad mask)."""
    index = _index(values)
    array = _arrow(values)
    if pa.types.is_timestamp(array.type) and array.type.tz is None:
        result = _localize(pd.Series(array.to_numpy(zero_copy_only=False), index=index, copy=False), timezone)
        return result.astype("datetime64[us, UTC]"), pd.Series(False, index=index)
    text = trimmed(array)
    present = pd.Series(pc.is_valid(text).to_numpy(zero_copy_only=False), index=index, copy=False)
    formats = _naive_formats(text, order)
    naive = pd.Series(_coalesce_times(text, formats, False).to_pandas().to_numpy(), index=index, copy=False)
    result = _localize(naive, timezone).astype("datetime64[us, UTC]")
    if (present & result.isna()).any():
        aware = _coalesce_times(text, _AWARE_FORMATS, True).to_pandas()
        aware.index = index
        result = result.fillna(aware.astype("datetime64[us, UTC]"))
    leftover = present & result.isna()
    if leftover.any():
        result = result.copy()
        raw_values = pd.Series(text.to_pandas().to_numpy(), index=index, copy=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for position, raw in raw_values[leftover].items():
                if _SLASH_DATE.match(str(raw)):
                    continue  # a slash date the column's order cannot read: guessing would mix orders
                stamp = pd.to_datetime(str(raw).strip(), errors="coerce")
                if stamp is not pd.NaT and not pd.isna(stamp):
                    stamp = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp
                    result.loc[position] = stamp.tz_convert("UTC")
    return result, present & result.isna()


def parse_numbers(values: Column) -> tuple[pd.Series, pd.Series]:
    """Parse numbers that may carry thousands separators; returns (floats, bad mask)."""
    index = _index(values)
    array = _arrow(values)
    if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
        numbers = pd.Series(array.cast(pa.float64()).to_numpy(zero_copy_only=False), index=index, copy=False)
        return numbers, pd.Series(False, index=index)
    text = trimmed(array)
    present = pd.Series(pc.is_valid(text).to_numpy(zero_copy_only=False), index=index, copy=False)
    cleaned = pc.replace_substring(text, ",", "")
    try:
        numbers = pd.Series(pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False), index=index, copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(pd.Series(cleaned.to_pandas().to_numpy(), index=index, copy=False), errors="coerce")
    numbers = numbers.astype(float)
    return numbers, present & numbers.isna()


def unix_times(seconds: pa.Array | pa.ChunkedArray) -> tuple[pd.Series, pd.Series] | None:
    """Numbers that are mostly plausible Unix seconds (1973–2286) as UTC times, and the mask of those that are
    not; None when most are not."""
    bounds = pc.min_max(seconds).as_py()
    if bounds["min"] is None:
        return None
    bad = pa.nulls(len(seconds), pa.bool_())  # null: none bad
    if bounds["min"] < 1e8 or bounds["max"] > 1e10:
        bad = pc.invert(pc.and_(pc.greater_equal(seconds, 1e8), pc.less_equal(seconds, 1e10)))
        if pc.sum(bad).as_py() * 2 > len(seconds) - seconds.null_count:
            return None
        seconds = pc.if_else(bad, None, seconds)
    micros = pc.multiply(seconds, 1_000_000)
    if pa.types.is_floating(seconds.type):
        micros = pc.round(micros)
    stamps = micros.cast(pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    mask = bad.fill_null(False).to_numpy(zero_copy_only=False)
    return pd.Series(stamps.to_pandas(), copy=False).astype("datetime64[us, UTC]"), pd.Series(mask, copy=False)


def parse_hms_minutes(values: Column) -> tuple[pd.Series, pd.Series]:
    """`HH:MM:SS` (hours may exceed 24) or a plain number of hours → minutes; returns (minutes, bad)."""
    text = pd.Series(trimmed(values).to_pandas().to_numpy(), index=_index(values), dtype="string")
    present = text.notna() & (text != "")
    parts = text.str.extract(r"^(-?\d+):(\d{1,2})(?::(\d{1,2}))?$")
    hours = pd.to_numeric(parts[0], errors="coerce")
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0)
    minutes = hours * 60 + pd.to_numeric(parts[1], errors="coerce") + seconds / 60
    plain = pd.to_numeric(text, errors="coerce") * 60
    result = minutes.where(minutes.notna(), plain).astype(float)
    return result, present & result.isna()


_ARROW_TYPES = {"float64": pa.float64(), "boolean": pa.bool_(), "string": TEXT}


def map_unique(values: Column, convert: Callable[[str], Any], dtype: str) -> pd.Series:
    """Apply a Python function once per distinct value (fast for low-cardinality columns)."""
    array = _arrow(values)
    encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
    mapped = pa.array([convert(u) for u in encoded.dictionary.to_pylist()], type=_ARROW_TYPES[dtype])
    taken = pc.take(mapped, encoded.indices)
    if dtype == "float64":
        return pd.Series(taken.to_numpy(zero_copy_only=False), index=_index(values), dtype="float64", copy=False)
    return pd.Series(taken.to_pandas(), dtype=dtype).set_axis(_index(values))
