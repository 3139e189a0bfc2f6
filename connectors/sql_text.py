"""Export text read as times, numbers and durations by SQL expressions the engine runs over a raw CSV table (every
column text): a value that does not read is null, and the caller skips its row with the reason."""

from __future__ import annotations

NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%b/%y %I:%M %p",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
)
# `03/04/2026` is 4 March month-first, 3 April day-first: a column is read in one order, never a mix of both
MONTH_FIRST = frozenset({"%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"})
DAY_FIRST = frozenset({"%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"})
ISO_LIKE = frozenset({"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"})
STARTS_WITH_DAY = r"^(1[3-9]|2[0-9]|3[01])/"  # a first number over 12 can only be a day
DAY_SECOND = r"^\d{1,2}/(1[3-9]|2[0-9]|3[01])/"  # a second number over 12 can only be a day
SLASH_DATE = r"^\d{1,2}/\d{1,2}/"
_WITH_OFFSET = r":\d\d(\.\d+)?\s*(Z|UTC|[+-]\d\d(:?\d\d)?)$"  # a time of day followed by its zone
_HMS = r"^-?\d+:\d{1,2}(:\d{1,2})?$"
DATE_ORDER_HINT = (
    'dates like 03/11/2026 fit both orders and were read month-first; set date_order = "day-first" under '
    "[sources.NAME] if they are day-first"
)


def literal(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier for a column name from a file's header (quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def typed_name(field: str) -> str:
    """The name a canonical field has once read (apart from the file's own column names)."""
    return f"typed_{field}"


def first_reason(checks: list[str]) -> str:
    """The code (from 1) of the first check a row fails, null when it passes them all."""
    return "CASE " + " ".join(f"WHEN {check} THEN {code}" for code, check in enumerate(checks, 1)) + " END"


def text(column: str) -> str:
    """The column's value trimmed, null when blank."""
    return f"NULLIF(trim({identifier(column)}), '')"


def naive_formats(order: str) -> tuple[str, ...]:
    """The naive formats with slash dates in one order (`day-first` or `month-first`)."""
    other = MONTH_FIRST if order == "day-first" else DAY_FIRST
    return tuple(fmt for fmt in NAIVE_FORMATS if fmt not in other)


def fits_both_orders(value: str) -> str:
    """An aggregate: whether the column's slash dates fit both orders (some exist, and no number over 12 in
    either place tells)."""
    slash, day_first, day_second = (f"bool_or(regexp_matches({value}, {literal(p)}))"
                                    for p in (SLASH_DATE, STARTS_WITH_DAY, DAY_SECOND))  # fmt: skip
    return f"coalesce({slash} AND NOT {day_first} AND NOT {day_second}, FALSE)"


def unsettled_order(cursor, table: str, column: str, kind: str, parsers: tuple) -> bool:
    """Whether a date column's slash dates read as well day-first as month-first (only the source's `date_order`
    can tell): as text, none has a number over 12 in either place; typed by the CSV reader in month-first
    formats, no day is over 12."""
    if kind == "text":
        return bool(cursor.execute(f"SELECT {fits_both_orders(text(column))} FROM {table}").fetchall()[0][0])
    if kind == "time" and any(parser in MONTH_FIRST for parser in parsers if isinstance(parser, str)):
        return bool(cursor.execute(f"SELECT max(day({identifier(column)})) <= 12 FROM {table}").fetchall()[0][0])
    return False


def formats_reading(cursor, table: str, value: str, order: str | None, *, every: bool = False) -> tuple[str, ...]:
    """The naive formats for a text column of `table`, best first on its first 500 values: slash dates in one
    order (the source's `date_order`, else day-first when a value starts with a number over 12, else
    month-first); only those that read some of them unless `every`."""
    if order is None:
        starts = f"SELECT coalesce(bool_or(regexp_matches({value}, {literal(STARTS_WITH_DAY)})), FALSE) FROM {table}"
        order = "day-first" if cursor.execute(starts).fetchall()[0][0] else "month-first"
    listed = naive_formats(order)
    counts = ", ".join(f"count(try_strptime(v, {literal(fmt)}))" for fmt in listed)
    sample = f"(SELECT {value} AS v FROM {table} WHERE v IS NOT NULL LIMIT 500)"
    hits = cursor.execute(f"SELECT {counts} FROM {sample}").fetchall()[0]
    ranked = sorted(zip(hits, listed, strict=True), key=lambda pair: -pair[0])
    return tuple(fmt for n, fmt in ranked if n or every)


def all_integers(cursor, table: str, value: str, *, plain: bool = True) -> bool:
    """Whether a text column of `table` has values and every one is a whole number; `plain`: written plainly,
    with no sign or leading zero that reading it as a number would lose (for ids)."""
    unusual = f"AND NOT coalesce(bool_or(regexp_matches({value}, '^[+-]|^0.')), FALSE)" if plain else ""
    found = f"SELECT count({value}) > 0 AND count({value}) = count(TRY_CAST({value} AS BIGINT)) {unusual} FROM {table}"
    return bool(cursor.execute(found).fetchall()[0][0])


def time(value: str, zone: str, formats: tuple[str, ...]) -> str:
    """A TIMESTAMPTZ from text: a time with its offset as written; a naive one in `formats` (or ISO 8601 with
    fractions) as wall time in `zone`; a slash date no format of the column's order reads stays null."""
    listed = ", ".join(map(literal, formats))
    iso = f"CASE WHEN NOT regexp_matches({value}, {literal(SLASH_DATE)}) THEN TRY_CAST({value} AS TIMESTAMP) END"
    naive = f"coalesce(try_strptime({value}, [{listed}]), {iso})"
    return (
        f"CASE WHEN regexp_matches({value}, {literal(_WITH_OFFSET)}) THEN TRY_CAST({value} AS TIMESTAMPTZ) "
        f"ELSE {localized(naive, zone)} END"
    )


def localized(column: str, zone: str) -> str:
    """A naive time column as wall time in `zone` (in UTC, with the engine's zone UTC, a plain cast)."""
    return f"CAST({column} AS TIMESTAMPTZ)" if zone == "UTC" else f"timezone({literal(zone)}, {column})"


def number(value: str) -> str:
    """A DOUBLE from text that may carry thousands separators."""
    return f"TRY_CAST(replace({value}, ',', '') AS DOUBLE)"


def hms_minutes(value: str) -> str:
    """Minutes from `HH:MM:SS` (hours may exceed 24) or a plain number of hours."""
    part = lambda k: f"CAST(split_part({value}, ':', {k}) AS DOUBLE)"  # noqa: E731
    seconds = f"coalesce(TRY_CAST(NULLIF(split_part({value}, ':', 3), '') AS DOUBLE), 0)"
    return (
        f"CASE WHEN regexp_matches({value}, {literal(_HMS)}) THEN {part(1)} * 60 + {part(2)} + {seconds} / 60 "
        f"ELSE {number(value)} * 60 END"
    )


def lowered(value: str) -> str:
    """A category as lower-case text."""
    return f"lower({value})"


def labelled(value: str, labels: dict[str, object], sql_type: str) -> str:
    """A value looked up by its lower-case label; null for labels not listed."""
    cases = " ".join(f"WHEN {literal(label)} THEN {_sql_value(v)}" for label, v in labels.items())
    return f"CAST(CASE lower({value}) {cases} END AS {sql_type})"


def _sql_value(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(float(value))
