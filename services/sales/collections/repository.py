"""Every query of collections: invoices due a dunning level, their dunning state, the collections list, holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.sales.collections.rules import Cursor, Level
from services.sales.collections.tables import InvoiceDunning
from services.sales.invoices.tables import Invoice


def _with_state() -> Any:
    return select(Invoice, InvoiceDunning).outerjoin(InvoiceDunning, and_(
        InvoiceDunning.invoice_id == Invoice.id, InvoiceDunning.tenant_id == Invoice.tenant_id))


def tenants_with_open_invoices(session: Session) -> list[str]:
    return list(session.scalars(select(Invoice.tenant_id).where(Invoice.status == "open").distinct()
                                .order_by(Invoice.tenant_id)))


def invoices_due_a_level(session: Session, tenant: str, levels: Sequence[Level], today: date,
                         limit: int, after: Cursor | None = None) -> list[Invoice]:
    """Open invoices with a level after the one they reached whose day has come, oldest due first, their rows
    locked; rows another run holds are skipped (it is working on them), not waited for. ``after``: where the
    previous batch of the same run stopped, so a run walks the invoices once instead of passing over the ones
    it moved again with every batch."""
    due = [and_(Invoice.due_on <= today - timedelta(days=level.offset_days),
                or_(InvoiceDunning.offset_days.is_(None), InvoiceDunning.offset_days < level.offset_days))
           for level in levels]
    query = _with_state().where(Invoice.tenant_id == tenant, Invoice.status == "open", or_(*due))
    if after is not None:
        query = query.where(or_(Invoice.due_on > after.due_on,
                                and_(Invoice.due_on == after.due_on, Invoice.id > after.after_id)))
    query = (query
             .order_by(Invoice.due_on, Invoice.id).limit(limit)
             .with_for_update(of=Invoice, skip_locked=True))
    return [row[0] for row in session.execute(query)]


def dunning_states(session: Session, tenant: str, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, InvoiceDunning]:
    """Read afresh (a statement after the invoices' locks were taken sees what an earlier run committed)."""
    if not invoice_ids:
        return {}
    rows = session.scalars(select(InvoiceDunning).where(InvoiceDunning.tenant_id == tenant,
                                                        InvoiceDunning.invoice_id.in_(invoice_ids))
                           .execution_options(populate_existing=True))
    return {row.invoice_id: row for row in rows}


def list_collections(session: Session, tenant: str, *, as_of: date, customer_id: uuid.UUID | None,
                     action: str | None, after: Cursor | None, limit: int) -> list[tuple[Invoice, InvoiceDunning | None]]:
    """Open invoices past due on ``as_of`` or at a dunning level, oldest due first (then by id), ``limit`` rows
    after the cursor. Filtered by the level reached, it walks that level's dunning rows in due order (their
    index) rather than every open invoice due before them."""
    if action is not None:
        query: Any = (select(Invoice, InvoiceDunning).join(InvoiceDunning, and_(
            InvoiceDunning.invoice_id == Invoice.id, InvoiceDunning.tenant_id == Invoice.tenant_id))
            .where(InvoiceDunning.tenant_id == tenant, InvoiceDunning.action == action, Invoice.status == "open"))
        due_on, invoice_id = InvoiceDunning.due_on, InvoiceDunning.invoice_id
    else:
        query = _with_state().where(Invoice.tenant_id == tenant, Invoice.status == "open",
                                    or_(Invoice.due_on < as_of, InvoiceDunning.invoice_id.is_not(None)))
        due_on, invoice_id = Invoice.due_on, Invoice.id
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    if after is not None:
        query = query.where(or_(due_on > after.due_on, and_(due_on == after.due_on, invoice_id > after.after_id)))
    rows = session.execute(query.order_by(due_on, invoice_id).limit(limit))
    return [(row[0], row[1]) for row in rows]


def invoice_holding_orders(session: Session, tenant: str, customer_id: uuid.UUID) -> Invoice | None:
    """The customer's oldest open invoice at a level that holds new orders."""
    return session.scalar(
        select(Invoice).join(InvoiceDunning, and_(InvoiceDunning.invoice_id == Invoice.id,
                                                  InvoiceDunning.tenant_id == Invoice.tenant_id))
        .where(Invoice.tenant_id == tenant, Invoice.customer_id == customer_id, Invoice.status == "open",
               InvoiceDunning.holds_orders.is_(True))
        .order_by(Invoice.due_on, Invoice.id).limit(1))
