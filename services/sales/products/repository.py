"""Every query of the products table."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.sales.products.tables import Product
from shared.db import in_chunks
from shared.http import PageRequest


def get_product(session: Session, tenant: str, product_id: uuid.UUID) -> Product | None:
    return session.scalar(select(Product).where(Product.tenant_id == tenant, Product.id == product_id))


def find_products(session: Session, tenant: str, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Product]:
    found: dict[uuid.UUID, Product] = {}
    for chunk in in_chunks(set(ids)):
        found |= {p.id: p for p in session.scalars(select(Product).where(Product.tenant_id == tenant,
                                                                          Product.id.in_(chunk)))}
    return found


def product_with_sku(session: Session, tenant: str, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.tenant_id == tenant, Product.sku == sku))


def list_products(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Product]:
    """One page in id order, plus one row more if there is a next page.

    ``category`` matches the category and every category below it (``Hardware`` finds
    ``Hardware/Laptops``), never a sibling that merely starts with the same letters.
    """
    query = select(Product).where(Product.tenant_id == tenant)
    for name in ("kind", "active", "sku"):
        if filters.get(name) is not None:
            query = query.where(getattr(Product, name) == filters[name])
    category = filters.get("category")
    if category is not None:
        query = query.where(or_(Product.category == category,
                                Product.category.startswith(category + "/", autoescape=True)))
    if page.after is not None:
        query = query.where(Product.id > page.after)
    return list(session.scalars(query.order_by(Product.id).limit(page.limit + 1)))
