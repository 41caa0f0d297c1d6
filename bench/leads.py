"""The ``lead-intake`` scenario: leads created, de-duplicated, scored and routed, against customer creates and COPY.

The tenant's rules are set up through the API first: scoring rules (company size, industry,
country, source, customer tier, engagement), three sales teams with members and capacities,
and routing rules by size, country, industry and source with a catch-all last. So every lead
below is scored by real rules and routed to a team: handed to a member while one has capacity,
queued in the team otherwise.

Then, in one run:

- Lead create rate. ``POST /v1/leads`` through the gateway, saturated by wrk (``lua/bodies.lua``),
  a new lead per request except every tenth, which repeats the lead 49 requests before it: its
  e-mail address in upper case with its phone number written another way, or its phone number
  alone, written another way. Those are the duplicates the service must find (answered 200 with
  ``duplicate_of``). Beside it, in the same run, the customer create rate: ``POST /v1/customers``
  through the same gateway, with the same wrk, duration and connections, and the body
  ``customer-create`` sends (``lua/write.lua``). Target: leads/s >= 50% of customers/s.
- Lead import. N rows of CSV from the same generator, with the same share of repeats (of earlier
  rows of the file), in one ``POST /v1/leads/import`` straight to the sales service; baseline:
  COPY of the very same CSV bytes into a plain table (no index, no key) of the baseline
  database. Target: rows/s >= 40% of COPY's.

Both runs are checked afterwards in the sales database, each lead known by its row: no phone
number held by two leads (a duplicate missed), each repeat folded (a ``merged`` history entry)
into the lead of the row it repeats and nothing else folded, every lead with a team. The
import's leads must be exactly its rows less the repeats among them, as its answer says too;
the API run may lack at most the requests wrk left unanswered when it stopped (one per
connection). A mismatch fails the scenario.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

from bench.context import TENANT, Context
from bench.data import FAMILY, GIVEN, psycopg_url
from bench.loadgen import LoadResult, describe, next_run, run_wrk
from bench.measure import profiled
from bench.report import INFO, Report, Row, ratio, verdict
from tests.support.databases import create_postgres_database, drop_postgres_database

if TYPE_CHECKING:
    from bench.scenarios import Plan

KEY = "lead-intake"
PROFILES = Path(__file__).resolve().parent / "results" / "profiles"
CREATE_SHARE, IMPORT_SHARE = 0.5, 0.4  # the targets: of the customer create rate, of COPY's

# One row in REPEAT_EVERY repeats the lead REPEAT_DISTANCE rows before it. The distance is more than
# the connections wrk keeps open, so the first request has usually been answered when its repeat is
# sent (a person filling in the form again), and it is no multiple of REPEAT_EVERY, so no repeat is
# of a repeat: every repeat has exactly one original.
REPEAT_EVERY, REPEAT_DISTANCE = 10, 49
# Batches of leads: each has e-mail addresses, company domains and phone numbers of its own.
WARMUP_BATCH, CREATE_BATCH, IMPORT_BATCH = 1, 2, 3
# wrk's body file holds this many lines per second of load, far above what one process creates.
BODIES_PER_SECOND = 1000
IMPORT_CHUNK = 64 * 1024

COUNTRIES = ("DE", "DE", "AT", "CH", "GB", "FR", "NL", "SE", "US", "ES")
REGIONS = {"DE": ("Bavaria", "Berlin", "Hesse", "Saxony"), "AT": ("Vienna", "Tyrol"), "CH": ("Zurich", "Bern"),
           "GB": ("London", "Scotland"), "US": ("California", "Texas", "New York")}
INDUSTRIES = ("manufacturing", "software", "retail", "automotive", "finance", "healthcare", "logistics")
EMPLOYEES = (8, 35, 120, 400, 900, 2500, 12000, 60)
API_SOURCES = ("web", "web", "web", "event", "referral", "partner")
IMPORT_SOURCES = ("import", "import", "event", "purchased_list")
SUFFIXES = ("GmbH", "AG", "Ltd", "SE", "Systems", "Group", "KG")
FREE_MAIL = ("gmail.com", "web.de", "outlook.com")
COLUMNS = ("email", "phone", "company", "given_name", "family_name", "country", "region", "industry", "employees",
           "source", "note")

DACH = ["DE", "AT", "CH"]
SCORING_RULES: list[dict[str, Any]] = [
    {"rule": "fit.enterprise", "field": "employees", "min": 1000, "points": 25},
    {"rule": "fit.mid_size", "field": "employees", "min": 50, "max": 999, "points": 10},
    {"rule": "fit.industry", "field": "industry", "values": ["manufacturing", "automotive", "software"], "points": 15},
    {"rule": "fit.dach", "field": "country", "values": DACH, "points": 10},
    {"rule": "source.warm", "field": "source", "values": ["event", "referral", "partner"], "points": 10},
    {"rule": "source.bought", "field": "source", "values": ["purchased_list"], "points": -10},
    {"rule": "fit.customer_tier_a", "field": "customer_tier", "values": ["A"], "points": 20},
    {"rule": "engagement.responded", "field": "responses", "min": 1, "points": 10},
]
# (name, strategy, first-touch minutes, members, capacity each): capacity runs out during the import,
# whose later leads then wait in their team's queue, as a large import into a small team would.
TEAMS: list[tuple[str, str, int, int, int]] = [
    ("enterprise", "least_loaded", 60, 3, 200),
    ("dach", "round_robin", 240, 4, 300),
    ("international", "round_robin", 480, 5, 250),
]
ROUTING_RULES: list[dict[str, Any]] = [
    {"name": "enterprise accounts", "team": "enterprise", "position": 10, "employees_min": 1000},
    {"name": "DACH industry", "team": "dach", "position": 20, "countries": DACH,
     "industries": ["manufacturing", "automotive", "software"]},
    {"name": "DACH events and partners", "team": "dach", "position": 30, "countries": DACH,
     "sources": ["event", "referral", "partner"]},
    {"name": "DACH other", "team": "dach", "position": 40, "countries": DACH},
    {"name": "UK and Nordics", "team": "international", "position": 50, "countries": ["GB", "IE", "SE", "NO", "DK"]},
    {"name": "everyone else", "team": "international", "position": 1000},
]


# --- the leads ---------------------------------------------------------------------------------


def is_repeat(index: int) -> bool:
    return index >= REPEAT_DISTANCE and index % REPEAT_EVERY == REPEAT_EVERY - 1


def repeats_among(rows: int) -> int:
    """How many of the first ``rows`` rows repeat an earlier one."""
    return sum(1 for index in range(REPEAT_DISTANCE, rows) if is_repeat(index))


def phone_prefix(batch: int) -> str:
    """What every phone key of a batch starts with (E.164): the batch's leads found by it."""
    return f"+4420{batch:02d}"


def _phone(batch: int, index: int) -> str:
    # +44 20: no customer the bench creates has a UK number, so no lead matches a customer.
    return f"+44 20 {batch:02d}{(index // 10_000) % 100:02d} {index % 10_000:04d}"


def _other_format(phone: str) -> str:
    """The same number as another form would take it: ``+44 20 0201 0042`` -> ``0044 (20) 0201-0042``."""
    digits = phone.replace(" ", "").removeprefix("+")
    return f"00{digits[:2]} ({digits[2:4]}) {digits[4:8]}-{digits[8:]}"


def _original(batch: int, index: int, sources: tuple[str, ...]) -> dict[str, Any]:
    given, family = GIVEN[index % len(GIVEN)], FAMILY[(index // len(GIVEN)) % len(FAMILY)]
    slug = family.lower().replace("-", "")
    tag = f"b{batch}n{index}"
    country = COUNTRIES[index % len(COUNTRIES)]
    regions = REGIONS.get(country)
    if index % 4 == 3:
        # A free-mail address: no company domain to match by, only the address and the phone.
        email = f"{given.lower()}.{slug}.{tag}@{FREE_MAIL[index % len(FREE_MAIL)]}"
    else:
        # A company domain of its own: two leads at one company would be one lead (matched on domain).
        email = f"{given.lower()}.{slug}@{slug}-{tag}.example.com"
    return {
        "email": email, "phone": _phone(batch, index), "company": f"{family} {SUFFIXES[index % len(SUFFIXES)]}",
        "given_name": given, "family_name": family, "country": country,
        "region": regions[index % len(regions)] if regions else None,
        "industry": INDUSTRIES[index % len(INDUSTRIES)], "employees": EMPLOYEES[(index // 3) % len(EMPLOYEES)],
        "source": sources[(index // 7) % len(sources)], "note": None,
    }


def lead_fields(batch: int, index: int, sources: tuple[str, ...]) -> dict[str, Any]:
    """Row ``index`` of ``batch``: a new lead, or a repeat of the one ``REPEAT_DISTANCE`` rows before."""
    if not is_repeat(index):
        return _original(batch, index, sources)
    first = _original(batch, index - REPEAT_DISTANCE, sources)
    if (index // REPEAT_EVERY) % 2 == 0:
        return first | {"email": first["email"].upper(), "phone": _other_format(first["phone"]),
                        "note": "asked again"}
    # The phone alone: the repeat is found by its number, written differently.
    return {name: None for name in COLUMNS} | {
        "phone": _other_format(first["phone"]), "given_name": first["given_name"],
        "family_name": first["family_name"], "company": first["company"], "source": first["source"],
        "note": "called in"}


def _bodies(path: Path, batch: int, lines: int) -> Path:
    with path.open("w") as out:
        for index in range(lines):
            fields = {k: v for k, v in lead_fields(batch, index, API_SOURCES).items() if v is not None}
            out.write(json.dumps(fields, separators=(",", ":")) + "\n")
    return path


def import_csv(batch: int, rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for index in range(rows):
        fields = lead_fields(batch, index, IMPORT_SOURCES)
        writer.writerow(["" if fields[c] is None else fields[c] for c in COLUMNS])
    return buffer.getvalue().encode()


# --- the tenant's rules --------------------------------------------------------------------------


def set_up_rules(client: httpx.Client) -> str:
    """Scoring rules, sales teams and routing rules through the API; says what was set up."""
    _expect(client.put("/v1/lead-scoring-rules", json={"rules": SCORING_RULES}), 200, "scoring rules")
    members = 0
    for name, strategy, minutes, size, capacity in TEAMS:
        body = {"name": name, "strategy": strategy, "first_touch_minutes": minutes,
                "members": [{"owner": f"{name}-rep-{n}", "capacity": capacity} for n in range(size)]}
        _expect(client.post("/v1/sales-teams", json=body), 201, f"sales team {name}")
        members += size
    for rule in ROUTING_RULES:
        _expect(client.post("/v1/routing-rules", json=rule), 201, f"routing rule {rule['name']}")
    capacity = sum(size * each for _, _, _, size, each in TEAMS)
    return (f"{len(SCORING_RULES)} scoring rules, {len(TEAMS)} sales teams ({members} members, {capacity:,} open "
            f"leads of capacity in all), {len(ROUTING_RULES)} routing rules (size, country, industry, source; "
            f"a catch-all last)")


def _expect(answer: httpx.Response, status: int, what: str) -> None:
    if answer.status_code != status:
        raise RuntimeError(f"setting up {what} answered {answer.status_code}: {answer.text[:300]}")


# --- what the sales database holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """A batch's leads as the sales database holds them, each known by its row (from its phone number)."""

    folds: dict[int, int]  # row of each lead -> duplicates folded into it
    numbers_twice: list[int]  # rows whose phone number more than one lead holds: a duplicate not found
    unrouted: int
    assigned: int
    queued: int
    mean_score: float

    @property
    def leads(self) -> int:
        return len(self.folds)

    @property
    def merged(self) -> int:
        return sum(self.folds.values())

    @property
    def received(self) -> int:
        return self.leads + self.merged

    @property
    def last_row(self) -> int:
        """The last row that arrived: a lead's, or a repeat's folded into its original."""
        return max([*self.folds, *(row + REPEAT_DISTANCE for row, n in self.folds.items() if n)], default=-1)

    def wrong_folds(self) -> list[int]:
        """Rows folded into that no repeat was sent for, or more than once."""
        return sorted(row for row, n in self.folds.items()
                      if n > 1 or (n == 1 and not is_repeat(row + REPEAT_DISTANCE)))

    def unseen(self, rows: int) -> list[int]:
        """Rows below ``rows`` that made no lead (an original) or no fold (a repeat)."""
        missing = []
        for row in range(rows):
            arrived = self.folds.get(row - REPEAT_DISTANCE, 0) > 0 if is_repeat(row) else row in self.folds
            if not arrived:
                missing.append(row)
        return missing


def counted(ctx: Context, batch: int) -> Batch:
    prefix = phone_prefix(batch)
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn:
        found = conn.execute(
            "SELECT l.phone_key, l.team IS NULL, l.owner IS NOT NULL, l.queued_at IS NOT NULL, l.score, "
            "(SELECT count(*) FROM lead_history h WHERE h.tenant_id = l.tenant_id AND h.lead_id = l.id "
            "AND h.action = 'merged') FROM leads l WHERE l.tenant_id = %s AND l.phone_key LIKE %s",
            (TENANT, prefix + "%")).fetchall()
    folds: dict[int, int] = {}
    twice: list[int] = []
    for phone, *_, merged in found:
        row = int(str(phone)[len(prefix):])
        if row in folds:
            twice.append(row)
        folds[row] = folds.get(row, 0) + int(merged)
    return Batch(folds, sorted(twice), unrouted=sum(1 for f in found if f[1]), assigned=sum(1 for f in found if f[2]),
                 queued=sum(1 for f in found if f[3]),
                 mean_score=sum(f[4] for f in found) / len(found) if found else 0.0)


def _check_batch(found: Batch, what: str, *, rows: int | None = None, unanswered: int = 0) -> None:
    """No duplicate missed or misplaced, every lead routed; and the rows received were the rows sent.

    ``rows``: exactly the first ``rows`` rows were sent, so the leads must be those rows less the repeats
    among them. Else up to ``unanswered`` rows (requests wrk left unanswered when it stopped) may not
    have arrived: rows may be missing, but only that many.
    """
    problems = []
    if found.numbers_twice:
        problems.append(f"rows whose phone number two leads hold (a duplicate not found): {found.numbers_twice[:10]}")
    if found.wrong_folds():
        problems.append(f"leads folded into more often than their row was repeated: rows {found.wrong_folds()[:10]}")
    if found.unrouted:
        problems.append(f"{found.unrouted:,} leads without a team, though a catch-all rule routes everyone")
    if rows is not None:
        repeats = repeats_among(rows)
        if (found.leads, found.merged) != (rows - repeats, repeats):
            problems.append(f"{rows:,} rows sent with {repeats:,} repeats should make {rows - repeats:,} leads and "
                            f"{repeats:,} folded duplicates; the sales database has {found.leads:,} leads and "
                            f"{found.merged:,} folded (rows that made neither: {found.unseen(rows)[:10]})")
    else:
        missing = found.unseen(found.last_row + 1)
        if len(missing) > unanswered:
            problems.append(f"{len(missing)} rows never arrived, more than the {unanswered} requests wrk can have "
                            f"left unanswered: rows {missing[:10]}")
    if problems:
        raise RuntimeError(f"{what}: " + "; ".join(problems))


# --- the scenario ----------------------------------------------------------------------------------


def lead_intake(ctx: Context, report: Report, plan: Plan) -> None:
    headers = {"Authorization": f"Bearer {ctx.token}"}
    with httpx.Client(base_url=ctx.url("gateway"), headers=headers, timeout=30) as client:
        rules = set_up_rules(client)
    ctx.settle()
    gateway = ctx.url("gateway")
    ctx.log(f"  customer create, then lead create, through the gateway: saturated, {plan.write_seconds:g} s each")
    customers = _saturated(ctx, plan, gateway + "/v1/customers", "write", "customer", "customer-create",
                           {"BENCH_TOKEN": ctx.token, "BENCH_RUN": str(next_run())},
                           {"BENCH_TOKEN": ctx.token, "BENCH_RUN": str(next_run())})
    ctx.settle()
    lines = int(BODIES_PER_SECOND * (max(plan.warmup_seconds, plan.write_seconds) + 1)) + plan.connections
    warm = _bodies(ctx.root / "leads-warmup.ndjson", WARMUP_BATCH, lines)
    measured = _bodies(ctx.root / "leads.ndjson", CREATE_BATCH, lines)
    leads = _saturated(ctx, plan, gateway + "/v1/leads", "bodies", "sales", "lead-create",
                       {"BENCH_TOKEN": ctx.token, "BENCH_BODIES": str(warm)},
                       {"BENCH_TOKEN": ctx.token, "BENCH_BODIES": str(measured)})
    started = time.monotonic()
    settled = ctx.settle()
    catch_up = time.monotonic() - started
    created = counted(ctx, CREATE_BATCH)
    if leads.requests + plan.connections >= lines:
        raise RuntimeError(f"lead create: the {lines:,} bodies may have run out; raise BODIES_PER_SECOND")
    # wrk stops with up to one request per connection unanswered; the service handles some of those and
    # drops the others (their connection closed before they ran).
    if not leads.requests <= created.received <= leads.requests + plan.connections:
        raise RuntimeError(f"lead create: wrk had {leads.requests:,} answers, but the sales database holds "
                           f"{created.received:,} leads and folded duplicates of that batch")
    _check_batch(created, "lead create", unanswered=plan.connections)
    ok = leads.rps >= CREATE_SHARE * customers.rps
    scenario = "lead intake (POST /v1/leads, gateway)"
    report.add(Row(scenario, "creates/s (saturated) vs customer creates/s", f"{leads.rps:,.0f}",
                   f"{customers.rps:,.0f}", ratio(leads.rps, customers.rps), f">= {CREATE_SHARE:.0%} of customer "
                   f"create", verdict(ok), key=KEY))
    report.add(Row(scenario, "p50 / p99 ms (saturated)", f"{_ms(leads.p50_ms)} / {_ms(leads.p99_ms)}",
                   f"{_ms(customers.p50_ms)} / {_ms(customers.p99_ms)}", ratio(customers.p99_ms, leads.p99_ms), "—",
                   INFO))
    imported = _import(ctx, report, plan, leads.rps)
    report.detail(
        f"lead intake: first, through the API, {rules}. Create: `POST /v1/leads` through the gateway (scored against "
        f"the rules, de-duplicated by e-mail, E.164 phone and company domain under the key locks, matched against "
        f"the customer replica, routed to a team and a member or its queue, history and outbox rows in one "
        f"transaction), {describe(plan.connections)}, {plan.write_seconds:g} s after {plan.warmup_seconds:g} s of "
        f"warm-up with other leads; bodies from a generator (10 countries, 7 industries, sizes 8 to 12,000, a "
        f"company domain of their own or a free-mail address, UK phone numbers no customer has), every "
        f"{REPEAT_EVERY}th request a repeat of the lead {REPEAT_DISTANCE} requests before it (its e-mail upper-cased "
        f"and phone reformatted, or only its phone, reformatted). Checked in the sales database: "
        f"{created.received:,} bodies received, {created.leads:,} leads and {created.merged:,} duplicates folded, "
        f"each into the lead of the row it repeats, no number held twice ({len(created.unseen(created.last_row + 1))} "
        f"of the requests wrk left unanswered when it stopped never arrived), all routed ({created.assigned:,} "
        f"assigned, {created.queued:,} queued), mean score {created.mean_score:.0f}. Baseline: `POST /v1/customers` "
        f"of a new person (`lua/write.lua`, as customer-create sends it) through the same gateway, same wrk, "
        f"duration and warm-up, just before. After "
        f"the lead run the system needed {catch_up:.1f} s to catch up"
        f"{'' if settled else ' (and had not when the bench moved on)'}. {imported}"
    )


def _saturated(ctx: Context, plan: Plan, url: str, script: str, process: str, name: str, warmup: dict[str, str],
               env: dict[str, str]) -> LoadResult:
    """A warm-up, the system settled, then the measured saturated run (``process`` profiled with ``--profile``)."""
    run_wrk(url, script, seconds=plan.warmup_seconds, connections=plan.connections, env=warmup)
    ctx.settle()
    with profiled(plan.profile, ctx.pids().get(process), plan.write_seconds, PROFILES / f"{KEY}-{name}",
                  ctx.profiles):
        result = run_wrk(url, script, seconds=plan.write_seconds, connections=plan.connections, env=env)
    if not result.ok:
        raise RuntimeError(f"{url}: {result.errors} of {result.requests} requests failed")
    return result


def _import(ctx: Context, report: Report, plan: Plan, create_rate: float) -> str:
    """The import beside COPY of the same bytes; adds its row, returns its detail sentence."""
    rows = plan.lead_import_rows
    repeats = repeats_among(rows)
    data = import_csv(IMPORT_BATCH, rows)
    expected_seconds = rows / max(create_rate, 1.0)
    ctx.log(f"  lead import: {rows:,} CSV rows ({len(data) / 2**20:.1f} MiB, {repeats:,} repeats) with COPY, "
            f"then through POST /v1/leads/import (at the create rate about {expected_seconds / 60:.0f} min)")
    ctx.settle()
    copy_seconds = _copy(ctx, data)
    ctx.settle()
    # Straight to the sales service: the gateway's 60 s upstream read timeout is shorter than the import.
    url = ctx.url("sales") + "/v1/leads/import"
    headers = {"Authorization": f"Bearer {ctx.token}", "Content-Type": "text/csv"}
    with profiled(plan.profile, ctx.pids().get("sales"), min(60.0, expected_seconds), PROFILES / f"{KEY}-import",
                  ctx.profiles):
        started = time.perf_counter()
        answer = httpx.post(url, content=_chunks(data), headers=headers, timeout=httpx.Timeout(7200, connect=10))
        seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"lead import answered {answer.status_code}: {answer.text[:300]}")
    summary = answer.json()
    if (summary["rows"], summary["created"], summary["duplicates"], summary["failed"]) != (
            rows, rows - repeats, repeats, 0):
        raise RuntimeError(f"lead import of {rows:,} rows with {repeats:,} repeats answered rows {summary['rows']:,}, "
                           f"created {summary['created']:,}, duplicates {summary['duplicates']:,}, failed "
                           f"{summary['failed']:,}: {summary['errors'][:3]}")
    _check_merged_into_originals(ctx, summary["merged"])
    started = time.monotonic()
    settled = ctx.settle(timeout=900)
    catch_up = time.monotonic() - started
    found = counted(ctx, IMPORT_BATCH)
    _check_batch(found, "lead import", rows=rows)
    ours, base = rows / seconds, rows / copy_seconds
    floor_seconds, written = _copy_written(ctx)
    scenario = f"lead import ({rows // 1000}k rows, POST /v1/leads/import)"
    report.add(Row(scenario, "rows/s vs COPY of the same CSV", f"{ours:,.0f}", f"{base:,.0f}", _share(ours, base),
                   f">= {IMPORT_SHARE:.0%} of COPY", verdict(ours >= IMPORT_SHARE * base), key=KEY))
    report.add(Row(scenario, "rows/s vs COPY of the rows it wrote", f"{ours:,.0f}", f"{rows / floor_seconds:,.0f}",
                   _share(ours, rows / floor_seconds), "—", INFO))
    return (
        f"Import: {rows:,} CSV rows ({len(data) / 2**20:.1f} MiB, the same generator, sources import, event and "
        f"purchased_list, {repeats:,} repeats of earlier rows) in one `POST /v1/leads/import` straight to the sales "
        f"service (the gateway's 60 s upstream timeout is shorter than the import), sent in "
        f"{IMPORT_CHUNK // 1024} KiB chunks: {seconds:.1f} s from the first byte sent to the answer. The answer and "
        f"the sales database agreed: {found.leads:,} leads ({found.assigned:,} assigned, {found.queued:,} queued "
        f"once the members' capacity ran out, mean score {found.mean_score:.0f}), {found.merged:,} duplicates "
        f"folded, every reported one into the lead of its original row, none failed; the system then needed "
        f"{catch_up:.0f} s to relay and consume the import's events{'' if settled else ' (and had not caught up)'}. "
        f"Baseline: COPY of the same CSV bytes (FORMAT csv, HEADER) into a plain table of the baseline database "
        f"(the same columns as text and one integer, no index, no key), run first on the settled system, "
        f"{copy_seconds:.2f} s with its commit. Second baseline, the floor under any import that writes what ours "
        f"must: the very rows it wrote ({written}), copied out and COPY'd into a fresh migrated sales database "
        f"(same indexes) in one transaction, {floor_seconds:.2f} s."
    )


def _copy_written(ctx: Context) -> tuple[float, str]:
    """COPY of the rows the import wrote (its leads, their history, its outbox rows) into a fresh migrated
    sales database; returns the seconds and what was copied."""
    prefix = phone_prefix(IMPORT_BATCH) + "%"
    leads = "SELECT id FROM leads WHERE tenant_id = %s AND phone_key LIKE %s"
    queries = {
        "leads": f"SELECT * FROM leads WHERE id IN ({leads})",
        "lead_history": f"SELECT * FROM lead_history WHERE lead_id IN ({leads})",
        "outbox": f"SELECT * FROM outbox WHERE key IN (SELECT id::text FROM leads WHERE tenant_id = %s "
                  f"AND phone_key LIKE %s)",
    }
    exported: dict[str, tuple[bytes, int]] = {}
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn, psycopg.ClientCursor(conn) as cur:
        for table, query in queries.items():
            block = bytearray()
            sql = cur.mogrify(query, (TENANT, prefix))  # COPY takes no parameters
            with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for part in copy:
                    block += part
            exported[table] = (bytes(block), block.count(b"\n"))
    target = create_postgres_database(ctx.admin_url, "crm_bench_lead_rows")
    try:
        from shared.migrate import upgrade

        upgrade("sales", target)
        with psycopg.connect(psycopg_url(target)) as conn:
            started = time.perf_counter()
            with conn.cursor() as cur:
                for table, (block, _) in exported.items():
                    with cur.copy(f"COPY {table} FROM STDIN") as copy:
                        for at in range(0, len(block), 1 << 20):
                            copy.write(block[at:at + (1 << 20)])
            conn.commit()
            seconds = time.perf_counter() - started
    finally:
        drop_postgres_database(ctx.admin_url, target)
    return seconds, ", ".join(f"{count:,} {table}" for table, (_, count) in exported.items())


def _chunks(data: bytes) -> Iterator[bytes]:
    for at in range(0, len(data), IMPORT_CHUNK):
        yield data[at:at + IMPORT_CHUNK]


def _copy(ctx: Context, data: bytes) -> float:
    assert ctx.baseline_db
    columns = ", ".join(COLUMNS)
    with psycopg.connect(psycopg_url(ctx.baseline_db)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_lead_rows")
        conn.execute("CREATE TABLE bench_lead_rows (email text, phone text, company text, given_name text, "
                     "family_name text, country text, region text, industry text, employees integer, source text, "
                     "note text)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY bench_lead_rows ({columns}) FROM STDIN "
                                            f"(FORMAT csv, HEADER true)") as copy:
            for chunk in _chunks(data):
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        copied = conn.execute("SELECT count(*) FROM bench_lead_rows").fetchone()[0]
        conn.execute("DROP TABLE bench_lead_rows")
        conn.commit()
    rows = data.count(b"\n") - 1  # less the header
    if copied != rows:
        raise RuntimeError(f"COPY baseline: {copied:,} rows copied of {rows:,}")
    return seconds


def _check_merged_into_originals(ctx: Context, merged: list[dict[str, Any]]) -> None:
    """Each reported duplicate (the first 1,000) was folded into the lead its original row created."""
    wanted: dict[str, str] = {}
    for entry in merged:
        index = int(entry["line"]) - 2  # line 1 is the header
        if not is_repeat(index):
            raise RuntimeError(f"lead import: line {entry['line']} was folded, but it repeats no earlier row")
        original = lead_fields(IMPORT_BATCH, index - REPEAT_DISTANCE, IMPORT_SOURCES)
        wanted[original["email"]] = str(entry["lead_id"])
    with psycopg.connect(psycopg_url(ctx.system.database_urls["sales"])) as conn:
        found = dict(conn.execute("SELECT email_key, id::text FROM leads WHERE tenant_id = %s AND email_key = ANY(%s)",
                                  (TENANT, list(wanted))).fetchall())
    wrong = [email for email, lead in wanted.items() if found.get(email) != lead]
    if wrong:
        raise RuntimeError(f"lead import: {len(wrong)} duplicates were folded into another lead than their "
                           f"original's, e.g. {wrong[0]}")


def _share(ours: float, baseline: float) -> str:
    # Below 1% the report's whole percent would read "0%" and hide how far off the figure is.
    if baseline and ours / baseline < 0.01:
        return f"{ours / baseline:.3%}"
    return ratio(ours, baseline)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"
