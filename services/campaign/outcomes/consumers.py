"""The sales events outcomes copy (``crm.sales.v1``): leads, opportunities, exchange rates; and how the copies
follow their customer (``LEAD_FOLLOWER``, ``OPPORTUNITY_FOLLOWER``, handed to ``customers.following``).

Version-guarded, so the consumer keeps no processed-event rows (``dedupe=False``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.outcomes import service
from services.campaign.outcomes.tables import LeadOutcome, OpportunityOutcome
from shared.consumer import ConsumerSpec, Delivery
from shared.lifecycle import Follower

LEAD_FOLLOWER = Follower(LeadOutcome, "lead_outcome", moved=service.follow_customer, anonymise=service.erase_customer)
OPPORTUNITY_FOLLOWER = Follower(OpportunityOutcome, "opportunity_outcome", moved=service.follow_customer,
                                anonymise=service.erase_customer)

_LEADS = {reads.name: reads for reads in contract.LEAD_EVENTS}
_OPPORTUNITIES = {reads.name: reads for reads in contract.OPPORTUNITY_EVENTS}


def take_sales_event(session: Session, delivery: Delivery) -> None:
    event = delivery.event
    if event is None:
        return
    if event.type in _LEADS:
        service.take_lead(session, event.tenant, _LEADS[event.type].read(event.data), event.time)
    elif event.type in _OPPORTUNITIES:
        service.take_opportunity(session, event.tenant, _OPPORTUNITIES[event.type].read(event.data), event.time)
    elif event.type == contract.EXCHANGE_RATE_CREATED.name:
        service.take_rate(session, event.tenant, contract.EXCHANGE_RATE_CREATED.read(event.data))


SALES_OUTCOMES = ConsumerSpec(
    name="campaign-sales-outcomes", topics=[contract.SALES_TOPIC.name], handle=take_sales_event, dedupe=False,
    types=frozenset({*_LEADS, *_OPPORTUNITIES, contract.EXCHANGE_RATE_CREATED.name}))
