"""The credit check: a customer's exposure against its limit, in the tenant's currency, at today's rates.

Everything that changes a customer's exposure (confirming or approving an order, issuing
an invoice, a payment, a credit note, a write-off) first takes ``lock_customer``: a named
lock held until the transaction ends (``shared.db.hold_lock``, a PostgreSQL advisory lock).
So two confirmations for one customer run one after the other, and the second sees the
first's order among the confirmed ones: they cannot both slip under the limit.

Dunning holds a confirmation too (``dunning_hold``): while the customer has an open invoice at a
``hold_new_orders`` dunning level, its new orders go on hold within the limit as well.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.collections import service as collections
from services.sales.credit import repository, rules
from services.sales.customers import repository as customers
from services.sales.exchange_rates.service import rate_on
from services.sales.invoices import repository as invoices
from services.sales.sales_policy import service as sales_policy
from shared.db import hold_lock
from shared.types import Money


def lock_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    hold_lock(session, f"credit:{tenant}:{customer_id}")


def check(session: Session, tenant: str, customer_id: uuid.UUID, *, order_id: uuid.UUID | None,
          order_total: Decimal, order_currency: str, on: date) -> rules.Exposure:
    """The exposure with this order (``order_id`` excluded from the confirmed ones already counted).
    The caller holds ``lock_customer``."""
    policy = sales_policy.policy(session, tenant)
    customer = customers.find_customer(session, tenant, customer_id)
    return rules.exposure(
        currency=policy.currency, receivables=invoices.receivables_by_currency(session, tenant, customer_id),
        uninvoiced=repository.uninvoiced_orders(session, tenant, customer_id, excluding=order_id),
        order_total=order_total, order_currency=order_currency,
        limit=rules.limit_of(customer.view if customer is not None else None, policy.default_credit_limit,
                             policy.currency),
        rate_of=lambda code: rate_on(session, tenant, code, policy.currency, on))


def dunning_hold(session: Session, tenant: str, customer_id: uuid.UUID) -> str | None:
    """Why the customer's new orders are held whatever its credit (an open invoice at a dunning level that holds
    orders, ``collections``), or None; released by /approve like a credit hold."""
    return collections.hold_reason(session, tenant, customer_id)


def check_rate(session: Session, tenant: str, currency: str, on: date) -> None:
    """An order's currency must have a rate to the tenant's: refused at placement already (422 naming currency)."""
    policy = sales_policy.policy(session, tenant)
    rules.convert({currency: Decimal(1)}, policy.currency,
                  lambda code: rate_on(session, tenant, code, policy.currency, on), "currency")


def figures(exposure: rules.Exposure) -> contract.CreditFigures:
    c = exposure.currency
    return contract.CreditFigures(
        currency=c, open_receivables=Money.of(exposure.open_receivables, c),
        uninvoiced_orders=Money.of(exposure.uninvoiced_orders, c), this_order=Money.of(exposure.this_order, c),
        exposure=Money.of(exposure.total, c),
        credit_limit=Money.of(exposure.limit, c) if exposure.limit is not None else None,
        headroom=Money.of(exposure.headroom, c) if exposure.headroom is not None else None,
        within_limit=exposure.within_limit)

