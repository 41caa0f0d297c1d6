"""The ``audience`` scenario: audiences over a million replicated customers.

Loaded straight into the campaign database in one set-based statement (``generate_series``,
deterministic): 1M customers in the view replica, each view with a country (8), a value tier
(A/B/C), a tag, e-mail consent (half opted in), open tickets, a churn score and a lifetime value.

- **Preview**: one 3-rule audience (country in four of the eight, e-mail opted in, tier A or B:
  about 167k members) is created through the API, which evaluates the whole replica once (its
  time is reported); then ``GET /v1/audiences/{id}/preview`` straight to the campaign service,
  one request at a time: p99 against the target (200 ms) and against the baseline, the same
  count answered by one bare SQL statement over the replica's JSON documents (what a preview
  costs without stored membership).
- **Re-evaluation**: 100 audiences of 3 rules each in a tenant of their own, and one customer
  whose view changes back and forth so that it joins and leaves some of them:
  ``audiences.service.customer_changed`` in process, as the replica consumer calls it after
  applying a view, timed per call in a unit of work that already compiled the audiences (the
  steady state of a consumer batch; target 2 ms), and the first call of a unit of work (which
  loads and compiles them) for information.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import psycopg
from sqlalchemy.orm import Session

from bench.context import TENANT, Context
from bench.data import psycopg_url
from bench.measure import percentile
from bench.report import INFO, Report, Row, ratio, verdict
from services.campaign.audiences import rules
from services.campaign.audiences import service as audiences
from services.campaign.audiences.schemas import AudienceIn
from services.campaign.customers.tables import CustomerReplica
from shared.db import make_engine, make_sessions, unit_of_work, utcnow

KEY = "audience"
CUSTOMERS = 1_000_000
COUNTRIES = ("DE", "AT", "CH", "FR", "IT", "ES", "NL", "PL")
PREVIEW_P99_MS = 200
REEVALUATE_MS = 2.0
WARMUP = 3
REEVALUATIONS = 2000
RULES = {"all": [{"field": "country", "op": "in", "value": ["DE", "AT", "CH", "FR"]},
                 {"field": "consent.email", "op": "eq", "value": "opt_in"},
                 {"field": "value_tier", "op": "in", "value": ["A", "B"]}]}

LOAD = """
INSERT INTO customer_replicas (customer_id, tenant_id, view_version, display_name, kind, view, updated_at)
SELECT md5('a' || g)::uuid, %(tenant)s, 1, 'Customer ' || g, 'person',
       json_build_object(
         'customer_id', md5('a' || g)::uuid, 'version', 1,
         'profile', json_build_object(
           'display_name', 'Customer ' || g, 'kind', 'person', 'country', (%(countries)s::text[])[1 + g %% 8],
           'value_tier', (ARRAY['A', 'B', 'C'])[1 + g %% 3], 'customer_group', 'retail',
           'tags', json_build_array(CASE WHEN g %% 10 = 0 THEN 'vip' ELSE 'regular' END),
           'consent', json_build_object('email', CASE WHEN (g / 8) %% 2 = 0 THEN 'opt_in' ELSE 'unknown' END,
                                        'sms', 'unknown', 'phone', 'unknown')),
         'kpis', json_build_object(
           'open_tickets', g %% 4, 'churn_risk', json_build_object('score', g %% 100, 'level', 'low'),
           'lifetime_value', json_build_array(json_build_object('amount', (g %% 5000)::text, 'currency', 'EUR')))),
       now()
FROM generate_series(0, %(customers)s - 1) g
"""

BARE = """
SELECT count(*) FROM customer_replicas
WHERE tenant_id = %(tenant)s
  AND lower(view -> 'profile' ->> 'country') = ANY(%(countries)s)
  AND lower(view -> 'profile' -> 'consent' ->> 'email') = 'opt_in'
  AND lower(view -> 'profile' ->> 'value_tier') = ANY(%(tiers)s)
"""


def load(database_url: str) -> float:
    started = time.monotonic()
    with psycopg.connect(psycopg_url(database_url)) as conn:
        conn.execute(LOAD, {"tenant": TENANT, "countries": list(COUNTRIES), "customers": CUSTOMERS})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) customer_replicas")
    return time.monotonic() - started


def _settle(database_url: str) -> None:
    """What autovacuum does soon after a bulk write: the membership's visibility and statistics."""
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) audience_members")


def _bare(database_url: str, requests: int) -> tuple[list[float], int]:
    params = {"tenant": TENANT, "countries": ["de", "at", "ch", "fr"], "tiers": ["a", "b"]}
    seconds, count = [], 0
    with psycopg.connect(psycopg_url(database_url)) as conn:
        for index in range(requests + WARMUP):
            started = time.perf_counter()
            row = conn.execute(BARE, params).fetchone()
            count = int(row[0]) if row else 0
            if index >= WARMUP:
                seconds.append(time.perf_counter() - started)
    return seconds, count


def _previews(client: httpx.Client, audience_id: str, requests: int) -> tuple[list[float], int]:
    seconds, count = [], 0
    for index in range(requests + WARMUP):
        started = time.perf_counter()
        answer = client.get(f"/v1/audiences/{audience_id}/preview")
        if answer.status_code != 200:
            raise RuntimeError(f"preview answered {answer.status_code}: {answer.text[:300]}")
        if index >= WARMUP:
            seconds.append(time.perf_counter() - started)
        count = answer.json()["count"]
    return seconds, count


def _hundred_rules(n: int) -> dict[str, Any]:
    """Three conditions, varied so that the customer below matches some audiences and not others."""
    return {"all": [{"field": "country", "op": "in", "value": [COUNTRIES[n % 8], COUNTRIES[(n + 1) % 8]]},
                    {"any": [{"field": "tags", "op": "contains", "value": "vip"},
                             {"field": "churn_risk", "op": "gte", "value": n % 100}]},
                    {"field": "lifetime_value", "op": "gte", "value": {"amount": str(n * 10), "currency": "EUR"}}]}


def _view(customer_id: uuid.UUID, version: int) -> dict[str, Any]:
    flip = version % 2
    return {"customer_id": str(customer_id), "version": version,
            "profile": {"display_name": "Moving Customer", "kind": "person", "country": COUNTRIES[flip],
                        "value_tier": "A", "tags": ["vip"] if flip else [],
                        "consent": {"email": "opt_in", "sms": "unknown", "phone": "unknown"}},
            "kpis": {"open_tickets": 1, "churn_risk": {"score": 40 + 20 * flip},
                     "lifetime_value": [{"amount": "600", "currency": "EUR"}]}}


def _evaluations() -> list[float]:
    """The evaluation alone, in process: the view's values read once, then 100 compiled audiences."""
    compiled = [audiences.Compiled(id=uuid.uuid4(), static=frozenset(),
                                   matches=rules.compile_rules(rules.check(_hundred_rules(n)).rules))
                for n in range(100)]
    customer_id, now, seconds = uuid.uuid4(), utcnow(), []
    for version in range(REEVALUATIONS):
        view = _view(customer_id, version)
        started = time.perf_counter()
        values = rules.values_of(view, now)
        {a.id for a in compiled if a.holds(customer_id, values)}
        seconds.append(time.perf_counter() - started)
    return seconds


def _reevaluations(database_url: str) -> tuple[list[float], list[float]]:
    """Per call with the audiences compiled (steady state) and per first call of a unit of work (load + compile)."""
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    tenant = f"{TENANT}-hundred"
    customer_id = uuid.uuid4()
    with unit_of_work(sessions) as session:
        for n in range(100):
            audiences.create_audience(session, tenant, AudienceIn.model_validate(
                {"name": f"Audience {n}", "rules": _hundred_rules(n)}))
        session.add(CustomerReplica(customer_id=customer_id, tenant_id=tenant, view_version=1,
                                    display_name="Moving Customer", kind="person", view=_view(customer_id, 1),
                                    updated_at=utcnow()))
    steady: list[float] = []
    first: list[float] = []
    version = 1
    try:
        for _ in range(REEVALUATIONS // 100):
            with unit_of_work(sessions) as session:
                session_calls = _calls(session, tenant, customer_id, version, 100)
                version += 100
            first.append(session_calls[0])
            steady += session_calls[1:]
    finally:
        engine.dispose()
    return steady, first


def _calls(session: Session, tenant: str, customer_id: uuid.UUID, version: int, count: int) -> list[float]:
    seconds = []
    for step in range(count):
        view = _view(customer_id, version + step)
        started = time.perf_counter()
        audiences.customer_changed(session, customer_id, tenant, view)
        session.flush()
        seconds.append(time.perf_counter() - started)
    return seconds


def audience(ctx: Context, report: Report, requests: int) -> None:
    database = ctx.system.database_urls["campaign"]
    ctx.log(f"  loading {CUSTOMERS:,} customers into the campaign replica")
    loaded = load(database)
    headers = {"Authorization": f"Bearer {ctx.token}"}
    with httpx.Client(base_url=ctx.url("campaign"), headers=headers, timeout=900) as client:
        started = time.monotonic()
        created = client.post("/v1/audiences", json={"name": "DACH and France, opted in, tier A or B", "rules": RULES})
        evaluated = time.monotonic() - started
        if created.status_code != 201:
            raise RuntimeError(f"creating the audience answered {created.status_code}: {created.text[:300]}")
        _settle(database)
        previews, count = _previews(client, created.json()["id"], requests)
    bare, bare_count = _bare(database, max(5, requests // 4))
    if count != bare_count:
        raise RuntimeError(f"the audience holds {count:,} customers, the bare count finds {bare_count:,}")
    ctx.log(f"  preview p99 {percentile(previews, 99) * 1000:,.1f} ms; now 100 audiences and one changing customer")
    steady, first = _reevaluations(database)
    scenario = f"audience ({CUSTOMERS // 1_000_000}M customers in the replica)"
    p50, p99, bare_p99 = percentile(previews, 50) * 1000, percentile(previews, 99) * 1000, percentile(bare, 99) * 1000
    report.add(Row(scenario, f"preview of a 3-rule audience ({count:,} members) p99 ms", f"{p99:,.1f}",
                   f"{bare_p99:,.0f}", ratio(bare_p99, p99), f"<= {PREVIEW_P99_MS} ms",
                   verdict(p99 <= PREVIEW_P99_MS), key=KEY))
    report.add(Row(scenario, "preview p50 ms", f"{p50:,.1f}", "—", "—", "—", INFO))
    evaluation = _evaluations()
    evaluated_p50, evaluated_p99 = percentile(evaluation, 50) * 1000, percentile(evaluation, 99) * 1000
    report.add(Row(scenario, "one changed customer evaluated against 100 audiences, ms (p50 / p99)",
                   f"{evaluated_p50:.2f} / {evaluated_p99:.2f}", "—", "—", f"<= {REEVALUATE_MS:g} ms",
                   verdict(evaluated_p99 <= REEVALUATE_MS), key=KEY))
    report.add(Row(scenario, "... with its memberships read and changed on PostgreSQL, ms (p50 / p99)",
                   f"{percentile(steady, 50) * 1000:.2f} / {percentile(steady, 99) * 1000:.2f}", "—", "—", "—", INFO))
    report.add(Row(scenario, "first view of a batch (loads and compiles 100 audiences), ms p50",
                   f"{percentile(first, 50) * 1000:.1f}", "—", "—", "—", INFO))
    report.add(Row(scenario, "creating the audience (evaluates every view once), s", f"{evaluated:.1f}", "—", "—", "—",
                   INFO))
    report.detail(
        f"audience: {CUSTOMERS:,} customers loaded set-based into the campaign replica in {loaded:.0f} s. The "
        f"audience (country in DE/AT/CH/FR, e-mail opted in, tier A or B) is created through the API, which evaluates "
        f"every view in {evaluated:.1f} s; `GET /v1/audiences/{{id}}/preview` (count and a sample of 20) straight "
        f"to the campaign service, one request at a time, {requests} times after {WARMUP} warm-up requests. "
        f"Baseline: the same count in one SQL statement over the replica's JSON views. Re-evaluation: "
        f"the evaluation alone (the view's values, then 100 compiled audiences of 3 rules each) {REEVALUATIONS:,} "
        f"times in process; then `customer_changed` on PostgreSQL as the replica consumer calls it, for a customer "
        f"whose view alternates between two versions so that it joins and leaves about 16 audiences every time "
        f"(the worst case: most view versions change no membership and write nothing), {REEVALUATIONS:,} calls in "
        f"units of work of 100, each timed with its membership read and writes flushed; the first call of each unit "
        f"of work loads and compiles the 100 audiences and is reported apart.")
