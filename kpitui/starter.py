"""The commented starter config written by `kpitui init`."""

from __future__ import annotations

import tomli_w

_SECTIONS: list[tuple[str, dict]] = [
    (
        "Board settings. refresh: how often sources reload; period: the window for support, funnel, traffic.",
        {"app": {"currency": "usd", "refresh": "5m", "period": "30d", "theme": "textual-dark"}},
    ),
    (
        "Stripe (or any Stripe-compatible API). The key is read from the environment variable named here.",
        {
            "sources": {
                "billing": {"type": "stripe", "api_key_env": "STRIPE_API_KEY", "base_url": "https://api.stripe.com"}
            }
        },
    ),
    (
        "Google Analytics 4: a BigQuery export (.ndjson, .parquet, .csv) or a UI report CSV; globs are fine.",
        {"sources": {"web": {"type": "ga4", "path": "~/exports/ga4/*.ndjson", "enabled": False}}},
    ),
    (
        "The same property's export where it lives, in BigQuery (pip install 'kpitui[bigquery]'; Google's own\n"
        "# credentials). A refresh whose dry run scans more than maximum_bytes_billed is refused; `kpitui check`\n"
        "# prints what one scans and costs.",
        {
            "sources": {
                "warehouse": {
                    "type": "ga4",
                    "bigquery": "my-project.analytics_123456",
                    "maximum_bytes_billed": "20GB",
                    "enabled": False,
                }
            }
        },
    ),
    (
        "Helpdesk export (Zendesk, Freshdesk, Intercom, HubSpot, …), as CSV or as a spreadsheet (.xlsx, Freshdesk's\n"
        "# .xls). timezone is the helpdesk's: times without an offset, the period's midnight and days (a survey's\n"
        "# sets its NPS window and months the same way);\n"
        '# date_order = "day-first" reads 03/11/2026 as 3 November (surveys too; default month-first).',
        {
            "sources": {
                "support": {
                    "type": "tickets",
                    "path": "~/exports/zendesk-tickets.csv",
                    "timezone": "UTC",
                    "enabled": False,
                }
            }
        },
    ),
    (
        "Survey export (Delighted, SurveyMonkey, Qualtrics, Typeform, Google Forms, any CSV with a 0–10 column).",
        {"sources": {"survey": {"type": "nps", "path": "~/exports/nps.csv", "enabled": False}}},
    ),
    (
        "Marketing spend (Google Ads, Meta Ads Manager, LinkedIn Campaign Manager, or date,channel,campaign,spend,\n"
        "# currency) for CAC, LTV:CAC and payback; channel names every row's channel where the export does not.",
        {"sources": {"ads": {"type": "spend", "path": "~/exports/spend/*.csv", "enabled": False}}},
    ),
    ("Exchange rates: units of app.currency per unit of each other currency.", {"fx": {"eur": 1.08}}),
    (
        "Linking survey respondents, ticket requesters and GA4 user_ids to billing customers: by id (a source's\n"
        "# customer_column, equal to the Stripe id or the metadata key below), else email, else business domain.\n"
        "# mrr_bands are MRR bounds in app.currency.",
        {
            "customers": {"mrr_bands": [0, 100, 1000, 10000], "email_metadata_keys": []},
            "acquisition": {"channel_metadata_key": "utm_source", "gross_margin": 0.8},
            "engagement": {"lead_event": "sign_up"},
        },
    ),
    (
        "Funnel steps are GA4 event names, in order; window is the most time allowed between steps.",
        {"funnel": {"steps": ["session_start", "sign_up", "begin_checkout", "purchase"], "window": "30d"}},
    ),
    ("First-response targets per ticket priority.", {"sla": {"urgent": "1h", "high": "4h", "normal": "24h"}}),
]
_ALERTS = [{"kpi": "support.first_response_minutes.median", "above": 120}]


def starter_config() -> str:
    """The starter TOML: each section written by tomli-w under a comment that explains it."""
    parts = ["# kpitui configuration. Sources marked enabled = false are examples: point them at your files.\n"]
    for comment, data in _SECTIONS:
        parts.append(f"# {comment}\n{tomli_w.dumps(data)}")
    parts.append("# Alerts: a KPI path from `kpitui snapshot --format json`, with above and/or below thresholds.")
    for alert in _ALERTS:
        parts.append("[[alerts]]\n" + tomli_w.dumps(alert))
    return "\n".join(parts)
