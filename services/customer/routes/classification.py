"""HTTP edges of classification: read the rules and the distribution, change the rules, re-evaluate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from services.customer import classifying, events
from services.customer.domain import classification as domain
from services.customer.repository import classification as repository
from services.customer.schemas.classification import ClassificationIn, ClassificationOut
from services.customer.tables.customers import ClassificationSettings
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, check_if_match, commit_write, etag

router = APIRouter(tags=["classification"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]
Admin = Annotated[Principal, Depends(Scopes("admin"))]


def _out(db: Session, tenant: str, reclassified: int | None = None) -> ClassificationOut:
    settings = repository.settings_of(db, tenant)
    current = repository.rules_of(db, tenant)
    missing = domain.unconverted(repository.currencies_in_use(db, tenant), current) if current["currency"] else []
    return ClassificationOut(
        **current, version=settings.version if settings else 0,
        evaluated_at=settings.evaluated_at if settings else None, reclassified=reclassified,
        currencies_without_rate=missing, distribution=repository.distribution(db, tenant))


@router.get("/classification", response_model=ClassificationOut, summary="Group rules, value tiers and distribution")
def get_classification(response: Response, db: DbSession, who: Reader) -> ClassificationOut:
    out = _out(db, who.tenant)
    response.headers["ETag"] = etag(out.version)
    return out


@router.put("/classification", response_model=ClassificationOut, summary="Change the rules and re-evaluate everyone")
def put_classification(body: ClassificationIn, request: Request, db: DbSession, who: Admin) -> Response:
    rules = domain.check_rules([r.model_dump() for r in body.rules])
    tiers = domain.check_tiers([t.model_dump() for t in body.tiers] if body.tiers else domain.DEFAULT_TIERS)
    rates = domain.check_exchange_rates(body.currency, body.exchange_rates)
    settings = repository.settings_of(db, who.tenant, lock=True)
    if settings is None:
        settings = ClassificationSettings(tenant_id=who.tenant, version=0, evaluated_at=None)
        db.add(settings)
    else:
        check_if_match(request, settings.version)
    settings.rules, settings.default_group, settings.tiers = rules, body.default_group, tiers
    settings.cutoffs = [None] * len(tiers)
    settings.currency, settings.exchange_rates = body.currency, rates
    settings.version += 1
    settings.updated_at = utcnow()
    events.classification_rules_changed(db, who.tenant, {"rules": rules, "default_group": body.default_group,
                                                         "tiers": tiers, "currency": body.currency,
                                                         "exchange_rates": rates, "version": settings.version})
    changed = classifying.reclassify(db, who.tenant, settings)
    return commit_write(db, request, _out(db, who.tenant, changed), version=settings.version)


@router.post("/classification/evaluate", response_model=ClassificationOut,
             summary="Re-evaluate every customer with the current rules (e.g. after recency moved on)")
def evaluate_classification(request: Request, db: DbSession, who: Admin) -> Response:
    settings = repository.settings_or_default(db, who.tenant, lock=True)
    changed = classifying.reclassify(db, who.tenant, settings)
    return commit_write(db, request, _out(db, who.tenant, changed), version=settings.version)
