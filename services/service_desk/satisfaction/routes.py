"""HTTP edges of satisfaction: parse, authorise, call the service, shape the reply.

``POST /v1/tickets/{id}/satisfaction`` takes either a bearer token (service_desk:write: an agent recording an
answer) or no login at all with the ``resolution`` and ``signature`` of the link the customer was mailed; the
signature alone proves the caller may rate that resolution of that ticket, so it names the tenant too.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Query, Request

from services.service_desk import contract
from services.service_desk.satisfaction import rules, service
from services.service_desk.satisfaction.schemas import GroupBy, GroupFigures, Period, RatingIn, RatingOut, ServiceStats
from services.service_desk.satisfaction.tables import SatisfactionAnswer
from shared.auth import Principal, Scopes, principal_of
from shared.errors import Forbidden, InvalidInput
from shared.http import DbSession, Page, Paging, feature_router, next_cursor
from shared.openapi import REASONS
from shared.types import Timestamp

router = feature_router(tags=["satisfaction"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]

# The customer's link carries no login: the route authenticates by the signature or by the bearer token itself,
# so the document names both ways (a bearer token, or none) and the statuses either can answer.
_EITHER_WAY = {"security": [{"bearer": []}, {}]}
_EITHER_WAY_ANSWERS: dict[int | str, dict[str, str]] = {
    400: {"description": REASONS[400]},
    401: {"description": "No signed link and no valid bearer token."},
    403: {"description": "The link's signature is not valid for this ticket and resolution, or the token lacks "
                         "service_desk:write."},
}
DEFAULT_WINDOW = timedelta(days=30)


def rating_out(answer: SatisfactionAnswer) -> RatingOut:
    return RatingOut.model_validate({
        "id": answer.id, "ticket_id": answer.ticket_id, "resolution": answer.resolution, "rating": answer.rating,
        "comment": answer.comment, "via": answer.via, "rated_by": answer.rated_by, "queue_id": answer.queue_id,
        "assignee_id": answer.assignee_id, "rated_at": answer.rated_at})


@router.post("/tickets/{ticket_id}/satisfaction", status_code=201, response_model=RatingOut,
             responses=_EITHER_WAY_ANSWERS, openapi_extra=_EITHER_WAY,
             summary="Rate a resolved ticket (once per resolution): by the customer's signed link, or with a token")
def rate_ticket(
    ticket_id: uuid.UUID, body: RatingIn, request: Request, session: DbSession,
    resolution: Annotated[int | None, Query(ge=1, le=1_000_000, description=(
        "Which resolution is rated (the link's); with a token, default the latest."))] = None,
    signature: Annotated[str | None, Query(min_length=1, max_length=128, description=(
        "The signed link's signature; with it no login is needed."))] = None,
) -> RatingOut:
    if signature is not None:
        secret = rules.link_secret(request.app.state.settings)
        ticket = service.find_ticket_or_none(session, ticket_id)
        # An unknown ticket, or a link cut short of its resolution, answers as a forged link does: a link must
        # not tell which ids exist.
        if ticket is None or resolution is None or not rules.signature_valid(
                secret, ticket.tenant_id, ticket.id, resolution, signature):
            raise Forbidden("The link's signature is not valid for this ticket and resolution.")
        answer = service.rate(session, ticket, resolution=resolution, rating=body.rating, comment=body.comment,
                              via="link", rated_by="customer")
    else:
        who = principal_of(request)
        if not who.allows(contract.WRITE_SCOPE):
            raise Forbidden(f"This operation needs the scope(s): {contract.WRITE_SCOPE}.")
        ticket = service.find_ticket(session, who.tenant, ticket_id)
        answer = service.rate(session, ticket, resolution=resolution, rating=body.rating, comment=body.comment,
                              via="api", rated_by=who.subject)
    return rating_out(answer)


@router.get("/tickets/{ticket_id}/satisfaction", response_model=Page[RatingOut],
            summary="The ticket's satisfaction answers, one per rated resolution")
def list_ratings(ticket_id: uuid.UUID, who: Reader, session: DbSession, page: Paging) -> Page[RatingOut]:
    rows = service.answers(session, who.tenant, ticket_id, page)
    return Page[RatingOut](items=[rating_out(a) for a in rows[:page.limit]],
                           next_cursor=next_cursor([a.id for a in rows], page.limit))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@router.get("/service-stats", response_model=ServiceStats,
            summary="Service figures per queue, agent, value tier or period: CSAT, response and resolution times, "
                    "breach rate")
def service_stats(
    who: Reader, session: DbSession,
    group_by: Annotated[GroupBy, Query(description="queue, agent, tier (the customer's value tier) or period")] = "queue",
    period: Annotated[Period, Query(description="The period's length, for group_by=period")] = "week",
    start: Annotated[Timestamp | None, Query(alias="from", description="Tickets created from (default: to - 30 days)")] = None,
    end: Annotated[Timestamp | None, Query(alias="to", description="... up to, exclusive (default: now)")] = None,
) -> ServiceStats:
    try:
        upper = _utc(end) if end is not None else datetime.now(timezone.utc)
        lower = _utc(start) if start is not None else upper - DEFAULT_WINDOW
    except (OverflowError, ValueError) as exc:
        raise InvalidInput.on("from" if start is None else "to", "out of the range of dates") from exc
    if lower >= upper:
        raise InvalidInput.on("to", "must be after from")
    if upper - lower > rules.MAX_WINDOW:
        raise InvalidInput.on("to", f"at most {rules.MAX_WINDOW.days} days after from")
    groups = service.service_stats(session, who.tenant, start=lower, end=upper, group_by=group_by, period=period)
    return ServiceStats(group_by=group_by, period=period if group_by == "period" else None, start=lower, end=upper,
                        groups=[GroupFigures.model_validate(g) for g in groups])
