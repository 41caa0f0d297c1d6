"""Satisfaction use cases: the CSAT request on resolution, its one answer, the service figures.

The link secret is a setting; the use cases never reach for settings, so the request is written here on
resolution and the request job (``send_requests``, given the secret by its caller) signs and mails it; the
route checks a link's signature with the same rules before it calls ``rate``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.service_desk import contract
from services.service_desk.customers import repository as customers
from services.service_desk.mail import service as mail
from services.service_desk.satisfaction import repository, rules
from services.service_desk.satisfaction.tables import SatisfactionAnswer, SatisfactionRequest
from services.service_desk.tickets.tables import Ticket
from shared.db import unit_of_work, utcnow
from shared.errors import Conflict, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.settings import Settings

# Requests mailed per transaction of the request job.
BATCH = 200


def ticket_resolved(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """The ticket was resolved (again): ask the customer to rate this resolution."""
    email = ticket.requester_email
    if not email:
        customer = customers.find_customer(session, ticket.tenant_id, ticket.customer_id)
        email = _email_of(customer.view) if customer is not None else None
    repository.add_request(session, SatisfactionRequest(
        id=new_id(), tenant_id=ticket.tenant_id, ticket_id=ticket.id, resolution=ticket.resolutions, email=email,
        requested_at=now, queued_at=None))


def _email_of(view: dict[str, Any]) -> str | None:
    """The customer's primary e-mail address in the view (else the first)."""
    emails = [e for e in (view.get("profile") or {}).get("emails") or [] if isinstance(e, dict) and e.get("address")]
    primary = [e for e in emails if e.get("primary")]
    return str((primary or emails)[0]["address"]) if emails else None


def send_requests(sessions: sessionmaker[Session], *, secret: str, base_url: str) -> int:
    """Queue the e-mail of every request not mailed yet (a request without an address is only marked):
    in batches, each in its own transaction. Returns how many were queued."""
    queued = 0
    while True:
        with unit_of_work(sessions) as session:
            batch = repository.pending_requests(session, BATCH)
            now = utcnow()
            for request, subject, token in batch:
                if request.email:
                    link = rules.rating_link(base_url, secret, request.tenant_id, request.ticket_id,
                                             request.resolution)
                    mail_subject, body = rules.request_mail(subject, token, link)
                    mail.queue_notice(session, request.tenant_id, to=request.email, subject=mail_subject, body=body,
                                      ticket=session.get(Ticket, request.ticket_id))
                    queued += 1
                request.queued_at = now
        if len(batch) < BATCH:
            return queued


def find_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket:
    ticket = repository.ticket_by_id(session, ticket_id)
    if ticket is None or ticket.tenant_id != tenant:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


def find_ticket_or_none(session: Session, ticket_id: uuid.UUID) -> Ticket | None:
    """The ticket of any tenant, for a signed link: its signature, checked by the caller, names the tenant."""
    return repository.ticket_by_id(session, ticket_id)


def rate(session: Session, ticket: Ticket, *, resolution: int | None, rating: int, comment: str | None, via: str,
         rated_by: str, now: datetime | None = None) -> SatisfactionAnswer:
    """Record the one answer to a resolution (the current one unless named) and publish it."""
    which = ticket.resolutions if resolution is None else resolution
    rules.check_ratable(ticket.resolutions, which,
                        which >= 1 and repository.is_answered(session, ticket.tenant_id, ticket.id, which))
    answer = SatisfactionAnswer(
        id=new_id(), tenant_id=ticket.tenant_id, ticket_id=ticket.id, resolution=which, rating=rating,
        comment=comment, via=via, rated_by=rated_by, queue_id=ticket.queue_id, assignee_id=ticket.assignee_id,
        rated_at=now or utcnow())
    if not repository.add_answer(session, answer):
        raise Conflict(f"Resolution {which} of this ticket has already been rated.")
    publish(session, contract.SATISFACTION_RATED, contract.SatisfactionRated(
        ticket_id=ticket.id, customer_id=ticket.customer_id, rating=rating, resolution=which,
        queue_id=ticket.queue_id, assignee_id=ticket.assignee_id, rated_at=answer.rated_at),
        subject=str(ticket.customer_id), tenant=ticket.tenant_id)
    return answer


def answers(session: Session, tenant: str, ticket_id: uuid.UUID, page: PageRequest) -> list[SatisfactionAnswer]:
    """The page's answers in id order, plus one more if there is a next page."""
    find_ticket(session, tenant, ticket_id)
    return repository.answers_of(session, tenant, ticket_id, page)


def service_stats(session: Session, tenant: str, *, start: datetime, end: datetime, group_by: str,
                  period: str) -> list[dict[str, Any]]:
    """The figures of the tickets created in [start, end), per queue, agent, value tier or period."""
    return rules.figures(repository.service_figures(session, tenant, start, end, group_by, period))


def run_request_mail(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The periodic job: mail the waiting satisfaction requests, signed with the desk's link secret."""
    return send_requests(sessions, secret=rules.link_secret(settings),
                         base_url=str(getattr(settings, "public_base_url", "http://127.0.0.1:8000")))
