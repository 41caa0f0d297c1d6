"""HTTP edges of loyalty: the tenant's policy, a customer's account (balance, next expiry, history), redeeming
points as an order discount."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.loyalty import rules, service
from services.sales.loyalty.schemas import (
    AccountOut,
    EarningRuleOut,
    ExpiringOut,
    LoyaltyPolicyIn,
    LoyaltyPolicyOut,
    MovementOut,
    RedemptionIn,
    RedemptionOut,
)
from services.sales.loyalty.tables import LoyaltyMovement
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, Paging, check_if_match, etag, feature_router, next_cursor, written

router = feature_router(tags=["loyalty"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
# Changing the policy is a manager's decision, as for the sales policy.
Approver = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE, contract.APPROVE_SCOPE))]


def policy_out(policy: rules.Policy | None) -> LoyaltyPolicyOut:
    if policy is None:
        return LoyaltyPolicyOut(enabled=False, earning_rules=[], point_value=None, currency=None, expiry_months=None,
                                version=0, updated_at=None)
    return LoyaltyPolicyOut(
        enabled=True, earning_rules=[EarningRuleOut(category=r.category, value_tier=r.value_tier,
                                                    points_per_unit=format(r.points_per_unit.normalize(), "f"))
                                     for r in policy.earning_rules],
        point_value=format(policy.point_value.normalize(), "f"), currency=policy.currency,
        expiry_months=policy.expiry_months, version=policy.version, updated_at=policy.updated_at)


def movement_out(movement: LoyaltyMovement) -> MovementOut:
    return MovementOut(id=movement.id, kind=movement.kind,  # type: ignore[arg-type]
                       points=movement.points, balance_after=movement.balance_after, invoice_id=movement.invoice_id,
                       order_id=movement.order_id, expires_on=movement.expires_on, remaining=movement.remaining,
                       details=movement.details, occurred_on=movement.occurred_on, created_at=movement.created_at)


@router.get("/loyalty/policy", response_model=LoyaltyPolicyOut,
            summary="The tenant's loyalty policy: earning rules, point value, expiry (enabled false: none)")
def get_policy(response: Response, db: DbSession, who: Reader) -> LoyaltyPolicyOut:
    policy = service.policy(db, who.tenant)
    response.headers["ETag"] = etag(policy.version if policy is not None else 0)
    return policy_out(policy)


@router.put("/loyalty/policy", response_model=LoyaltyPolicyOut,
            summary="Set the loyalty policy (sales:approve; honours If-Match)",
            description="Earning rules apply to invoices paid from now on; points already earned keep their "
                        "expiry day. The point value is in the tenant currency of now (the sales policy's).")
def put_policy(body: LoyaltyPolicyIn, request: Request, response: Response, db: DbSession,
               who: Approver) -> LoyaltyPolicyOut:
    policy = service.change_policy(db, who.tenant, body, check_version=lambda v: check_if_match(request, v))
    written(response, version=policy.version)
    return policy_out(policy)


@router.get("/loyalty/accounts/{customer_id:uuid}", response_model=AccountOut,
            summary="A customer's points: balance, what expires next, history newest first")
def get_account(customer_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> AccountOut:
    found = service.account(db, who.tenant, customer_id, paging, today=utcnow().date())
    expiring = (ExpiringOut(points=found.expiring_next[0], expires_on=found.expiring_next[1])
                if found.expiring_next is not None else None)
    return AccountOut(customer_id=customer_id, balance=found.balance, expiring_next=expiring,
                      history=[movement_out(m) for m in found.history[: paging.limit]],
                      next_cursor=next_cursor([m.id for m in found.history], paging.limit))


@router.post("/loyalty/accounts/{customer_id:uuid}/redemptions", status_code=201, response_model=RedemptionOut,
             summary="Redeem points as a discount on a placed or confirmed, uninvoiced order of the customer",
             description="409 when the account holds fewer points than asked, the order's status or invoice "
                         "refuses it, or it has a loyalty discount already; nothing is written then.")
def redeem(customer_id: uuid.UUID, body: RedemptionIn, response: Response, db: DbSession,
           who: Writer) -> RedemptionOut:
    done = service.redeem(db, who.tenant, customer_id, body, by=who.subject)
    written(response, location=f"/v1/loyalty/accounts/{customer_id}")
    movement = done.movement
    return RedemptionOut(movement_id=movement.id, customer_id=customer_id, order_id=body.order_id,
                         points=-movement.points, discount=done.discount, order_total=done.order_total,
                         balance=movement.balance_after)
