"""Alert states: where each configured KPI stands against its thresholds."""

from __future__ import annotations

from typing import Any

from kpitui.config import AlertRule
from kpitui.model import AlertState, lookup


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


def crossings(previous: dict[str, str], states: tuple[AlertState, ...]) -> list[AlertState]:
    """Alerts whose state changed since the last refresh into warning/critical, or back to ok from them."""
    changed = []
    for alert in states:
        before = previous.get(alert.kpi, "ok")
        if alert.state in ("warning", "critical") and alert.state != before:
            changed.append(alert)
        elif alert.state == "ok" and before in ("warning", "critical"):
            changed.append(alert)
    return changed
