"""The canonical frames of DESIGN.md section 3: fixed columns, UTC times, string ids, text as `string`."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from connectors.base import PARAM_PREFIX
from connectors.parsing import TEXT

TIME = "time"
STR = "str"
INT = "int"
FLOAT = "float"
BOOL = "bool"
ANY = "any"

SCHEMAS: dict[str, dict[str, str]] = {
    "customers": {"customer_id": STR, "name": STR, "email": STR, "created": TIME, "metadata": STR},
    "subscriptions": {
        "subscription_id": STR,
        "customer_id": STR,
        "status": STR,
        "status_since": TIME,
        "currency": STR,
        "created": TIME,
        "start": TIME,
        "trial_start": TIME,
        "trial_end": TIME,
        "current_period_start": TIME,
        "current_period_end": TIME,
        "cancel_at_period_end": BOOL,
        "cancel_at": TIME,
        "canceled_at": TIME,
        "ended_at": TIME,
    },
    "subscription_items": {
        "subscription_id": STR,
        "item_id": STR,
        "price_id": STR,
        "product_id": STR,
        "product_name": STR,
        "price_nickname": STR,
        "unit_amount": FLOAT,
        "quantity": FLOAT,
        "interval": STR,
        "interval_count": FLOAT,
        "usage_type": STR,
        "tiers_mode": STR,
        "tiers": STR,
        "current_period_start": TIME,
        "current_period_end": TIME,
    },
    "schedule_phases": {
        "schedule_id": STR,
        "subscription_id": STR,
        "phase_start": TIME,
        "phase_end": TIME,
        "price_id": STR,
        "unit_amount": FLOAT,
        "quantity": FLOAT,
        "interval": STR,
        "interval_count": FLOAT,
        "usage_type": STR,
        "currency": STR,
    },
    "discounts": {
        "subscription_id": STR,
        "customer_id": STR,
        "coupon_id": STR,
        "percent_off": FLOAT,
        "amount_off": FLOAT,
        "currency": STR,
        "duration": STR,
        "duration_in_months": FLOAT,
        "start": TIME,
        "end": TIME,
    },
    "invoice_lines": {
        "invoice_id": STR,
        "customer_id": STR,
        "subscription_id": STR,
        "status": STR,
        "currency": STR,
        "amount": FLOAT,
        "period_start": TIME,
        "period_end": TIME,
        "proration": BOOL,
        "type": STR,
    },
    "events": {
        "event_time": TIME,
        "event_name": STR,
        "user_id": STR,
        "login_id": STR,
        "session_id": STR,
        "source": STR,
        "medium": STR,
        "campaign": STR,
        "params": ANY,
    },
    "funnel_steps": {"step_index": INT, "step_name": STR, "users": FLOAT, "segment": STR},
    "traffic": {"date": TIME, "metric": STR, "value": FLOAT, "dimension": STR, "dimension_value": STR},
    "tickets": {
        "ticket_id": STR,
        "created": TIME,
        "first_response_at": TIME,
        "solved_at": TIME,
        "status": STR,
        "priority": STR,
        "channel": STR,
        "first_response_minutes": FLOAT,
        "resolution_minutes": FLOAT,
        "first_response_minutes_business": FLOAT,
        "resolution_minutes_business": FLOAT,
        "sla_first_response_met": BOOL,
        "satisfaction": FLOAT,
        "reopens": FLOAT,
        "subject": STR,
        "requester": STR,
        "requester_email": STR,
        "organization": STR,
    },
    "responses": {
        "response_id": STR,
        "responded_at": TIME,
        "score": INT,
        "comment": STR,
        "respondent": STR,
        "segment": STR,
    },
}


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
