"""The ``sales-forecast`` scenario: 100k opportunities in three currencies over twelve months.

The deals, and the sales replica of the customers they belong to, are loaded straight into
the sales database with COPY (deterministic, seed 1); the exchange rates (a new USD/EUR and
EUR/GBP rate every month, mid-month) are recorded through the API once the sales worker has
built the tenant's forecast rollup (each new rate splits a segment of it). Then ``GET /v1/forecast``
by owner and by region is asked one request at a time, straight to the sales service, and
the p99 of the round trip is compared with the target and with the bare aggregate: the same
rows grouped by owner, currency, quarter and category in one SQL statement over psycopg,
without conversion, HTTP or JSON (the same-run baseline).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import httpx
import psycopg

from bench.context import TENANT, Context
from bench.data import derived_uuid, psycopg_url
from bench.measure import percentile
from bench.report import Report, Row, ratio, verdict

OPPORTUNITIES = 100_000
CUSTOMERS = 5_000
OWNERS = 40
TEAMS = 8
REGIONS = ("North", "South", "East", "West", "Central", "Alps", "Coast", "Islands")
CURRENCIES = ("EUR", "USD", "GBP")
YEAR = date(2026, 1, 1)
P99_MS = 150
WARMUP = 10
SEED = 1
# (status, forecast category, probability, share in percent) of the generated deals.
KINDS = (("open", "pipeline", 20, 28), ("open", "best_case", 50, 18), ("open", "commit", 75, 17),
         ("open", "omitted", 10, 7), ("won", "closed", 100, 20), ("lost", "omitted", 0, 10))
STAGES = {"pipeline": "qualification", "best_case": "proposal", "commit": "negotiation", "closed": "closed_won"}
# ``region``: what opening each deal through the API stores, its customer's region.
OPPORTUNITY_COLUMNS = ("id", "tenant_id", "customer_id", "name", "amount", "currency", "stage", "status",
                       "forecast_category", "probability", "owner", "team", "region", "expected_close_date",
                       "version", "created_at", "updated_at", "closed_at")
REPLICA_COLUMNS = ("customer_id", "tenant_id", "view_version", "display_name", "kind", "view", "updated_at")


def _customer_id(index: int) -> str:
    return derived_uuid(SEED, index, 900)


def _view(index: int, now: str) -> str:
    """A published view of the size and shape the customer service publishes (profile, KPIs, sequences)."""
    region = REGIONS[index % len(REGIONS)]
    name = f"Company {index}"
    profile = {
        "id": _customer_id(index), "kind": "organization", "display_name": name, "given_name": None,
        "family_name": None, "organization_name": name,
        "emails": [{"address": f"sales.{index}@example.com", "primary": True}],
        "phones": [{"number": f"+4930{index:07d}", "primary": True}], "country": "DE", "region": region,
        "addresses": [{"line1": f"Street {index}", "line2": None, "city": "Berlin", "postal_code": "10115",
                       "region": region, "country": "DE", "primary": True}],
        "industry": "manufacturing", "employees": 250, "annual_revenue": {"amount": "12000000.00", "currency": "EUR"},
        "preferred_language": "de", "preferred_currency": "EUR", "owner": f"owner-{index % OWNERS:02d}", "tags": [],
        "custom_fields": {}, "credit_limit": {"amount": "50000.00", "currency": "EUR"}, "lifetime_value": None,
        "parent_id": None, "organization_id": None, "organization_role": None, "external_id": f"ext-{index}",
        "customer_group": "b2b", "value_tier": "gold", "customer_since": now,
    }
    kpis = {"open_opportunities": 20, "open_pipeline": {"amount": "250000.00", "currency": "EUR"},
            "won_opportunities": 4, "lost_opportunities": 2, "open_tickets": 1, "campaigns": 3,
            "last_contact_at": now, "churn_risk": {"score": 12, "reasons": ["no recent contact"]}}
    return json.dumps({"customer_id": _customer_id(index), "version": 3, "profile": profile, "kpis": kpis,
                       "source_sequences": {"customer": 3, "sales": 20}, "as_of": now, "updated_at": now},
                      separators=(",", ":"))


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _line(values: tuple[object, ...]) -> str:
    return "\t".join(_copy_text(v) for v in values) + "\n"


def _opportunity_rows(now: str) -> Iterator[str]:
    chooser = random.Random(SEED)
    weights = [kind[3] for kind in KINDS]
    for index in range(OPPORTUNITIES):
        status, category, probability, _ = chooser.choices(KINDS, weights)[0]
        currency = CURRENCIES[index % len(CURRENCIES)]
        closes = None if index % 50 == 0 else YEAR + timedelta(days=chooser.randrange(365))
        amount = f"{chooser.randrange(100, 500_000)}.{chooser.randrange(100):02d}"
        stage = "closed_lost" if status == "lost" else STAGES[category] if category in STAGES else "prospecting"
        customer = chooser.randrange(CUSTOMERS)
        owner, team = f"owner-{chooser.randrange(OWNERS):02d}", f"team-{chooser.randrange(TEAMS)}"
        yield _line((derived_uuid(SEED, index, 901), TENANT, _customer_id(customer), f"Deal {index}", amount,
                     currency, stage, status, category, probability, owner, team, REGIONS[customer % len(REGIONS)],
                     closes, 1, now, now, None if status == "open" else now))


def load(sales_database_url: str) -> float:
    """The deals and the customers' replicated views, with COPY; answers the seconds it took."""
    started = time.monotonic()
    now = datetime.now(timezone.utc).isoformat()
    with psycopg.connect(psycopg_url(sales_database_url)) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY customer_replicas ({', '.join(REPLICA_COLUMNS)}) FROM STDIN") as copy:
                for index in range(CUSTOMERS):
                    copy.write(_line((_customer_id(index), TENANT, 3, f"Company {index}", "organization",
                                      _view(index, now), now)))
            with cur.copy(f"COPY opportunities ({', '.join(OPPORTUNITY_COLUMNS)}) FROM STDIN") as copy:
                for row in _opportunity_rows(now):
                    copy.write(row)
        # As a migration marks a tenant that has deals: its rollup waits for the worker's build job.
        conn.execute("INSERT INTO forecast_rollup_states (tenant_id) VALUES (%s)", (TENANT,))
        conn.commit()
        conn.autocommit = True
        for table in ("customer_replicas", "opportunities"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.monotonic() - started


def _record_rates(client: httpx.Client) -> int:
    """A new rate each month on the 15th: USD -> EUR and EUR -> GBP (GBP -> EUR is its inverse)."""
    recorded = 0
    for month in range(12):
        day = date(2026, month + 1, 15) if month else date(2025, 12, 15)
        for base, quote, rate in (("USD", "EUR", f"0.9{month:02d}1"), ("EUR", "GBP", f"0.84{month:02d}7")):
            answer = client.post("/v1/exchange-rates", json={"base": base, "quote": quote, "rate": rate,
                                                             "valid_from": day.isoformat()})
            if answer.status_code != 201:
                raise RuntimeError(f"recording a rate answered {answer.status_code}: {answer.text[:200]}")
            recorded += 1
    return recorded


def _await_rollup(ctx: Context, timeout: float = 300.0) -> float:
    """Seconds until the sales worker's build job has built the tenant's rollup."""
    started = time.monotonic()
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"]), autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            row = conn.execute("SELECT built_at FROM forecast_rollup_states WHERE tenant_id = %s", (TENANT,)).fetchone()
            if row is not None and row[0] is not None:
                return time.monotonic() - started
            time.sleep(0.2)
    raise RuntimeError(f"the forecast rollup was not built within {timeout:.0f} s")


def _timed(client: httpx.Client, params: dict[str, str], requests: int) -> list[float]:
    latencies: list[float] = []
    for n in range(-WARMUP, requests):
        started = time.perf_counter()
        answer = client.get("/v1/forecast", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"forecast {params} answered {answer.status_code}: {answer.text[:200]}")
        if n >= 0:
            latencies.append(elapsed)
    return latencies


BARE_AGGREGATE = (
    "SELECT owner, currency, date_trunc('quarter', expected_close_date), status, forecast_category, sum(amount), "
    "sum(amount * probability), count(*) FROM opportunities WHERE tenant_id = %s AND status IN ('open', 'won') "
    "AND expected_close_date BETWEEN %s AND %s GROUP BY 1, 2, 3, 4, 5")


def _bare_aggregate(ctx: Context, requests: int) -> list[float]:
    latencies: list[float] = []
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn:
        for n in range(-WARMUP, requests):
            started = time.perf_counter()
            conn.execute(BARE_AGGREGATE, (TENANT, YEAR, date(2026, 12, 31))).fetchall()
            if n >= 0:
                latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def sales_forecast(ctx: Context, report: Report, requests: int) -> None:
    ctx.log(f"  loading {OPPORTUNITIES:,} opportunities and {CUSTOMERS:,} replicated customers with COPY")
    seconds = load(ctx.system.database_urls["sales"])
    ctx.log("  waiting for the sales worker to build the tenant's forecast rollup")
    built = _await_rollup(ctx)
    headers = {"Authorization": f"Bearer {ctx.token}"}
    with httpx.Client(base_url=ctx.url("sales"), headers=headers, timeout=60) as client:
        rates = _record_rates(client)
        ctx.settle()
        params = {"period": "quarter", "currency": "EUR", "from": "2026-01-01", "to": "2026-12-31"}
        ctx.log(f"  forecast by owner and by region: {requests} requests each, one at a time")
        measured = {group: _timed(client, params | {"group_by": group}, requests) for group in ("owner", "region")}
    bare = _bare_aggregate(ctx, requests)
    bare_p99 = percentile(bare, 99)
    for group, latencies in measured.items():
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        report.add(Row(f"sales forecast, {OPPORTUNITIES // 1000}k deals", f"by {group}: p50 / p99 ms",
                       f"{p50:.1f} / {p99:.1f}", f"{percentile(bare, 50):.1f} / {bare_p99:.1f}",
                       ratio(p99, bare_p99), f"p99 <= {P99_MS} ms", verdict(p99 <= P99_MS), key="sales-forecast"))
    report.detail(
        f"sales forecast: `GET /v1/forecast?period=quarter&currency=EUR&from=2026-01-01&to=2026-12-31` by owner "
        f"and by region, {requests} sequential requests each after {WARMUP} warm-up requests, straight to the "
        f"sales service. Data: {OPPORTUNITIES:,} opportunities (EUR, USD, GBP; close dates over 2026, 2% undated; "
        f"{OWNERS} owners, {TEAMS} teams; 70% open in four categories, 20% won, 10% lost) of {CUSTOMERS:,} "
        f"customers in {len(REGIONS)} regions, loaded with COPY in {seconds:.0f} s (seed {SEED}); {rates} exchange "
        f"rates recorded through the API (a new USD/EUR and EUR/GBP rate mid-month, so every quarter has rate "
        f"changes inside it; each new rate split its segment of the rollup). The worker's build job summed the "
        f"deals into the forecast's rollup {built:.1f} s after the load (job interval included). Baseline: the bare aggregate (owner x currency x quarter x category, no conversion) "
        f"as one SQL statement over psycopg; the ratio is ours / baseline at p99."
    )
