"""The canonical tables of DESIGN.md section 3: their columns and kinds, as Arrow and SQL types (no pandas)."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

TEXT = pa.large_string()  # how pandas' `string` dtype stores text: columns read as this become Series uncopied
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
        "is_active_user": BOOL,  # GA4's own flag for the user's day, where the export has it
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
        "customer_ref": STR,  # the billing customer's id (or a metadata id) from `customer_column`
    },
    "spend": {  # one campaign's spend over the days [start, end] (both UTC midnights), in major units of currency
        "start": TIME,
        "end": TIME,
        "channel": STR,
        "campaign": STR,
        "spend": FLOAT,
        "currency": STR,
    },
    "responses": {
        "response_id": STR,
        "responded_at": TIME,
        "score": INT,
        "comment": STR,
        "respondent": STR,
        "segment": STR,
        "customer_ref": STR,
    },
}

_SQL_TYPES = {TIME: "TIMESTAMPTZ", STR: "VARCHAR", INT: "BIGINT", FLOAT: "DOUBLE", BOOL: "BOOLEAN"}


def canonical_select(name: str, expressions: Mapping[str, str]) -> str:
    """A SELECT list of the table's columns in order and types: each from its expression, null where none."""
    return ", ".join(
        f"CAST({expressions.get(column, 'NULL')} AS {_SQL_TYPES[kind]}) AS {column}"
        for column, kind in SCHEMAS[name].items()
    )
