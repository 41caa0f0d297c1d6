"""Cross-sell offers: read a customer's (``rules`` says who is similar and how offers rank), record the
segments whose baskets changed, and the job that publishes changed offers for the unified view.

- **Read** (``offers``): C's segment from the replica (an unknown customer, or another
  tenant's, is a 404), C's products, the similar customers' counts in SQL, ranked here.
- **Touches** (``basket_changed``): an order delivered, invoiced or returned in full changes
  its segment's baskets, so every offer in that segment may change: the segment is appended
  to ``offer_segment_touches`` in the same transaction as the change.
- **Publishing** (``refresh_offers``, a periodic job): for each touched segment, every
  customer of it is recomputed, in batches of ``BATCH`` customers per transaction, and
  ``crm.sales.offers.updated.v1`` is published (through the outbox, in that transaction) for
  those whose top offers differ from the last published (a hash per customer); a customer with
  no offers who never had any publishes nothing. The touches read are deleted at the end, so
  a run that dies is done again whole next time (publishing only what still differs). A
  customer whose segment changed in the view is recomputed when a segment it is in is touched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.offers import repository, rules
from services.sales.offers.tables import OfferPublication
from shared.db import unit_of_work, utcnow
from shared.errors import NotFound
from shared.outbox import publish
from shared.settings import Settings

BATCH = 100
# Touches read per run; more wait for the next.
TOUCHES_PER_RUN = 1000


@dataclass(frozen=True)
class Offers:
    customer_id: uuid.UUID
    segment: rules.Segment
    similar: int
    offers: list[rules.Offer]


def offers(session: Session, tenant: str, customer_id: uuid.UUID, *, limit: int = rules.DEFAULT_LIMIT) -> Offers:
    rules.check_limit(limit)
    customer = customers.find_customer(session, tenant, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return _offers_of(session, tenant, customer_id, rules.segment_of(customer.view), limit)


def _offers_of(session: Session, tenant: str, customer_id: uuid.UUID, segment: rules.Segment, limit: int) -> Offers:
    owned_text = repository.owned(session, tenant, customer_id)
    similar, candidates = repository.counts(session, tenant, segment, customer_id, owned_text)
    owned = {product for text in owned_text if (product := _uuid(text)) is not None}
    wanted = {c.product_id for c in candidates} | {c.also[0] for c in candidates if c.also is not None}
    items = repository.items(session, tenant, wanted)
    return Offers(customer_id, segment, similar, rules.rank(candidates, items, owned, similar, segment, limit))


def basket_changed(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """An order of the customer was delivered, invoiced or returned in full: its segment's offers may change."""
    customer = customers.find_customer(session, tenant, customer_id)
    segment = rules.segment_of(customer.view if customer is not None else None)
    repository.touch(session, tenant, segment, utcnow())


def published_offers(found: Offers) -> list[contract.OfferReported]:
    return [contract.OfferReported(product_id=o.item.product_id, sku=o.item.sku, name=o.item.name, reason=o.reason,
                                   score=format(o.score, "f")) for o in found.offers]


def refresh_customer(session: Session, tenant: str, customer_id: uuid.UUID, segment: rules.Segment) -> bool:
    """Publishes the customer's offers if they differ from the last published; answers whether it did."""
    found = _offers_of(session, tenant, customer_id, segment, rules.PUBLISHED)
    offers_out = published_offers(found)
    digest = rules.offers_hash(o.model_dump(mode="json") for o in offers_out)
    last = repository.publication(session, tenant, customer_id)
    if (last is None and not offers_out) or (last is not None and last.offers_hash == digest):
        return False
    now = utcnow()
    if last is None:
        session.add(OfferPublication(tenant_id=tenant, customer_id=customer_id, offers_hash=digest, published_at=now))
    else:
        last.offers_hash, last.published_at = digest, now
    publish(session, contract.OFFERS_UPDATED, contract.OffersUpdated(customer_id=customer_id, offers=offers_out),
            subject=str(customer_id), tenant=tenant)
    return True


def refresh_offers(sessions: sessionmaker[Session], settings: Settings | None = None) -> int:
    """The periodic job: recomputes the touched segments' customers; answers how many offers it published."""
    with unit_of_work(sessions) as session:
        read = repository.touches(session, TOUCHES_PER_RUN)
        touched = sorted({(t.tenant_id, t.customer_group, t.value_tier) for t in read},
                         key=lambda s: (s[0], s[1] or "", s[2] or ""))
        ids = [t.id for t in read]
    published = 0
    for tenant, group, tier in touched:
        segment = rules.Segment(group, tier)
        after: uuid.UUID | None = None
        while True:
            with unit_of_work(sessions) as session:
                batch = repository.segment_customers(session, tenant, segment, after=after, limit=BATCH)
                published += sum(refresh_customer(session, tenant, c, segment) for c in batch)
            if len(batch) < BATCH:
                break
            after = batch[-1]
    with unit_of_work(sessions) as session:
        repository.forget_touches(session, ids)
    return published


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
