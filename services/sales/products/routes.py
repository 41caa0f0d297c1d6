"""HTTP edges of products: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response

from services.sales import contract
from services.sales.products import service
from services.sales.products.schemas import (
    CATEGORY_PATTERN,
    SKU_PATTERN,
    ComponentOut,
    Kind,
    ProductCreate,
    ProductOut,
    ProductPatch,
)
from services.sales.products.tables import Product
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written
from shared.types import Money

router = feature_router(tags=["products"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def product_out(product: Product) -> ProductOut:
    cost = (Money.of(product.cost_amount, product.cost_currency)
            if product.cost_amount is not None and product.cost_currency else None)
    return ProductOut(
        id=product.id, kind=product.kind, sku=product.sku, name=product.name,  # type: ignore[arg-type]
        category=product.category, description=product.description, cost_price=cost, active=product.active,
        bundle=bool(product.components), components=[ComponentOut.model_validate(c) for c in product.components],
        version=product.version, created_at=product.created_at, updated_at=product.updated_at)


@router.post("/products", status_code=201, response_model=ProductOut,
             summary="Add a product, a service or a bundle (a SKU already used is a 409)")
def create_product(body: ProductCreate, response: Response, db: DbSession, who: Writer) -> ProductOut:
    product = service.create_product(db, who.tenant, body)
    written(response, version=product.version, location=f"/v1/products/{product.id}")
    return product_out(product)


@router.get("/products", response_model=Page[ProductOut], summary="List products")
def list_products(
    db: DbSession,
    who: Reader,
    paging: Paging,
    kind: Kind | None = None,
    category: Annotated[str | None, Query(max_length=300, pattern=CATEGORY_PATTERN,
                                          description="This category and every category below it.")] = None,
    active: Annotated[Literal["true", "false"] | None, Query(description="Only active (or inactive) products.")] = None,
    sku: Annotated[str | None, Query(pattern=SKU_PATTERN)] = None,
) -> Page[ProductOut]:
    filters = {"kind": kind, "category": category, "active": None if active is None else active == "true", "sku": sku}
    found = service.list_products(db, who.tenant, paging, filters)
    return Page(items=[product_out(p) for p in found[: paging.limit]],
                next_cursor=next_cursor([p.id for p in found], paging.limit))


@router.get("/products/{product_id:uuid}", response_model=ProductOut, summary="Read a product")
def get_product(product_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> ProductOut:
    product = service.get_product(db, who.tenant, product_id)
    response.headers["ETag"] = etag(product.version)
    return product_out(product)


@router.patch("/products/{product_id:uuid}", response_model=ProductOut,
              summary="Change a product, e.g. deactivate it or change a bundle's components (honours If-Match)")
def patch_product(product_id: uuid.UUID, body: ProductPatch, request: Request, response: Response, db: DbSession,
                  who: Writer) -> ProductOut:
    product = service.update_product(db, who.tenant, product_id, body.model_dump(exclude_unset=True),
                                     check_version=lambda version: check_if_match(request, version))
    written(response, version=product.version)
    return product_out(product)
