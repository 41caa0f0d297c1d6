"""The query of receivables ageing: what each invoice owed on a day, summed per group, currency and bucket.

What an invoice owed on ``as_of`` is its total less what was settled on or before that day,
by the dates each record keeps: a payment's allocation by the payment's ``received_on`` (the
day the money came, which may be before it was keyed in), a credit note by its ``issued_on``,
a write-off by the invoice's ``written_off_on``. An invoice issued after ``as_of`` does not
count, whatever its status now; one paid since still counts as it was. An invoice credited
beyond what it owed (a negative balance, the customer's credit) is left out: ageing shows
what is owed, and credits are not netted against other invoices.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Subquery, and_, case, func, literal, outerjoin, select
from sqlalchemy.orm import Session

from services.sales.credit_notes.tables import CreditNote
from services.sales.customers.tables import CustomerReplica
from services.sales.invoices.tables import Invoice
from services.sales.opportunities.tables import Opportunity
from services.sales.orders.tables import Order
from services.sales.payments.tables import Allocation, Payment
from services.sales.receivables import rules

# Stored amounts carry four decimals; SQLite may hand a sum back as a float, so it is read back at that scale.
_SCALE = Decimal("0.0001")


def _paid_by(tenant: str, as_of: date) -> Subquery:
    """Per invoice, the payments allocated to it that were received on or before ``as_of``.

    Summed once for the tenant and joined (not a subquery per invoice): over a few hundred
    thousand invoices a correlated sum per row is the whole cost of the report.
    """
    return (select(Allocation.invoice_id.label("invoice_id"), func.sum(Allocation.amount).label("amount"))
            .join(Payment, and_(Payment.tenant_id == Allocation.tenant_id, Payment.id == Allocation.payment_id))
            .where(Allocation.tenant_id == tenant, Payment.received_on <= as_of)
            .group_by(Allocation.invoice_id).subquery("paid"))


def _credited_by(tenant: str, as_of: date) -> Subquery:
    return (select(CreditNote.invoice_id.label("invoice_id"), func.sum(CreditNote.amount).label("amount"))
            .where(CreditNote.tenant_id == tenant, CreditNote.issued_on <= as_of)
            .group_by(CreditNote.invoice_id).subquery("credited"))


def _written_off_by(as_of: date) -> ColumnElement[Decimal]:
    return case((and_(Invoice.written_off_on.is_not(None), Invoice.written_off_on <= as_of), Invoice.written_off),
                else_=literal(0))


def _bucket(as_of: date) -> ColumnElement[str]:
    # The first bucket whose earliest due date the invoice's due date reaches (rules.due_since, youngest first).
    return case(*[(Invoice.due_on >= since, literal(name)) for name, since in rules.due_since(as_of)],
                else_=literal("over_90"))


def ageing_rows(session: Session, tenant: str, as_of: date, group_by: rules.GroupBy) -> list[rules.Row]:
    paid, credited = _paid_by(tenant, as_of), _credited_by(tenant, as_of)
    owed = (Invoice.total - func.coalesce(paid.c.amount, 0) - func.coalesce(credited.c.amount, 0)
            - _written_off_by(as_of)).label("owed")
    invoices = outerjoin(Invoice, paid, paid.c.invoice_id == Invoice.id).outerjoin(
        credited, credited.c.invoice_id == Invoice.id)
    query = select(Invoice.currency.label("currency"), _bucket(as_of).label("bucket"), owed)
    if group_by == "customer":
        query = query.add_columns(Invoice.customer_id.label("grp")).select_from(invoices)
    elif group_by == "owner":
        # The owner of the won deal the order came from; an order placed directly has none.
        query = query.add_columns(Opportunity.owner.label("grp")).select_from(invoices.outerjoin(
            Order, and_(Order.tenant_id == Invoice.tenant_id, Order.id == Invoice.order_id)).outerjoin(
            Opportunity, and_(Opportunity.tenant_id == Order.tenant_id, Opportunity.id == Order.opportunity_id)))
    else:
        # The customer's region as the sales replica holds it now (see service.py).
        query = query.add_columns(CustomerReplica.view["profile"]["region"].as_string().label("grp")).select_from(
            invoices.outerjoin(CustomerReplica, and_(CustomerReplica.customer_id == Invoice.customer_id,
                                                     CustomerReplica.tenant_id == Invoice.tenant_id)))
    per_invoice = query.where(Invoice.tenant_id == tenant, Invoice.issued_on <= as_of).subquery()
    summed = (select(per_invoice.c.grp, per_invoice.c.currency, per_invoice.c.bucket,
                     func.sum(per_invoice.c.owed), func.count())
              .where(per_invoice.c.owed > 0)
              .group_by(per_invoice.c.grp, per_invoice.c.currency, per_invoice.c.bucket))
    return [rules.Row(group=str(grp) if grp is not None else None, currency=currency, bucket=bucket,
                      amount=Decimal(str(amount)).quantize(_SCALE), invoices=int(count))
            for grp, currency, bucket, amount, count in session.execute(summed)]
