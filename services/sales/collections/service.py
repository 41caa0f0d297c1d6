"""Collections use cases: bring open invoices to their dunning level (the periodic job), list what is being
collected with each invoice's next step, and tell whether dunning holds a customer's new orders.

**The job** works tenant by tenant in bounded batches, one transaction each: it locks the
invoices due a level (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a run beside it takes other
invoices instead of waiting), reads their dunning state again under that lock, moves each to the
highest level due (the batch's new states and events written set-based) and publishes it through the outbox in the same transaction: a level past the due
date as ``crm.sales.invoice.overdue.v1``, one before it (the pre-due reminder) as
``crm.sales.invoice.due_soon.v1``. An invoice already at that level (a second run, or
one that got there first) is left as it is, so each level is published once per invoice. A
payment, credit note or write-off that closes the invoice ends its dunning: only open invoices
are looked at.

**Status**: an invoice's stored status stays ``open`` while it is dunned; ``overdue`` is how an
open invoice past its due date is shown and published (``invoices.rules.shown_status``), so
payments and credit notes settle it like any open invoice, and paying it in full makes it
``paid``. Nothing commits here but the job's own units of work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from services.sales import contract
from services.sales.collections import repository, rules
from services.sales.collections.tables import InvoiceDunning
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.invoices import repository as invoices
from services.sales.invoices import rules as invoice_rules
from services.sales.invoices.tables import Invoice
from services.sales.sales_policy import service as sales_policy
from shared.bulk import write_outbox, write_rows
from shared.db import unit_of_work, utcnow
from shared.outbox import outbox_row
from shared.settings import Settings
from shared.types import Money

BATCH = 1000


# --- the job ------------------------------------------------------------------------------------------------


def advance_batch(session: Session, tenant: str, today: date, *, limit: int = BATCH,
                  after: rules.Cursor | None = None) -> tuple[int, int, rules.Cursor | None]:
    """One batch of the tenant's invoices due a level on ``today``, after ``after`` in due order: (how many
    were found, how many moved, where the batch stopped).

    Set-based: the batch's first dunning states and all its events are written in one go each (``COPY``
    on PostgreSQL), which is what a first pass over a backlog of overdue invoices is made of; states
    reached before are updated in place. The invoices' row locks make this batch the only one moving them.
    """
    levels = sales_policy.policy(session, tenant).dunning_levels
    if not levels:
        return 0, 0, None
    found = repository.invoices_due_a_level(session, tenant, levels, today, limit, after)
    states = repository.dunning_states(session, tenant, [invoice.id for invoice in found])
    owed = invoices.balances(session, tenant, {invoice.id for invoice in found})
    now = utcnow()
    first_states: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    for invoice in found:
        state = states.get(invoice.id)
        step = rules.advance(levels, invoice.due_on, today, state.offset_days if state is not None else None)
        if step is None:
            continue  # another run moved it first
        values = {"level": step.position, "offset_days": step.level.offset_days, "action": step.level.action,
                  "holds_orders": rules.holds_orders(levels, step) or (state is not None and state.holds_orders),
                  "reached_on": today, "updated_at": now}
        if state is None:
            first_states.append({"invoice_id": invoice.id, "tenant_id": tenant, "due_on": invoice.due_on, **values})
        else:
            for name, value in values.items():
                setattr(state, name, value)
        events.append(_level_event(invoice, invoice_rules.open_amount(owed.get(invoice.id, Decimal(0))), step, today,
                                   now))
    session.flush()
    write_rows(session, InvoiceDunning.__table__, first_states)  # type: ignore[arg-type]
    write_outbox(session, events)
    last = rules.Cursor(found[-1].due_on, found[-1].id) if found else None
    return len(found), len(events), last


def advance_dunning(sessions: sessionmaker[Session], today: date) -> int:
    """Every tenant's invoices to their level on ``today``, batch after batch; how many moved."""
    with sessions() as session:
        tenants = repository.tenants_with_open_invoices(session)
    total = 0
    for tenant in tenants:
        after: rules.Cursor | None = None
        while True:
            with unit_of_work(sessions) as session:
                found, moved, after = advance_batch(session, tenant, today, after=after)
            total += moved
            if found < BATCH:
                break
    return total


def run_dunning_check(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The periodic job: today's levels."""
    return advance_dunning(sessions, utcnow().date())


def _level_event(invoice: Invoice, open_amount: Decimal, step: rules.Step, today: date, now: datetime
                 ) -> dict[str, object]:
    """The level reached, as its outbox row: past the due date ``overdue``; before it or on it the pre-due
    reminder, ``due_soon``."""
    c = invoice.currency
    event = contract.INVOICE_OVERDUE if rules.reports_overdue(step.level) else contract.INVOICE_DUE_SOON
    payload = contract.InvoiceOverdue(
        invoice_id=invoice.id, customer_id=invoice.customer_id, order_id=invoice.order_id, number=invoice.number,
        issued_on=invoice.issued_on, due_on=invoice.due_on, total=Money.of(invoice.total, c),
        open_amount=Money.of(open_amount, c), status=invoice_rules.shown_status(invoice.status, invoice.due_on, today),
        version=invoice.version, written_off=Money.of(invoice.written_off, c) if invoice.written_off else None,
        days_past_due=rules.days_past_due(invoice.due_on, today), level=step.position,
        offset_days=step.level.offset_days, action=step.level.action, reached_on=today)
    return outbox_row(event, payload.model_dump(mode="json"), subject=str(invoice.customer_id),
                      tenant=invoice.tenant_id, occurred_at=now)


# --- the list -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    invoice: Invoice
    state: InvoiceDunning | None
    open_amount: Decimal
    customer: CustomerReplica | None
    days_past_due: int
    next_step: rules.Step | None


def list_collections(session: Session, tenant: str, *, as_of: date, customer_id: uuid.UUID | None = None,
                     action: str | None = None, cursor: str | None = None,
                     limit: int = 50) -> tuple[list[Entry], str | None]:
    """One page, oldest due first, and the cursor of the next (None: the last page)."""
    after = rules.decode_cursor(cursor) if cursor else None
    rows = repository.list_collections(session, tenant, as_of=as_of, customer_id=customer_id, action=action,
                                       after=after, limit=limit + 1)
    page = rows[:limit]
    levels = sales_policy.policy(session, tenant).dunning_levels
    owed = invoices.balances(session, tenant, {invoice.id for invoice, _ in page})
    buyers = customers.find_customers(session, tenant, {invoice.customer_id for invoice, _ in page})
    entries = [Entry(invoice, state, invoice_rules.open_amount(owed.get(invoice.id, Decimal(0))),
                     buyers.get(invoice.customer_id), rules.days_past_due(invoice.due_on, as_of),
                     rules.next_step(levels, invoice.due_on, state.offset_days if state is not None else None))
               for invoice, state in page]
    last = page[-1][0] if page else None
    return entries, (rules.encode_cursor(last.due_on, last.id) if last is not None and len(rows) > limit else None)


# --- holding new orders -------------------------------------------------------------------------------------


def hold_reason(session: Session, tenant: str, customer_id: uuid.UUID) -> str | None:
    """Why dunning holds the customer's new orders (an open invoice at a hold level), or None."""
    invoice = repository.invoice_holding_orders(session, tenant, customer_id)
    if invoice is None:
        return None
    return (f"Invoice {invoice.number} ({invoice.id}), due {invoice.due_on.isoformat()}, is at a dunning level that "
            "holds new orders until it is paid.")
