"""The ``order-flow`` scenario: order to cash through the API, against customer creates in the same run.

Set up through the gateway first: 200 organizations with a credit limit (so every confirm
runs the credit check: open receivables, confirmed-uninvoiced orders and the order, in the
tenant currency, under the customer's lock), one product and a price book for it; the bench
waits until the sales replica has every customer. The tenant's sales policy invoices orders
once confirmed.

Then one *flow* is four requests in a row, each on the answer of the one before:
``POST /v1/orders`` (two lines, priced by the book), ``POST /v1/orders/{id}/confirm`` (the
credit check; the limit is high enough that none is held), ``POST /v1/invoices`` for the
order (its gap-free number taken under the tenant's counter lock) and ``POST /v1/payments``
of the invoice's total (allocated to it, oldest first, settling it). Flows run from
``connections`` concurrent clients for the measured seconds, each client on its own
customer at a time. The baseline, just before, is ``POST /v1/customers`` of a new person
driven by the very same client code, concurrency and duration, so the driver's own cost
(Python, on the same two cores) weighs on both alike.

Target: flows/s >= 30% of customer creates/s. Checked afterwards through the API: every
flow's invoice is paid, and the sales database holds exactly that many paid invoices of the
bench's customers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench.context import TENANT, Context
from bench.data import psycopg_url
from bench.leads import PROFILES
from bench.measure import percentile, profiled
from bench.report import INFO, Report, Row, ratio, verdict

KEY = "order-flow"
SHARE = 0.30
CUSTOMERS = 200
CONCURRENCY = 8
CREDIT_LIMIT = "100000000.00"
UNIT_PRICE = "12.50"
EUR = "EUR"


@dataclass
class Tally:
    done: int = 0
    seconds: list[float] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": EUR}


def _expect(answer: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(f"{what} answered {answer.status_code}: {answer.text[:300]}")
    body: dict[str, Any] = answer.json()
    return body


def set_up(ctx: Context) -> tuple[list[str], str]:
    """The customers (each with a credit limit) and the priced product; waits for the sales replica."""
    headers = {"Authorization": f"Bearer {ctx.token}"}
    run = int(time.time())
    with httpx.Client(base_url=ctx.url("gateway"), headers=headers, timeout=30) as client:
        # Invoiced once confirmed: the flow measures the money path, not a warehouse's.
        _expect(client.put("/v1/sales-policy", json={"currency": EUR, "invoice_from": "confirmed"}), 200,
                "sales policy")
        product = _expect(client.post("/v1/products", json={"sku": f"FLOW-{run}", "name": "Flow widget"}), 201,
                          "product")
        _expect(client.post("/v1/price-books", json={
            "name": f"Flow prices {run}", "currency": EUR, "valid_from": "2026-01-01",
            "entries": [{"product_id": product["id"], "unit_price": _money(UNIT_PRICE)}]}), 201, "price book")
        customers = [_expect(client.post("/v1/customers", json={
            "kind": "organization", "organization_name": f"Flow buyer {run}-{i}",
            "credit_limit": _money(CREDIT_LIMIT)}), 201, "customer")["id"] for i in range(CUSTOMERS)]
    ctx.settle()
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn:
        known = conn.execute("SELECT count(*) FROM customer_replicas WHERE tenant_id = %s AND customer_id = ANY(%s)",
                             (TENANT, customers)).fetchone()[0]
    if known != CUSTOMERS:
        raise RuntimeError(f"order flow: the sales replica has {known} of the {CUSTOMERS} customers")
    return customers, product["id"]


async def _drive(url: str, token: str, seconds: float, one: Callable[[httpx.AsyncClient, int, int], Awaitable[str]]
                 ) -> Tally:
    """``CONCURRENCY`` clients each running ``one`` back to back for ``seconds``."""
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def client_loop(worker: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                     limits=limits) as client:
            n = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                result = await one(client, worker, n)
                tally.seconds.append(time.perf_counter() - started)
                tally.results.append(result)
                tally.done += 1
                n += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(w) for w in range(CONCURRENCY)))
    tally.elapsed = time.perf_counter() - started
    return tally


def _flow(customers: list[str], product_id: str) -> Callable[[httpx.AsyncClient, int, int], Awaitable[str]]:
    async def one(client: httpx.AsyncClient, worker: int, n: int) -> str:
        customer = customers[(worker + n * CONCURRENCY) % len(customers)]
        order = _expect(await client.post("/v1/orders", json={
            "customer_id": customer, "currency": EUR,
            "lines": [{"product_id": product_id, "quantity": "3"}, {"product_id": product_id, "quantity": "1"}]}),
            201, "order")
        confirmed = _expect(await client.post(f"/v1/orders/{order['id']}/confirm"), 200, "confirm")
        if confirmed["status"] != "confirmed":
            raise RuntimeError(f"order flow: an order within the limit went {confirmed['status']}")
        invoice = _expect(await client.post("/v1/invoices", json={"order_id": order["id"]}), 201, "invoice")
        _expect(await client.post("/v1/payments", json={"customer_id": customer, "amount": invoice["total"],
                                                        "allocations": [{"invoice_id": invoice["id"],
                                                                         "amount": invoice["total"]["amount"]}]}),
                201, "payment")
        return str(invoice["id"])
    return one


def _create(run: int) -> Callable[[httpx.AsyncClient, int, int], Awaitable[str]]:
    async def one(client: httpx.AsyncClient, worker: int, n: int) -> str:
        tag = f"r{run}w{worker}n{n}"
        created = _expect(await client.post("/v1/customers", json={
            "kind": "person", "given_name": "Bench", "family_name": f"Flow {tag}", "country": "DE",
            "emails": [{"address": f"flow.{tag}@example.com"}]}), 201, "customer create")
        return str(created["id"])
    return one


def order_flow(ctx: Context, report: Report, seconds: float, profile: bool = False) -> None:
    customers, product_id = set_up(ctx)
    gateway = ctx.url("gateway")
    ctx.log(f"  customer create, then order flows, through the gateway: {CONCURRENCY} clients, {seconds:g} s each")
    asyncio.run(_drive(gateway, ctx.token, min(3.0, seconds), _create(int(time.time()) % 10**6)))  # warm-up
    ctx.settle()
    creates = asyncio.run(_drive(gateway, ctx.token, seconds, _create(int(time.time()) % 10**6 + 1)))
    ctx.settle()
    asyncio.run(_drive(gateway, ctx.token, min(3.0, seconds), _flow(customers, product_id)))  # warm-up
    ctx.settle()
    # With --profile, the sales process is recorded while the flows run: it serves all four requests.
    with profiled(profile, ctx.pids().get("sales"), seconds, PROFILES / f"{KEY}-sales", ctx.profiles):
        flows = asyncio.run(_drive(gateway, ctx.token, seconds, _flow(customers, product_id)))
    settled = ctx.settle()
    _check_paid(ctx, flows)
    create_rate, flow_rate = creates.rate, flows.rate
    ok = flow_rate >= SHARE * create_rate
    scenario = "order flow (place, confirm, invoice, pay; gateway)"
    report.add(Row(scenario, "flows/s vs customer creates/s", f"{flow_rate:,.1f}", f"{create_rate:,.1f}",
                   ratio(flow_rate, create_rate), f">= {SHARE:.0%} of customer create", verdict(ok), key=KEY))
    report.add(Row(scenario, "flow / create p50 / p99 ms",
                   f"{_ms(percentile(flows.seconds, 50))} / {_ms(percentile(flows.seconds, 99))}",
                   f"{_ms(percentile(creates.seconds, 50))} / {_ms(percentile(creates.seconds, 99))}", "—", "—", INFO))
    report.detail(
        f"order flow: {CUSTOMERS} organizations with a credit limit, one product in a price book, all set up through "
        f"the API and in the sales replica before the runs. A flow is `POST /v1/orders` (2 lines priced by the book), "
        f"`POST /v1/orders/{{id}}/confirm` (credit check), `POST /v1/invoices` and `POST /v1/payments` of its total, "
        f"each on the answer before; {CONCURRENCY} concurrent clients (httpx, asyncio, one connection each) for "
        f"{seconds:g} s after a warm-up: {flows.done:,} flows. Baseline in the same run: `POST /v1/customers` of a "
        f"new person by the same client code, concurrency and duration: {creates.done:,} creates. Checked: all "
        f"{flows.done:,} invoices paid in the sales database. The system "
        f"{'then caught up' if settled else 'had not caught up when the bench moved on'}.")


def _check_paid(ctx: Context, flows: Tally) -> None:
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn:
        paid = conn.execute("SELECT count(*) FROM invoices WHERE tenant_id = %s AND status = 'paid' "
                            "AND id = ANY(%s)", (TENANT, flows.results)).fetchone()[0]
    if paid != flows.done:
        raise RuntimeError(f"order flow: {flows.done:,} flows answered, but {paid:,} of their invoices are paid")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"

