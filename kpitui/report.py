"""Print a Snapshot as JSON, an aligned table or KPI,value CSV."""

from __future__ import annotations

import csv
import io
import json

from kpitui import formatting as fmt
from kpitui.model import Snapshot, flatten, to_plain
from kpitui.text import clean


def as_json(snapshot: Snapshot) -> str:
    """The snapshot JSON contract (DESIGN.md section 6)."""
    return json.dumps(to_plain(snapshot), indent=2, ensure_ascii=False)


def as_csv(snapshot: Snapshot) -> str:
    """`kpi,value` rows for every leaf of the snapshot JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["kpi", "value"])
    for path, value in flatten(to_plain(snapshot)):
        writer.writerow([path, "" if value is None else value])
    return buffer.getvalue()


def _table_rows(snapshot: Snapshot) -> list[tuple[str, str]]:
    cur = snapshot.currency
    rows: list[tuple[str, str]] = []
    for name, status in snapshot.sources.items():
        note = f" — {clean(status.error)}" if status.error else ""
        counted = f"{fmt.number(status.rows)} {status.unit}"
        rows.append((f"source {clean(name)} ({status.type})", f"{status.status}, {counted}{note}"))
    if (r := snapshot.revenue) is not None:
        m = r.movements
        rows += [
            ("MRR", fmt.money(r.mrr, cur)),
            ("ARR", fmt.money(r.arr, cur)),
            ("Paying customers", fmt.number(r.paying_customers)),
            ("ARPA", fmt.money(r.arpa, cur)),
            ("New / expansion MRR", f"{fmt.money(m.new, cur)} / {fmt.money(m.expansion, cur)}"),
            ("Contraction / churn MRR", f"{fmt.money(m.contraction, cur)} / {fmt.money(m.churn, cur)}"),
            ("Reactivation / net new MRR", f"{fmt.money(m.reactivation, cur)} / {fmt.money(m.net_new, cur)}"),
            ("Customer churn (MTD)", fmt.percent(r.customer_churn_rate)),
            ("Gross / net MRR churn", f"{fmt.percent(r.gross_mrr_churn_rate)} / {fmt.percent(r.net_mrr_churn_rate)}"),
            ("NRR (12 months)", fmt.percent(r.nrr)),
            ("LTV", fmt.money(r.ltv, cur)),
            ("Quick ratio", fmt.number(r.quick_ratio, 2)),
            ("CMRR / MRR at risk", f"{fmt.money(r.cmrr, cur)} / {fmt.money(r.mrr_at_risk, cur)}"),
            ("ACV", fmt.money(r.acv, cur)),
            (f"Trial conversion ({snapshot.period_days}d)", fmt.percent(r.trial_conversion)),
            *(
                (f"MRR plan {clean(p.plan)}", f"{fmt.money(p.mrr, cur)} ({fmt.number(p.customers)} customers)")
                for p in r.by_plan
            ),
            *(
                (
                    f"MRR billed {fmt.interval(clean(i.interval))}",
                    f"{fmt.money(i.mrr, cur)} ({fmt.number(i.customers)} customers)",
                )
                for i in r.by_interval
            ),
        ]
    if (n := snapshot.nps) is not None:
        margin = f" ±{n.margin_of_error:.0f}" if n.margin_of_error is not None else ""
        rows += [
            ("NPS", f"{fmt.number(n.score)}{margin} ({n.responses} responses)"),
            ("NPS previous window", fmt.number(n.previous_score)),
        ]
    if (s := snapshot.support) is not None:
        rows += [
            ("Tickets", fmt.number(s.tickets)),
            ("Backlog", fmt.number(s.backlog)),
            (
                "First response median / P90",
                f"{fmt.minutes(s.first_response_minutes.median)} / {fmt.minutes(s.first_response_minutes.p90)}",
            ),
            (
                "Resolution median / P90",
                f"{fmt.minutes(s.resolution_minutes.median)} / {fmt.minutes(s.resolution_minutes.p90)}",
            ),
            ("SLA breach rate", fmt.percent(s.sla_breach_rate)),
            ("CSAT", fmt.percent(s.csat)),
        ]
    if (f := snapshot.funnel) is not None:
        for step in f.steps:
            rows.append(
                (f"Funnel: {clean(step.name)}", f"{fmt.number(step.users)} ({fmt.percent(step.conversion_from_start)})")
            )
        rows.append(("Funnel conversion", fmt.percent(f.overall_conversion)))
    rows += _cross_source_rows(snapshot)
    for alert in snapshot.alerts:
        rows.append((f"alert {clean(alert.kpi)}", f"{alert.state} ({fmt.number(alert.value, 2)})"))
    return rows


def _cross_source_rows(snapshot: Snapshot) -> list[tuple[str, str]]:
    """Engagement, acquisition and the linked customers, as table rows."""
    cur, rows = snapshot.currency, []
    if (e := snapshot.engagement) is not None:
        rows += [
            ("DAU / WAU / MAU", f"{fmt.number(e.dau)} / {fmt.number(e.wau)} / {fmt.number(e.mau)}"),
            ("Stickiness (mean DAU ÷ MAU)", fmt.percent(e.stickiness)),
            (f"Lead velocity ({clean(e.lead_event)})", fmt.percent(e.lead_velocity_rate)),
        ]
    if (a := snapshot.acquisition) is not None:
        rows += [
            (f"Ad spend ({snapshot.period_days}d)", fmt.money(a.spend, cur)),
            ("New paying customers", fmt.number(a.new_customers)),
            ("CAC / cost per sign-up", f"{fmt.money(a.cac, cur)} / {fmt.money(a.cost_per_signup, cur)}"),
            ("LTV:CAC / payback months", f"{fmt.number(a.ltv_to_cac, 2)} / {fmt.number(a.payback_months, 1)}"),
        ]
    if (c := snapshot.customers) is not None:
        rows += [
            (f"matched in {clean(name)}", f"{m.matched:,} of {m.rows:,} {m.unit}") for name, m in c.matched.items()
        ]
        rows += [
            ("MRR of detractors", fmt.money(c.detractor_mrr, cur)),
            ("Accounts at risk", fmt.number(len(c.at_risk))),
        ]
    return rows


def as_table(snapshot: Snapshot) -> str:
    """An aligned two-column table for people."""
    rows = [("as of", snapshot.as_of.isoformat()), *_table_rows(snapshot)]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows) + "\n"
