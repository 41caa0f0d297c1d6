"""Pricing use cases: price lines for a customer (for quotes, opportunities and orders alike), answer a
quote, and read or change the tenant's discount threshold.

A quote is an answer, not a record: nothing is stored, no event is published. What a
price was when a deal or an order took it is kept by that deal or order (its lines).
A change of the threshold is published (``crm.sales.pricing_policy.changed.v1``).
Every function works inside the caller's unit of work and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.price_books import repository as books
from services.sales.price_quotes import repository, rules
from services.sales.price_quotes.rules import LineRequest, PricedLine
from services.sales.price_quotes.tables import PricingPolicy
from services.sales.products import repository as products
from services.sales.products.tables import Product
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput
from shared.outbox import publish
from shared.types import MONEY_LIMIT

__all__ = ["LineRequest", "PricedLine", "Policy", "Quote", "price_lines", "quote", "policy", "change_policy",
           "discount_threshold"]


@dataclass(frozen=True)
class Quote:
    """A quote's answer: the customer as the replica knows it, the priced lines with their products, the total."""

    customer: CustomerReplica
    currency: str
    on: date
    lines: list[PricedLine]
    products: dict[uuid.UUID, Product]
    total: Decimal


@dataclass(frozen=True)
class Policy:
    discount_threshold: Decimal
    version: int
    updated_at: datetime | None


def price_lines(session: Session, tenant: str, *, customer: CustomerReplica | None, currency: str,
                lines: Sequence[LineRequest], on: date, may_approve: bool) -> list[PricedLine]:
    """Price each line for ``customer`` (None: only books naming no segment apply) in ``currency`` on ``on``.

    Refuses (422) an unknown or inactive product naming ``lines[i].product_id``, a line no
    book prices naming ``lines[i]``, and (403) a discount above the tenant's threshold
    unless ``may_approve`` (the caller holds ``contract.APPROVE_SCOPE``).
    """
    priced, _ = _priced(session, tenant, customer=customer, currency=currency, lines=lines, on=on,
                        may_approve=may_approve)
    return priced


def quote(session: Session, tenant: str, *, customer_id: uuid.UUID, currency: str, lines: Sequence[LineRequest],
          on: date | None, may_approve: bool, wait_seconds: float) -> Quote:
    """``POST /v1/price-quotes``: the customer must be known to the replica (422 otherwise)."""
    customer = customers.require_customer(session, tenant, customer_id, wait_seconds=wait_seconds)
    day = on or utcnow().date()
    priced, found = _priced(session, tenant, customer=customer, currency=currency, lines=lines, on=day,
                            may_approve=may_approve)
    total = sum((line.line_total for line in priced), Decimal(0))
    if total >= MONEY_LIMIT:
        raise InvalidInput.on("lines", "the quote's total is too large")
    return Quote(customer=customer, currency=currency, on=day, lines=priced, products=found, total=total)


def discount_threshold(session: Session, tenant: str) -> Decimal:
    found = repository.get_policy(session, tenant)
    return found.discount_threshold if found is not None else rules.DEFAULT_DISCOUNT_THRESHOLD


def policy(session: Session, tenant: str) -> Policy:
    found = repository.get_policy(session, tenant)
    if found is None:
        return Policy(discount_threshold=rules.DEFAULT_DISCOUNT_THRESHOLD, version=0, updated_at=None)
    return Policy(discount_threshold=found.discount_threshold, version=found.version, updated_at=found.updated_at)


def change_policy(session: Session, tenant: str, threshold: Decimal, *,
                  check_version: Callable[[int], None]) -> Policy:
    """Set the tenant's discount threshold; ``check_version`` refuses a stale change (If-Match; 0: the default)."""
    found = repository.get_policy(session, tenant)
    check_version(found.version if found is not None else 0)
    previous = found.discount_threshold if found is not None else rules.DEFAULT_DISCOUNT_THRESHOLD
    if found is None:
        found = PricingPolicy(tenant_id=tenant, discount_threshold=threshold, version=1, updated_at=utcnow())
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError as exc:
            raise Conflict("The pricing policy was just set by another request; re-read it and retry.") from exc
    elif found.discount_threshold != threshold:
        found.discount_threshold, found.version, found.updated_at = threshold, found.version + 1, utcnow()
    else:
        return _shown(found)
    session.flush()
    publish(session, contract.PRICING_POLICY_CHANGED, contract.PricingPolicyChanged(
        discount_threshold=_percent(threshold), previous_threshold=_percent(previous), version=found.version),
        subject=contract.pricing_policy_subject(tenant), tenant=tenant)
    return _shown(found)


def _percent(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _shown(found: PricingPolicy) -> Policy:
    return Policy(discount_threshold=found.discount_threshold, version=found.version, updated_at=found.updated_at)


def _priced(session: Session, tenant: str, *, customer: CustomerReplica | None, currency: str,
            lines: Sequence[LineRequest], on: date, may_approve: bool) -> tuple[list[PricedLine], dict[uuid.UUID, Product]]:
    found = products.find_products(session, tenant, (line.product_id for line in lines))
    for index, line in enumerate(lines):
        _check_line(index, line, found.get(line.product_id))
    threshold = discount_threshold(session, tenant)
    for index, line in enumerate(lines):
        rules.check_discount(index, line.discount_percent, threshold, may_approve=may_approve,
                             approve_scope=contract.APPROVE_SCOPE)
    segment = rules.segment_of(customer.view) if customer is not None else rules.NO_SEGMENT
    offers = _offers(session, tenant, currency, found, on)
    priced: list[PricedLine] = []
    for index, line in enumerate(lines):
        choice = rules.choose(offers.get(line.product_id, ()), segment, line.quantity, on)
        if choice is None:
            raise InvalidInput.on(f"lines[{index}]", _no_price(found[line.product_id], currency, on, segment))
        total = rules.line_total(line.quantity, choice.offer.unit_price, line.discount_percent, currency)
        if total >= MONEY_LIMIT:
            raise InvalidInput.on(f"lines[{index}].quantity", "the line's total is too large")
        priced.append(PricedLine(
            product_id=line.product_id, quantity=line.quantity, unit_price=Decimal(choice.offer.unit_price),
            discount_percent=line.discount_percent, line_total=total, currency=currency,
            price_book_id=choice.offer.price_book_id, reason=choice.reason))
    return priced, found


@dataclass(frozen=True)
class GivenLine:
    """A line whose unit price the caller set, at its place among the deal's lines."""

    index: int
    product_id: uuid.UUID
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal


def check_given_prices(session: Session, tenant: str, *, customer: CustomerReplica | None, currency: str,
                       lines: Sequence[GivenLine], on: date, may_approve: bool) -> None:
    """Hand-set prices held to the tenant's discount threshold (403 naming the line), against the price the
    books would give the customer on ``on`` where one does (``rules.check_given_price``)."""
    if not lines:
        return
    threshold = discount_threshold(session, tenant)
    # The caller found every product already: only their ids are needed here.
    offers = _offers(session, tenant, currency, (line.product_id for line in lines), on) if not may_approve else {}
    segment = rules.segment_of(customer.view) if customer is not None else rules.NO_SEGMENT
    for line in lines:
        choice = rules.choose(offers.get(line.product_id, ()), segment, line.quantity, on)
        rules.check_given_price(line.index, line.unit_price, line.discount_percent,
                                Decimal(choice.offer.unit_price) if choice is not None else None, threshold,
                                may_approve=may_approve, approve_scope=contract.APPROVE_SCOPE)


def _offers(session: Session, tenant: str, currency: str, product_ids: Iterable[uuid.UUID],
            on: date) -> dict[uuid.UUID, list[rules.Offer]]:
    """Every entry of the books of ``currency`` valid on ``on`` for the products, as offers per product."""
    offers: dict[uuid.UUID, list[rules.Offer]] = {}
    for entry, book in books.offers_for(session, tenant, currency=currency, product_ids=product_ids, on=on):
        offers.setdefault(entry.product_id, []).append(rules.Offer(
            price_book_id=book.id, customer_group=book.customer_group, value_tier=book.value_tier,
            valid_from=book.valid_from, valid_to=book.valid_to, min_quantity=entry.min_quantity,
            unit_price=entry.unit_price))
    return offers


def _check_line(index: int, line: LineRequest, product: Product | None) -> None:
    if product is None:
        raise InvalidInput.on(f"lines[{index}].product_id", f"no product {line.product_id}")
    if not product.active:
        raise InvalidInput.on(f"lines[{index}].product_id", f"product {product.sku} is inactive: it is not sold")
    if line.quantity <= 0:
        raise InvalidInput.on(f"lines[{index}].quantity", "must be above 0")
    if not 0 <= line.discount_percent <= rules.HUNDRED:
        raise InvalidInput.on(f"lines[{index}].discount_percent", "must be between 0 and 100")


def _no_price(product: Product, currency: str, on: date, segment: rules.Segment) -> str:
    who = (f"customer group {segment.customer_group or '(none)'}, value tier {segment.value_tier or '(none)'}")
    said = (f"no active {currency} price book valid on {on.isoformat()} prices product {product.sku} at this "
            f"quantity for {who}")
    if product.components:
        said += "; a bundle is priced by an entry of its own, never from its components"
    return said
