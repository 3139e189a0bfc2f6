"""Funnel conversion with GA4's rules (closed/open, indirect/direct, inclusive window), vectorised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kpitui.config import FunnelConfig, FunnelStep
from kpitui.metrics.revenue import end_of_day
from kpitui.model import BreakdownRow, FunnelMetrics, FunnelStepResult

_PARAM = "param."


@dataclass
class _Prepared:
    """Events of the period with a key, a global order and per-step match masks."""

    events: pd.DataFrame
    matches: list[np.ndarray]
    source: pd.DataFrame


def _step_mask(events: pd.DataFrame, step: FunnelStep) -> np.ndarray:
    mask = (events["event_name"] == step.event).to_numpy(dtype=bool, na_value=False)
    for key, value in step.params.items():
        column = _PARAM + key
        if column not in events:
            return np.zeros(len(events), dtype=bool)
        mask &= (events[column] == value).fillna(False).to_numpy(dtype=bool)
    return mask


def _prepare(events: pd.DataFrame, config: FunnelConfig) -> _Prepared:
    """Key events by user (or session) and order them by time, ties broken by step order."""
    events = events[events["user_id"].notna()]
    if config.per_session:
        events = events[events["session_id"].notna()]
    masks = [_step_mask(events, step) for step in config.steps]
    rank = np.full(len(events), len(config.steps), dtype=np.int64)
    for i in range(len(masks) - 1, -1, -1):
        rank[masks[i]] = i
    if config.per_session:
        key, _ = pd.factorize(pd.MultiIndex.from_arrays([events["user_id"], events["session_id"]]))
    else:
        key, _ = pd.factorize(events["user_id"])
    frame = pd.DataFrame(
        {
            "key": key,
            "time": events["event_time"].dt.tz_convert(None).to_numpy(),
            "rank": rank,
            "row": np.arange(len(events)),
        }
    )
    order = np.lexsort((np.arange(len(frame)), rank, frame["time"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame["seq"] = np.arange(len(frame), dtype=np.int64)
    return _Prepared(frame, [m[order] for m in masks], events[["source", "medium"]])


def _chain(prep: _Prepared, config: FunnelConfig) -> list[pd.DataFrame]:
    """For each step, the keys that reached it with the (time, seq) of the step's event."""
    ev = prep.events
    window = pd.Timedelta(seconds=config.window)
    first = ev[prep.matches[0]].drop_duplicates("key")[["key", "time", "seq"]]
    reached = [first]
    if config.direct:
        nxt = ev.groupby("key", sort=False)["seq"].shift(-1)
    for mask in prep.matches[1:]:
        prev = reached[-1]
        if config.direct:
            nxt_seq = nxt.reindex(prev["seq"].to_numpy()).to_numpy()
            ok = ~np.isnan(nxt_seq)
            cand = ev.iloc[nxt_seq[ok].astype(np.int64)]
            hit = mask[cand["seq"].to_numpy()] & ((cand["time"].to_numpy() - prev["time"].to_numpy()[ok]) <= window)
            step = cand[hit][["key", "time", "seq"]]
        else:
            right = ev[mask][["key", "seq", "time"]].rename(columns={"time": "t_next", "seq": "seq_next"})
            left = prev.sort_values("seq")
            merged = pd.merge_asof(
                left,
                right.sort_values("seq_next"),
                left_on="seq",
                right_on="seq_next",
                by="key",
                direction="forward",
                allow_exact_matches=False,
            )
            ok = merged["seq_next"].notna() & ((merged["t_next"] - merged["time"]) <= window)
            step = merged[ok][["key", "t_next", "seq_next"]].rename(columns={"t_next": "time", "seq_next": "seq"})
            step["seq"] = step["seq"].astype(np.int64)
        if config.open:
            fresh = ev[mask & ~ev["key"].isin(step["key"]).to_numpy()].drop_duplicates("key")[["key", "time", "seq"]]
            step = pd.concat([step, fresh], ignore_index=True)
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


def _window(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return events[(events["event_time"] > start) & (events["event_time"] <= end)]


def _counts(events: pd.DataFrame, config: FunnelConfig) -> tuple[list[int], list[pd.DataFrame], _Prepared]:
    prep = _prepare(events, config)
    reached = _chain(prep, config)
    return [len(r) for r in reached], reached, prep


def compute_funnel(events: pd.DataFrame, config: FunnelConfig, as_of: date, period_days: int = 30) -> FunnelMetrics:
    """Funnel steps, overall conversion, weekly trend, source/medium breakdown and traffic."""
    end = end_of_day(as_of)
    start = end - pd.Timedelta(days=period_days)
    names = [s.name for s in config.steps]
    params = {_PARAM + key for step in config.steps for key in step.params}
    columns = ["event_time", "event_name", "user_id", "session_id", "source", "medium"]
    events = events[columns + sorted(params & set(events.columns))]
    period = _window(events, start, end)
    counts, reached, prep = _counts(period, config)
    previous, *_ = _counts(_window(events, start - pd.Timedelta(days=period_days), start), config)
    return FunnelMetrics(
        steps=_steps(counts, names),
        overall_conversion=_overall(counts),
        previous_overall_conversion=_overall(previous),
        weekly=_weekly(events, config, end),
        breakdown=_breakdown(prep, reached),
        daily_visitors=_daily(period, start, end, None),
        daily_signups=_daily(period, start, end, "sign_up"),
        users=int(period["user_id"].nunique()),
        sessions=int(
            (period["user_id"].astype(str) + "|" + period["session_id"].astype(str))[
                period["session_id"].notna()
            ].nunique()
        ),
    )


def _weekly(
    events: pd.DataFrame, config: FunnelConfig, end: pd.Timestamp, weeks: int = 8
) -> tuple[tuple[str, float | None], ...]:
    """Overall conversion of the users who entered in each of the last `weeks` weeks (one pass)."""
    start = end - pd.Timedelta(weeks=weeks)
    prep = _prepare(_window(events, start, end), config)
    reached = _chain(prep, config)
    entry = reached[0]
    week = ((entry["time"] - start.tz_convert(None)) // pd.Timedelta(weeks=1)).clip(upper=weeks - 1).to_numpy()
    done = entry["key"].isin(reached[-1]["key"]).to_numpy()
    out = []
    for k in range(weeks):
        entered = int((week == k).sum())
        w_end = start + pd.Timedelta(weeks=k + 1)
        out.append((w_end.strftime("%Y-%m-%d"), None if entered == 0 else float(done[week == k].sum() / entered)))
    return tuple(out)


def _breakdown(prep: _Prepared, reached: list[pd.DataFrame], limit: int = 10) -> tuple[BreakdownRow, ...]:
    """Entries and completions by the source / medium of the entry event."""
    if not reached or reached[0].empty:
        return ()
    ev = prep.events
    rows = ev["row"].to_numpy()
    entry = pd.DataFrame({"key": reached[0]["key"].to_numpy()})
    entry_rows = rows[reached[0]["seq"].to_numpy()]
    entry["source"] = prep.source["source"].to_numpy()[entry_rows]
    entry["medium"] = prep.source["medium"].to_numpy()[entry_rows]
    touched = pd.DataFrame(
        {
            "key": ev["key"].to_numpy(),
            "source": prep.source["source"].to_numpy()[rows],
            "medium": prep.source["medium"].to_numpy()[rows],
        }
    )
    first_touch = touched.dropna(subset=["source"]).drop_duplicates("key").set_index("key")
    src = entry["source"].fillna(entry["key"].map(first_touch["source"])).fillna("(direct)")
    med = entry["medium"].fillna(entry["key"].map(first_touch["medium"])).fillna("(none)")
    done = entry["key"].isin(reached[-1]["key"])
    table = pd.DataFrame({"source": src.to_numpy(), "medium": med.to_numpy(), "done": done.to_numpy()})
    grouped = table.groupby(["source", "medium"])["done"].agg(["size", "sum"]).sort_values("size", ascending=False)
    return tuple(
        BreakdownRow(str(s), str(m), int(row["size"]), int(row["sum"]), float(row["sum"] / row["size"]))
        for (s, m), row in grouped.head(limit).iterrows()
    )


def _daily(
    period: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, event: str | None
) -> tuple[tuple[str, int], ...]:
    days = pd.date_range(start.normalize() + pd.Timedelta(days=1), end.normalize(), freq="D")
    day = period["event_time"].dt.normalize()
    if event is None:
        counts = period.groupby(day)["user_id"].nunique()
    else:
        counts = day[period["event_name"] == event].value_counts()
    return tuple((d.strftime("%Y-%m-%d"), int(counts.get(d, 0))) for d in days)


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
