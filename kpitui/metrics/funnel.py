"""Funnel conversion with GA4's rules (closed/open, indirect/direct, inclusive window), vectorised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.months import DAY_US, day_slots
from kpitui.metrics.revenue import end_of_day
from kpitui.metrics.text_codes import text_codes
from kpitui.model import BreakdownRow, FunnelMetrics, FunnelStepResult

_PARAM = "param."


_SIGN_UP = "sign_up"
_WEEKS = 8  # the weekly trend's length


@dataclass
class _Ordered:
    """The events a funnel walks through, sorted by time, ties by step, then file order."""

    time: np.ndarray  # µs since the epoch, UTC
    row: np.ndarray  # position in the events frame
    key: np.ndarray  # code of what is counted (below the events' count): the user, or the session with `per_session`
    key_count: int  # every key code is below it
    matches: list[np.ndarray]  # per step: does the event match it

    def span(self, start: pd.Timestamp, end: pd.Timestamp) -> slice:
        """The events in (start, end] (a slice, as they are sorted by time)."""
        lo, hi = np.searchsorted(self.time, [_micros(start), _micros(end)], side="right")
        return slice(int(lo), int(hi))


@dataclass
class _Traffic:
    """Every event, in file order, for the counts that need no ordering."""

    time: np.ndarray
    user: np.ndarray  # user code (-1 when missing)
    signup: np.ndarray
    in_period: np.ndarray  # is the event in the period


def _micros(moment: pd.Timestamp) -> int:
    return int(np.datetime64(moment.tz_convert(None), "us").astype(np.int64))


def _within(time: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Which times are in (start, end]."""
    return (time > _micros(start)) & (time <= _micros(end))


def _name_codes(events: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Each event's name as its position in `names` (-1 for any other name)."""
    column = events["event_name"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # each distinct name looked up once
        return np.append(_positions(column.cat.categories, names), -1)[column.cat.codes.to_numpy()]
    return _positions(column, names)


def _positions(values: pd.Index | pd.Series, names: list[str]) -> np.ndarray:
    """Each value's position in `names` (-1 when not there), in one pass in arrow."""
    column = pa.array(values.array)
    return pc.index_in(column, value_set=pa.array(names, type=column.type)).fill_null(-1).to_numpy()


def _step_mask(events: pd.DataFrame, step: FunnelStep, named: np.ndarray) -> np.ndarray:
    """Which events match the step, given which have its event name."""
    mask = named.copy()
    for key, value in step.params.items():
        column = _PARAM + key
        if column not in events:
            return np.zeros(len(events), dtype=bool)
        mask &= (events[column] == value).to_numpy(dtype=bool, na_value=False)
    return mask


def _funnel_events(
    events: pd.DataFrame,
    config: FunnelConfig,
    time: np.ndarray,
    name: np.ndarray,
    names: list[str],
    since: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The rows in (since, end] the funnel can use (any event when `direct`), sorted by time, ties by step, then
    file order; and per step, which of them match it."""
    masks = [_step_mask(events, step, name == names.index(step.event)) for step in config.steps]
    rank = _first_step(name, names, config.steps, masks)
    countable = events["user_id"].notna().to_numpy() & _within(time, since, end)
    if config.per_session:
        countable &= events["session_id"].notna().to_numpy()
    used = np.flatnonzero(countable & ((rank < len(masks)) | config.direct))
    used = used[_stable_order((time[used] - time[used].min(initial=0)) * (len(masks) + 1) + rank[used])]
    return used, [m[used] for m in masks]


def _keys(user: np.ndarray, session: np.ndarray | None) -> np.ndarray:
    """Codes of what is counted: the users' own, or with sessions, one per (user, session) pair."""
    if session is None:
        return user  # user codes are below the events' count already
    dense, _ = pd.factorize(_pair_codes(user, session))  # the funnel's events all have both ids
    return dense


def _first_step(
    name: np.ndarray, names: list[str], steps: tuple[FunnelStep, ...], masks: list[np.ndarray]
) -> np.ndarray:
    """Each event's first matching step (len(steps) when none): a table lookup by name, then the param filters."""
    table = np.full(len(names) + 1, len(steps), dtype=np.int64)  # the last slot is for other names (-1)
    for i in range(len(steps) - 1, -1, -1):
        if not steps[i].params:
            table[names.index(steps[i].event)] = i
    rank = table[name]
    for i, step in enumerate(steps):
        if step.params:
            rank = np.where(masks[i] & (rank > i), i, rank)
    return rank


def _pair_codes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One number per (first, second) pair of codes, neither missing; made in place of `first`, which callers pass
    as a copy (these arrays can be as long as the export)."""
    first *= int(second.max(initial=0)) + 1
    first += second
    return first


def _stable_order(values: np.ndarray) -> np.ndarray:
    """A stable argsort: a fast unstable sort, then only the runs of equal values put back in position order."""
    order = np.argsort(values)
    ordered = values[order]
    tied = ordered[1:] == ordered[:-1]
    if tied.any():
        runs = np.flatnonzero(np.concatenate(([False], tied)) | np.concatenate((tied, [False])))
        order[runs] = order[runs][np.lexsort((order[runs], ordered[runs]))]
    return order


def _first_per_key(keys: np.ndarray, positions: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, first position) of each key among increasing `positions`; keys are codes below `count`."""
    none = np.iinfo(np.int64).max
    first = np.full(count, none, dtype=np.int64)
    np.minimum.at(first, keys[positions], positions)
    found = np.flatnonzero(first != none)
    return found, first[found]


def _chain(ordered: _Ordered, span: slice, config: FunnelConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each step, the keys that reached it (sorted) and the position of the event that did."""
    key, time = ordered.key[span], ordered.time[span]
    size = len(key)
    window = int(config.window * 1_000_000)
    matches = [m[span] for m in ordered.matches]
    reached = [_first_per_key(key, np.flatnonzero(matches[0]), ordered.key_count)]
    if config.direct:
        by_key = np.argsort(key * size + np.arange(size), kind="stable")
        following = np.full(size, -1, dtype=np.int64)
        same = key[by_key[1:]] == key[by_key[:-1]]
        following[by_key[:-1][same]] = by_key[1:][same]
    for mask in matches[1:]:
        keys, at = reached[-1]
        if config.direct:
            nxt = following[at]
            ok = nxt >= 0
            ok[ok] = mask[nxt[ok]]
        else:
            candidates = np.flatnonzero(mask)
            composite = np.sort(key[candidates] * size + candidates)
            slot = np.searchsorted(composite, keys * size + at, side="right")
            ok = slot < len(composite)
            nxt = np.full(len(at), -1, dtype=np.int64)
            nxt[ok] = composite[slot[ok]] % size
            ok[ok] = composite[slot[ok]] // size == keys[ok]
        ok[ok] = time[nxt[ok]] - time[at[ok]] <= window
        step = (keys[ok], nxt[ok])
        if config.open:
            fresh = mask & ~np.isin(key, step[0])
            fresh_keys, fresh_at = _first_per_key(key, np.flatnonzero(fresh), ordered.key_count)
            merged_keys = np.concatenate([step[0], fresh_keys])
            order = np.argsort(merged_keys, kind="stable")
            step = (merged_keys[order], np.concatenate([step[1], fresh_at])[order])
        reached.append(step)
    return reached


def _steps(counts: list[int], names: list[str]) -> tuple[FunnelStepResult, ...]:
    out = []
    for i, (name, users) in enumerate(zip(names, counts)):
        previous = counts[i - 1] if i else None
        nxt = counts[i + 1] if i + 1 < len(counts) else users
        out.append(
            FunnelStepResult(
                name=name,
                users=int(users),
                conversion_from_previous=None if previous is None or previous == 0 else users / previous,
                conversion_from_start=None if counts[0] == 0 else users / counts[0],
                abandonments=int(max(users - nxt, 0)),
            )
        )
    return tuple(out)


def _overall(counts: list[int]) -> float | None:
    return None if not counts or counts[0] == 0 else counts[-1] / counts[0]


def compute_funnel(events: pd.DataFrame, config: FunnelConfig, as_of: date, period_days: int = 30) -> FunnelMetrics:
    """Funnel steps, overall conversion, weekly trend, source/medium breakdown and traffic.

    A second thread codes the user ids, the longest step, then counts the traffic, while this one orders the
    events, codes the session ids (read as categories, they are coded already) and walks the funnel (numpy and
    pyarrow release the GIL for both).
    """
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=period_days)
    month_start = end.tz_convert(None).to_period("M").start_time.tz_localize("UTC")
    since = min(start - pd.Timedelta(days=period_days), end - pd.Timedelta(weeks=_WEEKS), month_start)
    with ThreadPoolExecutor(1) as pool:
        users = pool.submit(text_codes, events["user_id"])  # taken here: only this thread uses the frame
        time = events["event_time"].to_numpy(dtype="datetime64[us]").astype(np.int64)
        names = list(dict.fromkeys([*(step.event for step in config.steps), _SIGN_UP]))
        name = _name_codes(events, names)
        signup = name == names.index(_SIGN_UP)
        used, matches = _funnel_events(events, config, time, name, names, since - pd.Timedelta(microseconds=1), end)
        session = text_codes(events["session_id"])
        in_period = _within(time, start, end)
        figures = pool.submit(
            lambda: _traffic_figures(
                _Traffic(time, users.result(), signup, in_period), session, start, end, month_start
            )
        )
        traffic = _Traffic(time, users.result(), signup, in_period)
        key = _keys(traffic.user[used], session[used] if config.per_session else None)
        ordered = _Ordered(time[used], used, key, int(key.max(initial=-1)) + 1, matches)
        period = ordered.span(start, end)
        reached = _chain(ordered, period, config)
        counts = [len(keys) for keys, _ in reached]
        before = _chain(ordered, ordered.span(start - pd.Timedelta(days=period_days), start), config)
        weekly = _weekly(ordered, config, end)
        breakdown = _breakdown(events, ordered, period, reached, traffic)
        return FunnelMetrics(
            steps=_steps(counts, [s.name for s in config.steps]),
            overall_conversion=_overall(counts),
            previous_overall_conversion=_overall([len(keys) for keys, _ in before]),
            weekly=weekly,
            breakdown=breakdown,
            **figures.result(),
        )


def _traffic_figures(
    traffic: _Traffic, session: np.ndarray, start: pd.Timestamp, end: pd.Timestamp, month_start: pd.Timestamp
) -> dict[str, object]:
    """Visitors per day, users and sessions of the period (start, end], month-to-date visitors, sign-ups per day."""
    daily_visitors, users, monthly_visitors = _visitors(traffic, start, end, month_start)
    return {
        "daily_visitors": daily_visitors,
        "daily_signups": _daily_signups(traffic, start, end),
        "users": users,
        "sessions": _distinct_pairs(traffic.user, session, traffic.in_period),
        "monthly_visitors": monthly_visitors,
    }


def _distinct_pairs(first: np.ndarray, second: np.ndarray, among: np.ndarray) -> int:
    """How many different (first, second) pairs of codes among these events, neither missing (-1): by sorting,
    faster than hashing for integers."""
    known = among & (first >= 0) & (second >= 0)
    pairs = _pair_codes(first[known], second[known])
    pairs.sort()
    return _runs(pairs)


def _runs(ordered: np.ndarray) -> int:
    """How many runs of equal values a sorted array holds (its distinct values)."""
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1 if len(ordered) else 0


def _visitors(
    traffic: _Traffic, start: pd.Timestamp, end: pd.Timestamp, month_start: pd.Timestamp
) -> tuple[tuple[tuple[str, int], ...], int, int]:
    """Distinct users per UTC day of the period (start, end], in the whole period, and since `month_start`:
    all three from one sort of the (user, day) pairs."""
    since = min(start, month_start - pd.Timedelta(microseconds=1))
    rows = np.flatnonzero(_within(traffic.time, since, end) & (traffic.user >= 0))
    labels, day = day_slots(traffic.time[rows].view("datetime64[us]"), since, end)
    span = len(labels)
    pairs = traffic.user[rows]  # a copy, made into the (user, day) pairs in place
    pairs *= span
    pairs += day
    pairs.sort()
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs
    user, day = np.divmod(pairs, span)  # by user, then day
    period_first = span - (end - start).days
    month_first = labels.index(month_start.strftime("%Y-%m-%d"))
    per_day = np.bincount(day, minlength=span)[period_first:]
    daily = tuple((label, int(n)) for label, n in zip(labels[period_first:], per_day, strict=True))
    return daily, _runs(user[day >= period_first]), _runs(user[day >= month_first])


def _daily_signups(traffic: _Traffic, start: pd.Timestamp, end: pd.Timestamp) -> tuple[tuple[str, int], ...]:
    """Sign-up events per UTC day of the period (start, end]."""
    rows = np.flatnonzero(traffic.in_period & traffic.signup)
    labels, day = day_slots(traffic.time[rows].view("datetime64[us]"), start, end)
    return tuple(zip(labels, map(int, np.bincount(day, minlength=len(labels))), strict=True))


def _weekly(
    ordered: _Ordered, config: FunnelConfig, end: pd.Timestamp, weeks: int = _WEEKS
) -> tuple[tuple[str, float | None], ...]:
    """Overall conversion of the keys that entered in each of the last `weeks` weeks (one pass)."""
    start = end - pd.Timedelta(weeks=weeks)
    span = ordered.span(start, end)
    reached = _chain(ordered, span, config)
    keys, at = reached[0]
    week = np.minimum((ordered.time[span][at] - _micros(start)) // (7 * DAY_US), weeks - 1)
    done = _among(keys, reached[-1][0], ordered.key_count)
    entered = np.bincount(week, minlength=weeks)
    completed = np.bincount(week, weights=done, minlength=weeks)
    return tuple(
        (
            (start + pd.Timedelta(weeks=k + 1)).strftime("%Y-%m-%d"),
            None if entered[k] == 0 else float(completed[k] / entered[k]),
        )
        for k in range(weeks)
    )


def _breakdown(events, ordered: _Ordered, span: slice, reached, traffic: _Traffic, limit: int = 10):
    """Entries and completions by the source / medium of the entry event, else of the key's first event with one."""
    keys, at = reached[0]
    if not len(keys):
        return ()
    source, medium = events["source"], events["medium"]
    has_source = ~source.isna().to_numpy()
    chosen = ordered.row[span][at]
    lacking = ~has_source[chosen]
    if lacking.any():
        chosen[lacking] = _first_touch(traffic, has_source & traffic.in_period, chosen[lacking])
    table = pa.table(
        {
            "source": pc.fill_null(pc.take(pa.array(source.array), chosen), "(direct)"),
            "medium": pc.fill_null(pc.take(pa.array(medium.array), chosen), "(none)"),
            "done": _among(keys, reached[-1][0], ordered.key_count),
        }
    )
    grouped = table.group_by(["source", "medium"]).aggregate([("done", "count"), ("done", "sum")]).to_pylist()
    grouped.sort(key=lambda g: (-g["done_count"], g["source"], g["medium"]))
    return tuple(
        BreakdownRow(g["source"], g["medium"], g["done_count"], g["done_sum"], g["done_sum"] / g["done_count"])
        for g in grouped[:limit]
    )


def _among(keys: np.ndarray, subset: np.ndarray, count: int) -> np.ndarray:
    """Which keys (codes below `count`) are in `subset`."""
    table = np.zeros(count, dtype=bool)
    table[subset] = True
    return table[keys]


def _first_touch(traffic: _Traffic, candidates: np.ndarray, entry_rows: np.ndarray) -> np.ndarray:
    """For entry events without a source: the row of their user's earliest candidate event (else their own)."""
    rows = np.flatnonzero(candidates & (traffic.user >= 0))
    earliest = pd.Series(traffic.time[rows], index=rows).groupby(traffic.user[rows]).idxmin()
    found = earliest.reindex(traffic.user[entry_rows]).to_numpy(dtype=float)
    return np.where(np.isnan(found), entry_rows, np.nan_to_num(found)).astype(np.int64)


def funnel_from_steps(steps: pd.DataFrame) -> FunnelMetrics:
    """A pre-aggregated funnel export, shown as given (first segment when broken down)."""
    if steps["segment"].notna().any():
        steps = steps[steps["segment"] == steps["segment"].dropna().iloc[0]]
    steps = steps.sort_values("step_index")
    counts = [int(v) for v in steps["users"].fillna(0)]
    return FunnelMetrics(
        steps=_steps(counts, list(steps["step_name"].astype(str))),
        overall_conversion=_overall(counts),
        preaggregated=True,
    )


_VISITOR_METRICS = ("active users", "users", "total users")


def with_report_traffic(
    funnel: FunnelMetrics | None, traffic: pd.DataFrame, as_of: date, period_days: int = 30
) -> FunnelMetrics:
    """Visitors per day and sessions of the period from GA4/UA report tables (a `Date` or `Day Index` table)."""
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=period_days)
    daily = traffic[traffic["dimension_value"].isna() & traffic["date"].notna()]
    daily = daily[(daily["date"] > start) & (daily["date"] <= end)]
    metric = daily["metric"].str.strip().str.lower()
    visitors = daily[metric.isin(_VISITOR_METRICS)].groupby("date")["value"].max()
    days, slots = day_slots(visitors.index.to_numpy(dtype="datetime64[us]"), start, end)
    per_day = np.zeros(len(days), dtype=np.int64)
    per_day[slots[slots >= 0]] = visitors.to_numpy()[slots >= 0]
    sessions = daily.loc[metric == "sessions", "value"]
    base = funnel or FunnelMetrics(steps=(), overall_conversion=None, preaggregated=True)
    return replace(
        base,
        daily_visitors=tuple(zip(days, map(int, per_day), strict=True)) if len(visitors) else (),
        sessions=int(sessions.sum()) if len(sessions) else None,
    )
