"""Use cases of pipeline stages: list, read, add, change and retire a tenant's stages, announcing each change.

The defaults are virtual. A tenant that has never configured its pipeline has the six
default stages (``rules.DEFAULT_STAGES``) without a row being written: reads never write,
and the opportunities of such a tenant behave as they always did. Its first change (adding,
changing or retiring a stage) first writes the six defaults as rows, at version 1 as they
were shown, then applies the change; from then on the rows are the pipeline. Retiring keeps
the row (closed deals go on naming their stage, and a name is never given to another stage).

Other features read the pipeline with ``pipeline``. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.pipeline_stages import repository, rules
from services.sales.pipeline_stages.rules import StageDef
from services.sales.pipeline_stages.tables import PipelineStage
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.outbox import publish

CHANGEABLE = ("label", "position", "probability", "forecast_category")


@dataclass(frozen=True)
class Shown:
    """A stage as the API shows it: ``configured`` is False for a default nobody has written yet."""

    stage: StageDef
    configured: bool
    updated_at: datetime | None


def pipeline(session: Session, tenant: str) -> list[StageDef]:
    """The tenant's stages in order, retired ones included: its rows, or the defaults if it has none."""
    rows = repository.stages_of(session, tenant)
    return rules.ordered(_stage_def(r) for r in rows) if rows else list(rules.DEFAULT_STAGES)


def list_stages(session: Session, tenant: str, *, include_retired: bool) -> list[Shown]:
    rows = repository.stages_of(session, tenant)
    if not rows:
        return [Shown(stage, False, None) for stage in rules.DEFAULT_STAGES]
    return [Shown(_stage_def(r), True, r.updated_at) for r in rows if include_retired or r.retired_at is None]


def get_stage(session: Session, tenant: str, name: str) -> Shown:
    for shown in list_stages(session, tenant, include_retired=True):
        if shown.stage.name == name:
            return shown
    raise NotFound(f"No pipeline stage '{name}'.")


def create_stage(session: Session, tenant: str, fields: dict[str, Any]) -> Shown:
    """Add a stage (``fields``: name, label?, position?, probability, forecast_category, outcome)."""
    rows = _configured(session, tenant)
    stages = [_stage_def(r) for r in rows]
    stage = rules.check_stage(StageDef(
        name=fields["name"], label=fields.get("label") or rules.label_of(fields["name"]),
        position=fields.get("position") or rules.next_position(stages), probability=fields["probability"],
        forecast_category=fields["forecast_category"], outcome=fields.get("outcome") or "open"))
    rules.check_new_stage(stages, stage)
    now = utcnow()
    row = PipelineStage(tenant_id=tenant, created_at=now, updated_at=now, retired_at=None, **_columns(stage))
    session.add(row)
    session.flush()
    _announce(session, tenant, row)
    return Shown(_stage_def(row), True, row.updated_at)


def change_stage(session: Session, tenant: str, name: str, patch: dict[str, Any], *,
                 check_version: Callable[[int], None]) -> Shown:
    """Change a stage's label, position, probability or category; ``check_version`` is the client's If-Match."""
    for field, value in patch.items():
        if value is None:
            raise InvalidInput.on(field, "cannot be cleared")
    row = _row(_configured(session, tenant), name)
    check_version(row.version)
    if row.retired_at is not None:
        raise Conflict(f"Stage '{name}' is retired; it takes no changes.")
    changed = rules.check_stage(dataclasses.replace(_stage_def(row), **patch))
    if any(getattr(row, field) != getattr(changed, field) for field in CHANGEABLE):
        for field in CHANGEABLE:
            setattr(row, field, getattr(changed, field))
        row.version += 1
        row.updated_at = utcnow()
        _announce(session, tenant, row)
    return Shown(_stage_def(row), True, row.updated_at)


def retire_stage(session: Session, tenant: str, name: str, *, check_version: Callable[[int], None]) -> None:
    """Retire a stage no open deal is in (409 otherwise); retiring a retired stage changes nothing."""
    rows = _configured(session, tenant)
    row = _row(rows, name)
    check_version(row.version)
    if row.retired_at is not None:
        return
    rules.check_retirement([_stage_def(r) for r in rows], name, repository.open_deals_in(session, tenant, name))
    row.retired_at = row.updated_at = utcnow()
    row.version += 1
    _announce(session, tenant, row)


def _configured(session: Session, tenant: str) -> list[PipelineStage]:
    """The tenant's rows, the defaults written first if it has none (see the module docstring)."""
    rows = repository.stages_of(session, tenant)
    if rows:
        return rows
    now = utcnow()
    rows = [PipelineStage(tenant_id=tenant, created_at=now, updated_at=now, retired_at=None, **_columns(stage))
            for stage in rules.DEFAULT_STAGES]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        # Another request wrote the defaults first (and committed): its rows are the pipeline now.
        return repository.stages_of(session, tenant)
    return rows


def _row(rows: list[PipelineStage], name: str) -> PipelineStage:
    for row in rows:
        if row.name == name:
            return row
    raise NotFound(f"No pipeline stage '{name}'.")


def _columns(stage: StageDef) -> dict[str, Any]:
    return {"name": stage.name, "label": stage.label, "position": stage.position, "probability": stage.probability,
            "forecast_category": stage.forecast_category, "outcome": stage.outcome, "version": stage.version}


def _stage_def(row: PipelineStage) -> StageDef:
    return StageDef(name=row.name, label=row.label, position=row.position, probability=row.probability,
                    forecast_category=row.forecast_category, outcome=row.outcome, version=row.version,
                    retired=row.retired_at is not None)


def _announce(session: Session, tenant: str, row: PipelineStage) -> None:
    publish(session, contract.PIPELINE_STAGE_CHANGED, contract.PipelineStageChanged(
        name=row.name, label=row.label, position=row.position, probability=row.probability,
        forecast_category=row.forecast_category, outcome=row.outcome, retired=row.retired_at is not None,
        version=row.version), subject=contract.pipeline_subject(tenant), tenant=tenant)
