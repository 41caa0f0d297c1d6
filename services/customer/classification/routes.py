"""HTTP edges of classification: read the rules and the distribution, change the rules, re-evaluate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from services.customer import contract
from services.customer.classification import service
from services.customer.classification.schemas import ClassificationIn, ClassificationOut
from shared.auth import ADMIN_SCOPE, Principal, Scopes
from shared.http import DbSession, check_if_match, etag, feature_router, written

router = feature_router(tags=["classification"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Admin = Annotated[Principal, Depends(Scopes(ADMIN_SCOPE))]


def _out(overview: service.Overview) -> ClassificationOut:
    return ClassificationOut(
        **overview.current, version=overview.version, evaluated_at=overview.evaluated_at,
        reclassified=overview.reclassified, currencies_without_rate=overview.currencies_without_rate,
        distribution=overview.distribution)


@router.get("/classification", response_model=ClassificationOut, summary="Group rules, value tiers and distribution")
def get_classification(response: Response, db: DbSession, who: Reader) -> ClassificationOut:
    overview = service.overview(db, who.tenant)
    response.headers["ETag"] = etag(overview.version)
    return _out(overview)


@router.put("/classification", response_model=ClassificationOut, summary="Change the rules and re-evaluate everyone")
def put_classification(body: ClassificationIn, request: Request, response: Response, db: DbSession,
                       who: Admin) -> ClassificationOut:
    overview = service.change_rules(
        db, who.tenant, [r.model_dump() for r in body.rules], body.default_group,
        [t.model_dump() for t in body.tiers] if body.tiers else None, body.currency, body.exchange_rates,
        value_basis=body.value_basis, check_version=lambda version: check_if_match(request, version))
    written(response, version=overview.version)
    return _out(overview)


@router.post("/classification/evaluate", response_model=ClassificationOut,
             summary="Re-evaluate every customer with the current rules (e.g. after recency moved on)")
def evaluate_classification(response: Response, db: DbSession, who: Admin) -> ClassificationOut:
    overview = service.evaluate(db, who.tenant)
    written(response, version=overview.version)
    return _out(overview)
