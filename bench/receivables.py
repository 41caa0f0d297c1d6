"""The ``receivables`` scenario: ageing over 200k open invoices, at several as-of dates.

Loaded straight into the sales database in a few set-based statements (``generate_series``,
deterministic): 5,000 customers in the sales replica over 8 regions, and per invoice its won
deal (40 owners) and shipped order; 200k invoices issued over the 240 days before
2026-12-01, due 30 days after issue, 100.00 to 9,999.00 EUR, all open; a partial payment
(received 10 days after issue) on every third of them, a credit note on every twentieth.
That is the shape ageing reads: per invoice what was paid and credited by the as-of day,
its order's deal for the owner.

Then ``GET /v1/collections`` (its first page: target 100 ms) and
``GET /v1/receivables?group_by=owner&as_of=...`` straight to the sales service, one
request at a time, at four as-of dates (today, a month ago, three months ago, and a day
before half the invoices existed), and the p99 of the round trip is compared with the
target (300 ms) and with the bare aggregate: the same sums in one SQL statement over
psycopg (the same-run baseline). ``group_by=region`` is measured alongside, for
information.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import psycopg

from bench.context import TENANT, Context
from bench.data import psycopg_url
from bench.measure import percentile
from bench.report import INFO, Report, Row, ratio, verdict

KEY = "receivables"
INVOICES = 200_000
CUSTOMERS = 5_000
OWNERS = 40
REGIONS = ("North", "South", "East", "West", "Central", "Alps", "Coast", "Islands")
BASE = date(2026, 12, 1)
AS_OF = (date(2026, 12, 1), date(2026, 11, 1), date(2026, 9, 1), date(2026, 8, 1))
P99_MS = 300
COLLECTIONS_P99_MS = 100
WARMUP = 3

# One statement per table; md5 of a tag and the row number makes the ids deterministic.
LOAD = (
    """INSERT INTO customer_replicas (customer_id, tenant_id, view_version, display_name, kind, view, updated_at)
       SELECT md5('c' || g)::uuid, %(tenant)s, 1, 'Company ' || g, 'organization',
              json_build_object('customer_id', md5('c' || g)::uuid, 'version', 1,
                                'profile', json_build_object('display_name', 'Company ' || g,
                                                             'kind', 'organization',
                                                             'region', (%(regions)s::text[])[1 + g %% 8])),
              now()
       FROM generate_series(0, %(customers)s - 1) g""",
    """INSERT INTO opportunities (id, tenant_id, customer_id, name, amount, currency, stage, status, forecast_category,
                                  probability, owner, version, created_at, updated_at)
       SELECT md5('d' || g)::uuid, %(tenant)s, md5('c' || (g %% %(customers)s))::uuid, 'Deal ' || g, 0, 'EUR',
              'closed_won', 'won', 'closed', 100, 'owner-' || lpad((g %% %(owners)s)::text, 2, '0'), 1, now(), now()
       FROM generate_series(0, %(invoices)s - 1) g""",
    """INSERT INTO orders (id, tenant_id, customer_id, opportunity_id, status, currency, total, lines, version,
                           created_at, updated_at)
       SELECT md5('o' || g)::uuid, %(tenant)s, md5('c' || (g %% %(customers)s))::uuid, md5('d' || g)::uuid,
              'shipped', 'EUR', 100 + (g * 7919) %% 9900, '[]'::json, 1, now(), now()
       FROM generate_series(0, %(invoices)s - 1) g""",
    """INSERT INTO invoices (id, tenant_id, customer_id, order_id, number, issued_on, due_on, payment_terms_days,
                             total, currency, status, written_off, version, created_at, updated_at)
       SELECT md5('i' || g)::uuid, %(tenant)s, md5('c' || (g %% %(customers)s))::uuid, md5('o' || g)::uuid,
              'BENCH-' || lpad(g::text, 7, '0'), %(base)s::date - (g %% 240), %(base)s::date - (g %% 240) + 30, 30,
              100 + (g * 7919) %% 9900, 'EUR', 'open', 0, 1, now(), now()
       FROM generate_series(0, %(invoices)s - 1) g""",
    """INSERT INTO payments (id, tenant_id, customer_id, amount, currency, received_on, created_at)
       SELECT md5('p' || g)::uuid, %(tenant)s, md5('c' || (g %% %(customers)s))::uuid, 50, 'EUR',
              %(base)s::date - (g %% 240) + 10, now()
       FROM generate_series(0, %(invoices)s - 1, 3) g""",
    """INSERT INTO payment_allocations (id, tenant_id, payment_id, invoice_id, amount)
       SELECT md5('a' || g)::uuid, %(tenant)s, md5('p' || g)::uuid, md5('i' || g)::uuid, 50
       FROM generate_series(0, %(invoices)s - 1, 3) g""",
    """INSERT INTO credit_notes (id, tenant_id, customer_id, invoice_id, number, kind, amount, currency, reason,
                                 issued_on, created_at)
       SELECT md5('n' || g)::uuid, %(tenant)s, md5('c' || (g %% %(customers)s))::uuid, md5('i' || g)::uuid,
              'BCN-' || lpad(g::text, 7, '0'), 'correction', 20, 'EUR', 'bench', %(base)s::date - (g %% 240) + 5, now()
       FROM generate_series(0, %(invoices)s - 1, 20) g""",
)
TABLES = ("customer_replicas", "opportunities", "orders", "invoices", "payments", "payment_allocations",
          "credit_notes")

# The baseline: the same per-invoice owed amounts, bucketed and summed per owner, in one statement.
BARE = """
SELECT o2.owner, CASE WHEN i.due_on >= %(d0)s THEN 'current' WHEN i.due_on >= %(d30)s THEN '1_30'
                      WHEN i.due_on >= %(d60)s THEN '31_60' WHEN i.due_on >= %(d90)s THEN '61_90' ELSE 'over_90' END,
       sum(i.owed), count(*)
FROM (SELECT i.*, i.total - coalesce(paid.amount, 0) - coalesce(credited.amount, 0) AS owed
      FROM invoices i
      LEFT JOIN (SELECT a.invoice_id, sum(a.amount) AS amount FROM payment_allocations a
                 JOIN payments p ON p.tenant_id = a.tenant_id AND p.id = a.payment_id
                 WHERE a.tenant_id = %(tenant)s AND p.received_on <= %(as_of)s GROUP BY a.invoice_id) paid
        ON paid.invoice_id = i.id
      LEFT JOIN (SELECT invoice_id, sum(amount) AS amount FROM credit_notes
                 WHERE tenant_id = %(tenant)s AND issued_on <= %(as_of)s GROUP BY invoice_id) credited
        ON credited.invoice_id = i.id
      WHERE i.tenant_id = %(tenant)s AND i.issued_on <= %(as_of)s) i
LEFT JOIN orders o ON o.tenant_id = i.tenant_id AND o.id = i.order_id
LEFT JOIN opportunities o2 ON o2.tenant_id = o.tenant_id AND o2.id = o.opportunity_id
WHERE i.owed > 0 GROUP BY 1, 2
"""


def load(sales_database_url: str) -> float:
    started = time.monotonic()
    params = {"tenant": TENANT, "regions": list(REGIONS), "customers": CUSTOMERS, "owners": OWNERS,
              "invoices": INVOICES, "base": BASE}
    with psycopg.connect(psycopg_url(sales_database_url)) as conn:
        for statement in LOAD:
            conn.execute(statement, params)
        conn.commit()
        conn.autocommit = True
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.monotonic() - started


def _timed_gets(client: httpx.Client, params: dict[str, str], requests: int, path: str = "/v1/receivables"
                ) -> list[float]:
    for _ in range(WARMUP):
        client.get(path, params=params)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path, params=params)
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} {params} answered {answer.status_code}: {answer.text[:300]}")
    return seconds


def _check_collections(client: httpx.Client) -> None:
    """The first page is the oldest overdue invoices: 50 of them, the first due 240 days before the base day."""
    page = client.get("/v1/collections", params={"as_of": BASE.isoformat()}).json()
    items = page["items"]
    if len(items) != 50 or items[0]["due_on"] != (BASE - timedelta(days=239 - 30)).isoformat():
        raise RuntimeError(f"collections' first page: {len(items)} items, first due {items[0]['due_on'] if items else None}")


def _bare(sales_database_url: str, as_of: date, requests: int) -> list[float]:
    params = {"tenant": TENANT, "as_of": as_of, "d0": as_of, "d30": as_of - timedelta(days=30),
              "d60": as_of - timedelta(days=60), "d90": as_of - timedelta(days=90)}
    seconds = []
    with psycopg.connect(psycopg_url(sales_database_url)) as conn:
        for index in range(requests + WARMUP):
            started = time.perf_counter()
            conn.execute(BARE, params).fetchall()
            if index >= WARMUP:
                seconds.append(time.perf_counter() - started)
    return seconds


def _check(client: httpx.Client) -> int:
    """Every invoice is in the ageing as of the base day (each owes something): answers the groups."""
    body = client.get("/v1/receivables", params={"group_by": "owner", "as_of": BASE.isoformat()}).json()
    counted = body["totals"]["converted"]["invoices"]
    if counted != INVOICES:
        raise RuntimeError(f"receivables counted {counted:,} invoices, {INVOICES:,} were loaded")
    return len(body["groups"])


def receivables(ctx: Context, report: Report, requests: int) -> None:
    sales_db = ctx.system.database_urls["sales"]
    ctx.log(f"  loading {INVOICES:,} open invoices with their orders, deals, payments and credit notes")
    loaded = load(sales_db)
    headers = {"Authorization": f"Bearer {ctx.token}"}
    with httpx.Client(base_url=ctx.url("sales"), headers=headers, timeout=60) as client:
        groups = _check(client)
        if groups != OWNERS:
            raise RuntimeError(f"receivables by owner answered {groups} groups, {OWNERS} owners were loaded")
        by_owner: list[float] = []
        for as_of in AS_OF:
            by_owner += _timed_gets(client, {"group_by": "owner", "as_of": as_of.isoformat()}, requests)
        by_region = _timed_gets(client, {"group_by": "region", "as_of": BASE.isoformat()}, requests)
        _check_collections(client)
        collections = _timed_gets(client, {"as_of": BASE.isoformat()}, requests * 4, "/v1/collections")
    ctx.log(f"  by owner p99 {percentile(by_owner, 99) * 1000:,.0f} ms; the bare aggregate next")
    bare: list[float] = []
    for as_of in AS_OF:
        bare += _bare(sales_db, as_of, max(5, requests // 4))
    p99, base_p99 = percentile(by_owner, 99) * 1000, percentile(bare, 99) * 1000
    scenario = f"receivables ({INVOICES // 1000}k open invoices)"
    report.add(Row(scenario, "ageing by owner p99 ms (4 as-of dates)", f"{p99:,.0f}", f"{base_p99:,.0f}",
                   ratio(base_p99, p99), f"<= {P99_MS} ms", verdict(p99 <= P99_MS), key=KEY))
    collections_p99 = percentile(collections, 99) * 1000
    report.add(Row(scenario, "collections first page p99 ms", f"{collections_p99:,.0f}", "—", "—",
                   f"<= {COLLECTIONS_P99_MS} ms", verdict(collections_p99 <= COLLECTIONS_P99_MS), key=KEY))
    report.add(Row(scenario, "ageing by region p99 ms", f"{percentile(by_region, 99) * 1000:,.0f}", "—", "—", "—",
                   INFO))
    report.detail(
        f"receivables: {INVOICES:,} open EUR invoices (issued over the 240 days before {BASE}, due 30 days later), "
        f"each with its shipped order and won deal (40 owners), {CUSTOMERS:,} customers over 8 regions in the sales "
        f"replica, a partial payment on every third and a credit note on every twentieth, loaded set-based in "
        f"{loaded:.0f} s. `GET /v1/receivables?group_by=owner` straight to the sales service, one request at a time, "
        f"{requests} per as-of date ({', '.join(d.isoformat() for d in AS_OF)}) after {WARMUP} warm-up requests; "
        f"`GET /v1/collections` (first page of 50, oldest due first) {requests * 4} times, checked to start at the "
        f"oldest invoice; "
        f"checked: all {INVOICES:,} invoices counted as of {BASE}, in {OWNERS} owner groups. Baseline: the same "
        f"per-invoice sums and buckets grouped by owner in one SQL statement over psycopg (no conversion, HTTP or "
        f"JSON).")
