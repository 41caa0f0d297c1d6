"""Bulk creation of customers, shared by ``POST /v1/customers/import`` and the ``crm import`` / ``crm seed`` commands,
and the export that an import takes back (``crm export``).

Rows are checked one by one with the same rules as ``POST /v1/customers``; valid rows
are written a batch at a time, each batch one transaction holding its customers,
their search keys and one ``crm.customer.created.v1`` outbox event each. A row that
fails is reported with its line number and writes nothing; the others go on.

A row is idempotent by its ``external_id``: a customer the tenant already has with
that id (or an earlier row of the same import) is reported as ``existing`` and left
alone, so a re-run after a crash or a fix creates nothing twice.

A row may name its organization by external id (``parent_external_id``,
``organization_external_id``): a customer the tenant has, or an earlier row of the
import. Earlier batches are committed by then, so the database answers for them and
only the current batch is remembered: memory stays bounded however long the file.

Asked to match duplicates, a row whose normalised e-mail or phone a live customer
already has (or an earlier row of the same import) is reported as ``matched`` with
that customer's id and the reasons, and creates nothing: the existing record is not
overwritten either, since which values should win is the caller's call (a merge or
a PATCH), not an import's.

Each batch is a unit of work of its own (so a million-row import neither holds one
huge transaction nor loses finished batches on a late failure).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from anyio import to_thread
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.customer import contract
from services.customer.classification import repository as classification_repository
from services.customer.classification import rules as classification_rules
from services.customer.custom_fields import repository as custom_fields_repository
from services.customer.custom_fields import rules as field_rules
from services.customer.customers import repository as customers_repository
from services.customer.customers import rules as customer_rules
from services.customer.customers.schemas import CustomerCreate
from services.customer.duplicates import rules as duplicate_rules
from services.customer.importing import repository
from services.customer.importing.rules import (
    CSV_COLUMNS,
    LINKS_BY_EXTERNAL_ID,
    RecordSplitter,
    Row,
    RowReader,
    Seeder,
    csv_from_document,
    linked_by_external_id,
    ndjson_from_document,
    split_links,
)
from shared.db import unit_of_work, utcnow
from shared.errors import InvalidInput
from shared.ids import new_id
from shared.outbox import outbox_row

BATCH_SIZE = 5000
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    matched: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False
    matches: list[dict[str, Any]] = field(default_factory=list)
    matches_truncated: bool = False

    @property
    def rows(self) -> int:
        return self.created + self.existing + self.matched + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "existing": self.existing, "matched": self.matched,
                "failed": self.failed, "errors": sorted(self.errors, key=lambda e: e["line"]),
                "errors_truncated": self.errors_truncated, "matches": sorted(self.matches, key=lambda m: m["line"]),
                "matches_truncated": self.matches_truncated}


@dataclass
class _Valid:
    line: int
    state: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)  # id field -> the linked customer's external id


def _pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "row", "message": e["msg"]} for e in exc.errors()]


class BulkImporter:
    """Feed rows with ``add``; ``finish`` writes what is left and returns the report."""

    def __init__(self, sessions: sessionmaker[Session], tenant: str, *, batch_size: int = BATCH_SIZE,
                 on_commit: Callable[[int], None] | None = None, match_duplicates: bool = False) -> None:
        self.sessions = sessions
        self.tenant = tenant
        self.match_duplicates = match_duplicates
        self.batch_size = batch_size
        self.on_commit = on_commit or (lambda created: None)
        self.report = ImportReport()
        self._batch: list[_Valid] = []
        self._seen_external_ids: set[str] = set()
        self._analyzed_at = 0  # rows created when the tables' statistics were last refreshed
        with sessions() as session:
            self.definitions = custom_fields_repository.definitions(session, tenant)
            self.classification = classification_repository.rules_of(session, tenant)

    # --- rows ---------------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        if row.body is None:
            self._fail(row.line, None, [{"field": "row", "message": row.error or "unreadable"}])
            return
        external_id = row.body.get("external_id")
        try:
            state, links = self._check(row.body)
        except ValidationError as exc:
            self._fail(row.line, external_id, _pydantic_errors(exc))
            return
        except InvalidInput as exc:
            self._fail(row.line, external_id, exc.errors or [{"field": "row", "message": exc.detail}])
            return
        if state["external_id"] in self._seen_external_ids:
            self.report.existing += 1  # repeated within this import: the first occurrence wins
            return
        self._seen_external_ids.add(state["external_id"])
        self._batch.append(_Valid(row.line, state, links))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def _check(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        if not body.get("external_id"):
            raise InvalidInput.on("external_id", "every imported row needs an external_id (it makes re-runs safe)")
        body, links = split_links(body)
        for field_name in links:
            if body.get(field_name):
                raise InvalidInput.on(field_name, f"give {field_name} or its external id, not both")
        fields = CustomerCreate.model_validate(body).model_dump(mode="json")
        if fields["custom_fields"] or any(d["required"] for d in self.definitions.values()):
            fields["custom_fields"] = field_rules.check_values(fields["custom_fields"], self.definitions, creating=True)
        return customer_rules.new_customer(fields), links

    def _fail(self, line: int, external_id: Any, errors: list[dict[str, str]]) -> None:
        self.report.failed += 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append({"line": line, "external_id": external_id, "errors": errors})
        else:
            self.report.errors_truncated = True

    # --- batches ------------------------------------------------------------------------------

    def finish(self) -> ImportReport:
        self.flush()
        return self.report

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        for attempt in (1, 2):
            try:
                created = self._write(batch)
                break
            except IntegrityError:
                # Another import created some of these external ids meanwhile: look again, once.
                if attempt == 2:
                    raise
        self.report.created += created
        self.on_commit(created)
        if self.report.created >= max(2 * self._analyzed_at, self.batch_size):
            # Each time the import has doubled what it wrote: a handful of ANALYZEs for any file size.
            with unit_of_work(self.sessions) as session:
                repository.refresh_statistics(session)
            self._analyzed_at = self.report.created

    def _write(self, batch: list[_Valid]) -> int:
        with unit_of_work(self.sessions) as session:
            taken = repository.existing_external_ids(session, self.tenant, [v.state["external_id"] for v in batch])
            links = [uuid.UUID(v.state[name]) for v in batch for name in ("parent_id", "organization_id")
                     if v.state.get(name)]
            kinds = repository.kinds_of(session, self.tenant, links) if links else {}
            linked_external = sorted({external_id for v in batch for external_id in v.links.values()})
            by_external_id: dict[str, uuid.UUID] = {}
            for external_id, (customer_id, kind) in repository.live_by_external_ids(
                    session, self.tenant, linked_external).items():
                by_external_id[external_id] = customer_id
                kinds[str(customer_id)] = kind
            customers: list[dict[str, Any]] = []
            keys: list[dict[str, Any]] = []
            outbox: list[dict[str, Any]] = []
            now = utcnow()
            existing = 0
            failures: list[tuple[int, str, list[dict[str, str]]]] = []
            matches: list[dict[str, Any]] = []
            owners = self._owners(session, batch)
            # Ids made in one millisecond are not ordered among themselves: sorted, they keep the file's order.
            fresh_ids = iter(sorted(new_id() for _ in batch))
            for valid in batch:
                state = valid.state
                if state["external_id"] in taken:
                    existing += 1
                    continue
                try:
                    state = _resolve_links(state, valid.links, by_external_id)
                    # A new customer cannot be anyone's ancestor yet, so no cycle check is needed here.
                    customer_rules.check_links(state, None, kinds.get, lambda _: [])
                except InvalidInput as exc:
                    failures.append((valid.line, state["external_id"], exc.errors or []))
                    continue
                identifying = (duplicate_rules.identifying_keys(customer_rules.search_keys(state))
                               if owners is not None else [])
                if owners is not None and (match := duplicate_rules.match_by_keys(identifying, owners)) is not None:
                    matches.append({"line": valid.line, "external_id": state["external_id"],
                                    "customer_id": str(match[0]), "reasons": match[1]})
                    continue
                customer_id = next(fresh_ids)
                by_external_id[state["external_id"]] = customer_id  # later rows may link to this one
                kinds[str(customer_id)] = state["kind"]
                if owners is not None:
                    # A later row of this batch with the same e-mail or phone matches this one.
                    owners.update((key, customer_id) for key in identifying if key not in owners)
                classification = classification_rules.classify(state, self.classification, now=now)
                customers.append({"id": customer_id, "tenant_id": self.tenant, "version": 1, "created_at": now,
                                  "updated_at": now, "deleted_at": None, "merged_into": None,
                                  **classification, **customers_repository.row_values(state)})
                keys += [{"tenant_id": self.tenant, "kind": k, "value": v, "customer_id": customer_id}
                         for k, v in sorted(customer_rules.search_keys(state))]
                document = customer_rules.customer_document(state, customer_id=customer_id, version=1, created_at=now,
                                                    updated_at=now, customer_group=classification["customer_group"],
                                                    value_tier=classification["value_tier"])
                outbox.append(_created_event(self.tenant, document, now))
            repository.write(session, customers, keys, outbox)
        # Counted only once the batch committed: a retried batch must not report its failures twice.
        self.report.existing += existing
        for failure in failures:
            self._fail(*failure)
        self._matched(matches)
        return len(customers)

    def _owners(self, session: Session, batch: list[_Valid]) -> dict[tuple[str, str], uuid.UUID] | None:
        """Who already holds the batch's e-mails and phones; None unless asked to match duplicates."""
        if not self.match_duplicates:
            return None
        keys = {key for valid in batch
                for key in duplicate_rules.identifying_keys(customer_rules.search_keys(valid.state))}
        return repository.owners_of_keys(session, self.tenant, sorted(keys))

    def _matched(self, matches: list[dict[str, Any]]) -> None:
        self.report.matched += len(matches)
        room = MAX_REPORTED_ERRORS - len(self.report.matches)
        self.report.matches += matches[:max(room, 0)]
        self.report.matches_truncated = self.report.matches_truncated or len(matches) > room


def _created_event(tenant: str, document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The outbox row announcing one bulk-created customer (``crm.customer.created.v1``).

    Written with its batch (COPY on PostgreSQL) rather than appended one by one: checking
    every document against the payload model would cost a large import a tenth of its
    speed. The document comes from the same rule a single create's does
    (``customers.rules.customer_document``), whose events are checked against
    ``contract.CustomerCreated`` on every write; the importer's tests check these rows too.
    """
    return outbox_row(contract.CUSTOMER_CREATED, {"customer": document}, subject=document["id"], tenant=tenant,
                      occurred_at=now)


def _resolve_links(state: dict[str, Any], links: dict[str, str], by_external_id: dict[str, uuid.UUID]) -> dict[str, Any]:
    """The state with each link by external id turned into the linked customer's id."""
    if not links:
        return state  # most rows: no copy (it showed in the import's profile)
    resolved = dict(state)
    for field_name, external_id in links.items():
        target = by_external_id.get(external_id)
        if target is None:
            raise InvalidInput.on(
                next(name for name, linked in LINKS_BY_EXTERNAL_ID.items() if linked == field_name),
                f"no customer with external id {external_id!r}: link to one that exists or comes earlier in the file")
        resolved[field_name] = str(target)
    return resolved


# --- whole files and demo data (the crm import / seed / export commands) ----------------------


def import_chunks(importer: BulkImporter, chunks: Iterable[bytes], csv_mode: bool) -> ImportReport:
    """Read a CSV or NDJSON byte stream chunk by chunk into ``importer``."""
    splitter, reader = RecordSplitter(csv_mode), RowReader(csv_mode)
    for chunk in chunks:
        for line, text in splitter.feed(chunk):
            if (row := reader.row(line, text)) is not None:
                importer.add(row)
    for line, text in splitter.close():
        if (row := reader.row(line, text)) is not None:
            importer.add(row)
    return importer.finish()


# Rows checked and written per step off the event loop, as a request body streams in.
ROWS_PER_STEP = 1000


async def import_stream(sessions: sessionmaker[Session], tenant: str, chunks: AsyncIterable[bytes], csv_mode: bool, *,
                        on_commit: Callable[[int], None], match_duplicates: bool) -> ImportReport:
    """Import a CSV or NDJSON body as it arrives, in batches, each a unit of work of its own."""
    importer = await to_thread.run_sync(partial(BulkImporter, sessions, tenant, on_commit=on_commit,
                                                match_duplicates=match_duplicates))
    splitter, reader = RecordSplitter(csv_mode), RowReader(csv_mode)
    pending: list[Row] = []
    async for chunk in chunks:
        pending += [row for line, text in splitter.feed(chunk) if (row := reader.row(line, text)) is not None]
        if len(pending) >= ROWS_PER_STEP:
            # Checking and writing rows is blocking work: off the event loop.
            await to_thread.run_sync(_add_all, importer, pending)
            pending = []
    pending += [row for line, text in splitter.close() if (row := reader.row(line, text)) is not None]
    await to_thread.run_sync(_add_all, importer, pending)
    return await to_thread.run_sync(importer.finish)


def _add_all(importer: BulkImporter, rows: list[Row]) -> None:
    for row in rows:
        importer.add(row)


def seed(importer: BulkImporter, count: int, seed_value: int) -> ImportReport:
    """``count`` demo customers, the same ones for the same seed (re-seeding creates nothing twice)."""
    for n, body in enumerate(Seeder(seed_value).rows(count), start=1):
        importer.add(Row(n, {k: v for k, v in body.items() if v is not None}))
    return importer.finish()


def export(sessions: sessionmaker[Session], tenant: str, csv_mode: bool, write: Callable[[str], None]) -> int:
    """Every live customer of the tenant, in creation order, in the format an import takes back."""
    exported = 0
    buffer = io.StringIO()
    with sessions() as session:
        custom_names = sorted(custom_fields_repository.definitions(session, tenant))
        writer = csv.DictWriter(buffer, fieldnames=[*CSV_COLUMNS, *(f"custom.{n}" for n in custom_names)],
                                lineterminator="\n") if csv_mode else None
        if writer is not None:
            writer.writeheader()
        for batch in customers_repository.all_customers(session, tenant):
            targets = {c.parent_id or c.organization_id for c in batch} - {None}
            external_ids = repository.external_ids_of(session, tenant, targets) if targets else {}
            for customer in batch:
                document = linked_by_external_id(customers_repository.document_of(customer), external_ids)
                if writer is not None:
                    writer.writerow(csv_from_document(document, custom_names))
                else:
                    buffer.write(ndjson_from_document(document) + "\n")
            write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
            exported += len(batch)
            session.expunge_all()
        write(buffer.getvalue())  # the header of an empty export
    return exported
