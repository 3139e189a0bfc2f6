"""One customer across billing, surveys, tickets and GA4 (DESIGN.md section 4): rows linked to a billing customer
by a configured id, else an email, else a business domain that only one customer holds; then NPS by plan and MRR
band, MRR held by detractors, tickets per MRR band and the accounts at risk. The links are SQL joins on the
engine; emails are join keys only, never shown or kept."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kpitui import engine
from kpitui.config import CustomersConfig
from kpitui.metrics.free_mail import FREE_MAIL
from kpitui.metrics.nps import NPS_COUNTS, nps_from_counts
from kpitui.metrics.support import SupportSettings, breach_sql, known_view, period_of
from kpitui.metrics.tables import instant, parse_metadata, period_bound, table_view
from kpitui.model import AccountAtRisk, BandNps, BandTickets, CustomersMetrics, PlanNps, SourceMatch

USAGE_DAYS = 30  # falling usage: fewer active users in the 30 days ending as_of than in the 30 before


@dataclass(frozen=True)
class CustomerInputs:
    """The billing accounts (`revenue_kpis.accounts`) and, per source name, the tables to link to them."""

    accounts: Any  # pandas: customer_id, name, email, metadata, mrr, plan, past_due, cancelling, first_paid
    surveys: tuple[tuple[str, Any], ...]
    helpdesks: tuple[tuple[str, Any], ...]
    web: tuple[tuple[str, Any], ...]
    settings: CustomersConfig
    nps_window_days: int
    support: SupportSettings
    nps_timezone: str = "UTC"  # the surveys' window is the NPS pane's, in its time zone
    web_timezone: str = "UTC"  # the days of the GA4 property


def fold(email: Any) -> str | None:
    """An email as a join key: trimmed, lower case; None when it is not one."""
    if not isinstance(email, str):
        return None
    folded = email.strip().lower()
    return folded if "@" in folded.strip("@") else None


def business_domain(email: str) -> str | None:
    """The domain of a folded email, unless it is a free-mail domain."""
    domain = email.rsplit("@", 1)[1]
    return None if domain in FREE_MAIL or not domain else domain


def masked(email: str) -> str:
    """`j…@acme.com`: enough to recognise, not enough to read."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def link_keys(accounts: Any, settings: CustomersConfig) -> list[tuple[str, str, str | None]]:
    """(kind, key, customer) for every id, email and business domain of the billing customers; a key that
    several customers hold has no customer (it is ambiguous and links none)."""
    holders: dict[tuple[str, str], set[str]] = {}
    for row in accounts.itertuples(index=False):
        customer, metadata = str(row.customer_id), parse_metadata(row.metadata)
        ids = {customer}
        if settings.customer_metadata_key and metadata.get(settings.customer_metadata_key) not in (None, ""):
            ids.add(str(metadata[settings.customer_metadata_key]).strip())
        emails = {fold(row.email), *(fold(metadata.get(k)) for k in settings.email_metadata_keys)} - {None}
        domains = {business_domain(e) for e in emails} - {None}
        for kind, keys in (("id", ids), ("email", emails), ("domain", domains)):
            for key in keys:
                holders.setdefault((kind, key), set()).add(customer)
    return [(kind, key, next(iter(c)) if len(c) == 1 else None) for (kind, key), c in holders.items()]


def _linked(relation: str, ref: str, email: str) -> str:
    """SQL: the relation's rows with the customer they link to (`customer_id`, null when none) and whether the
    key that decided was held by several customers (`ambiguous`): an id first, else the email, else its domain."""
    folded = f"lower(trim({email}))"
    domain = f"NULLIF(regexp_extract({folded}, '^[^@]+@([^@]+)$', 1), '')"
    decided = lambda column: " ".join(  # noqa: E731
        f"WHEN {k}.key IS NOT NULL THEN {k}.{column}" for k in ("i", "e", "d")
    )
    return (
        f"SELECT r.*, CASE {decided('customer_id')} END AS customer_id, "
        f"COALESCE(CASE {decided('customer_id IS NULL')} END, FALSE) AS ambiguous "
        f"FROM (SELECT *, NULLIF(trim({ref}), '') AS link_id, {folded} AS link_email, {domain} AS link_domain "
        f"FROM {relation}) r "
        "LEFT JOIN link_keys i ON i.kind = 'id' AND i.key = r.link_id "
        "LEFT JOIN link_keys e ON e.kind = 'email' AND e.key = r.link_email "
        "LEFT JOIN link_keys d ON d.kind = 'domain' AND d.key = r.link_domain"
    )


def band_labels(bounds: tuple[float, ...]) -> list[str]:
    """`0–100`, `100–1,000`, …, `10,000+`."""
    text = [f"{b:,.0f}" for b in bounds]
    return [f"{lo}–{hi}" for lo, hi in itertools.pairwise(text)] + [f"{text[-1]}+"]


def _band_sql(bounds: tuple[float, ...]) -> str:
    """SQL: the index of the MRR band `mrr` falls in (half-open bands; below the first bound: none)."""
    cases = " ".join(f"WHEN mrr < {float(hi)} THEN {k}" for k, hi in enumerate(bounds[1:]))
    return f"CASE WHEN mrr < {float(bounds[0])} THEN NULL {cases} ELSE {len(bounds) - 1} END"


def compute_customers(inputs: CustomerInputs, as_of: date) -> CustomersMetrics:
    """Every cross-source figure at `as_of`."""
    accounts = inputs.accounts
    settings = inputs.settings
    cursor = engine.cursor()
    try:
        import pyarrow as pa

        keys = link_keys(accounts, settings)
        columns = [pa.array([k[i] for k in keys], pa.string()) for i in range(3)]
        cursor.register("link_keys", pa.Table.from_arrays(columns, names=["kind", "key", "customer_id"]))
        frame = accounts[["customer_id", "mrr", "plan"]].assign(customer_id=accounts["customer_id"].astype(str))
        cursor.register("account_rows", pa.Table.from_pandas(frame, preserve_index=False))
        band = _band_sql(settings.mrr_bands)
        cursor.execute(f"CREATE TEMP VIEW accounts AS SELECT *, {band} AS band FROM account_rows")
        return _Linker(cursor, inputs, as_of).metrics()
    finally:
        cursor.close()


class _Linker:
    """The linked rows of each source, as temp tables, and the figures over them."""

    def __init__(self, cursor: Any, inputs: CustomerInputs, as_of: date) -> None:
        self.cursor, self.inputs, self.accounts, self.as_of = cursor, inputs, inputs.accounts, as_of
        self.matched: dict[str, SourceMatch] = {}
        self.bands = band_labels(inputs.settings.mrr_bands)

    def rows(self, sql: str) -> list[tuple]:
        return self.cursor.execute(sql).fetchall()

    def _keep(self, source: str, table: str, select: str, unit: str) -> str:
        """Hold one source's linked rows as a table, count its matches; a SELECT of them."""
        self.cursor.execute(f"CREATE TEMP TABLE {table} AS {select}")
        matched, rows, ambiguous = self.rows(
            f"SELECT count(customer_id), count(*), count(CASE WHEN ambiguous THEN 1 END) FROM {table}"
        )[0]
        self.matched[source] = SourceMatch(int(matched), int(rows), int(ambiguous), unit)
        return f"SELECT * FROM {table}"

    def _stack(self, name: str, parts: list[str]) -> bool:
        """Every source's linked rows as one table; False when there are none."""
        if parts:
            self.cursor.execute(f"CREATE TEMP TABLE {name} AS {' UNION ALL '.join(parts)}")
        return bool(parts)

    def surveys(self) -> bool:
        """`responses`: the linked responses in the NPS window (all of an undated export), per source."""
        days, zone = self.inputs.nps_window_days, self.inputs.nps_timezone
        end, start = (period_bound(self.as_of, days, back, zone) for back in (0, 1))
        parts = []
        for n, (name, table) in enumerate(self.inputs.surveys):
            table_view(self.cursor, f"survey_{n}", table)
            dated = self.rows(f"SELECT count(responded_at) > 0 FROM survey_{n}")[0][0]
            window = f"responded_at >= {instant(start)} AND responded_at < {instant(end)}" if dated else "TRUE"
            linked = _linked(f"survey_{n}", "customer_ref", "respondent")
            select = (
                "SELECT response_id, responded_at, score, customer_id, ambiguous "
                f"FROM ({linked}) WHERE score IS NOT NULL AND {window}"
            )
            parts.append(self._keep(name, f"responses_{n}", select, "responses"))
        return self._stack("responses", parts)

    def helpdesks(self) -> bool:
        """`tickets`: the linked tickets created in the period, as they stood at its end, with SLA breaches."""
        start, end = period_of(self.inputs.support, self.as_of)
        judged, breached = breach_sql(self.inputs.support)
        parts = []
        for n, (name, table) in enumerate(self.inputs.helpdesks):
            table_view(self.cursor, "tickets", table)
            known_view(self.cursor, self.inputs.support, end)
            select = (
                f"SELECT first_reply, CASE WHEN {judged} THEN {breached} END AS breached, customer_id, ambiguous "
                f"FROM ({_linked('k', 'customer_ref', 'requester_email')}) "
                f"WHERE created >= {instant(start)} AND created < {instant(end)}"
            )
            parts.append(self._keep(name, f"tickets_{n}", select, "tickets"))
            self.cursor.execute("DROP VIEW k")
        return self._stack("linked_tickets", parts)

    def web(self) -> dict[str, tuple[int, int]]:
        """Per linked customer: its active GA4 logins in the 30 days ending as_of and in the 30 before (the
        property's days)."""
        from kpitui.metrics.funnel import Calendar, events_view

        calendar = Calendar(ZoneInfo(self.inputs.web_timezone))
        at = lambda days: calendar.midnight(self.as_of + timedelta(days=1 - days))  # noqa: E731
        parts = []
        for n, (name, table) in enumerate(self.inputs.web):
            events_view(self.cursor, table, ())
            logins = (
                f"SELECT login_id, max(CASE WHEN t >= {at(USAGE_DAYS)} THEN 1 ELSE 0 END) AS recent, "
                f"max(CASE WHEN t < {at(USAGE_DAYS)} THEN 1 ELSE 0 END) AS before FROM events "
                f"WHERE login_id IS NOT NULL AND t >= {at(2 * USAGE_DAYS)} AND t < {at(0)} GROUP BY login_id"
            )
            self.cursor.execute(f"CREATE OR REPLACE TEMP VIEW logins AS {logins}")
            parts.append(self._keep(name, f"logins_{n}", _linked("logins", "login_id", "login_id"), "users"))
        if not self._stack("linked_logins", parts):
            return {}
        usage = self.rows(
            "SELECT customer_id, sum(recent), sum(before) FROM linked_logins WHERE customer_id IS NOT NULL "
            "GROUP BY customer_id"
        )
        return {customer: (int(now), int(then)) for customer, now, then in usage}

    def metrics(self) -> CustomersMetrics:
        has_surveys, has_tickets = self.surveys(), self.helpdesks()
        usage = self.web()
        detractor_mrr, detractors, by_plan, by_band = None, {}, (), ()
        if has_surveys:
            by_plan = tuple(
                PlanNps(plan, nps_from_counts(n, p, d)[0], n)
                for plan, n, p, d in self.rows(
                    f"SELECT a.plan, {NPS_COUNTS} FROM responses r JOIN accounts a USING (customer_id) "
                    "GROUP BY a.plan ORDER BY count(*) DESC, a.plan"
                )
            )
            found = {b: (n, p, d) for b, n, p, d in self.rows(
                f"SELECT a.band, {NPS_COUNTS} FROM responses r JOIN accounts a USING (customer_id) "
                "WHERE a.band IS NOT NULL GROUP BY a.band"
            )}  # fmt: skip
            by_band = tuple(
                BandNps(label, nps_from_counts(*found.get(k, (0, 0, 0)))[0], found.get(k, (0,))[0])
                for k, label in enumerate(self.bands)
            )
            latest = self.rows(
                "SELECT customer_id, score, responded_at FROM (SELECT customer_id, score, responded_at, "
                "ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY responded_at DESC NULLS LAST, response_id DESC) "
                "AS n FROM responses WHERE customer_id IS NOT NULL) WHERE n = 1"
            )
            detractors = {c: (s, t) for c, s, t in latest if s <= 6}
            mrr = dict(zip(self.accounts["customer_id"].astype(str), self.accounts["mrr"], strict=True))
            detractor_mrr = math.fsum(mrr.get(c, 0.0) for c in detractors)  # exact: the same in any row order
        tickets_by_band, breaches = (), {}
        if has_tickets:
            found = {b: (n, m) for b, n, m in self.rows(
                "SELECT a.band, count(*), median(t.first_reply) FROM linked_tickets t JOIN accounts a "
                "USING (customer_id) WHERE a.band IS NOT NULL GROUP BY a.band"
            )}  # fmt: skip
            tickets_by_band = tuple(
                BandTickets(label, int(found.get(k, (0, None))[0]), _float(found.get(k, (0, None))[1]))
                for k, label in enumerate(self.bands)
            )
            breaches = dict(self.rows(
                "SELECT customer_id, count(*) FROM linked_tickets WHERE breached AND customer_id IS NOT NULL "
                "GROUP BY customer_id"
            ))  # fmt: skip
        return CustomersMetrics(
            matched=self.matched,
            nps_by_plan=by_plan,
            nps_by_mrr_band=by_band,
            tickets_by_mrr_band=tickets_by_band,
            detractor_mrr=detractor_mrr,
            at_risk=self._at_risk(detractors, breaches, usage),
        )

    def _at_risk(self, detractors: dict, breaches: dict, usage: dict) -> tuple[AccountAtRisk, ...]:
        """Paying customers with a reason to worry, largest MRR first."""
        out = []
        for row in self.accounts.sort_values(["mrr", "customer_id"], ascending=[False, True]).itertuples(index=False):
            customer = str(row.customer_id)
            if row.mrr <= 0:
                continue
            reasons = []
            if customer in detractors:
                score, when = detractors[customer]
                reasons.append(f"detractor ({score}" + (f", {when:%Y-%m-%d})" if when is not None else ")"))
            if breaches.get(customer):
                n = int(breaches[customer])
                reasons.append(f"{n} SLA breach{'es' if n > 1 else ''}")
            if row.cancelling:
                reasons.append("cancellation scheduled")
            if row.past_due:
                reasons.append("past due")
            now, then = usage.get(customer, (0, 0))
            if now < then:
                reasons.append(f"active users {then} → {now}")
            if reasons:
                out.append(AccountAtRisk(_label(row), float(row.mrr), tuple(reasons)))
        return tuple(out)


def _label(row: Any) -> str:
    """A customer as the board shows it: its name, else its masked email, else its id."""
    if isinstance(row.name, str) and row.name.strip():
        return row.name.strip()
    email = fold(row.email)
    return masked(email) if email else str(row.customer_id)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
