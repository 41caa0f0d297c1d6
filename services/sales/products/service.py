"""Product use cases: add, list, read and change products and bundles.

Products are never deleted: price books, deals and orders refer to them; a product no
longer sold is set ``active: false`` (quotes refuse it, lists can leave it out). Every
function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.products import repository, rules
from services.sales.products.schemas import ProductCreate
from services.sales.products.tables import Product, ProductCost
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money

# How deep a bundle may nest bundles: a guard on the walk that loads the components' components.
MAX_BUNDLE_DEPTH = 20


def create_product(session: Session, tenant: str, body: ProductCreate) -> Product:
    cost_amount, cost_currency = rules.check_cost(body.cost_price.model_dump() if body.cost_price else None)
    product_id = new_id()
    components = rules.stored_components([c.model_dump() for c in body.components])
    _check_components(session, tenant, product_id, components)
    _check_sku_free(session, tenant, body.sku, excluding=None)
    now = utcnow()
    product = Product(id=product_id, tenant_id=tenant, kind=body.kind, sku=body.sku, name=body.name,
                      category=body.category, description=body.description, cost_amount=cost_amount,
                      cost_currency=cost_currency, active=body.active, components=components, version=1,
                      created_at=now, updated_at=now)
    session.add(product)
    _flush_sku(session, body.sku)
    if cost_amount is not None:
        _record_cost(session, product)
    publish(session, contract.PRODUCT_CREATED, contract.ProductReported(**_facts(product)),
            subject=str(product.id), tenant=tenant)
    return product


def list_products(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Product]:
    """The page's products, plus one more if there is a next page."""
    return repository.list_products(session, tenant, page, filters)


def get_product(session: Session, tenant: str, product_id: uuid.UUID) -> Product:
    product = repository.get_product(session, tenant, product_id)
    if product is None:
        raise NotFound(f"No product {product_id}.")
    return product


def update_product(session: Session, tenant: str, product_id: uuid.UUID, patch: dict[str, Any], *,
                   check_version: Callable[[int], None]) -> Product:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    product = get_product(session, tenant, product_id)
    check_version(product.version)
    fields = rules.patch_fields(patch)
    diff = rules.changes({name: getattr(product, name) for name in fields}, fields)
    if not diff:
        return product
    if "components" in diff:
        _check_components(session, tenant, product.id, diff["components"]["new"])
    if "sku" in diff:
        _check_sku_free(session, tenant, diff["sku"]["new"], excluding=product.id)
    for name, change in diff.items():
        setattr(product, name, change["new"])
    product.version += 1
    product.updated_at = utcnow()
    _flush_sku(session, product.sku)
    if diff.keys() & {"cost_amount", "cost_currency"}:
        _record_cost(session, product)
    publish(session, contract.PRODUCT_UPDATED, contract.ProductChanged(**_facts(product), changes=diff),
            subject=str(product.id), tenant=tenant)
    return product


def _record_cost(session: Session, product: Product) -> None:
    """The product's cost price from today on, in its history; a second change today replaces today's."""
    today = utcnow().date()
    row = session.get(ProductCost, (product.id, today))
    if row is None:
        row = ProductCost(product_id=product.id, valid_from=today, tenant_id=product.tenant_id)
        session.add(row)
    row.cost_amount, row.cost_currency, row.recorded_at = product.cost_amount, product.cost_currency, utcnow()


def _check_components(session: Session, tenant: str, bundle_id: uuid.UUID, components: list[dict[str, str]]) -> None:
    """Load every product reachable from the components (level by level), then let the rules judge."""
    known: dict[uuid.UUID, list[uuid.UUID]] = {}
    frontier: set[uuid.UUID] = set(rules.component_ids(components))
    for _ in range(MAX_BUNDLE_DEPTH):
        frontier -= known.keys()
        if not frontier:
            break
        found = repository.find_products(session, tenant, frontier)
        for product in found.values():
            # The bundle's own stored components are about to be replaced: walk its new ones instead.
            known[product.id] = rules.component_ids(components if product.id == bundle_id else product.components)
        frontier = set(_children(known, found))
    rules.check_components(bundle_id, rules.component_ids(components), known)


def _children(known: dict[uuid.UUID, list[uuid.UUID]], found: dict[uuid.UUID, Product]) -> Iterable[uuid.UUID]:
    for product_id in found:
        yield from known[product_id]


def _check_sku_free(session: Session, tenant: str, sku: str, *, excluding: uuid.UUID | None) -> None:
    holder = repository.product_with_sku(session, tenant, sku)
    if holder is not None and holder.id != excluding:
        raise Conflict(f"sku: {sku} is already product {holder.id}'s; a SKU is unique in the catalogue.",
                       errors=[{"field": "sku", "message": f"already used by product {holder.id}"}])


def _flush_sku(session: Session, sku: str) -> None:
    """Write now, so that a concurrent request that took the same SKU first is a 409, not a failed commit."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"sku: {sku} was just taken by another product.",
                       errors=[{"field": "sku", "message": "already used by another product"}]) from exc


def _facts(product: Product) -> dict[str, Any]:
    cost = Money.of(product.cost_amount, product.cost_currency) if product.cost_amount is not None and product.cost_currency else None
    return {"product_id": product.id, "kind": product.kind, "sku": product.sku, "name": product.name,
            "category": product.category, "cost_price": cost, "active": product.active,
            "components": list(product.components), "version": product.version}
