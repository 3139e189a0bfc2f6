"""The canonical tables as pandas frames (connectors/schemas.py): fixed columns, UTC times, string ids, text as
`string`."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from connectors.base import PARAM_PREFIX
from connectors.schemas import ANY, BOOL, FLOAT, INT, SCHEMAS, STR, TEXT, TIME


def _coerce(series: pd.Series, kind: str) -> pd.Series:
    if kind == TIME:
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
        return pd.to_datetime(series, utc=True, errors="coerce")
    if kind == STR:
        return series.astype("string")
    if kind == FLOAT:
        return series if series.dtype == "float64" else pd.to_numeric(series, errors="coerce").astype(float)
    if kind == INT:
        if series.dtype == "Int64":
            return series
        numbers = series if pd.api.types.is_float_dtype(series) else pd.to_numeric(series, errors="coerce")
        return numbers.astype("Int64")
    if kind == BOOL:
        return series.astype("boolean")
    return series


def stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames of one kind one after another."""
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


_DTYPES = {
    TIME: "datetime64[us, UTC]",
    STR: "string",
    FLOAT: "float64",
    INT: "Int64",
    BOOL: "boolean",
    ANY: "object",
}
_NULL = {TIME: pd.NaT, STR: pd.NA, FLOAT: float("nan"), INT: pd.NA, BOOL: pd.NA, ANY: None}


def _nulls(kind: str, index: pd.Index) -> pd.Series:
    """A column of nulls of this kind (strings straight from arrow: a scalar fill is slow for them)."""
    if kind == STR:
        return pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(index), TEXT)), index=index, copy=False)
    return pd.Series(_NULL[kind], index=index, dtype=_DTYPES[kind])


def conform(name: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame with the schema's columns (missing ones null) and types; extra columns dropped except `param.*`."""
    schema = SCHEMAS[name]
    frame = pd.DataFrame() if frame is None else frame
    columns = {}
    for column, kind in schema.items():
        if column in frame:
            columns[column] = _coerce(frame[column], kind)
        else:
            columns[column] = _nulls(kind, frame.index)
    for column in frame.columns:
        if str(column).startswith(PARAM_PREFIX):
            columns[column] = _coerce(frame[column], STR)
    return pd.DataFrame(columns, index=frame.index, copy=False).reset_index(drop=True)


def empty(name: str) -> pd.DataFrame:
    """An empty frame with the schema's columns and types."""
    return conform(name, None)
