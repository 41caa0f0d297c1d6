"""HTTP edges of audiences: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from services.campaign import contract
from services.campaign.audiences import service
from services.campaign.audiences.schemas import AudienceIn, AudienceOut, PreviewOut, RulesPreview
from services.campaign.audiences.tables import Audience
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written
from shared.replica import embedded

router = feature_router(tags=["audiences"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
SampleSize = Annotated[int, Query(ge=0, le=100, description="How many members to show (first by customer id).")]


def audience_out(audience: Audience) -> AudienceOut:
    return AudienceOut.model_validate({
        "id": audience.id, "name": audience.name, "rules": audience.rules,
        "static_customer_ids": audience.static_customer_ids, "clock_dependent": audience.clock_dependent,
        "evaluated_at": audience.evaluated_at, "version": audience.version, "created_at": audience.created_at,
        "updated_at": audience.updated_at})


def preview_out(preview: service.Preview) -> PreviewOut:
    return PreviewOut(count=preview.count, sample=[embedded(c, c.customer_id) for c in preview.sample],
                      evaluated_at=preview.evaluated_at)


@router.post("/audiences", status_code=201, response_model=AudienceOut, summary="Define an audience")
def create_audience(body: AudienceIn, response: Response, db: DbSession, who: Writer) -> AudienceOut:
    audience = service.create_audience(db, who.tenant, body)
    written(response, version=audience.version, location=f"/v1/audiences/{audience.id}")
    return audience_out(audience)


@router.get("/audiences", response_model=Page[AudienceOut], summary="List audiences")
def list_audiences(db: DbSession, who: Reader, paging: Paging) -> Page[AudienceOut]:
    rows = service.list_audiences(db, who.tenant, paging)
    return Page(items=[audience_out(a) for a in rows[: paging.limit]],
                next_cursor=next_cursor([a.id for a in rows], paging.limit))


# Declared before /audiences/{audience_id}: "preview" is no audience id.
@router.post("/audiences/preview", response_model=PreviewOut, summary="Preview rules not stored yet")
def preview_rules(body: RulesPreview, db: DbSession, who: Reader, sample: SampleSize = service.SAMPLE_SIZE) -> PreviewOut:
    return preview_out(service.preview_rules(db, who.tenant, body, sample))


@router.get("/audiences/{audience_id:uuid}", response_model=AudienceOut, summary="Read an audience")
def get_audience(audience_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> AudienceOut:
    audience = service.get_audience(db, who.tenant, audience_id)
    response.headers["ETag"] = etag(audience.version)
    return audience_out(audience)


@router.put("/audiences/{audience_id:uuid}", response_model=AudienceOut,
            summary="Change an audience's name, rules or list (honours If-Match)")
def replace_audience(audience_id: uuid.UUID, body: AudienceIn, request: Request, response: Response, db: DbSession,
                     who: Writer) -> AudienceOut:
    check_if_match(request, service.get_audience(db, who.tenant, audience_id).version)
    audience = service.replace_audience(db, who.tenant, audience_id, body)
    written(response, version=audience.version)
    return audience_out(audience)


@router.delete("/audiences/{audience_id:uuid}", status_code=204, response_model=None, summary="Delete an audience")
def delete_audience(audience_id: uuid.UUID, db: DbSession, who: Writer) -> None:
    service.delete_audience(db, who.tenant, audience_id)


@router.get("/audiences/{audience_id:uuid}/preview", response_model=PreviewOut,
            summary="How many customers an audience holds, and a sample of them")
def preview(audience_id: uuid.UUID, db: DbSession, who: Reader, sample: SampleSize = service.SAMPLE_SIZE) -> PreviewOut:
    return preview_out(service.preview(db, who.tenant, audience_id, sample))
