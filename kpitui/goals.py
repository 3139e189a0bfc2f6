"""Goals from `[goals]`: short names or snapshot-JSON paths, and how far a KPI is from its goal."""

from __future__ import annotations

ALIASES = {
    "mrr": "revenue.mrr",
    "arr": "revenue.arr",
    "paying_customers": "revenue.paying_customers",
    "customers": "revenue.paying_customers",
    "nrr": "revenue.nrr",
    "arpa": "revenue.arpa",
    "cmrr": "revenue.cmrr",
    "mrr_at_risk": "revenue.mrr_at_risk",
    "acv": "revenue.acv",
    "trial_conversion": "revenue.trial_conversion",
    "ltv": "revenue.ltv",
    "nps": "nps.score",
    "csat": "support.csat",
    "backlog": "support.backlog",
    "tickets": "support.tickets",
    "first_response": "support.first_response_minutes.median",
    "resolution": "support.resolution_minutes.median",
    "sla_breach_rate": "support.sla_breach_rate",
    "conversion": "funnel.overall_conversion",
    "customer_churn": "revenue.customer_churn_rate",
    "quick_ratio": "revenue.quick_ratio",
    "cac": "acquisition.cac",
    "ltv_to_cac": "acquisition.ltv_to_cac",
    "payback": "acquisition.payback_months",
    "cost_per_signup": "acquisition.cost_per_signup",
    "spend": "acquisition.spend",
    "dau": "engagement.dau",
    "wau": "engagement.wau",
    "mau": "engagement.mau",
    "stickiness": "engagement.stickiness",
    "lead_velocity": "engagement.lead_velocity_rate",
    "detractor_mrr": "customers.detractor_mrr",
}


def goal_for(goals: dict[str, float] | None, kpi: str) -> float | None:
    """The goal set for a KPI path, by its path or its short name."""
    if not goals:
        return None
    for key, value in goals.items():
        if ALIASES.get(key, key) == kpi:
            return value
    return None


def progress(value: float | None, goal: float | None, higher_is_better: bool) -> str:
    """`62% of goal` when more is better; `goal met` / `over goal` when less is better."""
    if value is None or goal is None:
        return ""
    if higher_is_better:
        return "goal met" if value >= goal else f"{value / goal:.0%} of goal" if goal else ""
    return "goal met" if value <= goal else "over goal"
