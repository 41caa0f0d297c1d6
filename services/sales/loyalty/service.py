"""Loyalty use cases: the tenant's policy, earning on a paid invoice, taking points back when goods come back or
the invoice is corrected, redeeming as an order discount and giving it back when the order is cancelled,
expiring lots past their day, and reading an account.

Whatever moves a customer's points first locks the customer's account row
(``repository.lock_account``), and always as the last lock it takes (after the order's row,
the credit lock and the invoices' rows its caller holds), so two redemptions at once run one
after the other and never spend the same points. Every movement publishes its
``crm.sales.loyalty.*`` event in the same transaction, keyed by the customer id. A movement's
``source`` is unique per tenant: an invoice earns once, an order is discounted once, a lot
expires once. Nothing commits here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.exchange_rates.service import rate_on
from services.sales.invoices import repository as invoices
from services.sales.invoices.tables import Invoice
from services.sales.loyalty import repository, rules
from services.sales.loyalty.schemas import LoyaltyPolicyIn, RedemptionIn
from services.sales.loyalty.tables import LoyaltyMovement, LoyaltyPolicy
from services.sales.orders import repository as orders
from services.sales.orders.tables import Order, OrderChange
from services.sales.price_quotes.rules import segment_of
from services.sales.sales_policy import service as sales_policy
from shared.db import unit_of_work, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.settings import Settings
from shared.types import Money

# Orders a redemption may discount: before invoicing, while the goods have not left.
REDEEMABLE = ("placed", "confirmed")
# Accounts whose lots past their day one transaction of the expiry job handles.
EXPIRY_BATCH = 200


# --- policy ----------------------------------------------------------------------------------------------------


def policy(session: Session, tenant: str) -> rules.Policy | None:
    found = repository.get_policy(session, tenant)
    return _plain(found) if found is not None else None


def change_policy(session: Session, tenant: str, body: LoyaltyPolicyIn, *,
                  check_version: Callable[[int], None]) -> rules.Policy:
    """Set the policy as a whole, in the tenant's currency of now; ``check_version``: If-Match (0: never set)."""
    wanted = [rules.EarningRule(r.category, r.value_tier, r.points_per_unit) for r in body.earning_rules]
    value = body.point_value  # positive, below 10^15, at most 4 decimals: the schema's pattern says so
    found = repository.get_policy(session, tenant, lock=True)
    check_version(found.version if found is not None else 0)
    stored = [{"category": r.category, "value_tier": r.value_tier,
               "points_per_unit": format(r.points_per_unit.normalize(), "f")} for r in wanted]
    currency, now = sales_policy.policy(session, tenant).currency, utcnow()
    if found is None:
        found = LoyaltyPolicy(tenant_id=tenant, earning_rules=stored, point_value=value, currency=currency,
                              expiry_months=body.expiry_months, version=1, updated_at=now)
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError as exc:
            raise Conflict("The loyalty policy was just set by another request; re-read it and retry.") from exc
    else:
        found.earning_rules, found.point_value, found.currency = stored, value, currency
        found.expiry_months, found.version, found.updated_at = body.expiry_months, found.version + 1, now
    session.flush()
    return _plain(found)


def _plain(row: LoyaltyPolicy) -> rules.Policy:
    return rules.Policy(
        earning_rules=tuple(rules.EarningRule(r.get("category"), r.get("value_tier"), Decimal(r["points_per_unit"]))
                            for r in row.earning_rules),
        point_value=Decimal(row.point_value), currency=row.currency, expiry_months=row.expiry_months,
        version=row.version, updated_at=row.updated_at)


# --- earning ---------------------------------------------------------------------------------------------------


def earn_for_invoice(session: Session, invoice: Invoice) -> LoyaltyMovement | None:
    """An invoice just became paid: its lines earn by the tenant's rules (once per invoice). None: no policy,
    earned already, or nothing to earn (then nothing is written)."""
    tenant = invoice.tenant_id
    found = policy(session, tenant)
    source = f"invoice:{invoice.id}"
    if found is None or repository.movement_of_source(session, tenant, source) is not None:
        return None
    order = orders.get_order(session, tenant, invoice.order_id)
    assert order is not None
    customer = customers.find_customer(session, tenant, invoice.customer_id)
    tier = segment_of(customer.view if customer is not None else None).value_tier
    earned = rules.earn_lines(
        _bases(session, invoice, order.lines), found.earning_rules, tier,
        rate=rate_on(session, tenant, invoice.currency, found.currency, invoice.issued_on),
        currency=invoice.currency, policy_currency=found.currency, rate_day=invoice.issued_on)
    points = sum(line.points for line in earned)
    if points == 0:
        return None
    repository.lock_account(session, tenant, invoice.customer_id)
    today = utcnow().date()
    balance = rules.balance_of(_lots(session, tenant, invoice.customer_id), today) + points
    expires_on = rules.expiry_day(today, found.expiry_months)
    movement = _movement(tenant, invoice.customer_id, "earned", points, balance, source, today, invoice_id=invoice.id,
                         order_id=order.id, remaining=points, expires_on=expires_on,
                         details={"value_tier": tier, "lines": [line.as_detail() for line in earned]})
    session.add(movement)
    session.flush()
    publish(session, contract.LOYALTY_EARNED, contract.LoyaltyEarned(
        movement_id=movement.id, customer_id=movement.customer_id, points=points, balance=balance,
        invoice_id=invoice.id, order_id=order.id, expires_on=expires_on,
        lines=[contract.LoyaltyLineReason(line=line.line, product_id=uuid.UUID(line.product_id), points=line.points,
                                          reason=line.reason) for line in earned]),
        subject=str(movement.customer_id), tenant=tenant)
    return movement


def _bases(session: Session, invoice: Invoice, lines: list[dict[str, Any]]) -> list[rules.LineBase]:
    """What each line was invoiced for: less returns the invoice left out and returns credited since."""
    tenant = invoice.tenant_id
    before, credited = [Decimal(0)] * len(lines), [Decimal(0)] * len(lines)
    credited_ids = repository.credited_return_ids(session, tenant, invoice.id)
    for record in repository.returns_of_order(session, tenant, invoice.order_id):
        if record.created_at <= invoice.created_at:
            into = before
        elif record.id in credited_ids:
            into = credited
        else:
            continue  # not credited (yet): the customer paid for it
        for line in record.lines:
            into[int(line["line"])] += Decimal(line["amount"])
    categories = repository.categories_of(session, tenant, {uuid.UUID(str(line["product_id"])) for line in lines})
    return rules.line_bases(lines, categories, before_invoice=before, credited=credited,
                            invoice_total=Decimal(invoice.total))


def reverse_for_credit_note(session: Session, note: Any) -> LoyaltyMovement | None:
    """A credit note after the invoice earned points: the points the invoice no longer earns (its lines on what
    is left of them, at the earning's rate and rules) come back out of the account, its own lot first. Points
    already spent are not taken twice: the movement records the shortfall. None: nothing earned, nothing due."""
    tenant = note.tenant_id
    earned = repository.movement_of_source(session, tenant, f"invoice:{note.invoice_id}")
    found = policy(session, tenant)
    source = f"credit_note:{note.id}"
    if earned is None or found is None or repository.movement_of_source(session, tenant, source) is not None:
        return None
    invoice = invoices.get_invoice(session, tenant, note.invoice_id)
    order = orders.get_order(session, tenant, invoice.order_id) if invoice is not None else None
    assert invoice is not None and order is not None
    kept_share = max(invoice.total - repository.corrected(session, tenant, invoice.id), Decimal(0)) / invoice.total \
        if invoice.total > 0 else Decimal(0)
    per_unit = {int(line["line"]): Decimal(line["points_per_unit"]) if line.get("points_per_unit") else None
                for line in (earned.details or {}).get("lines", [])}
    kept = rules.still_earned(_bases(session, invoice, order.lines), per_unit,
                              rate_on(session, tenant, invoice.currency, found.currency, invoice.issued_on), kept_share)
    due_before = sum(int((r.details or {}).get("points_due", 0)) for r in repository.reversals_of_invoice(
        session, tenant, invoice.id))
    due = max(earned.points - kept - due_before, 0)
    if due == 0:
        return None
    repository.lock_account(session, earned.tenant_id, earned.customer_id)
    today = utcnow().date()
    rows = {row.id: row for row in repository.lots(session, tenant, earned.customer_id, fresh=True)}
    own = rows.pop(earned.id, None)
    taken, shortfall = rules.take_back(
        rules.Lot(own.id, own.remaining or 0, own.expires_on) if own is not None and own.expires_on else None,
        [rules.Lot(r.id, r.remaining or 0, r.expires_on) for r in rows.values() if r.expires_on is not None], due, today)
    everyone = {**rows, **({own.id: own} if own is not None else {})}
    for lot_id, part in taken:
        everyone[lot_id].remaining = (everyone[lot_id].remaining or 0) - part
    points = due - shortfall
    balance = rules.balance_of(_lots(session, tenant, earned.customer_id), today)
    movement = _movement(tenant, earned.customer_id, "reversed", -points, balance, source, today,
                         invoice_id=invoice.id, order_id=order.id, details={
                             "credit_note_id": str(note.id), "points_due": due, "shortfall": shortfall,
                             "lots": [{"lot_id": str(lot_id), "points": part} for lot_id, part in taken]})
    session.add(movement)
    session.flush()
    publish(session, contract.LOYALTY_REVERSED, contract.LoyaltyReversed(
        movement_id=movement.id, customer_id=earned.customer_id, points=points, balance=balance,
        invoice_id=invoice.id, credit_note_id=note.id, points_due=due, shortfall=shortfall),
        subject=str(earned.customer_id), tenant=tenant)
    return movement


# --- redemption ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redemption:
    movement: LoyaltyMovement
    discount: Money
    order_total: Money


def redeem(session: Session, tenant: str, customer_id: uuid.UUID, body: RedemptionIn, *,
           by: str | None) -> Redemption:
    """Points off a placed or confirmed, uninvoiced order of the customer; nothing is written when refused."""
    if customers.find_customer(session, tenant, customer_id) is None:
        raise NotFound(f"No customer {customer_id}.")
    found = policy(session, tenant)
    if found is None:
        raise Conflict("The tenant has no loyalty policy: there are no points to redeem.")
    order = orders.get_order(session, tenant, body.order_id, lock=True)
    if order is None or order.customer_id != customer_id:
        raise InvalidInput.on("order_id", f"no order {body.order_id} of this customer")
    if order.status not in REDEEMABLE:
        raise Conflict(f"The order is {order.status}; points are redeemed on a placed or confirmed order only.",
                       errors=[{"field": "order_id", "message": f"the order is {order.status}"}])
    if invoices.invoice_of_order(session, tenant, order.id) is not None:
        raise Conflict("The order is invoiced; points are redeemed before invoicing.",
                       errors=[{"field": "order_id", "message": "invoiced"}])
    if order.loyalty_discount is not None:
        raise Conflict("The order has a loyalty discount already; one redemption per order.",
                       errors=[{"field": "order_id", "message": "discounted already"}])
    if order.total <= 0:
        raise Conflict("The order's total is 0: nothing is left to discount.",
                       errors=[{"field": "order_id", "message": "total is 0"}])
    today = utcnow().date()
    rate = rate_on(session, tenant, found.currency, order.currency, today)
    if rate is None:
        raise InvalidInput.on("order_id", f"no exchange rate {found.currency}->{order.currency} today")
    repository.lock_account(session, tenant, customer_id)
    lots = _lots(session, tenant, customer_id)
    rules.consume_oldest_first(lots, body.points, today)  # the points asked must be there, used or not
    used, discount = rules.redemption(body.points, found.point_value, rate, order.currency, Decimal(order.total))
    taken = rules.consume_oldest_first(lots, used, today)
    rows = {row.id: row for row in repository.lots(session, tenant, customer_id)}
    for lot_id, part in taken:
        rows[lot_id].remaining = (rows[lot_id].remaining or 0) - part
    balance = rules.balance_of(lots, today) - used
    _discount_order(session, order, discount, by, used)
    movement = _movement(tenant, customer_id, "redeemed", -used, balance, f"order:{order.id}", today, order_id=order.id,
                         created_by=by, details={
                             "lots": [{"lot_id": str(lot_id), "points": part} for lot_id, part in taken],
                             "asked": body.points, "point_value": format(found.point_value.normalize(), "f"),
                             "point_currency": found.currency, "rate": format(rate.normalize(), "f"),
                             "discount": format(discount, "f"), "currency": order.currency})
    session.add(movement)
    session.flush()
    shown = Redemption(movement, Money.of(discount, order.currency), Money.of(order.total, order.currency))
    publish(session, contract.LOYALTY_REDEEMED, contract.LoyaltyRedeemed(
        movement_id=movement.id, customer_id=customer_id, points=used, balance=balance, order_id=order.id,
        discount=shown.discount, order_total=shown.order_total), subject=str(customer_id), tenant=tenant)
    return shown


def restore_redemption(session: Session, order: Order) -> LoyaltyMovement | None:
    """The order is cancelled: the points its discount used go back to the lots they came from (a lot past its
    day meanwhile gets them back to expire as it would have). None: the order had no redemption."""
    tenant = order.tenant_id
    redeemed = repository.movement_of_source(session, tenant, f"order:{order.id}")
    source = f"order_cancelled:{order.id}"
    if redeemed is None or repository.movement_of_source(session, tenant, source) is not None:
        return None
    repository.lock_account(session, tenant, redeemed.customer_id)
    given = [(uuid.UUID(part["lot_id"]), int(part["points"])) for part in (redeemed.details or {}).get("lots", [])]
    for lot_id, part in given:
        lot = session.get(LoyaltyMovement, lot_id, populate_existing=True)
        if lot is not None and lot.customer_id == redeemed.customer_id:
            lot.remaining = (lot.remaining or 0) + part
    session.flush()
    today = utcnow().date()
    points = -redeemed.points
    balance = rules.balance_of(_lots(session, tenant, redeemed.customer_id), today)
    movement = _movement(tenant, redeemed.customer_id, "restored", points, balance, source, today, order_id=order.id,
                         details={"lots": [{"lot_id": str(lot_id), "points": part} for lot_id, part in given]})
    session.add(movement)
    session.flush()
    publish(session, contract.LOYALTY_RESTORED, contract.LoyaltyRestored(
        movement_id=movement.id, customer_id=redeemed.customer_id, points=points, balance=balance,
        order_id=order.id), subject=str(redeemed.customer_id), tenant=tenant)
    return movement


def _discount_order(session: Session, order: Order, discount: Decimal, by: str | None, points: int) -> None:
    """The order's total less the discount (what invoicing and credit checks take), in its history."""
    order.total -= discount
    order.loyalty_discount = discount
    order.version += 1
    order.updated_at = utcnow()
    session.add(OrderChange(id=new_id(), tenant_id=order.tenant_id, order_id=order.id, from_status=order.status,
                            to_status=order.status, action="loyalty_discount", changed_by=by,
                            changed_at=order.updated_at,
                            details={"discount": format(discount, "f"), "points": points}))


# --- expiry ----------------------------------------------------------------------------------------------------


def expire_due(session: Session, today: date, *, limit: int = EXPIRY_BATCH) -> int:
    """What lots past their day still hold expires, for at most ``limit`` accounts; the lots expired."""
    expired = 0
    for tenant, customer_id in repository.lots_past_expiry(session, today, limit):
        repository.lock_account(session, tenant, customer_id)
        rows = repository.lots(session, tenant, customer_id, fresh=True)
        lots = [rules.Lot(row.id, row.remaining or 0, row.expires_on) for row in rows if row.expires_on is not None]
        by_id = {row.id: row for row in rows}
        balance = rules.balance_of(lots, today)  # lots past their day are not usable: the balance stays
        for lot_id, points in rules.expiring(lots, today):
            lot = by_id[lot_id]
            lot.remaining = 0
            movement = _movement(tenant, customer_id, "expired", -points, balance, f"expiry:{lot_id}", today,
                                 invoice_id=lot.invoice_id, details={"lot_id": str(lot_id),
                                                                     "expires_on": lot.expires_on.isoformat()})
            session.add(movement)
            session.flush()
            publish(session, contract.LOYALTY_EXPIRED, contract.LoyaltyExpired(
                movement_id=movement.id, customer_id=customer_id, points=points, balance=balance, lot_id=lot_id,
                expires_on=lot.expires_on), subject=str(customer_id), tenant=tenant)
            expired += 1
    return expired


def run_expiry(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The periodic job: today's expiries, one bounded batch per transaction, until none is left."""
    today, total = utcnow().date(), 0
    while True:
        with unit_of_work(sessions) as session:
            expired = expire_due(session, today)
        if expired == 0:
            return total
        total += expired


# --- merges ----------------------------------------------------------------------------------------------------


def movable_lots(session: Session, records: list[LoyaltyMovement], survivor: uuid.UUID) -> list[LoyaltyMovement]:
    """What a merge moves of an account: its lots still holding points, with their days. Its history stays
    with it; the survivor's balance counts the lots from then on, and an unmerge takes back what is left."""
    return [row for row in records if row.kind == "earned" and (row.remaining or 0) > 0]


def follow_customer(session: Session, tenant: str, lot: LoyaltyMovement, previous: uuid.UUID) -> None:
    """A lot moved from ``previous``'s account to its customer's: both accounts tell their balance now."""
    today = utcnow().date()
    for customer_id in sorted({lot.customer_id, previous}):  # one lock order everywhere
        repository.lock_account(session, tenant, customer_id)
    for customer_id in (previous, lot.customer_id):
        publish(session, contract.LOYALTY_MOVED, contract.LoyaltyMoved(
            movement_id=lot.id, customer_id=customer_id, points=lot.remaining or 0,
            balance=rules.balance_of(_lots(session, tenant, customer_id), today), lot_id=lot.id,
            from_customer_id=previous, to_customer_id=lot.customer_id), subject=str(customer_id), tenant=tenant)


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    customer_id: uuid.UUID
    balance: int
    expiring_next: tuple[int, date] | None
    history: list[LoyaltyMovement]


def account(session: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest, *, today: date) -> Account:
    """404 for a customer the replica does not know; a known customer without movements has 0 points."""
    if customers.find_customer(session, tenant, customer_id) is None:
        raise NotFound(f"No customer {customer_id}.")
    lots = _lots(session, tenant, customer_id)
    return Account(customer_id, rules.balance_of(lots, today), rules.next_expiry(lots, today),
                   repository.history(session, tenant, customer_id, page))


def _lots(session: Session, tenant: str, customer_id: uuid.UUID) -> list[rules.Lot]:
    return [rules.Lot(row.id, row.remaining or 0, row.expires_on)
            for row in repository.lots(session, tenant, customer_id, fresh=True) if row.expires_on is not None]


def _movement(tenant: str, customer_id: uuid.UUID, kind: str, points: int, balance: int, source: str, on: date, *,
              invoice_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None, remaining: int | None = None,
              expires_on: date | None = None, details: dict[str, Any] | None = None,
              created_by: str | None = None) -> LoyaltyMovement:
    return LoyaltyMovement(id=new_id(), tenant_id=tenant, customer_id=customer_id, kind=kind, points=points,
                           balance_after=balance, source=source, invoice_id=invoice_id, order_id=order_id,
                           remaining=remaining, expires_on=expires_on, details=details, occurred_on=on,
                           created_by=created_by, created_at=utcnow())
