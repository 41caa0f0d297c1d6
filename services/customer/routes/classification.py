"""HTTP edges of classification: read the rules and the distribution, change the rules, re-evaluate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from services.customer import events
from services.customer.domain import classification as domain
from services.customer.repository import classification as repository
from services.customer.repository import customers as customers_repository
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
    return ClassificationOut(
        **current, version=settings.version if settings else 0,
        evaluated_at=settings.evaluated_at if settings else None, reclassified=reclassified,
        distribution=repository.distribution(db, tenant))


@router.get("/classification", response_model=ClassificationOut, summary="Group rules, value tiers and distribution")
def get_classification(response: Response, db: DbSession, who: Reader) -> ClassificationOut:
    out = _out(db, who.tenant)
    response.headers["ETag"] = etag(out.version)
    return out


@router.put("/classification", response_model=ClassificationOut, summary="Change the rules and re-evaluate everyone")
def put_classification(body: ClassificationIn, request: Request, db: DbSession, who: Admin) -> Response:
    rules = domain.check_rules([r.model_dump() for r in body.rules])
    tiers = domain.check_tiers([t.model_dump() for t in body.tiers] if body.tiers else domain.DEFAULT_TIERS)
    settings = repository.settings_of(db, who.tenant)
    if settings is None:
        settings = ClassificationSettings(tenant_id=who.tenant, version=0, evaluated_at=None)
        db.add(settings)
    else:
        check_if_match(request, settings.version)
    settings.rules, settings.default_group, settings.tiers = rules, body.default_group, tiers
    settings.cutoffs = [None] * len(tiers)
    settings.version += 1
    settings.updated_at = utcnow()
    events.classification_rules_changed(db, who.tenant, {"rules": rules, "default_group": body.default_group,
                                                         "tiers": tiers, "version": settings.version})
    changed = reclassify(db, who.tenant, settings)
    return commit_write(db, request, _out(db, who.tenant, changed), version=settings.version)


@router.post("/classification/evaluate", response_model=ClassificationOut,
             summary="Re-evaluate every customer with the current rules (after values changed)")
def evaluate_classification(request: Request, db: DbSession, who: Admin) -> Response:
    settings = repository.settings_of(db, who.tenant)
    if settings is None:
        settings = ClassificationSettings(tenant_id=who.tenant, rules=[], default_group=domain.DEFAULT_GROUP,
                                          tiers=domain.DEFAULT_TIERS, cutoffs=[None] * len(domain.DEFAULT_TIERS),
                                          version=1, evaluated_at=None, updated_at=utcnow())
        db.add(settings)
    changed = reclassify(db, who.tenant, settings)
    return commit_write(db, request, _out(db, who.tenant, changed), version=settings.version)


def reclassify(db: Session, tenant: str, settings: ClassificationSettings) -> int:
    """Evaluate every customer; update and announce (``crm.customer.classified.v1``) those that changed.

    Two passes: values first (tiers rank the whole population), then groups and tiers.
    """
    db.flush()  # the settings row must be written before the batches below detach everything loaded
    values: list[tuple[str, Any]] = []
    for batch in repository.customers_to_evaluate(db, tenant):
        values += [(str(c.id), domain.value_of(customers_repository.state_of(c))) for c in batch]
        db.expunge_all()
    tiers, cutoffs = domain.assign_tiers(values, settings.tiers)
    changed = 0
    for batch in repository.customers_to_evaluate(db, tenant):
        for customer in batch:
            new = {"customer_group": domain.group_of(customers_repository.state_of(customer), settings.rules,
                                                     settings.default_group),
                   "value_tier": tiers[str(customer.id)]}
            old = {"customer_group": customer.customer_group, "value_tier": customer.value_tier}
            if new != old:
                repository.set_classification(db, tenant, customer.id, new["customer_group"], new["value_tier"])
                events.customer_classified(db, tenant, str(customer.id), new, old)
                changed += 1
        db.expunge_all()
    settings = db.merge(settings)
    settings.cutoffs = cutoffs
    settings.evaluated_at = utcnow()
    return changed
