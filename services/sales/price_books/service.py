"""Price book use cases: create, list, read, change and retire books.

A retired book stays readable (deals and orders priced from it name it) but never
prices a line again, and no longer blocks a new book for its segment and dates.
Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.price_books import repository, rules
from services.sales.price_books.schemas import PriceBookCreate
from services.sales.price_books.tables import PriceBook, PriceBookEntry
from services.sales.products import repository as products
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish

# The fields of a book itself (its entries aside).
BOOK_FIELDS = ("name", "currency", "customer_group", "value_tier", "valid_from", "valid_to")


@dataclass(frozen=True)
class Shown:
    """A book with its entries in the order they were given."""

    book: PriceBook
    entries: list[PriceBookEntry]


def create_book(session: Session, tenant: str, body: PriceBookCreate) -> Shown:
    fields = body.model_dump(include=set(BOOK_FIELDS))
    book_id = new_id()
    entries = _checked(session, tenant, book_id, fields, [e.model_dump() for e in body.entries])
    now = utcnow()
    book = PriceBook(id=book_id, tenant_id=tenant, **fields, status=rules.ACTIVE, version=1, created_at=now,
                     updated_at=now, retired_at=None)
    session.add(book)
    session.flush()  # the entries refer to it
    session.add_all(entries)
    session.flush()
    publish(session, contract.PRICE_BOOK_CREATED, contract.PriceBookReported(**_facts(book, len(entries))),
            subject=str(book.id), tenant=tenant)
    return Shown(book, entries)


def list_books(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[PriceBook]:
    """The page's books, plus one more if there is a next page."""
    return repository.list_books(session, tenant, page, filters)


def get_book(session: Session, tenant: str, book_id: uuid.UUID) -> Shown:
    book = _found(session, tenant, book_id)
    return Shown(book, repository.entries_of(session, [book.id]).get(book.id, []))


def update_book(session: Session, tenant: str, book_id: uuid.UUID, patch: dict[str, Any], *,
                check_version: Callable[[int], None]) -> Shown:
    """Apply a partial update (``entries`` replaces them all), checked whole: the result must be a valid book."""
    book = _found(session, tenant, book_id)
    check_version(book.version)
    rules.check_changeable(book.status)
    for name in ("name", "currency", "valid_from", "entries"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    current = {name: getattr(book, name) for name in BOOK_FIELDS}
    fields = current | {name: patch[name] for name in BOOK_FIELDS if name in patch}
    stored = repository.entries_of(session, [book.id]).get(book.id, [])
    raw = patch["entries"] if "entries" in patch else [_raw(e, book.currency) for e in stored]
    if "entries" not in patch and fields["currency"] != book.currency:
        # The stored prices are in the old currency: a new currency needs its own prices.
        raise InvalidInput.on("currency", "a new currency needs new entries (send entries with prices in it)")
    entries = _checked(session, tenant, book.id, fields, raw)
    diff = rules.changes(current, fields)
    if "entries" in patch and _priced(entries) != _priced(stored):
        diff["entries"] = {"changed": True}
    if not diff:
        return Shown(book, stored)
    for name in BOOK_FIELDS:
        setattr(book, name, fields[name])
    if "entries" in diff:
        repository.replace_entries(session, stored, entries)
    else:
        entries = stored
    _changed(session, tenant, book, len(entries), diff)
    return Shown(book, entries)


def retire_book(session: Session, tenant: str, book_id: uuid.UUID, *, check_version: Callable[[int], None]) -> Shown:
    book = _found(session, tenant, book_id)
    check_version(book.version)
    rules.check_changeable(book.status)
    book.status, book.retired_at = rules.RETIRED, utcnow()
    entries = repository.entries_of(session, [book.id]).get(book.id, [])
    _changed(session, tenant, book, len(entries), {"status": {"old": rules.ACTIVE, "new": rules.RETIRED}})
    return Shown(book, entries)


def _checked(session: Session, tenant: str, book_id: uuid.UUID, fields: dict[str, Any],
             raw_entries: list[dict[str, Any]]) -> list[PriceBookEntry]:
    """Every rule of a book about to hold ``fields`` and these entries; the entries as rows."""
    rules.check_dates(fields["valid_from"], fields["valid_to"])
    entries = rules.check_entries(raw_entries, fields["currency"])
    rules.check_products_known(entries, products.find_products(session, tenant, (e.product_id for e in entries)))
    repository.lock_segment(session, tenant, currency=fields["currency"], customer_group=fields["customer_group"],
                            value_tier=fields["value_tier"])
    others = repository.same_segment_books(session, tenant, currency=fields["currency"],
                                           customer_group=fields["customer_group"], value_tier=fields["value_tier"],
                                           excluding=book_id)
    rules.check_no_overlap(fields["valid_from"], fields["valid_to"],
                           [rules.Period(b.id, b.valid_from, b.valid_to) for b in others])
    return [PriceBookEntry(price_book_id=book_id, position=i, tenant_id=tenant, product_id=e.product_id,
                           unit_price=e.unit_price, min_quantity=e.min_quantity) for i, e in enumerate(entries)]


def _raw(entry: PriceBookEntry, currency: str) -> dict[str, Any]:
    return {"product_id": entry.product_id, "unit_price": {"amount": entry.unit_price, "currency": currency},
            "min_quantity": entry.min_quantity}


def _priced(entries: list[PriceBookEntry]) -> list[tuple[uuid.UUID, Any, Any]]:
    return [(e.product_id, e.unit_price, e.min_quantity) for e in entries]


def _found(session: Session, tenant: str, book_id: uuid.UUID) -> PriceBook:
    book = repository.get_book(session, tenant, book_id)
    if book is None:
        raise NotFound(f"No price book {book_id}.")
    return book


def _facts(book: PriceBook, entry_count: int) -> dict[str, Any]:
    return {"price_book_id": book.id, "name": book.name, "currency": book.currency,
            "customer_group": book.customer_group, "value_tier": book.value_tier, "valid_from": book.valid_from,
            "valid_to": book.valid_to, "status": book.status, "entry_count": entry_count, "version": book.version}


def _changed(session: Session, tenant: str, book: PriceBook, entry_count: int, diff: dict[str, Any]) -> None:
    book.version += 1
    book.updated_at = utcnow()
    publish(session, contract.PRICE_BOOK_UPDATED, contract.PriceBookChanged(**_facts(book, entry_count), changes=diff),
            subject=str(book.id), tenant=tenant)
