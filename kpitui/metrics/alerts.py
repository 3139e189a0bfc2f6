"""Alert states: where each configured KPI stands against its thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from connectors.registry import feeds
from kpitui.config import AlertRule
from kpitui.model import AlertState, SourceStatus, lookup

SOURCE_PREFIX = "sources."


def _crossed(value: float, above: float | None, below: float | None) -> float | None:
    if above is not None and value > above:
        return above
    if below is not None and value < below:
        return below
    return None


def evaluate_alerts(rules: tuple[AlertRule, ...], plain: dict[str, Any]) -> tuple[AlertState, ...]:
    """One AlertState per rule: critical, warning, ok, or unknown when the KPI has no value."""
    states = []
    for rule in rules:
        if rule.kpi.startswith(SOURCE_PREFIX):
            continue  # a source's freshness, raised by `freshness_alerts`
        value = lookup(plain, rule.kpi)
        primary = rule.above if rule.above is not None else rule.below
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            states.append(AlertState(rule.kpi, None, primary, "unknown"))
            continue
        critical = _crossed(value, rule.critical_above, rule.critical_below)
        warning = _crossed(value, rule.above, rule.below)
        if critical is not None:
            states.append(AlertState(rule.kpi, float(value), critical, "critical"))
        elif warning is not None:
            states.append(AlertState(rule.kpi, float(value), warning, "warning"))
        else:
            states.append(AlertState(rule.kpi, float(value), primary, "ok"))
    return tuple(states)


def _stale_ages(statuses: dict[str, SourceStatus], now: datetime, stale_after: float) -> dict[str, tuple[float, float]]:
    """Each source whose data is older than `stale_after` refresh intervals: (its age, the limit) in seconds."""
    out = {}
    for name, status in statuses.items():
        if status.last_success is not None and status.interval:
            age, limit = (now - status.last_success).total_seconds(), stale_after * status.interval
            if age > limit:
                out[name] = (age, limit)
    return out


def freshness_alerts(statuses: dict[str, SourceStatus], now: datetime, stale_after: float) -> tuple[AlertState, ...]:
    """A `stale` alert (`sources.NAME`, its age in seconds) for each source older than `stale_after` intervals."""
    return tuple(
        AlertState(SOURCE_PREFIX + name, age, limit, "stale")
        for name, (age, limit) in _stale_ages(statuses, now, stale_after).items()
    )


def hold_stale(
    alerts: tuple[AlertState, ...], statuses: dict[str, SourceStatus], now: datetime, stale_after: float
) -> tuple[AlertState, ...]:
    """Threshold alerts on a section whose sources are stale are held: state `stale`, value kept, never fired."""
    stale = {statuses[name].type for name in _stale_ages(statuses, now, stale_after)}
    held = lambda alert: any(feeds(kind, alert.kpi.split(".")[0]) for kind in stale)  # noqa: E731
    return tuple(replace(a, state="stale") if held(a) else a for a in alerts)


def crossings(previous: dict[str, str], states: tuple[AlertState, ...]) -> list[AlertState]:
    """Alerts whose state changed since the last refresh into warning/critical (or a source into stale), or back
    to ok from them; a held (stale) threshold alert is never a crossing."""
    changed = []
    for alert in states:
        before = previous.get(alert.kpi, "ok")
        firing = ("warning", "critical", "stale") if alert.kpi.startswith(SOURCE_PREFIX) else ("warning", "critical")
        if alert.state in firing and alert.state != before:
            changed.append(alert)
        elif alert.state == "ok" and before in ("warning", "critical"):
            changed.append(alert)
    return changed


def remembered_states(previous: dict[str, str], states: tuple[AlertState, ...]) -> dict[str, str]:
    """Where each alert stands for the next crossing check: a held (stale) threshold alert keeps its last state."""
    return {
        a.kpi: previous.get(a.kpi, "ok") if a.state == "stale" and not a.kpi.startswith(SOURCE_PREFIX) else a.state
        for a in states
    }
