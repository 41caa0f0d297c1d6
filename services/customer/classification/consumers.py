"""What classification consumes: the sales service's deals and paid revenue, into each customer's sales figures
and class."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.classification import rules, service
from shared.consumer import ConsumerSpec, Delivery


def apply_to_classification(session: Session, delivery: Delivery) -> None:
    """A deal or a payment (its paid revenue) the sales service reported moves its customer's sales figures,
    value and tier."""
    event = delivery.event
    assert event is not None  # this consumer does not take tombstones
    deal = rules.deal_from_event(event)
    if deal is not None:
        service.take_deal(session, event.tenant, deal)
        return
    paid = rules.paid_revenue_from_event(event)
    if paid is not None:
        service.take_paid_revenue(session, event.tenant, paid)


# Master data, not a projection: `crm replay` rebuilds the view only.
CLASSIFICATION = ConsumerSpec(name="classification", topics=[contract.SALES_TOPIC.name],
                              handle=apply_to_classification, projection=False)
