"""Deterministic bench data, loaded straight into PostgreSQL with COPY.

One customer is created through the API and its view built by the real view consumer;
that customer's rows (in ``customers`` and in every table with a ``customer_id``
column) and its HTTP view body are the template. Customer ``i`` is the template with
its ids, names and e-mail address replaced by ones derived from ``(seed, i)``, so the
data set is the same on every run and whatever columns the schema has grown are
filled exactly as the service itself fills them.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

GIVEN = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus",
         "Radia", "Tim", "Sophie", "John", "Hedy", "Linus", "Karen", "Dennis", "Shafi", "Leslie")
FAMILY = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth",
          "Perlman", "Berners-Lee", "Wilson", "Backus", "Lamarr", "Torvalds", "Jones", "Ritchie", "Goldwasser", "Lamport")
# Markers in the template customer: every occurrence is replaced per generated customer.
TEMPLATE_GIVEN = "Benchgiven"
TEMPLATE_FAMILY = "Benchfamily"
TEMPLATE_EMAIL = "bench.template"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 5000


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def derived_uuid(seed: int, index: int, slot: int = 0) -> str:
    digest = bytearray(hashlib.blake2b(f"{seed}:{index}:{slot}".encode(), digest_size=16).digest())
    digest[6] = (digest[6] & 0x0F) | 0x40  # version 4
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(digest)))


@dataclass
class Template:
    customer_id: str
    tables: dict[str, list[str]]  # table -> its COPY text lines for the template customer
    view_body: str  # what GET /v1/customers/{id}/view answered


class Stamp:
    """Turns a template line into customer ``i``'s line: precompiled split, one join per row."""

    def __init__(self, line: str, template_id: str, seed: int) -> None:
        others = sorted({u for u in UUID_RE.findall(line) if u != template_id})
        self._slots = {u: n + 1 for n, u in enumerate(others)}
        markers = [template_id, *others, TEMPLATE_GIVEN, TEMPLATE_FAMILY, TEMPLATE_GIVEN.lower(),
                   TEMPLATE_FAMILY.lower(), TEMPLATE_EMAIL]
        pattern = re.compile("(" + "|".join(re.escape(m) for m in markers) + ")")
        self._parts = pattern.split(line)
        self._template_id = template_id
        self._seed = seed

    def __call__(self, index: int, customer_id: str) -> str:
        given, family = GIVEN[index % len(GIVEN)], FAMILY[(index // len(GIVEN)) % len(FAMILY)]
        values = {
            self._template_id: customer_id,
            TEMPLATE_GIVEN: given,
            TEMPLATE_FAMILY: family,
            TEMPLATE_GIVEN.lower(): given.lower(),
            TEMPLATE_FAMILY.lower(): family.lower(),
            TEMPLATE_EMAIL: f"customer.{index}",
        }
        out = self._parts[:]
        for n in range(1, len(out), 2):
            marker = out[n]
            slot = self._slots.get(marker)
            out[n] = derived_uuid(self._seed, index, slot) if slot else values[marker]
        return "".join(out)


class Loader:
    """Grows the bench tenant to ``n`` customers (views and baseline documents included), idempotently."""

    def __init__(self, *, customer_api: str, token: str, customer_db: str, baseline_db: str, ids_file: Path,
                 seed: int = 1) -> None:
        self.customer_api = customer_api
        self.token = token
        self.customer_db = psycopg_url(customer_db)
        self.baseline_db = psycopg_url(baseline_db)
        self.ids_file = ids_file
        self.seed = seed
        self.loaded = 0
        self.template: Template | None = None
        self.load_seconds: dict[int, float] = {}

    def ensure(self, n: int, progress: Callable[[str], None] = print) -> None:
        if n <= self.loaded:
            return
        if self.template is None:
            self.template = self._make_template()
            self._prepare_baseline()
        started = time.monotonic()
        progress(f"  loading customers {self.loaded:,} .. {n:,} with COPY (seed {self.seed})")
        stamps = {table: [Stamp(line, self.template.customer_id, self.seed) for line in lines]
                  for table, lines in self.template.tables.items()}
        doc = Stamp(self.template.view_body, self.template.customer_id, self.seed)
        with psycopg.connect(self.customer_db) as conn:
            for table, table_stamps in stamps.items():
                _copy(conn, f"COPY {table} FROM STDIN", self._lines(table_stamps, n))
            conn.commit()
            _analyze(conn, stamps)
        with psycopg.connect(self.baseline_db) as conn:
            _copy(conn, "COPY bench_docs (id, doc) FROM STDIN", (
                f"{cid}\t{_copy_escape(doc(i, cid))}\n" for i, cid in self._ids(n)))
            conn.commit()
            _analyze(conn, {"bench_docs": None})
        with self.ids_file.open("a") as f:
            f.writelines(f"{cid}\n" for _, cid in self._ids(n))
        self.load_seconds[n] = time.monotonic() - started
        self.loaded = n

    def _ids(self, n: int) -> Iterator[tuple[int, str]]:
        for i in range(self.loaded, n):
            yield i, derived_uuid(self.seed, i)

    def _lines(self, table_stamps: list[Stamp], n: int) -> Iterator[str]:
        for i, cid in self._ids(n):
            for stamp in table_stamps:
                yield stamp(i, cid)

    def _make_template(self) -> Template:
        headers = {"Authorization": f"Bearer {self.token}"}
        body = {"kind": "person", "given_name": TEMPLATE_GIVEN, "family_name": TEMPLATE_FAMILY, "country": "DE",
                "region": "Berlin", "emails": [{"address": f"{TEMPLATE_EMAIL}@example.com"}],
                "phones": [{"number": "+493012345678"}]}
        with httpx.Client(base_url=self.customer_api, headers=headers, timeout=30) as client:
            created = client.post("/v1/customers", json=body)
            created.raise_for_status()
            customer_id = created.json()["id"]
            token = created.headers.get("CRM-Consistency-Token", "")
            # The view consumer builds the view from the created event; on a busy machine that can
            # take longer than one consistency wait, so ask again (bounded) until it is there.
            deadline = time.monotonic() + 180
            while True:
                seen = client.get(f"/v1/customers/{customer_id}/view", headers={"CRM-Consistency-Token": token})
                if seen.status_code == 200 and seen.json().get("consistency", {}).get("satisfied", True):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the view of the template customer was not built in time ({seen.status_code})")
                time.sleep(0.5)
            view = client.get(f"/v1/customers/{customer_id}/view")
            view.raise_for_status()
        tables: dict[str, list[str]] = {}
        with psycopg.connect(self.customer_db) as conn:
            tables["customers"] = _copy_out(conn, f"COPY (SELECT * FROM customers WHERE id = '{customer_id}') TO STDOUT")
            for (table,) in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = 'customer_id' ORDER BY table_name"
            ).fetchall():
                lines = _copy_out(conn, f"COPY (SELECT * FROM {table} WHERE customer_id = '{customer_id}') TO STDOUT")
                if lines:
                    tables[table] = lines
        return Template(customer_id=customer_id, tables=tables, view_body=view.text)

    def _prepare_baseline(self) -> None:
        with psycopg.connect(self.baseline_db) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_docs (id uuid PRIMARY KEY, doc jsonb NOT NULL)")
            conn.commit()


def _copy(conn: psycopg.Connection, statement: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= CHUNK:
                copy.write("".join(chunk).encode())
                chunk.clear()
        if chunk:
            copy.write("".join(chunk).encode())


def _copy_out(conn: psycopg.Connection, statement: str) -> list[str]:
    data = bytearray()
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for block in copy:
            data += block
    return [line + "\n" for line in data.decode().splitlines()]


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _analyze(conn: psycopg.Connection, tables: dict[str, object]) -> None:
    # VACUUM too, not only ANALYZE: an insert-only table this size otherwise draws autovacuum in the
    # middle of the next measurement (one slow request per run, in a varying search filter).
    conn.autocommit = True
    for table in tables:
        conn.execute(f"VACUUM (ANALYZE) {table}")
    conn.autocommit = False
