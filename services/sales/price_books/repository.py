"""Every query of the price books and their entries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.sales.price_books.tables import PriceBook, PriceBookEntry
from shared.db import hold_lock, in_chunks
from shared.http import PageRequest

ACTIVE = "active"


def get_book(session: Session, tenant: str, book_id: uuid.UUID) -> PriceBook | None:
    return session.scalar(select(PriceBook).where(PriceBook.tenant_id == tenant, PriceBook.id == book_id))


def list_books(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[PriceBook]:
    """One page in id order, plus one row more if there is a next page; ``valid_on`` keeps the books valid that day."""
    query = select(PriceBook).where(PriceBook.tenant_id == tenant)
    for name in ("currency", "customer_group", "value_tier", "status"):
        if filters.get(name) is not None:
            query = query.where(getattr(PriceBook, name) == filters[name])
    on = filters.get("valid_on")
    if on is not None:
        query = query.where(PriceBook.valid_from <= on, or_(PriceBook.valid_to.is_(None), PriceBook.valid_to > on))
    if page.after is not None:
        query = query.where(PriceBook.id > page.after)
    return list(session.scalars(query.order_by(PriceBook.id).limit(page.limit + 1)))


def entries_of(session: Session, book_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[PriceBookEntry]]:
    """Each book's entries in the order they were given."""
    found: dict[uuid.UUID, list[PriceBookEntry]] = {}
    for chunk in in_chunks(set(book_ids)):
        query = select(PriceBookEntry).where(PriceBookEntry.price_book_id.in_(chunk)).order_by(
            PriceBookEntry.price_book_id, PriceBookEntry.position)
        for entry in session.scalars(query):
            found.setdefault(entry.price_book_id, []).append(entry)
    return found


def replace_entries(session: Session, old: list[PriceBookEntry], new: list[PriceBookEntry]) -> None:
    """A book's entries replaced: the old rows go first, since the new ones take their keys."""
    for entry in old:
        session.delete(entry)
    session.flush()
    session.add_all(new)


def lock_segment(session: Session, tenant: str, *, currency: str, customer_group: str | None,
                 value_tier: str | None) -> None:
    """Until the transaction ends, no other write checks a book of this segment: two books created at
    once for one segment cannot both find no overlap."""
    hold_lock(session, f"price_book:{tenant}:{currency}:{customer_group or ''}:{value_tier or ''}")


def same_segment_books(session: Session, tenant: str, *, currency: str, customer_group: str | None,
                       value_tier: str | None, excluding: uuid.UUID | None) -> list[PriceBook]:
    """The active books of one currency and segment (the overlap check compares their dates)."""
    query = select(PriceBook).where(
        PriceBook.tenant_id == tenant, PriceBook.currency == currency, PriceBook.status == ACTIVE,
        PriceBook.customer_group.is_(None) if customer_group is None else PriceBook.customer_group == customer_group,
        PriceBook.value_tier.is_(None) if value_tier is None else PriceBook.value_tier == value_tier)
    if excluding is not None:
        query = query.where(PriceBook.id != excluding)
    return list(session.scalars(query.order_by(PriceBook.valid_from, PriceBook.id)))


def offers_for(session: Session, tenant: str, *, currency: str, product_ids: Iterable[uuid.UUID],
               on: date) -> list[tuple[PriceBookEntry, PriceBook]]:
    """Every entry for the products in an active book of the currency valid on ``on``, with its book."""
    found: list[tuple[PriceBookEntry, PriceBook]] = []
    for chunk in in_chunks(set(product_ids)):
        query = (select(PriceBookEntry, PriceBook).join(PriceBook, PriceBook.id == PriceBookEntry.price_book_id)
                 .where(PriceBookEntry.tenant_id == tenant, PriceBookEntry.product_id.in_(chunk),
                        PriceBook.tenant_id == tenant, PriceBook.currency == currency, PriceBook.status == ACTIVE,
                        PriceBook.valid_from <= on, or_(PriceBook.valid_to.is_(None), PriceBook.valid_to > on)))
        found += [(entry, book) for entry, book in session.execute(query)]
    return found
