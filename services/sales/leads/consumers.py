"""The events leads react to.

- the customer life cycle: merges re-point leads to the survivor, unmerges bring them back,
  erasure removes their personal data (``FOLLOWER``, handed to ``customers.following``);
- campaign responses (``crm.campaign.v1``): interest (replied, registered, converted) makes a
  lead for the customer or folds into its open one; opens and clicks add engagement. The
  consumer records each event id with its effect, so a redelivery changes nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.leads import service
from services.sales.leads.tables import Lead
from shared.consumer import ConsumerSpec, Delivery
from shared.lifecycle import Follower

FOLLOWER = Follower(Lead, "lead", moved=service.follow_customer, anonymise=service.erase_customer)

_RESPONSES = {reads.name: reads for reads in contract.CAMPAIGN_RESPONSES}


def take_campaign_response(session: Session, delivery: Delivery) -> None:
    event = delivery.event
    if event is None or event.type not in _RESPONSES:
        return
    response = _RESPONSES[event.type].read(event.data)
    service.take_response(session, event.tenant, customer_id=response.customer_id, campaign_id=response.campaign_id,
                          kind=response.kind, campaign_name=response.campaign_name, occurred_at=response.occurred_at)


CAMPAIGN_RESPONSES = ConsumerSpec(name="lead-campaign-responses", topics=[contract.CAMPAIGN_TOPIC.name],
                                  handle=take_campaign_response, types=frozenset(_RESPONSES), projection=False)
