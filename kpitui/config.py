"""Load and validate the TOML config into typed settings; never imports textual."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.registry import CONNECTORS, SECTIONS
from kpitui.durations import parse_duration, parse_period
from kpitui.engine import EngineSettings

DEFAULT_REFRESH = 300.0


class ConfigError(Exception):
    """The config is unusable; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SourceConfig:
    """One `[sources.NAME]` table."""

    name: str
    type: str
    refresh: float
    options: dict[str, Any]


@dataclass(frozen=True)
class FunnelStep:
    """A funnel step: an event name, optionally with param equality filters."""

    name: str
    event: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FunnelConfig:
    """The `[funnel]` table."""

    steps: tuple[FunnelStep, ...] = ()
    window: float = 30 * 86400.0
    open: bool = False
    direct: bool = False
    per_session: bool = False


@dataclass(frozen=True)
class TileChoice:
    """One Overview tile of `[board] tiles`: a short name or a snapshot JSON path, an optional label and format."""

    kpi: str
    label: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class MetricsConfig:
    """The `[metrics]` table: the (setting) choices of DESIGN.md section 4."""

    counted_statuses: tuple[str, ...] = ("active", "past_due")
    apply_discounts: bool = True
    cancel_at_period_end: str = "period_end"
    support_minutes: str = "calendar"
    nps_window_days: int = 90


@dataclass(frozen=True)
class EngagementConfig:
    """The `[engagement]` table: the event whose users are the leads of the lead velocity rate."""

    lead_event: str = "sign_up"


@dataclass(frozen=True)
class CustomersConfig:
    """The `[customers]` table: how survey, ticket and GA4 rows are linked to billing customers, and the MRR bands."""

    mrr_bands: tuple[float, ...] = (0.0, 100.0, 1000.0, 10000.0)
    customer_metadata_key: str | None = None  # a customer metadata key holding the id other sources use
    email_metadata_keys: tuple[str, ...] = ()  # customer metadata keys holding more of a customer's emails


@dataclass(frozen=True)
class AcquisitionConfig:
    """The `[acquisition]` table: where a customer's acquisition channel is, and the gross margin of payback."""

    channel_metadata_key: str = "utm_source"
    gross_margin: float = 0.8


@dataclass(frozen=True)
class AlertRule:
    """One `[[alerts]]` entry."""

    kpi: str
    above: float | None = None
    below: float | None = None
    critical_above: float | None = None
    critical_below: float | None = None
    bell: bool = False
    command: str | None = None


@dataclass(frozen=True)
class Config:
    """Everything the app and the snapshot need from the config file."""

    path: Path | None = None
    currency: str = "usd"
    refresh: float = DEFAULT_REFRESH
    period_days: int = 30
    theme: str = "textual-dark"
    stale_after: float = 3.0  # refresh intervals after which a source's data is stale
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    fx: dict[str, float] = field(default_factory=dict)
    funnel: FunnelConfig = field(default_factory=FunnelConfig)
    sla_minutes: dict[str, float] = field(default_factory=dict)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    alerts: tuple[AlertRule, ...] = ()
    goals: dict[str, float] = field(default_factory=dict)
    engine: EngineSettings = field(default_factory=EngineSettings)
    engagement: EngagementConfig = field(default_factory=EngagementConfig)
    customers: CustomersConfig = field(default_factory=CustomersConfig)
    acquisition: AcquisitionConfig = field(default_factory=AcquisitionConfig)
    tiles: tuple[TileChoice, ...] = ()  # `[board] tiles`; empty: the default eight
    keys: dict[str, str] = field(default_factory=dict)  # `[keys]`: binding id → keys, e.g. "refresh.all" = "f5"
    rotate: float | None = None  # `[board] rotate`: seconds each pane shows in kiosk mode; None: no rotation
    warnings: tuple[str, ...] = ()


Check = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a number")
    return float(value)


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise TypeError("a number above zero")
    return float(value)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("a whole number ≥ 0")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _duration(value: Any) -> float:
    if not isinstance(value, str):
        raise TypeError('a duration like "30s", "5m", "4h" or "30d"')
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise TypeError('a duration like "30s", "5m", "4h" or "30d"') from None
    if seconds <= 0:
        raise TypeError("a duration above zero")
    return seconds


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0 < number <= 1:
        raise TypeError("a fraction above 0 and at most 1, e.g. 0.8")
    return number


def _period(value: Any) -> int:
    try:
        return parse_period(value) if isinstance(value, str) else parse_period("")
    except ValueError:
        raise TypeError('a period like "7d", "30d", "90d" or "12m"') from None


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise TypeError("one of " + ", ".join(f'"{a}"' for a in allowed))
        return value

    return check


def _string_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError('a table of strings, e.g. { created = "Opened on" }')
    return {str(k): v for k, v in value.items()}


def _timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = _string(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TypeError('an IANA time zone like "Europe/Paris" or "UTC"') from None
    return name


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _memory(value: Any) -> str:
    if not isinstance(value, str) or not _SIZE.fullmatch(value.strip()):
        raise TypeError('a size like "1.5GB" or "800MB"')
    return value.strip()


def _bytes(value: Any) -> int:
    """A byte count: a whole number, or a size like "20GB"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    found = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise TypeError('a size like "20GB" or a number of bytes')
    return int(float(found[1]) * _UNITS[found[2]])


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise TypeError('a three-letter ISO currency code like "usd"')
    return value.lower()


_COMMON = {"type": _string, "refresh": _duration, "enabled": _boolean}
_DATE_ORDER = _choice("month-first", "day-first")  # how `03/04/2026` is read
_SCORE_VALUES = _choice("scores", "positions")  # a survey's 0–10 scores, or choice positions 1–11
_VALUE_CHECKS: dict[str, Check] = {  # the kinds of value a connector's config keys take (connectors.registry)
    "string": _string,
    "duration": _duration,
    "count": _positive_int,
    "bytes": _bytes,
    "timezone": _timezone,
    "date_order": _DATE_ORDER,
    "score_values": _SCORE_VALUES,
    "string_table": _string_table,
}
THEMES = (  # Textual's built-in themes (a test checks this list against Textual's own)
    "ansi-dark", "ansi-light", "atom-one-dark", "atom-one-light", "catppuccin-frappe", "catppuccin-latte",
    "catppuccin-macchiato", "catppuccin-mocha", "dracula", "flexoki", "gruvbox", "monokai", "nord", "rose-pine",
    "rose-pine-dawn", "rose-pine-moon", "solarized-dark", "solarized-light", "textual-dark", "textual-light",
    "tokyo-night",
)  # fmt: skip
_APP_KEYS = {
    "currency": _currency,
    "refresh": _duration,
    "period": _period,
    "theme": _choice(*THEMES),
    "stale_after": _positive_number,
}
_METRICS_KEYS = {
    "counted_statuses": None,
    "apply_discounts": _boolean,
    "cancel_at_period_end": _choice("period_end", "immediately"),
    "support_minutes": _choice("calendar", "business"),
    "nps_window": _period,
}
_FUNNEL_KEYS = {
    "steps": None,
    "window": _duration,
    "mode": _choice("closed", "open"),
    "follow": _choice("indirect", "direct"),
    "count": _choice("user", "session"),
}
_ALERT_KEYS = {
    "kpi": _string,
    "above": _number,
    "below": _number,
    "critical_above": _number,
    "critical_below": _number,
    "bell": _boolean,
    "command": _string,
}
_ENGINE_KEYS = {"memory_limit": _memory, "temp_directory": _string}
_ENGAGEMENT_KEYS = {"lead_event": _string}
_CUSTOMERS_KEYS = {"mrr_bands": None, "customer_metadata_key": _string, "email_metadata_keys": None}
_ACQUISITION_KEYS = {"channel_metadata_key": _string, "gross_margin": _fraction}
_BOARD_KEYS = {"tiles": None, "rotate": _duration}
_TILE_KEYS = {"kpi": _string, "label": _string, "format": _choice("money", "percent", "number", "minutes")}
_TOP_LEVEL = (
    "app", "sources", "fx", "funnel", "sla", "metrics", "alerts", "goals", "engine", "board", "keys", "engagement",
    "customers", "acquisition",
)  # fmt: skip
_KEYS = re.compile(r"[A-Za-z0-9_+]+(,[A-Za-z0-9_+]+)*")  # Textual key names, comma-separated


class _Reader:
    """Walks the parsed TOML, collecting one message per problem."""

    def __init__(self, path: Path | None) -> None:
        self.where = str(path) if path else "config"
        self.problems: list[str] = []

    def problem(self, section: str, key: str | None, text: str) -> None:
        """Record one problem at `[section] key`."""
        place = f"[{section}]" + (f" {key}" if key else "")
        self.problems.append(f"{self.where}: {place}: {text}")

    def table(self, data: Any, section: str) -> dict[str, Any]:
        """The value as a table, or a problem and an empty table."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(section, None, "expected a table")
            return {}
        return data

    def read(self, data: dict, section: str, schema: dict[str, Check | None]) -> dict[str, Any]:
        """Check every key of a table against its schema; unknown keys are problems."""
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in schema:
                self.problem(section, key, "unknown key; expected one of " + ", ".join(schema))
                continue
            check = schema[key]
            if check is None:
                out[key] = value
                continue
            try:
                out[key] = check(value)
            except TypeError as exc:
                self.problem(section, key, f"expected {exc}, got {value!r}"[:300])
        return out


def _read_sources(reader: _Reader, data: dict, default_refresh: float) -> dict[str, SourceConfig]:
    sources = {}
    for name, raw in data.items():
        section = f"sources.{name}"
        table = reader.table(raw, section)
        kind = table.get("type")
        if not isinstance(kind, str) or kind not in CONNECTORS:
            reader.problem(section, "type", "expected one of " + ", ".join(CONNECTORS) + f", got {kind!r}")
            continue
        connector = CONNECTORS[kind].resolve(table)
        keys = {key: _VALUE_CHECKS[value] for key, value in connector.keys.items()}
        values = reader.read(table, section, {**_COMMON, **keys})
        for key in connector.required:
            if key not in table:
                reader.problem(section, key, "missing; this source needs it")
        if values.get("enabled", True) is False:
            continue
        refresh = values.pop("refresh", connector.default_refresh or default_refresh)
        values.pop("type", None)
        values.pop("enabled", None)
        sources[name] = SourceConfig(name, kind, refresh, values)
    return sources


def _read_steps(reader: _Reader, raw: Any) -> tuple[FunnelStep, ...]:
    if not isinstance(raw, list) or not raw:
        reader.problem("funnel", "steps", 'expected a list of event names, e.g. ["session_start", "purchase"]')
        return ()
    steps = []
    for i, item in enumerate(raw):
        if isinstance(item, str) and item:
            steps.append(FunnelStep(item, item))
        elif isinstance(item, dict) and isinstance(item.get("event"), str):
            params = item.get("params", {})
            if not isinstance(params, dict):
                reader.problem("funnel", f"steps[{i}].params", "expected a table of strings")
                continue
            label = item.get("name", item["event"])
            steps.append(FunnelStep(str(label), item["event"], {str(k): str(v) for k, v in params.items()}))
        else:
            reader.problem("funnel", f"steps[{i}]", f'expected an event name or {{ event = "…" }}, got {item!r}')
    return tuple(steps)


def _read_alerts(reader: _Reader, raw: Any) -> tuple[AlertRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.problem("alerts", None, "expected [[alerts]] entries")
        return ()
    rules = []
    for i, item in enumerate(raw):
        section = f"alerts[{i}]"
        values = reader.read(reader.table(item, section), section, _ALERT_KEYS)
        if "kpi" not in values:
            reader.problem(section, "kpi", 'missing; e.g. kpi = "revenue.mrr"')
            continue
        freshness = values["kpi"].startswith("sources.")  # a source's own stale alert: bell and command only
        if not freshness and not any(k in values for k in ("above", "below", "critical_above", "critical_below")):
            reader.problem(section, None, "needs above or below")
            continue
        rules.append(AlertRule(**values))
    return tuple(rules)


def _read_keys(reader: _Reader, data: dict) -> dict[str, str]:
    """`[keys]`: binding id → the keys that run it (Textual names, comma-separated: "f5,ctrl+r"); which ids exist
    is the board's to say (kpitui.app)."""
    keys = {}
    for binding, value in data.items():
        if isinstance(value, str) and _KEYS.fullmatch(value.replace(" ", "")):
            keys[str(binding)] = value.replace(" ", "")
        else:
            reader.problem("keys", str(binding), f'expected keys like "f5" or "ctrl+r,f5", got {value!r}'[:300])
    return keys


def _read_tiles(reader: _Reader, raw: Any) -> tuple[TileChoice, ...]:
    """`[board] tiles`: short names (`mrr`, `nps`, …) or snapshot JSON paths, or tables with kpi, label, format."""
    from kpitui.goals import ALIASES

    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.problem("board", "tiles", 'expected a list like ["mrr", "nps", "backlog"]')
        return ()
    tiles = []
    for i, item in enumerate(raw):
        values = (
            {"kpi": item}
            if isinstance(item, str)
            else reader.read(reader.table(item, f"board.tiles[{i}]"), f"board.tiles[{i}]", _TILE_KEYS)
        )
        kpi = values.get("kpi")
        path = ALIASES.get(kpi, kpi) if isinstance(kpi, str) else None
        if path is None or "." not in path or path.split(".")[0] not in SECTIONS:
            reader.problem(
                "board",
                "tiles",
                f"{kpi!r} is not a KPI; use a short name ({', '.join(ALIASES)}) or a snapshot path like revenue.mrr",
            )
            continue
        tiles.append(TileChoice(**{**values, "kpi": path}))
    return tuple(tiles)


def _read_numbers(reader: _Reader, data: dict, section: str) -> dict[str, float]:
    out = {}
    for key, value in data.items():
        try:
            out[key.lower()] = _number(value)
        except TypeError:
            reader.problem(section, key, f"expected a number, got {value!r}")
    return out


def _read_sla(reader: _Reader, data: dict) -> dict[str, float]:
    out = {}
    for key, value in data.items():
        try:
            out[key.lower()] = _duration(value) / 60
        except TypeError as exc:
            reader.problem("sla", key, f"expected {exc}, got {value!r}")
    return out


def _metrics(reader: _Reader, data: dict) -> MetricsConfig:
    values = reader.read(data, "metrics", _METRICS_KEYS)
    statuses = values.pop("counted_statuses", None)
    if statuses is not None:
        if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
            reader.problem("metrics", "counted_statuses", 'expected a list like ["active", "past_due"]')
        else:
            values["counted_statuses"] = tuple(statuses)
    if "nps_window" in values:
        values["nps_window_days"] = values.pop("nps_window")
    return MetricsConfig(**values)


def _funnel(reader: _Reader, data: dict) -> FunnelConfig:
    values = reader.read(data, "funnel", _FUNNEL_KEYS)
    if not values:
        return FunnelConfig()
    steps = _read_steps(reader, values.get("steps")) if "steps" in values else ()
    return FunnelConfig(
        steps=steps,
        window=values.get("window", 30 * 86400.0),
        open=values.get("mode") == "open",
        direct=values.get("follow") == "direct",
        per_session=values.get("count") == "session",
    )


def _customers(reader: _Reader, data: dict) -> CustomersConfig:
    values = reader.read(data, "customers", _CUSTOMERS_KEYS)
    bands = values.pop("mrr_bands", None)
    if bands is not None:
        numbers = isinstance(bands, list) and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bands)
        if not numbers or not bands or sorted(bands) != bands or len(set(bands)) != len(bands) or bands[0] < 0:
            reader.problem("customers", "mrr_bands", "expected rising MRR bounds from 0, e.g. [0, 100, 1000, 10000]")
        else:
            values["mrr_bands"] = tuple(float(b) for b in bands)
    keys = values.pop("email_metadata_keys", None)
    if keys is not None:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            reader.problem(
                "customers", "email_metadata_keys", 'expected a list of metadata keys, e.g. ["billing_email"]'
            )
        else:
            values["email_metadata_keys"] = tuple(keys)
    return CustomersConfig(**values)


def _secret_warnings(path: Path | None, sources: dict[str, SourceConfig]) -> list[str]:
    if path is None or not any("api_key" in s.options for s in sources.values()):
        return []
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [f"{path}: holds an API key but others can read it; run: chmod 600 {path}"]
    return []


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; raises ConfigError listing every problem."""
    reader = _Reader(path)
    for key in data:
        if key not in _TOP_LEVEL:
            reader.problem(key, None, "unknown section; expected one of " + ", ".join(_TOP_LEVEL))
    app = reader.read(reader.table(data.get("app"), "app"), "app", _APP_KEYS)
    refresh = app.get("refresh", DEFAULT_REFRESH)
    sources = _read_sources(reader, reader.table(data.get("sources"), "sources"), refresh)
    fx = _read_numbers(reader, reader.table(data.get("fx"), "fx"), "fx")
    board = reader.read(reader.table(data.get("board"), "board"), "board", _BOARD_KEYS)
    config = Config(
        path=path,
        currency=app.get("currency", "usd"),
        refresh=refresh,
        period_days=app.get("period", 30),
        theme=app.get("theme", "textual-dark"),
        stale_after=app.get("stale_after", 3.0),
        sources=sources,
        fx=fx,
        funnel=_funnel(reader, reader.table(data.get("funnel"), "funnel")),
        sla_minutes=_read_sla(reader, reader.table(data.get("sla"), "sla")),
        metrics=_metrics(reader, reader.table(data.get("metrics"), "metrics")),
        alerts=_read_alerts(reader, data.get("alerts")),
        goals=_read_numbers(reader, reader.table(data.get("goals"), "goals"), "goals"),
        engine=EngineSettings(**reader.read(reader.table(data.get("engine"), "engine"), "engine", _ENGINE_KEYS)),
        engagement=EngagementConfig(
            **reader.read(reader.table(data.get("engagement"), "engagement"), "engagement", _ENGAGEMENT_KEYS)
        ),
        customers=_customers(reader, reader.table(data.get("customers"), "customers")),
        acquisition=AcquisitionConfig(
            **reader.read(reader.table(data.get("acquisition"), "acquisition"), "acquisition", _ACQUISITION_KEYS)
        ),
        tiles=_read_tiles(reader, board.get("tiles")),
        rotate=board.get("rotate"),
        keys=_read_keys(reader, reader.table(data.get("keys"), "keys")),
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    warnings = tuple(_secret_warnings(path, sources))
    return Config(**{**config.__dict__, "warnings": warnings})


def default_config_path() -> Path:
    """`$KPITUI_CONFIG`, else the user config dir's kpitui/config.toml."""
    env = os.environ.get("KPITUI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("kpitui") / "config.toml"


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError with the file named."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such config file; create one with: kpitui init --path {path}"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a config file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: is not UTF-8 text; save it as UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(data, path)
