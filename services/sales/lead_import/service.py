"""Bulk lead import: rows through the same create as ``POST /v1/leads`` (de-duplicated, scored, routed).

Rows are written a batch at a time, each batch one unit of work. A row that fails (its
fields, or a rule such as an unknown customer) is reported with its line and writes
nothing; the others go on. A row duplicating an open lead — also one earlier in the same
file — is folded into it, as through the API, and reported with that lead's id: an
import run twice creates nothing twice.

Each row goes through ``leads.service.create_lead`` itself, with a ``BatchIntake`` in
place of the request's: the batch takes the tenant's intake lock whole (API creates
wait for it), reads every open lead and customer its rows' keys could match in a few
queries, loads the scoring rules, routing rules and each team's loads once, and writes
its new leads, history and outbox rows in one go (COPY on PostgreSQL). Per row nothing
but Python runs, and what a row decides — a lead made, or folded into — the next row
sees, as it would one request after another.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anyio import to_thread
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.lead_import import repository
from services.sales.lead_import.rules import RecordReader, Row
from services.sales.leads import repository as lead_repository
from services.sales.leads import rules
from services.sales.leads import service as leads
from services.sales.leads.rules import MatchKeys
from services.sales.leads.schemas import LeadCreate
from services.sales.leads.tables import Lead
from services.sales.routing import rules as routing_rules
from services.sales.routing import service as routing
from shared.db import unit_of_work
from shared.errors import InvalidInput
from shared.ids import new_id
from shared.outbox import outbox_row

BATCH_SIZE = 1000
MAX_REPORTED = 1000


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    merged: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.duplicates + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "duplicates": self.duplicates, "failed": self.failed,
                "errors": self.errors, "errors_truncated": self.failed > len(self.errors),
                "merged": self.merged, "merged_truncated": self.duplicates > len(self.merged)}


class LeadImporter:
    """Feed rows with ``add``; ``finish`` writes what is left and returns the report."""

    def __init__(self, sessions: sessionmaker[Session], tenant: str, *, on_commit: Callable[[], None],
                 batch_size: int = BATCH_SIZE) -> None:
        self.sessions, self.tenant, self.on_commit, self.batch_size = sessions, tenant, on_commit, batch_size
        self.report = ImportReport()
        self._batch: list[Row] = []
        self._analyzed_at = 0  # what the import had created when it last refreshed the planner's statistics

    def add(self, row: Row) -> None:
        self._batch.append(row)
        if len(self._batch) >= self.batch_size:
            self._write()

    def finish(self) -> ImportReport:
        self._write()
        return self.report

    def _write(self) -> None:
        if not self._batch:
            return
        checked = [(row, self._checked(row)) for row in self._batch]
        with unit_of_work(self.sessions) as session:
            intake = BatchIntake(session, self.tenant, [body for _, body in checked if isinstance(body, LeadCreate)])
            for row, body in checked:  # in the file's order: what a row decides, the next row sees
                if isinstance(body, LeadCreate):
                    self._import(session, intake, row, body)
                else:
                    self._failed(row, body)
            intake.write()
        self._batch = []
        self.on_commit()
        if self.report.created >= max(2 * self._analyzed_at, self.batch_size):
            with unit_of_work(self.sessions) as session:
                repository.refresh_statistics(session)
            self._analyzed_at = self.report.created

    @staticmethod
    def _checked(row: Row) -> LeadCreate | list[dict[str, str]]:
        """The row's body, or what is wrong with it."""
        if row.fields is None:
            return [{"field": "row", "message": row.error or "unreadable"}]
        try:
            return LeadCreate.model_validate({"source": "import"} | row.fields)
        except ValidationError as exc:
            return [{"field": ".".join(str(p) for p in e["loc"]) or "row", "message": e["msg"]} for e in exc.errors()]

    def _import(self, session: Session, intake: BatchIntake, row: Row, body: LeadCreate) -> None:
        try:
            shown = leads.create_lead(session, self.tenant, body, intake=intake)
        except InvalidInput as exc:
            self._failed(row, exc.errors or [{"field": "row", "message": exc.detail}])
            return
        if shown.duplicate_of is None:
            self.report.created += 1
            return
        self.report.duplicates += 1
        if len(self.report.merged) < MAX_REPORTED:
            self.report.merged.append({"line": row.line, "lead_id": str(shown.duplicate_of),
                                       "matched_on": shown.matched_on})

    def _failed(self, row: Row, errors: list[dict[str, str]]) -> None:
        self.report.failed += 1
        if len(self.report.errors) < MAX_REPORTED:
            self.report.errors.append({"line": row.line, "errors": errors})


class BatchIntake(leads.Intake):
    """The intake of one import batch: its candidates read up front, its rows written at the end (``write``)."""

    def __init__(self, session: Session, tenant: str, bodies: list[LeadCreate]) -> None:
        super().__init__(session, tenant)
        # First, before any other lock: API creates hold it shared while they take key and team locks.
        lead_repository.lock_intake(session, tenant, whole=True)
        pairs = {pair for body in bodies for pair in rules.match_keys(body.email, body.phone).pairs()}
        # Each candidate's rank: the oldest open lead holding a key is the one a duplicate folds into;
        # the batch's own leads rank after every stored one, in the order the batch makes them.
        self._rank: dict[uuid.UUID, int] = {}
        self._by_key: dict[tuple[str, str], Lead] = {}
        self._wanted = pairs
        for lead in repository.open_leads_with_keys(session, tenant, pairs):
            self._index(lead)
        self._customer_keys = repository.customers_with_keys(session, tenant, pairs)
        # The customers rows name or match, and those of the open leads they may fold into.
        wanted = {body.customer_id for body in bodies if body.customer_id is not None} | set(
            self._customer_keys.values())
        self._of_customer: dict[uuid.UUID, Lead] = {}
        for lead in repository.open_leads_of_customers(session, tenant, wanted):
            self._of_customer.setdefault(lead.customer_id, lead)  # type: ignore[arg-type]
        held = {lead.customer_id for lead in (*self._by_key.values(), *self._of_customer.values())}
        self._customers = customers.find_customers(session, tenant, {c for c in wanted | held if c is not None})
        self._scoring = leads.scoring_rules_of(session, tenant)[0]
        self._routing = routing.routing_rules(session, tenant)
        self._hands: dict[str, routing.TeamHand | None] = {}
        self.leads: list[Lead] = []
        self._history: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []

    # --- reads, from what the batch loaded --------------------------------------------------

    def require_customer(self, customer_id: uuid.UUID, wait_seconds: float) -> CustomerReplica:
        found = self._customers.get(customer_id)
        if found is None:
            raise InvalidInput.on("customer_id", f"no customer {customer_id} is known to this service")
        return found

    def lock(self, keys: MatchKeys) -> None:
        """Nothing per row: the batch holds the tenant's intake lock whole."""

    def customer(self, customer_id: uuid.UUID | None) -> CustomerReplica | None:
        return self._customers.get(customer_id) if customer_id else None

    def customer_match(self, keys: MatchKeys) -> tuple[str, uuid.UUID] | None:
        return rules.strongest_match({pair[0]: [self._customer_keys[pair]] for pair in keys.pairs()
                                      if pair in self._customer_keys})

    def open_lead_match(self, keys: MatchKeys) -> tuple[str, Lead] | None:
        return rules.strongest_match({pair[0]: [self._by_key[pair]] for pair in keys.pairs() if pair in self._by_key})

    def open_lead_of_customer(self, customer_id: uuid.UUID) -> Lead | None:
        return self._of_customer.get(customer_id)

    def scoring(self) -> list[rules.ScoringRule]:
        return self._scoring

    def team_for(self, facts: dict[str, Any]) -> str | None:
        return routing_rules.choose_rule(self._routing, facts)

    def take_owner(self, team: str) -> str | None:
        if team not in self._hands:
            self._hands[team] = routing.team_hand(self.session, self.tenant, team)
        hand = self._hands[team]
        owners = hand.take() if hand is not None else []
        return owners[0] if owners else None

    def first_touch_minutes(self, team: str) -> int | None:
        hand = self._hands.get(team)
        return None if hand is None else hand.team.first_touch_minutes

    # --- writes, kept for the end of the batch ----------------------------------------------

    def new_lead(self, **fields: Any) -> Lead:
        # Never added to the session (``write`` copies its columns), so it needs none of the change
        # tracking the ORM's constructor sets up attribute by attribute: a quarter of a row's create.
        lead: Lead = Lead.__mapper__.class_manager.new_instance()
        lead.__dict__.update(fields)
        return lead

    def add(self, lead: Lead) -> None:
        self.leads.append(lead)
        self._index(lead)
        if lead.customer_id is not None:
            self._of_customer.setdefault(lead.customer_id, lead)

    def rekeyed(self, lead: Lead) -> None:
        self._index(lead)

    def history(self, lead: Lead, action: str, details: dict[str, Any], at: datetime) -> None:
        lead.history_steps += 1
        self._history.append({"id": new_id(), "tenant_id": lead.tenant_id, "lead_id": lead.id,
                              "step": lead.history_steps, "at": at, "action": action, "details": details})

    def publish(self, action: str | None, lead: Lead, changes: dict[str, Any], *,
                duplicate_of: uuid.UUID | None = None) -> None:
        event_type, payload, subject = leads.lead_event(action, lead, changes, duplicate_of=duplicate_of)
        self._outbox.append(outbox_row(event_type, payload.model_dump(mode="json"), subject=subject,
                                       tenant=self.tenant, occurred_at=lead.updated_at))

    def write(self) -> None:
        """Everything the batch made, in the open transaction; the stored leads it folded into are the
        session's, written with it."""
        repository.write(self.session, self.leads, self._history, self._outbox)

    def _index(self, lead: Lead) -> None:
        rank = self._rank.setdefault(lead.id, len(self._rank))
        # The keys the lead holds (create and fold keep them current): not derived again from its fields.
        for pair in MatchKeys(lead.email_key, lead.phone_key, lead.domain_key).pairs():
            if pair not in self._wanted:
                continue  # no row of the batch has that key: no candidate was read for it either
            holder = self._by_key.get(pair)
            if holder is None or rank < self._rank[holder.id]:
                self._by_key[pair] = lead


async def import_stream(sessions: sessionmaker[Session], tenant: str, chunks: AsyncIterable[bytes], csv_mode: bool,
                        *, on_commit: Callable[[], None]) -> ImportReport:
    """Import a body as it arrives; checking and writing rows is blocking work, done off the event loop."""
    importer = LeadImporter(sessions, tenant, on_commit=on_commit)
    reader = RecordReader(csv_mode)
    pending: list[Row] = []
    async for chunk in chunks:
        pending += list(reader.feed(chunk))
        if len(pending) >= BATCH_SIZE:
            await to_thread.run_sync(_add_all, importer, pending)
            pending = []
    pending += list(reader.close())
    await to_thread.run_sync(_add_all, importer, pending)
    return await to_thread.run_sync(importer.finish)


def _add_all(importer: LeadImporter, rows: list[Row]) -> None:
    for row in rows:
        importer.add(row)
