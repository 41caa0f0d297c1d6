"""Every query of loyalty: the policy, the account's lock, the lots and the history of movements."""

from __future__ import annotations

import uuid
from decimal import Decimal
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales.credit_notes.tables import CreditNote
from services.sales.loyalty.tables import LoyaltyAccount, LoyaltyMovement, LoyaltyPolicy
from services.sales.orders.tables import OrderReturn
from services.sales.products.tables import Product
from shared.db import utcnow
from shared.http import PageRequest


def get_policy(session: Session, tenant: str, *, lock: bool = False) -> LoyaltyPolicy | None:
    query = select(LoyaltyPolicy).where(LoyaltyPolicy.tenant_id == tenant)
    return session.scalar(query.with_for_update() if lock else query)


def lock_account(session: Session, tenant: str, customer_id: uuid.UUID) -> LoyaltyAccount:
    """The customer's account row, locked until the transaction ends; made on first use (a concurrent first
    use may make it too: then lock theirs)."""
    query = (select(LoyaltyAccount).where(LoyaltyAccount.tenant_id == tenant, LoyaltyAccount.customer_id == customer_id)
             .with_for_update())
    account = session.scalar(query)
    if account is None:
        try:
            with session.begin_nested():
                session.add(LoyaltyAccount(tenant_id=tenant, customer_id=customer_id, created_at=utcnow()))
        except IntegrityError:
            pass
        account = session.scalar(query)
        assert account is not None
    return account


def find_account(session: Session, tenant: str, customer_id: uuid.UUID) -> LoyaltyAccount | None:
    return session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.tenant_id == tenant,
                                                       LoyaltyAccount.customer_id == customer_id))


def lots(session: Session, tenant: str, customer_id: uuid.UUID, *, fresh: bool = False) -> list[LoyaltyMovement]:
    """The customer's lots that still hold points, oldest first; ``fresh``: re-read under the account's lock."""
    query = (select(LoyaltyMovement).where(LoyaltyMovement.tenant_id == tenant,
                                           LoyaltyMovement.customer_id == customer_id,
                                           LoyaltyMovement.kind == "earned", LoyaltyMovement.remaining > 0)
             .order_by(LoyaltyMovement.id))
    if fresh:
        query = query.execution_options(populate_existing=True)
    return list(session.scalars(query))


def movement_of_source(session: Session, tenant: str, source: str) -> LoyaltyMovement | None:
    return session.scalar(select(LoyaltyMovement).where(LoyaltyMovement.tenant_id == tenant,
                                                        LoyaltyMovement.source == source))


def history(session: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest) -> list[LoyaltyMovement]:
    """Newest first; the cursor is the last movement shown."""
    query = select(LoyaltyMovement).where(LoyaltyMovement.tenant_id == tenant,
                                          LoyaltyMovement.customer_id == customer_id)
    if page.after is not None:
        query = query.where(LoyaltyMovement.id < page.after)
    return list(session.scalars(query.order_by(LoyaltyMovement.id.desc()).limit(page.limit + 1)))


def lots_past_expiry(session: Session, today: date, limit: int) -> list[tuple[str, uuid.UUID]]:
    """Accounts (tenant, customer) holding points in a lot past its day, at most ``limit`` of them."""
    rows = session.execute(
        select(LoyaltyMovement.tenant_id, LoyaltyMovement.customer_id)
        .where(LoyaltyMovement.remaining > 0, LoyaltyMovement.expires_on < today)
        .group_by(LoyaltyMovement.tenant_id, LoyaltyMovement.customer_id)
        .order_by(func.min(LoyaltyMovement.expires_on), LoyaltyMovement.tenant_id, LoyaltyMovement.customer_id)
        .limit(limit))
    return [(row[0], row[1]) for row in rows]


def categories_of(session: Session, tenant: str, product_ids: set[uuid.UUID]) -> dict[str, str | None]:
    if not product_ids:
        return {}
    rows = session.execute(select(Product.id, Product.category).where(Product.tenant_id == tenant,
                                                                       Product.id.in_(product_ids)))
    return {str(row[0]): row[1] for row in rows}


def returns_of_order(session: Session, tenant: str, order_id: uuid.UUID) -> list[OrderReturn]:
    return list(session.scalars(select(OrderReturn).where(OrderReturn.tenant_id == tenant,
                                                          OrderReturn.order_id == order_id)
                                .order_by(OrderReturn.id)))


def corrected(session: Session, tenant: str, invoice_id: uuid.UUID) -> Decimal:
    """What correction credit notes (not returns) took off the invoice."""
    return Decimal(session.scalar(select(func.coalesce(func.sum(CreditNote.amount), 0)).where(
        CreditNote.tenant_id == tenant, CreditNote.invoice_id == invoice_id, CreditNote.kind == "correction")) or 0)


def reversals_of_invoice(session: Session, tenant: str, invoice_id: uuid.UUID) -> list[LoyaltyMovement]:
    return list(session.scalars(select(LoyaltyMovement).where(
        LoyaltyMovement.tenant_id == tenant, LoyaltyMovement.invoice_id == invoice_id,
        LoyaltyMovement.kind == "reversed")))


def credited_return_ids(session: Session, tenant: str, invoice_id: uuid.UUID) -> set[uuid.UUID]:
    """The returns a credit note of the invoice credited."""
    rows = session.scalars(select(CreditNote.return_id).where(CreditNote.tenant_id == tenant,
                                                              CreditNote.invoice_id == invoice_id,
                                                              CreditNote.return_id.is_not(None)))
    return {r for r in rows if r is not None}

