"""One customer across billing, surveys, tickets and GA4: the linking rules and every cross-source figure on one
hand-computed book, and the same book a month later."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from connectors.frames import conform
from kpitui.config import CustomersConfig
from kpitui.metrics.customers import CustomerInputs, compute_customers, link_keys, masked
from kpitui.metrics.revenue import RevenueEngine, RevenueSettings
from kpitui.metrics.revenue_kpis import accounts
from kpitui.metrics.support import SupportSettings
from tests.billing_frames import book

AS_OF = date(2026, 11, 20)  # period [10-22, 11-21), NPS window [08-23, 11-21), usage [10-22, 11-21) vs [09-22, 10-22)


def billing():
    """Acme $500 Pro (two emails: its own and a metadata one), Beta $50 Basic, Gamma $2,000 Pro past due and Delta
    $50 Basic cancelling share the domain shared.dev, Eps $80 Basic on gmail.com."""
    subs = [
        {"subscription_id": "sub_a"},
        {"subscription_id": "sub_b"},
        {"subscription_id": "sub_c", "status": "past_due"},
        {"subscription_id": "sub_d", "cancel_at_period_end": True, "cancel_at": "2026-12-05"},  # as Stripe sets both
        {"subscription_id": "sub_e"},
    ]
    amounts = {"a": (50000, "Pro"), "b": (5000, "Basic"), "c": (200000, "Pro"), "d": (5000, "Basic"),
               "e": (8000, "Basic")}  # fmt: skip
    items = [{"subscription_id": f"sub_{k}", "unit_amount": a, "product_name": p} for k, (a, p) in amounts.items()]
    b = book(subs, items)
    people = [
        ("cus_a", "Acme", "ops@acme.com", {"billing_email": " Finance@Acme.com "}),
        ("cus_b", "Beta", "jo@beta.io", {}),
        ("cus_c", "Gamma", "x@shared.dev", {}),
        ("cus_d", "Delta", "y@shared.dev", {}),
        ("cus_e", "", "e@gmail.com", {}),
    ]
    b.customers = conform(
        "customers",
        pd.DataFrame([{"customer_id": c, "name": n, "email": e, "metadata": json.dumps(m)} for c, n, e, m in people]),
    )
    return b


def responses():
    rows = [
        ("r1", "2026-11-01", 10, "ops@acme.com"),  # Acme by its email
        ("r2", "2026-11-10", 3, " finance@ACME.com"),  # Acme by its metadata email (folded)
        ("r3", "2026-11-05", 9, "someone@acme.com"),  # Acme by its business domain
        ("r4", "2026-11-06", 0, "z@shared.dev"),  # shared.dev is held by Gamma and Delta: ambiguous, links none
        ("r5", "2026-11-07", 8, "friend@gmail.com"),  # a free-mail domain never links
        ("r6", "2026-10-01", 6, "jo@beta.io"),  # Beta
        ("r7", "2026-11-08", 9, "y@shared.dev"),  # Delta by its email: an exact email wins over the domain
        ("r8", "2026-06-01", 10, "jo@beta.io"),  # before the 90-day window
    ]
    frame = pd.DataFrame(rows, columns=["response_id", "responded_at", "score", "respondent"])
    frame["responded_at"] = pd.to_datetime(frame["responded_at"], utc=True)
    return conform("responses", frame)


def tickets():
    rows = [
        ("t1", "2026-11-10 09:00", 90, "ops@acme.com", None),  # over the 60-minute target: a breach
        ("t2", "2026-11-11 09:00", 30, "new.hire@acme.com", None),  # Acme by domain
        ("t3", "2026-11-12 09:00", 120, "x@shared.dev", None),  # Gamma, a breach
        ("t4", "2026-11-13 09:00", 10, "nobody@unknown.org", None),  # no match
        ("t5", "2026-11-14 09:00", 20, None, "cus_b"),  # Beta by the configured id column
        ("t6", "2026-09-01 09:00", 5, "ops@acme.com", None),  # before the period
    ]
    frame = pd.DataFrame(rows, columns=["ticket_id", "created", "first_response_minutes", "requester_email",
                                        "customer_ref"])  # fmt: skip
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    frame["first_response_at"] = frame["created"] + pd.to_timedelta(frame["first_response_minutes"], unit="m")
    return conform("tickets", frame.assign(status="open", priority="Normal"))


def events():
    rows = [
        ("ops@acme.com", "2026-10-01 10:00"),  # Acme: two logins the 30 days before, one in the last 30
        ("finance@acme.com", "2026-10-05 10:00"),
        ("finance@acme.com", "2026-11-15 10:00"),
        ("cus_c", "2026-11-16 10:00"),  # Gamma by id: more active than before
        ("u123", "2026-11-17 10:00"),  # no match
    ]
    frame = pd.DataFrame(rows, columns=["login_id", "event_time"]).assign(user_id="p", event_name="page_view")
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return conform("events", frame)


def inputs(as_of: date = AS_OF, settings: CustomersConfig | None = None) -> CustomerInputs:
    b = billing()
    return CustomerInputs(
        accounts=accounts(RevenueEngine(b, RevenueSettings(), as_of), b.customers),
        surveys=(("survey", responses()),),
        helpdesks=(("support", tickets()),),
        web=(("web", events()),),
        settings=settings or CustomersConfig(email_metadata_keys=("billing_email",)),
        nps_window_days=90,
        support=SupportSettings(period_days=30, sla_minutes=(("normal", 60.0),)),
    )


def test_linking_rules_and_match_rates():
    m = compute_customers(inputs(), AS_OF)
    survey, support, web = (m.matched[n] for n in ("survey", "support", "web"))
    assert (survey.matched, survey.rows, survey.ambiguous) == (5, 7, 1)  # r1 r2 r3 r6 r7 of the 7 in the window
    assert (support.matched, support.rows) == (4, 5)  # t1 t2 t3 t5 of the period's 5
    assert (web.matched, web.rows) == (3, 4)  # logins ops@, finance@, cus_c of 4


def test_nps_by_plan_and_band_and_detractor_mrr():
    """Pro (Acme: 10, 3, 9): 100 × (2 − 1) ÷ 3; Basic (Beta 6, Delta 9): 0. Bands: 0–100 Beta and Delta,
    100–1,000 Acme. Latest responses: Acme 3 and Beta 6 are detractors: 500 + 50 of MRR."""
    m = compute_customers(inputs(), AS_OF)
    assert [(p.plan, p.responses) for p in m.nps_by_plan] == [("Pro", 3), ("Basic", 2)]
    assert m.nps_by_plan[0].score == pytest.approx(100 / 3) and m.nps_by_plan[1].score == 0.0
    assert [(b.band, b.responses) for b in m.nps_by_mrr_band] == [
        ("0–100", 2), ("100–1,000", 3), ("1,000–10,000", 0), ("10,000+", 0)
    ]  # fmt: skip
    assert m.nps_by_mrr_band[2].score is None
    assert m.detractor_mrr == pytest.approx(550.0)


def test_survey_window_and_usage_days_are_the_sources_time_zones():
    """In Los Angeles on 11-20 the NPS window is [08-23 07:00, 11-21 08:00) UTC and the usage days end at
    11-21 08:00 UTC: a reply from Beta and a login of Acme on the evening of the 20th count, Acme's reply of
    08-22 at 23:00 does not. Read in UTC it is the other way round."""
    replies = pd.DataFrame(
        [("late", "2026-11-21 05:00", 0, "jo@beta.io"), ("early", "2026-08-23 06:00", 10, "ops@acme.com")],
        columns=["response_id", "responded_at", "score", "respondent"],
    )
    logins = pd.DataFrame([("ops@acme.com", "2026-11-21 05:00")], columns=["login_id", "event_time"])
    surveys = conform("responses", replies.assign(responded_at=pd.to_datetime(replies["responded_at"], utc=True)))
    web = conform("events", logins.assign(user_id="p", event_name="page_view",
                                          event_time=pd.to_datetime(logins["event_time"], utc=True)))  # fmt: skip
    zoned = replace(inputs(), surveys=(("survey", surveys),), web=(("web", web),))
    local = compute_customers(replace(zoned, nps_timezone="America/Los_Angeles", web_timezone="America/Los_Angeles"),
                              AS_OF)  # fmt: skip
    assert [(p.plan, p.score, p.responses) for p in local.nps_by_plan] == [("Basic", -100.0, 1)]
    assert (local.matched["survey"].rows, local.matched["web"].rows) == (1, 1)
    utc = compute_customers(zoned, AS_OF)
    assert [(p.plan, p.score, p.responses) for p in utc.nps_by_plan] == [("Pro", 100.0, 1)]
    assert (utc.matched["survey"].rows, utc.matched["web"].rows) == (1, 0)


def test_the_snapshot_links_customers_in_the_survey_and_web_sources_zones(demo):
    """The customers' NPS window is the NPS pane's and their usage days the GA4 property's: each in its source's
    `timezone` as the snapshot passes it on."""
    from kpitui import pipeline
    from tests.conftest import AS_OF as DEMO_DAY
    from tests.conftest import FROZEN

    zones = {"survey": "America/Los_Angeles", "web": "Asia/Kolkata"}
    sources = {name: replace(source, options={**source.options, "timezone": zones[name]}) if name in zones else source
               for name, source in demo.config.sources.items()}  # fmt: skip
    config = replace(demo.config, sources=sources)
    states = {name: pipeline.fetch(name, source, None, FROZEN) for name, source in sources.items()}
    linked = pipeline.customer_inputs(config, states, pipeline.billing_accounts(config, states, DEMO_DAY))
    assert (linked.nps_timezone, linked.web_timezone) == ("America/Los_Angeles", "Asia/Kolkata")


def test_tickets_by_band():
    """Beta 1 ticket (20 min); Acme 2 (90, 30: median 60); Gamma 1 (120); the unmatched ticket is in no band."""
    m = compute_customers(inputs(), AS_OF)
    assert [(b.band, b.tickets, b.first_response_median) for b in m.tickets_by_mrr_band] == [
        ("0–100", 1, 20.0), ("100–1,000", 2, 60.0), ("1,000–10,000", 1, 120.0), ("10,000+", 0, None)
    ]  # fmt: skip


def test_accounts_at_risk_largest_first_with_reasons():
    m = compute_customers(inputs(), AS_OF)
    assert [(a.customer, a.mrr, a.reasons) for a in m.at_risk] == [
        ("Gamma", 2000.0, ("1 SLA breach", "past due")),
        ("Acme", 500.0, ("detractor (3, 2026-11-10)", "1 SLA breach", "active users 2 → 1")),
        ("Beta", 50.0, ("detractor (6, 2026-10-01)",)),
        ("Delta", 50.0, ("cancellation scheduled",)),
    ]


def test_a_month_later_the_windows_move():
    """At 12-20: the period [11-20, 12-21) holds no ticket; the NPS window [09-22, 12-21) still holds r1…r7;
    usage: Acme's finance@ (11-15) and Gamma's login (11-16) are now the 30 days before, none since. Delta's
    cancellation at its period end (12-05, `cancel_at`) has taken it out of MRR, so it is no longer at risk."""
    later = date(2026, 12, 20)
    m = compute_customers(inputs(later), later)
    assert m.matched["support"].rows == 0 and all(b.tickets == 0 for b in m.tickets_by_mrr_band)
    assert m.matched["survey"].rows == 7
    assert [(a.customer, a.reasons) for a in m.at_risk] == [
        ("Gamma", ("past due", "active users 1 → 0")),
        ("Acme", ("detractor (3, 2026-11-10)", "active users 1 → 0")),
        ("Beta", ("detractor (6, 2026-10-01)",)),
    ]


def test_ambiguous_emails_link_none_and_a_metadata_id_links():
    settings = CustomersConfig(customer_metadata_key="crm_id")
    b = billing()
    b.customers.loc[b.customers["customer_id"] == "cus_b", "metadata"] = json.dumps({"crm_id": "42"})
    b.customers.loc[b.customers["customer_id"] == "cus_e", "email"] = "jo@beta.io"  # two customers, one email
    keys = {(kind, key): customer for kind, key, customer in link_keys(b.customers, settings)}
    assert keys[("email", "jo@beta.io")] is None and keys[("id", "42")] == "cus_b"
    assert keys[("domain", "shared.dev")] is None and ("domain", "gmail.com") not in keys


def test_emails_are_masked_where_a_customer_has_no_name():
    assert masked("jane.doe@acme.com") == "j…@acme.com"
    b = billing()
    m = compute_customers(
        CustomerInputs(
            accounts=accounts(RevenueEngine(b, RevenueSettings(), AS_OF), b.customers),
            surveys=(("survey", responses().assign(respondent="e@gmail.com", score=0)),),
            helpdesks=(),
            web=(),
            settings=CustomersConfig(),
            nps_window_days=90,
            support=SupportSettings(),
        ),
        AS_OF,
    )
    assert [a.customer for a in m.at_risk if a.mrr == 80.0] == ["e…@gmail.com"]
