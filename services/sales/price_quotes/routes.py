"""HTTP edges of price quotes and the pricing policy: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.price_quotes import rules, service
from services.sales.price_quotes.schemas import PolicyIn, PolicyOut, QuotedLine, QuoteIn, QuoteOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, check_if_match, etag, feature_router, patience, written
from shared.replica import embedded
from shared.types import Money

router = feature_router(tags=["price quotes"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
# Changing the threshold is a manager's decision: admin or sales:approve.
Approver = Annotated[Principal, Depends(Scopes(contract.APPROVE_SCOPE))]


def quote_out(quote: service.Quote) -> QuoteOut:
    segment = rules.segment_of(quote.customer.view)
    return QuoteOut(
        customer=embedded(quote.customer, quote.customer.customer_id), customer_group=segment.customer_group,
        value_tier=segment.value_tier, currency=quote.currency, on=quote.on,
        lines=[QuotedLine(product_id=line.product_id, sku=quote.products[line.product_id].sku,
                          name=quote.products[line.product_id].name, quantity=line.quantity,
                          discount_percent=line.discount_percent, unit_price=Money.of(line.unit_price, line.currency),
                          line_total=Money.of(line.line_total, line.currency), price_book_id=line.price_book_id,
                          reason=line.reason) for line in quote.lines],
        total=Money.of(quote.total, quote.currency))


@router.post("/price-quotes", response_model=QuoteOut,
             summary="Price lines for a customer: per line the price, the book it came from and why (nothing stored)")
def create_quote(body: QuoteIn, request: Request, db: DbSession, who: Reader) -> QuoteOut:
    lines = [rules.LineRequest(product_id=line.product_id, quantity=line.quantity,
                               discount_percent=line.discount_percent) for line in body.lines]
    quote = service.quote(db, who.tenant, customer_id=body.customer_id, currency=body.currency, lines=lines,
                          on=body.on, may_approve=who.allows(contract.APPROVE_SCOPE), wait_seconds=patience(request))
    return quote_out(quote)


def _policy_out(policy: service.Policy) -> PolicyOut:
    return PolicyOut(discount_threshold=policy.discount_threshold, version=policy.version,
                     updated_at=policy.updated_at)


@router.get("/pricing-policy", response_model=PolicyOut, summary="The tenant's discount threshold")
def get_policy(response: Response, db: DbSession, who: Reader) -> PolicyOut:
    policy = service.policy(db, who.tenant)
    response.headers["ETag"] = etag(policy.version)
    return _policy_out(policy)


@router.put("/pricing-policy", response_model=PolicyOut,
            summary="Change the discount threshold (admin or sales:approve; honours If-Match)")
def put_policy(body: PolicyIn, request: Request, response: Response, db: DbSession, who: Approver) -> PolicyOut:
    policy = service.change_policy(db, who.tenant, body.discount_threshold,
                                   check_version=lambda version: check_if_match(request, version))
    written(response, version=policy.version)
    return _policy_out(policy)
