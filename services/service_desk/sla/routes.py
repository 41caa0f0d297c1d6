"""HTTP edges of sla: business calendars and SLA policies. Parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.service_desk import contract
from services.service_desk.sla import service
from services.service_desk.sla.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    Escalation,
    PolicyIn,
    PolicyMatch,
    PolicyOut,
    PolicyPatch,
    WorkingHours,
)
from services.service_desk.sla.tables import SlaCalendar, SlaPolicy
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written

router = feature_router(tags=["sla"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def calendar_out(calendar: SlaCalendar) -> CalendarOut:
    return CalendarOut(id=calendar.id, name=calendar.name, time_zone=calendar.time_zone,
                       working_hours=WorkingHours.model_validate(calendar.working_hours),
                       holidays=calendar.holidays,  # type: ignore[arg-type]
                       version=calendar.version, created_at=calendar.created_at, updated_at=calendar.updated_at)


def policy_out(policy: SlaPolicy) -> PolicyOut:
    return PolicyOut(id=policy.id, name=policy.name, position=policy.position,
                     match=PolicyMatch.model_validate(policy.match), calendar_id=policy.calendar_id,
                     first_response_minutes=policy.first_response_minutes,
                     next_response_minutes=policy.next_response_minutes,
                     resolution_minutes=policy.resolution_minutes, warning_minutes=policy.warning_minutes,
                     escalation=Escalation.model_validate(policy.escalation), version=policy.version,
                     created_at=policy.created_at, updated_at=policy.updated_at)


# --- calendars -----------------------------------------------------------------------------------


@router.post("/calendars", status_code=201, response_model=CalendarOut, summary="Create a business calendar")
def create_calendar(body: CalendarIn, response: Response, db: DbSession, who: Writer) -> CalendarOut:
    """Working hours per weekday in the calendar's IANA time zone (local wall time) and whole days off.
    An unknown zone, an interval ending before it starts, or overlapping intervals of a day: 422."""
    calendar = service.create_calendar(db, who.tenant, body)
    written(response, version=calendar.version, location=f"/v1/calendars/{calendar.id}")
    return calendar_out(calendar)


@router.get("/calendars", response_model=Page[CalendarOut], summary="List business calendars")
def list_calendars(db: DbSession, who: Reader, paging: Paging) -> Page[CalendarOut]:
    rows = service.list_calendars(db, who.tenant, paging)
    return Page(items=[calendar_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


@router.get("/calendars/{calendar_id:uuid}", response_model=CalendarOut, summary="Read a business calendar")
def get_calendar(calendar_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CalendarOut:
    calendar = service.get_calendar(db, who.tenant, calendar_id)
    response.headers["ETag"] = etag(calendar.version)
    return calendar_out(calendar)


@router.patch("/calendars/{calendar_id:uuid}", response_model=CalendarOut,
              summary="Change a business calendar (honours If-Match)")
def patch_calendar(calendar_id: uuid.UUID, body: CalendarPatch, request: Request, response: Response,
                   db: DbSession, who: Writer) -> CalendarOut:
    calendar = service.update_calendar(db, who.tenant, calendar_id, body.model_dump(mode="json", exclude_unset=True),
                                       check_version=lambda version: check_if_match(request, version))
    written(response, version=calendar.version)
    return calendar_out(calendar)


@router.delete("/calendars/{calendar_id:uuid}", status_code=204, response_model=None,
               summary="Delete a business calendar (409 while an SLA policy uses it)")
def delete_calendar(calendar_id: uuid.UUID, db: DbSession, who: Writer) -> None:
    service.delete_calendar(db, who.tenant, calendar_id)


# --- policies ------------------------------------------------------------------------------------


@router.post("/sla-policies", status_code=201, response_model=PolicyOut, summary="Create an SLA policy")
def create_policy(body: PolicyIn, response: Response, db: DbSession, who: Writer) -> PolicyOut:
    """A ticket gets the first policy that matches it, lowest ``position`` first (equal positions: by id).
    Targets are business minutes of the calendar; at least one target is needed (else 422), and the calendar
    must exist (else 422). A breach escalates as ``escalation`` says."""
    policy = service.create_policy(db, who.tenant, body)
    written(response, version=policy.version, location=f"/v1/sla-policies/{policy.id}")
    return policy_out(policy)


@router.get("/sla-policies", response_model=Page[PolicyOut], summary="List SLA policies")
def list_policies(db: DbSession, who: Reader, paging: Paging) -> Page[PolicyOut]:
    """In id order; ``position`` decides which policy a ticket gets."""
    rows = service.list_policies(db, who.tenant, paging)
    return Page(items=[policy_out(p) for p in rows[: paging.limit]],
                next_cursor=next_cursor([p.id for p in rows], paging.limit))


@router.get("/sla-policies/{policy_id:uuid}", response_model=PolicyOut, summary="Read an SLA policy")
def get_policy(policy_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> PolicyOut:
    policy = service.get_policy(db, who.tenant, policy_id)
    response.headers["ETag"] = etag(policy.version)
    return policy_out(policy)


@router.patch("/sla-policies/{policy_id:uuid}", response_model=PolicyOut,
              summary="Change an SLA policy (honours If-Match)")
def patch_policy(policy_id: uuid.UUID, body: PolicyPatch, request: Request, response: Response, db: DbSession,
                 who: Writer) -> PolicyOut:
    """A target set to null is dropped (at least one must remain). Tickets follow the change from their next
    change on."""
    policy = service.update_policy(db, who.tenant, policy_id, body.model_dump(mode="json", exclude_unset=True),
                                   check_version=lambda version: check_if_match(request, version))
    written(response, version=policy.version)
    return policy_out(policy)


@router.delete("/sla-policies/{policy_id:uuid}", status_code=204, response_model=None,
               summary="Delete an SLA policy")
def delete_policy(policy_id: uuid.UUID, db: DbSession, who: Writer) -> None:
    """Its tickets get the next matching policy at their next change or check."""
    service.delete_policy(db, who.tenant, policy_id)
