"""HTTP edges of price books: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from services.sales import contract
from services.sales.price_books import service
from services.sales.price_books.schemas import (
    EntryOut,
    PriceBookCreate,
    PriceBookOut,
    PriceBookPatch,
    PriceBookSummary,
    Status,
)
from services.sales.price_books.tables import PriceBook
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written
from shared.openapi import REASONS
from shared.types import CurrencyCode, IsoDate, Money

router = feature_router(tags=["price books"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def _summary(book: PriceBook) -> dict[str, Any]:
    return {"id": book.id, "name": book.name, "currency": book.currency, "customer_group": book.customer_group,
            "value_tier": book.value_tier, "valid_from": book.valid_from, "valid_to": book.valid_to,
            "status": book.status, "version": book.version, "created_at": book.created_at,
            "updated_at": book.updated_at, "retired_at": book.retired_at}


def book_out(shown: service.Shown) -> PriceBookOut:
    currency = shown.book.currency
    return PriceBookOut(**_summary(shown.book), entries=[
        EntryOut(product_id=e.product_id, unit_price=Money.of(e.unit_price, currency), min_quantity=e.min_quantity)
        for e in shown.entries])


@router.post("/price-books", status_code=201, response_model=PriceBookOut,
             summary="Create a price book (one overlapping another of its currency and segment is a 409)")
def create_book(body: PriceBookCreate, response: Response, db: DbSession, who: Writer) -> PriceBookOut:
    created = service.create_book(db, who.tenant, body)
    written(response, version=created.book.version, location=f"/v1/price-books/{created.book.id}")
    return book_out(created)


@router.get("/price-books", response_model=Page[PriceBookSummary], summary="List price books (without their entries)")
def list_books(
    db: DbSession,
    who: Reader,
    paging: Paging,
    currency: CurrencyCode | None = None,
    customer_group: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    value_tier: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    status: Status | None = None,
    valid_on: Annotated[IsoDate | None, Query(description="Only books valid on this day.")] = None,
) -> Page[PriceBookSummary]:
    filters = {"currency": currency, "customer_group": customer_group, "value_tier": value_tier, "status": status,
               "valid_on": valid_on}
    found = service.list_books(db, who.tenant, paging, filters)
    return Page(items=[PriceBookSummary(**_summary(b)) for b in found[: paging.limit]],
                next_cursor=next_cursor([b.id for b in found], paging.limit))


@router.get("/price-books/{price_book_id:uuid}", response_model=PriceBookOut, summary="Read a price book")
def get_book(price_book_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> PriceBookOut:
    shown = service.get_book(db, who.tenant, price_book_id)
    response.headers["ETag"] = etag(shown.book.version)
    return book_out(shown)


@router.patch("/price-books/{price_book_id:uuid}", response_model=PriceBookOut,
              summary="Change a price book; entries, when sent, replace them all (honours If-Match)")
def patch_book(price_book_id: uuid.UUID, body: PriceBookPatch, request: Request, response: Response, db: DbSession,
               who: Writer) -> PriceBookOut:
    changed = service.update_book(db, who.tenant, price_book_id, body.model_dump(exclude_unset=True),
                                  check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.book.version)
    return book_out(changed)


@router.post("/price-books/{price_book_id:uuid}/retire", response_model=PriceBookOut,
             responses={412: {"description": REASONS[412]}},
             summary="Retire a price book: it prices nothing from now on (honours If-Match)")
def retire_book(price_book_id: uuid.UUID, request: Request, response: Response, db: DbSession,
                who: Writer) -> PriceBookOut:
    retired = service.retire_book(db, who.tenant, price_book_id,
                                  check_version=lambda version: check_if_match(request, version))
    written(response, version=retired.book.version)
    return book_out(retired)
