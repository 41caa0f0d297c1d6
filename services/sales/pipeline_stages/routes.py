"""HTTP edges of pipeline stages: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from services.sales import contract
from services.sales.pipeline_stages import rules, service
from services.sales.pipeline_stages.schemas import StageCreate, StageOut, StagePatch
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, check_if_match, etag, feature_router, written

router = feature_router(tags=["pipeline stages"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
StageName = Annotated[str, Path(max_length=50, pattern=rules.NAME.pattern)]


def stage_out(shown: service.Shown) -> StageOut:
    stage = shown.stage
    return StageOut(name=stage.name, label=stage.label, position=stage.position, probability=stage.probability,
                    forecast_category=stage.forecast_category,  # type: ignore[arg-type]
                    outcome=stage.outcome,  # type: ignore[arg-type]
                    retired=stage.retired, version=stage.version, configured=shown.configured,
                    updated_at=shown.updated_at)


@router.get("/pipeline-stages", response_model=Page[StageOut], summary="The tenant's pipeline, in order")
def list_stages(db: DbSession, who: Reader,
                include_retired: Annotated[bool, Query(description="Also the retired stages.")] = False,
                ) -> Page[StageOut]:
    """A pipeline has at most 50 stages: they come in one page (``next_cursor`` is always null)."""
    shown = service.list_stages(db, who.tenant, include_retired=include_retired)
    return Page(items=[stage_out(s) for s in shown], next_cursor=None)


@router.post("/pipeline-stages", status_code=201, response_model=StageOut, summary="Add a stage to the pipeline")
def create_stage(body: StageCreate, response: Response, db: DbSession, who: Writer) -> StageOut:
    created = service.create_stage(db, who.tenant, body.model_dump(exclude_unset=True))
    written(response, version=created.stage.version, location=f"/v1/pipeline-stages/{created.stage.name}")
    return stage_out(created)


@router.get("/pipeline-stages/{name}", response_model=StageOut, summary="Read a stage")
def get_stage(name: StageName, response: Response, db: DbSession, who: Reader) -> StageOut:
    shown = service.get_stage(db, who.tenant, name)
    response.headers["ETag"] = etag(shown.stage.version)
    return stage_out(shown)


@router.patch("/pipeline-stages/{name}", response_model=StageOut,
              summary="Change a stage's label, order, probability or category (honours If-Match)")
def patch_stage(name: StageName, body: StagePatch, request: Request, response: Response, db: DbSession,
                who: Writer) -> StageOut:
    """Deals already in the stage keep the probability and category they have until their next change."""
    changed = service.change_stage(db, who.tenant, name, body.model_dump(exclude_unset=True),
                                   check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.stage.version)
    return stage_out(changed)


@router.delete("/pipeline-stages/{name}", status_code=204,
               summary="Retire a stage no open opportunity is in (honours If-Match)")
def retire_stage(name: StageName, request: Request, db: DbSession, who: Writer) -> None:
    """409 while an open opportunity is in it, or if the pipeline would lose its won, last lost or last open stage."""
    service.retire_stage(db, who.tenant, name, check_version=lambda version: check_if_match(request, version))
