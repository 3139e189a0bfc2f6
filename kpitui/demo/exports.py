"""Generated export files in the real layouts: a Zendesk CSV, a Delighted-style CSV, GA4 NDJSON, a spend sheet; the
people in them partly the billing book's customers, so the sources link."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kpitui.demo.billing_book import ACQUISITION_CHANNELS
from kpitui.demo.names import person

ZENDESK_HEADER = (
    "Summation column,Id,Requester,Requester id,Requester external id,Requester email,Requester domain,Submitter,"
    "Assignee,Group,Subject,Tags,Status,Priority,Via,Ticket type,Created at,Updated at,Assigned at,Organization,"
    "Due date,Initially assigned at,Solved at,Resolution time,Satisfaction Score,Group stations,Assignee stations,"
    "Reopens,Replies,First reply time in minutes,First reply time in minutes within business hours,"
    "First resolution time in minutes,First resolution time in minutes within business hours,"
    "Full resolution time in minutes,Full resolution time in minutes within business hours,"
    "Agent wait time in minutes,Agent wait time in minutes within business hours,Requester wait time in minutes,"
    "Requester wait time in minutes within business hours,On hold time in minutes,"
    "On hold time in minutes within business hours"
).split(",")
_SUBJECTS = [
    "Cannot log in",
    "Invoice question",
    "Export to CSV fails",
    "Add a seat",
    "SSO setup",
    "Webhook errors",
    "Slow dashboard",
    "Refund request",
    "API rate limit",
    "Change plan",
    "Password reset not arriving",
    "Integration with Slack",
    "Data looks wrong",
    "Cancel my account",
    "Feature request: dark mode",
]
_COMMENTS = {
    "promoter": [
        "Love the product, saves us hours every week",
        "Support is fantastic",
        "Best tool we use",
        "Simple and reliable",
        "The new reports are great 🎉",
    ],
    "passive": ["Good, but pricing is steep", "Does the job", "OK, a few rough edges", "Would like more integrations"],
    "detractor": [
        "Too slow on large accounts",
        "Billing was confusing, charged twice",
        "Support took days to answer",
        "Missing [critical] features, thinking of leaving",
        "Export broke our import\nagain",
    ],
}


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _business_minutes(minutes: float) -> int:
    return int(minutes * 0.45)


def requester_email(rng: random.Random, name: str, customers: Sequence[str]) -> str:
    """Who writes in: half the time a billing customer (its own email, or a colleague at its domain), else
    someone the billing book does not know (a trial user on free mail, a prospect)."""
    roll = rng.random()
    if customers and roll < 0.3:
        return rng.choice(customers)
    if customers and roll < 0.5:
        return f"{name.lower()}@{rng.choice(customers).rsplit('@', 1)[1]}"
    return f"{name.lower()}@{rng.choice(('gmail.com', 'customer.example', 'outlook.com'))}"


def write_zendesk(path: Path, seed: int, as_of: date, customers: Sequence[str] = (), days: int = 365) -> None:
    """A Zendesk admin export: weekday/office-hours load, SLA pressure on Mondays, reopens; requesters partly the
    billing customers' people (`customers`: their emails)."""
    rng, who = random.Random(seed), random.Random(seed + 1)
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, tzinfo=UTC)
    rows = []
    ticket_id = 1000
    for day in range(days, -1, -1):
        moment = end - timedelta(days=day)
        base = 10 + (days - day) * 0.035
        volume = int(
            max(
                0, rng.gauss(base * (0.35 if moment.weekday() >= 5 else 1.0) * (1.3 if moment.weekday() == 0 else 1), 3)
            )
        )
        for _ in range(volume):
            ticket_id += 1
            created = moment.replace(hour=0, minute=0) + timedelta(
                minutes=int(min(max(rng.gauss(13.5, 3.5), 0), 23.9) * 60)
            )
            if created > end:
                continue
            priority = rng.choices(["Low", "Normal", "High", "Urgent"], weights=[25, 50, 18, 7])[0]
            speed = {"Urgent": 20, "High": 90, "Normal": 300, "Low": 600}[priority]
            first = int(rng.lognormvariate(0, 0.9) * speed * (1.4 if created.weekday() == 0 else 1))
            resolution = first + int(rng.lognormvariate(0, 1.0) * speed * 4)
            replied = created + timedelta(minutes=first)
            solved = created + timedelta(minutes=resolution)
            if replied > end:
                status, first_txt, res_txt, solved_txt = "New", "", "", ""
            elif solved > end:
                status, first_txt, res_txt, solved_txt = rng.choice(["Open", "Pending", "Hold"]), str(first), "", ""
            else:
                status = "Closed" if (end - solved).days > 4 else "Solved"
                first_txt, res_txt, solved_txt = str(first), str(resolution), _local(solved)
            reopens = 1 if solved_txt and rng.random() < 0.08 else 0
            csat = (
                rng.choices(["Good", "Bad", "Offered", "Not Offered"], weights=[30, 4, 20, 46])[0]
                if solved_txt
                else "Not Offered"
            )
            name = person(rng)
            row = dict.fromkeys(ZENDESK_HEADER, "")
            row.update(
                {
                    "Id": str(ticket_id),
                    "Requester": name,
                    "Requester email": requester_email(who, name, customers),
                    "Subject": rng.choice(_SUBJECTS),
                    "Status": status,
                    "Priority": priority,
                    "Via": rng.choices(["Web form", "Email", "Chat", "API"], weights=[40, 35, 20, 5])[0],
                    "Created at": _local(created),
                    "Updated at": _local(min(solved, end)),
                    "Solved at": solved_txt,
                    "Satisfaction Score": csat,
                    "Reopens": str(reopens),
                    "First reply time in minutes": first_txt,
                    "First reply time in minutes within business hours": str(_business_minutes(first))
                    if first_txt
                    else "",
                    "Full resolution time in minutes": res_txt,
                    "Full resolution time in minutes within business hours": str(_business_minutes(resolution))
                    if res_txt
                    else "",
                }
            )
            rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ZENDESK_HEADER)
        writer.writeheader()
        writer.writerows(rows)


def write_delighted(path: Path, seed: int, as_of: date, customers: Sequence[str] = (), days: int = 365) -> None:
    """A Delighted-style CSV (id, person_email, score, comment, created_at in Unix seconds, plan)."""
    rng, who = random.Random(seed), random.Random(seed + 1)
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, tzinfo=UTC)
    rows = []
    for i in range(1, 1800):
        moment = end - timedelta(seconds=rng.random() * days * 86400)
        drift = (days - (end - moment).days) / days  # sentiment improves over the year
        score = min(10, max(0, round(rng.gauss(7.2 + 1.2 * drift, 2.2))))
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = rng.choice(_COMMENTS[group]) if rng.random() < 0.35 else ""
        rows.append(
            [
                f"r{i:05d}",
                requester_email(who, person(rng), customers),
                score,
                comment,
                int(moment.timestamp()),
                rng.choice(["Starter", "Pro", "Business"]),
            ]
        )
    rows.sort(key=lambda r: r[4])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "person_email", "score", "comment", "created_at", "plan"])
        writer.writerows(rows)


def write_ga4_ndjson(
    path: Path, seed: int, as_of: date, customers: Sequence[str] = (), days: int = 70, users_per_day: int = 160
) -> None:
    """A GA4 BigQuery export as NDJSON: sessions walking session_start → sign_up → checkout → purchase; people who
    signed up come back signed in (GA4's `user_id`: often a billing customer's email, `customers`)."""
    rng, back = random.Random(seed), random.Random(seed + 1)
    members: list[tuple[str, str]] = []  # (user_pseudo_id, login) of those who signed up
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, tzinfo=UTC)
    sources = [
        ("google", "organic", None),
        ("(direct)", "(none)", None),
        ("newsletter", "email", "nov_launch"),
        ("linkedin", "cpc", "b2b_q4"),
        ("github.com", "referral", None),
    ]
    weights = [40, 25, 12, 13, 10]
    with path.open("w", encoding="utf-8") as handle:
        user = 0
        for day in range(days, -1, -1):
            date_ = end - timedelta(days=day)
            weekend = date_.weekday() >= 5
            for _ in range(int(users_per_day * (0.6 if weekend else 1) * (1 + (days - day) / days * 0.3))):
                user += 1
                uid, login = f"{rng.randint(10**9, 10**10)}.{user}", None
                returning = bool(members) and back.random() < 0.3
                if returning:
                    uid, login = back.choice(members[-3000:])
                source, medium, campaign = rng.choices(sources, weights=weights)[0]
                start = date_.replace(hour=0, minute=0) + timedelta(seconds=rng.random() * 86399)
                if start > end:
                    continue
                session = str(int(start.timestamp()))
                quality = {"email": 1.5, "cpc": 0.8, "referral": 1.3}.get(medium, 1.0)
                steps = ["session_start", "page_view"]
                if rng.random() < 0.32 * quality and not returning:
                    steps.append("sign_up")
                    a_customer = customers and back.random() < 0.6
                    members.append((uid, back.choice(customers) if a_customer else f"user{user}@signup.example"))
                    if rng.random() < 0.45:
                        steps.append("begin_checkout")
                        if rng.random() < 0.55 + (days - day) / days * 0.1:
                            steps.append("purchase")
                moment = start
                for name in steps:
                    login = members[-1][1] if name == "sign_up" else login
                    params = [
                        {"key": "ga_session_id", "value": {"int_value": session}},
                        {"key": "page_location", "value": {"string_value": f"https://app.example/{name}"}},
                    ]
                    if name == "session_start":
                        params += [
                            {"key": "source", "value": {"string_value": source}},
                            {"key": "medium", "value": {"string_value": medium}},
                        ]
                        if campaign:
                            params.append({"key": "campaign", "value": {"string_value": campaign}})
                    handle.write(
                        json.dumps(
                            {
                                "event_date": moment.strftime("%Y%m%d"),
                                "event_timestamp": str(int(moment.timestamp() * 1_000_000)),
                                "event_name": name,
                                "user_pseudo_id": uid,
                                **({"user_id": login} if login else {}),
                                "event_params": params,
                                "traffic_source": {"source": source, "medium": medium, "name": campaign},
                            }
                        )
                        + "\n"
                    )
                    moment += timedelta(seconds=rng.randint(5, 900))


def write_spend(path: Path, seed: int, as_of: date, days: int = 70) -> None:
    """A hand-kept spend sheet (`date,channel,campaign,spend,currency`): daily ad spend per channel, the
    Facebook account billed in euros."""
    rng = random.Random(seed)
    campaigns = {"google": ("search_brand", 1400.0, "usd"), "linkedin": ("b2b_q4", 900.0, "usd"),
                 "newsletter": ("nov_launch", 180.0, "usd"), "facebook": ("retargeting", 520.0, "eur")}  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "channel", "campaign", "spend", "currency"])
        for day in range(days, -1, -1):
            moment = as_of - timedelta(days=day)
            for channel in ACQUISITION_CHANNELS:
                campaign, daily, currency = campaigns[channel]
                writer.writerow(
                    [moment.isoformat(), channel, campaign, f"{daily * rng.uniform(0.6, 1.4):.2f}", currency]
                )
