"""What the board says about alerts: one notice per crossing, remembered in the store across restarts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpitui.config import AlertRule
from kpitui.durations import format_seconds
from kpitui.metrics.alerts import SOURCE_PREFIX, crossings, remembered_states
from kpitui.model import AlertState

if TYPE_CHECKING:
    from kpitui.store import Store

SEVERITIES = {"critical": "error", "warning": "warning", "stale": "warning", "ok": "information"}


@dataclass(frozen=True)
class Notice:
    """One alert crossing as the board shows it, with what its rule asks for (bell, command)."""

    alert: AlertState
    title: str
    text: str
    severity: str
    bell: bool = False
    command: str | None = None


def alert_text(alert: AlertState) -> str:
    """What a crossing says: the value against its threshold, or how long a source has had no fresh data."""
    if alert.kpi.startswith(SOURCE_PREFIX):
        age, limit = format_seconds(alert.value or 0), format_seconds(alert.threshold or 0)
        return f"{alert.kpi.removeprefix(SOURCE_PREFIX)}: no fresh data for {age} ({limit} allowed)"
    return f"{alert.kpi} = {alert.value:,.2f} crossed {alert.threshold:,.2f}"


class AlertNotifier:
    """Turns each snapshot's alert states into notices, once per crossing; the store keeps where each stands."""

    def __init__(self, rules: tuple[AlertRule, ...], store: Store | None) -> None:
        self.rules = {rule.kpi: rule for rule in rules}
        self.store = store
        self.states: dict[str, str] = store.load_alert_states() if store is not None else {}

    def notices(self, alerts: tuple[AlertState, ...]) -> list[Notice]:
        """The crossings since the last call (a recovery says so, without bell or command)."""
        found = [self._notice(alert) for alert in crossings(self.states, alerts)]
        states = remembered_states(self.states, alerts)
        if self.store is not None and states != self.states:
            self.store.save_alert_states(states)
        self.states = states
        return found

    def _notice(self, alert: AlertState) -> Notice:
        if alert.state == "ok":
            return Notice(alert, "Recovered", f"{alert.kpi} is back within its threshold", SEVERITIES["ok"])
        rule = self.rules.get(alert.kpi)
        return Notice(
            alert,
            alert.state.title(),
            alert_text(alert),
            SEVERITIES[alert.state],
            bell=rule is not None and rule.bell,
            command=rule.command if rule is not None else None,
        )
