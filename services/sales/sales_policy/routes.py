"""HTTP edges of the sales policy: read it, change it (a manager's decision)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.collections.schemas import DunningLevelOut
from services.sales.sales_policy import service
from services.sales.sales_policy.rules import Policy
from services.sales.sales_policy.schemas import SalesPolicyIn, SalesPolicyOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, check_if_match, etag, feature_router, written
from shared.types import Money

router = feature_router(tags=["sales policy"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Approver = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE, contract.APPROVE_SCOPE))]


def policy_out(policy: Policy) -> SalesPolicyOut:
    limit = Money.of(policy.default_credit_limit, policy.currency) if policy.default_credit_limit is not None else None
    return SalesPolicyOut(currency=policy.currency, default_credit_limit=limit, invoice_from=policy.invoice_from,
                          payment_terms_days=policy.payment_terms_days,
                          dunning_levels=[DunningLevelOut(offset_days=level.offset_days,
                                                          action=level.action)  # type: ignore[arg-type]
                                          for level in policy.dunning_levels],
                          version=policy.version,
                          updated_at=policy.updated_at)


@router.get("/sales-policy", response_model=SalesPolicyOut,
            summary="The tenant's currency, default credit limit, invoicing moment, payment terms and dunning levels")
def get_policy(response: Response, db: DbSession, who: Reader) -> SalesPolicyOut:
    policy = service.policy(db, who.tenant)
    response.headers["ETag"] = etag(policy.version)
    return policy_out(policy)


@router.put("/sales-policy", response_model=SalesPolicyOut,
            summary="Change the sales policy (sales:approve; honours If-Match)")
def put_policy(body: SalesPolicyIn, request: Request, response: Response, db: DbSession,
               who: Approver) -> SalesPolicyOut:
    policy = service.change_policy(db, who.tenant, body, check_version=lambda version: check_if_match(request, version))
    written(response, version=policy.version)
    return policy_out(policy)
