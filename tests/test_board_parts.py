"""The board's parts read and tested alone, without Textual: the refresh scheduler and the alert notifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kpitui.alert_notifier import AlertNotifier
from kpitui.config import AlertRule
from kpitui.model import AlertState
from kpitui.scheduler import RefreshScheduler
from kpitui.store import Store


@dataclass
class FakeTimer:
    """A timer the test fires by hand."""

    delay: float
    callback: Callable[[], None]
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


@dataclass
class Harness:
    """A scheduler over two sources, recording the polls it starts and the timers it sets."""

    started: list[str] = field(default_factory=list)
    timers: list[FakeTimer] = field(default_factory=list)

    def scheduler(self) -> RefreshScheduler:
        return RefreshScheduler({"billing": 60.0, "support": 300.0}, self.started.append, self.set_timer)

    def set_timer(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        self.timers.append(FakeTimer(delay, callback))
        return self.timers[-1]


def test_a_poll_never_overlaps_the_one_still_running():
    harness = Harness()
    scheduler = harness.scheduler()
    assert scheduler.poll("billing") and not scheduler.poll("billing")
    assert harness.started == ["billing"] and scheduler.loading == {"billing"}
    assert not scheduler.poll("nowhere")  # not a configured source


def test_the_next_poll_is_armed_only_when_the_last_one_finished():
    harness = Harness()
    scheduler = harness.scheduler()
    scheduler.poll("support")
    assert harness.timers == []
    scheduler.finished("support")
    assert [(t.delay, t.stopped) for t in harness.timers] == [(300.0, False)] and scheduler.loading == set()
    harness.timers[0].callback()  # the interval passed
    assert harness.started == ["support", "support"] and "support" not in scheduler.timers


def test_polling_now_replaces_the_armed_timer():
    harness = Harness()
    scheduler = harness.scheduler()
    scheduler.poll("billing")
    scheduler.finished("billing")
    scheduler.poll("billing")  # `r` before the timer fired
    assert harness.timers[0].stopped and scheduler.timers == {}


def test_pause_stops_every_timer_and_resume_arms_the_idle_sources_only():
    harness = Harness()
    scheduler = harness.scheduler()
    for name in ("billing", "support"):
        scheduler.poll(name)
    scheduler.finished("billing")
    scheduler.toggle_pause()
    assert scheduler.paused and harness.timers[0].stopped and scheduler.timers == {}
    scheduler.finished("support")  # a poll that ends while paused is not re-armed
    assert scheduler.timers == {}
    scheduler.poll("billing")
    scheduler.toggle_pause()
    assert not scheduler.paused and set(scheduler.timers) == {"support"}  # billing is still loading


def test_new_intervals_re_arm_the_waiting_timers():
    harness = Harness()
    scheduler = harness.scheduler()
    scheduler.poll("billing")
    scheduler.finished("billing")
    scheduler.poll("support")
    scheduler.set_intervals({"billing": 120.0, "support": 600.0})
    assert harness.timers[0].stopped and scheduler.timers["billing"].delay == 120.0
    assert "support" not in scheduler.timers  # still loading: armed with 600 s when it finishes
    scheduler.finished("support")
    assert scheduler.timers["support"].delay == 600.0


BACKLOG = AlertRule(kpi="support.backlog", above=1, bell=True, command="notify-send backlog")


def test_the_notifier_speaks_once_per_crossing_and_says_what_to_do():
    notifier = AlertNotifier((BACKLOG,), None)
    warning = (AlertState("support.backlog", 2.0, 1.0, "warning"),)
    [notice] = notifier.notices(warning)
    assert (notice.title, notice.severity, notice.text) == ("Warning", "warning", "support.backlog = 2.00 crossed 1.00")
    assert (notice.bell, notice.command, notice.alert) == (True, "notify-send backlog", warning[0])
    assert notifier.notices(warning) == []  # the same state again: quiet
    [recovered] = notifier.notices((AlertState("support.backlog", 0.0, 1.0, "ok"),))
    assert (recovered.title, recovered.text, recovered.bell, recovered.command) == (
        "Recovered",
        "support.backlog is back within its threshold",
        False,
        None,
    )


def test_a_stale_source_notice_gives_its_age_and_limit():
    [notice] = AlertNotifier((), None).notices((AlertState("sources.support", 7200.0, 900.0, "stale"),))
    assert (notice.title, notice.severity) == ("Stale", "warning")
    assert notice.text == "support: no fresh data for 2h (15m allowed)"


def test_the_notifier_remembers_what_fired_across_restarts(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    critical = (AlertState("support.backlog", 9.0, 5.0, "critical"),)
    assert [n.severity for n in AlertNotifier((BACKLOG,), store).notices(critical)] == ["error"]
    assert AlertNotifier((BACKLOG,), store).notices(critical) == []  # a second board over the same store
    store.close()
