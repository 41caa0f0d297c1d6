"""Lead use cases: create (de-duplicated, scored, routed), read, change, qualify, disqualify, convert, take
campaign responses, flag missed first touches, and follow the customers' life cycle.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction and writes the lead's history.

A duplicate is never a second lead: a create whose e-mail, phone or company domain an
open lead already has (or, for a campaign response, whose customer has an open lead)
is folded into that lead — its history records the duplicate, blanks the lead did not
know are filled in, nothing it knew is overwritten — and the answer is that existing
lead with ``duplicate_of`` (HTTP 200, not 201).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.leads import repository, rules
from services.sales.leads.schemas import ConvertIn, LeadCreate, ScoringRulesIn
from services.sales.leads.tables import Lead, LeadHistory, ScoringRuleSet
from services.sales.opportunities import service as opportunities
from services.sales.opportunities.schemas import OpportunityCreate
from services.sales.routing import service as routing
from shared.contract import EventPayload, EventType
from shared.db import unit_of_work, utcnow
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from shared.http import PageRequest
from shared.ids import new_id
from shared.lifecycle import ERASED_TEXT
from shared.outbox import publish
from shared.settings import Settings
from shared.types import check_money

CONTACT_FIELDS = ("email", "phone", "company", "given_name", "family_name", "country", "region", "industry",
                  "employees")
# A lead's personal data: what an erasure of its customer removes.
PERSONAL_FIELDS = ("email", "phone", "given_name", "family_name")
# A queue is handed out this many leads at a time per change that frees capacity.
HAND_OUT_BATCH = 500
OVERDUE_BATCH = 500

# Creates a customer in the customer service from a body, under an idempotency key; returns its id.
NewCustomer = Callable[[dict[str, Any], str], uuid.UUID]


@dataclass(frozen=True)
class Shown:
    """A lead with its customer as the replica knows it, and, answering a create, what it duplicated."""

    lead: Lead
    customer: CustomerReplica | None
    duplicate_of: uuid.UUID | None = None
    matched_on: list[str] = field(default_factory=list)


# --- create --------------------------------------------------------------------------------


class Intake:
    """What creating a lead reads and where it writes: the database as it goes, for one request.

    A bulk import passes its own (``services.sales.lead_import.service.BatchIntake``): the same
    create, reading a whole batch's candidates up front and writing its rows in one go.
    """

    def __init__(self, session: Session, tenant: str) -> None:
        self.session, self.tenant = session, tenant

    def require_customer(self, customer_id: uuid.UUID, wait_seconds: float) -> CustomerReplica:
        return customers.require_customer(self.session, self.tenant, customer_id, wait_seconds=wait_seconds)

    def lock(self, keys: rules.MatchKeys) -> None:
        repository.lock_intake(self.session, self.tenant, whole=False)
        repository.lock_keys(self.session, self.tenant, keys.pairs())

    def customer(self, customer_id: uuid.UUID | None) -> CustomerReplica | None:
        return customers.find_customer(self.session, self.tenant, customer_id) if customer_id else None

    def customer_match(self, keys: rules.MatchKeys) -> tuple[str, uuid.UUID] | None:
        return rules.strongest_match(repository.customers_by_key(self.session, self.tenant, keys))

    def open_lead_match(self, keys: rules.MatchKeys) -> tuple[str, Lead] | None:
        return rules.strongest_match(repository.open_leads_by_key(self.session, self.tenant, keys))

    def open_lead_of_customer(self, customer_id: uuid.UUID) -> Lead | None:
        return repository.open_lead_of_customer(self.session, self.tenant, customer_id)

    def scoring(self) -> list[rules.ScoringRule]:
        return scoring_rules_of(self.session, self.tenant)[0]

    def team_for(self, facts: dict[str, Any]) -> str | None:
        return routing.team_for(self.session, self.tenant, facts)

    def take_owner(self, team: str) -> str | None:
        owners = routing.take_leads(self.session, self.tenant, team, 1)
        return owners[0] if owners else None

    def first_touch_minutes(self, team: str) -> int | None:
        return routing.first_touch_minutes(self.session, self.tenant, team)

    def new_lead(self, **fields: Any) -> Lead:
        return Lead(**fields)

    def add(self, lead: Lead) -> None:
        self.session.add(lead)

    def rekeyed(self, lead: Lead) -> None:
        """A folded duplicate gave the lead new match keys (an intake with an index of its own follows)."""

    def history(self, lead: Lead, action: str, details: dict[str, Any], at: datetime) -> None:
        repository.add_history(self.session, lead, action, details, at)

    def publish(self, action: str | None, lead: Lead, changes: dict[str, Any], *,
                duplicate_of: uuid.UUID | None = None) -> None:
        _publish(self.session, self.tenant, action, lead, changes, duplicate_of=duplicate_of)


def create_lead(session: Session, tenant: str, body: LeadCreate, *, wait_seconds: float = 0.0,
                campaign_id: uuid.UUID | None = None, engaged_at: datetime | None = None,
                intake: Intake | None = None) -> Shown:
    """A new lead, or the open lead it duplicates (``duplicate_of`` set); both scored, a new one routed."""
    intake = intake or Intake(session, tenant)
    if body.email is None and body.phone is None and body.company is None and body.customer_id is None:
        raise InvalidInput.on("email", "a lead needs an e-mail, a phone, a company or a customer_id")
    customer = None
    if body.customer_id is not None:
        # Before anything is written: waiting for the replica may end the session's transaction.
        customer = intake.require_customer(body.customer_id, wait_seconds)
    incoming = body.model_dump(include=set(CONTACT_FIELDS))
    keys = rules.match_keys(body.email, body.phone)
    intake.lock(keys)
    now = utcnow()
    customer_id, matched_by = body.customer_id, None
    if customer_id is None:
        found = intake.customer_match(keys)
        if found is not None:
            matched_by, customer_id = found
            customer = intake.customer(customer_id)
    match = intake.open_lead_match(keys)
    if match is None and customer_id is not None:
        # The customer the lead belongs to (named, or matched) already has an open lead: the same interest.
        existing = intake.open_lead_of_customer(customer_id)
        match = ("customer", existing) if existing is not None else None
    if match is not None:
        kind, existing = match
        fold_duplicate(session, tenant, existing, incoming, matched_on=kind, source=body.source, note=body.note,
                       campaign_id=campaign_id, engaged_at=engaged_at, now=now, intake=intake)
        return Shown(existing, intake.customer(existing.customer_id), duplicate_of=existing.id, matched_on=[kind])
    lead = intake.new_lead(id=new_id(), tenant_id=tenant, status="new", source=body.source, campaign_id=campaign_id,
                           **incoming, email_key=keys.email, phone_key=keys.phone, domain_key=keys.domain, score=0,
                           score_reasons=[], responses=1 if engaged_at else 0, last_engaged_at=engaged_at, team=None,
                           owner=None, queued_at=None, assigned_at=None, first_touch_due_at=None, touched_at=None,
                           overdue_at=None, customer_id=customer_id, opportunity_id=None, reason=None,
                           history_steps=0, version=1, created_at=now, updated_at=now)
    _rescore(session, tenant, lead, customer, now, intake.scoring())
    intake.add(lead)
    details: dict[str, Any] = {"source": body.source}
    if body.note:
        details["note"] = body.note
    if matched_by is not None:
        details["customer_matched_on"] = matched_by
    if campaign_id is not None:
        details["campaign_id"] = str(campaign_id)
    intake.history(lead, "created", details, now)
    owner = _route(intake, lead, customer, now)
    intake.publish(None, lead, {})
    if owner is not None:
        _bump(lead, now)
        intake.publish("assigned", lead, {"owner": {"old": None, "new": owner}})
    return Shown(lead, customer)


def fold_duplicate(session: Session, tenant: str, lead: Lead, incoming: dict[str, Any], *, matched_on: str,
                   source: str, note: str | None, campaign_id: uuid.UUID | None, engaged_at: datetime | None,
                   now: datetime, intake: Intake | None = None) -> None:
    """A duplicate joins the existing lead's history; it fills in only what the lead did not know."""
    intake = intake or Intake(session, tenant)
    filled = rules.fill_blanks(_fields(lead), incoming)
    for name, value in filled.items():
        setattr(lead, name, value)
    _rekey(lead)
    if filled:
        intake.rekeyed(lead)
    if engaged_at is not None:
        _engage(lead, engaged_at)
    details: dict[str, Any] = {"matched_on": matched_on, "source": source,
                               "received": {k: v for k, v in incoming.items() if v is not None}}
    if note:
        details["note"] = note
    if campaign_id is not None:
        details["campaign_id"] = str(campaign_id)
    intake.history(lead, "merged", details, now)
    _rescore(session, tenant, lead, intake.customer(lead.customer_id), now, intake.scoring())
    _bump(lead, now)
    intake.publish("merged", lead, {name: {"old": None, "new": value} for name, value in filled.items()},
                   duplicate_of=lead.id)


# --- read ----------------------------------------------------------------------------------


def get_lead(session: Session, tenant: str, lead_id: uuid.UUID) -> Shown:
    lead = _found(session, tenant, lead_id)
    return Shown(lead, _customer_of(session, tenant, lead))


def list_leads(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    """The page's leads, plus one more if there is a next page."""
    rows = repository.list_leads(session, tenant, page, filters)
    found = customers.find_customers(session, tenant, {r.customer_id for r in rows if r.customer_id is not None})
    return [Shown(r, found.get(r.customer_id) if r.customer_id else None) for r in rows]


def history(session: Session, tenant: str, lead_id: uuid.UUID, page: PageRequest) -> list[LeadHistory]:
    _found(session, tenant, lead_id)
    return repository.history_of(session, tenant, lead_id, page)


# --- change --------------------------------------------------------------------------------


def update_lead(session: Session, tenant: str, lead_id: uuid.UUID, patch: dict[str, Any], *,
                check_version: Callable[[int], None]) -> Shown:
    """Contact fields and the step to ``working``; ``check_version`` refuses a stale change (If-Match)."""
    lead = _found(session, tenant, lead_id)
    check_version(lead.version)
    if "status" in patch and patch["status"] is None:
        raise InvalidInput.on("status", "cannot be cleared")
    if lead.status in ("converted", "disqualified"):
        raise Conflict(f"The lead is {lead.status}; it no longer changes. Allowed from {lead.status}: none.")
    now = utcnow()
    status = patch.pop("status", None)
    changes = rules.diff(_fields(lead), patch)
    if status is not None and status != lead.status:
        rules.check_transition(lead.status, status)
        changes["status"] = {"old": lead.status, "new": status}
    if not changes:
        return Shown(lead, _customer_of(session, tenant, lead))
    for name, change in changes.items():
        setattr(lead, name, change["new"])
    _rekey(lead)
    _touch(lead, now)
    repository.add_history(session, lead, "updated", {"fields": sorted(changes)}, now)
    customer = _customer_of(session, tenant, lead)
    _rescore(session, tenant, lead, customer, now)
    _bump(lead, now)
    _publish(session, tenant, "updated", lead, rules.public_changes(changes))
    return Shown(lead, customer)


def qualify(session: Session, tenant: str, lead_id: uuid.UUID, reason: str | None, *,
            check_version: Callable[[int], None]) -> Shown:
    return _change_status(session, tenant, lead_id, "qualified", reason, check_version)


def disqualify(session: Session, tenant: str, lead_id: uuid.UUID, reason: str, *,
               check_version: Callable[[int], None]) -> Shown:
    return _change_status(session, tenant, lead_id, "disqualified", reason, check_version)


def _change_status(session: Session, tenant: str, lead_id: uuid.UUID, status: str, reason: str | None,
                   check_version: Callable[[int], None]) -> Shown:
    lead = _found(session, tenant, lead_id)
    check_version(lead.version)
    rules.check_transition(lead.status, status)
    now = utcnow()
    old = lead.status
    lead.status, lead.reason = status, reason
    _touch(lead, now)
    repository.add_history(session, lead, "status", {"old": old, "new": status, "reason": reason}, now)
    _bump(lead, now)
    _publish(session, tenant, rules.status_event(status), lead, {"status": {"old": old, "new": status}},
             reason=reason)
    _freed(session, tenant, lead, old)
    return Shown(lead, _customer_of(session, tenant, lead))


# --- convert -------------------------------------------------------------------------------


def convert(session: Session, tenant: str, lead_id: uuid.UUID, body: ConvertIn, *, new_customer: NewCustomer,
            wait_seconds: float = 0.0, by: str | None = None) -> Shown:
    """Link the given or matching customer, or create one, then open the opportunity; the lead records both.

    The customer service is called before anything is written here, under an idempotency
    key derived from the lead: a conversion that fails afterwards rolls back whole, and its
    retry gets the same customer back instead of a second one.
    """
    lead = _found(session, tenant, lead_id)
    if lead.status == "converted":
        raise Conflict("The lead is converted already. Allowed from converted: none.")
    rules.check_transition(lead.status, "converted")
    if body.opportunity is not None:
        check_money(body.opportunity.amount.amount, body.opportunity.amount.currency, "opportunity.amount.amount")
    created = False
    if body.customer_id is not None:
        customer_id = body.customer_id
        customers.require_customer(session, tenant, customer_id, wait_seconds=wait_seconds)
    elif lead.customer_id is not None:
        customer_id = lead.customer_id
    else:
        customer_id = new_customer(rules.customer_body(_fields(lead)), conversion_key(lead.id))
        created = True
    opportunity_id = None
    if body.opportunity is not None:
        deal = OpportunityCreate.model_validate({
            "customer_id": customer_id, "name": body.opportunity.name,
            "amount": body.opportunity.amount.model_dump(mode="json"),
            "expected_close_date": body.opportunity.expected_close_date, "owner": lead.owner, "team": lead.team})
        opened = opportunities.create_opportunity(session, tenant, deal, wait_seconds=wait_seconds,
                                                  require_known_customer=not created, by=by)
        opportunity_id = opened.opportunity.id
    now = utcnow()
    old_status, old_customer = lead.status, lead.customer_id
    lead.status, lead.customer_id, lead.opportunity_id = "converted", customer_id, opportunity_id
    _touch(lead, now)
    repository.add_history(session, lead, "converted", {
        "customer_id": str(customer_id), "customer_created": created,
        "opportunity_id": str(opportunity_id) if opportunity_id else None}, now)
    _bump(lead, now)
    changes: dict[str, dict[str, Any]] = {"status": {"old": old_status, "new": "converted"}}
    if old_customer != customer_id:
        changes["customer_id"] = {"old": str(old_customer) if old_customer else None, "new": str(customer_id)}
    if opportunity_id is not None:
        changes["opportunity_id"] = {"old": None, "new": str(opportunity_id)}
    _publish(session, tenant, "converted", lead, changes)
    _freed(session, tenant, lead, old_status)
    return Shown(lead, customers.find_customer(session, tenant, customer_id))


def conversion_key(lead_id: uuid.UUID) -> str:
    """The Idempotency-Key of the customer a lead's conversion creates: one lead, one customer."""
    return f"lead-conversion-{lead_id}"


def customer_service(base_url: str, authorization: str | None, *, timeout: float = 10.0) -> NewCustomer:
    """Creates customers through the customer service's API, as the caller (their Authorization header)."""

    def create(body: dict[str, Any], key: str) -> uuid.UUID:
        if not base_url:
            raise ServiceUnavailable("No customer service is configured (CRM_CUSTOMER_SERVICE_URL); nothing was "
                                     "converted.", headers={"Retry-After": "30"})
        headers = {"Idempotency-Key": key}
        if authorization:
            headers["Authorization"] = authorization
        try:
            response = httpx.post(f"{base_url.rstrip('/')}/v1/customers", json=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("The customer service cannot be reached; nothing was converted. Retry later.",
                                     headers={"Retry-After": "5"}) from exc
        if response.status_code in (200, 201):
            return uuid.UUID(response.json()["id"])
        if response.status_code in (401, 403):
            raise Forbidden("The customer service refused to create the customer: converting into a new customer "
                            "needs the customers:write scope.")
        if response.status_code in (409, 422):
            detail = _problem_detail(response)
            raise InvalidInput.on("customer_id", f"the customer service refused a customer made from this lead "
                                                 f"({detail}); name an existing customer or correct the lead")
        raise ServiceUnavailable(f"The customer service answered {response.status_code}; nothing was converted. "
                                 "Retry later.", headers={"Retry-After": "5"})

    return create


def _problem_detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.status_code)
    except ValueError:
        return str(response.status_code)


# --- campaign responses --------------------------------------------------------------------

# Responses that show buying interest: they make (or join) a lead; the others count as engagement only.
LEAD_MAKING_RESPONSES = frozenset({"replied", "registered", "converted"})
ENGAGING_RESPONSES = frozenset({"opened", "clicked"})


def take_response(session: Session, tenant: str, *, customer_id: uuid.UUID, campaign_id: uuid.UUID, kind: str,
                  campaign_name: str, occurred_at: datetime) -> Lead | None:
    """A campaign response: interest makes a lead for its customer (or folds into the open one);
    an open or a click adds engagement to the customer's open lead. Returns the lead touched, if any."""
    if kind in LEAD_MAKING_RESPONSES:
        profile = _profile(customers.find_customer(session, tenant, customer_id))
        company = profile.get("organization_name") if profile.get("kind") == "organization" else None
        body = LeadCreate.model_validate({
            "source": "campaign", "customer_id": customer_id, "company": company or None,
            "note": f"{kind} to campaign {campaign_name}"[:2000]})
        shown = create_lead(session, tenant, body, campaign_id=campaign_id, engaged_at=occurred_at)
        return shown.lead
    if kind not in ENGAGING_RESPONSES:
        return None
    lead = repository.open_lead_of_customer(session, tenant, customer_id)
    if lead is None:
        return None
    now = utcnow()
    _engage(lead, occurred_at)
    repository.add_history(session, lead, "engaged", {"kind": kind, "campaign_id": str(campaign_id)}, now)
    old_score = lead.score
    _rescore(session, tenant, lead, _customer_of(session, tenant, lead), now)
    _bump(lead, now)
    _publish(session, tenant, "updated", lead, {"score": {"old": old_score, "new": lead.score}} if old_score != lead.score
             else {"responses": {"old": lead.responses - 1, "new": lead.responses}})
    return lead


# --- routing and queues --------------------------------------------------------------------


def hand_out_queue(session: Session, tenant: str, team: str) -> int:
    """Give the team's waiting leads, oldest first, to the members who can take them now; returns how many."""
    waiting = repository.queued_leads(session, tenant, team, HAND_OUT_BATCH)
    owners = routing.take_leads(session, tenant, team, len(waiting))
    now = utcnow()
    minutes = routing.first_touch_minutes(session, tenant, team)
    for lead, owner in zip(waiting, owners):
        _assign(session, tenant, lead, owner, minutes, now)
    return len(owners)


def _route(intake: Intake, lead: Lead, customer: CustomerReplica | None, now: datetime) -> str | None:
    """Choose the team by the tenant's rules, then the member (returned); nobody free: the lead waits in the
    team's queue. The caller announces the assignment, after the lead's created event."""
    team = intake.team_for(rules.lead_facts(_fields(lead), customer=_profile(customer), now=now))
    if team is None:
        return None
    lead.team = team
    owner = intake.take_owner(team)
    if owner is None:
        lead.queued_at = now
        intake.history(lead, "queued", {"team": team}, now)
        return None
    _hand_to(lead, owner, intake.first_touch_minutes(team), now)
    intake.history(lead, "assigned", {"team": lead.team, "owner": owner}, now)
    return owner


def _assign(session: Session, tenant: str, lead: Lead, owner: str, minutes: int | None, now: datetime) -> None:
    """A queued lead is the owner's now, announced."""
    _hand_to(lead, owner, minutes, now)
    repository.add_history(session, lead, "assigned", {"team": lead.team, "owner": owner}, now)
    _bump(lead, now)
    _publish(session, tenant, "assigned", lead, {"owner": {"old": None, "new": owner}})


def _hand_to(lead: Lead, owner: str, minutes: int | None, now: datetime) -> None:
    """The lead is the owner's; its first-touch time starts."""
    lead.owner, lead.queued_at, lead.assigned_at = owner, None, now
    lead.first_touch_due_at = now + timedelta(minutes=minutes) if minutes else None


def _freed(session: Session, tenant: str, lead: Lead, old_status: str) -> None:
    """A lead that left new/working frees its owner's capacity: the team's queue moves on."""
    if old_status in rules.ACTIVE_STATUSES and lead.status not in rules.ACTIVE_STATUSES:
        if lead.queued_at is not None:
            lead.queued_at = None
        if lead.team is not None:
            hand_out_queue(session, tenant, lead.team)


# --- first-touch SLA -----------------------------------------------------------------------


def flag_overdue(session: Session, now: datetime | None = None) -> int:
    """Flag assigned leads not touched by their team's first-touch time, once each; returns how many."""
    now = now or utcnow()
    flagged = repository.overdue_leads(session, now, OVERDUE_BATCH)
    for lead in flagged:
        lead.overdue_at = now
        repository.add_history(session, lead, "overdue", {"due": lead.first_touch_due_at.isoformat()
                                                          if lead.first_touch_due_at else None}, now)
        _bump(lead, now)
        _publish(session, lead.tenant_id, "overdue", lead, {"overdue": {"old": False, "new": True}})
    return len(flagged)


def run_first_touch_check(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The periodic job: flags in batches until no lead is left to flag."""
    total = 0
    while True:
        with unit_of_work(sessions) as session:
            flagged = flag_overdue(session)
        total += flagged
        if flagged < OVERDUE_BATCH:
            return total


# --- scoring rules -------------------------------------------------------------------------


def scoring_rules_of(session: Session, tenant: str) -> tuple[list[rules.ScoringRule], bool, int]:
    """The tenant's rules, whether they are the defaults, and their version (0 for the defaults)."""
    stored = repository.scoring_rules(session, tenant)
    if stored is None:
        return list(rules.DEFAULT_SCORING), True, 0
    return [_scoring_rule(r) for r in stored.rules], False, stored.version


def replace_scoring_rules(session: Session, tenant: str, body: ScoringRulesIn, *,
                          check_version: Callable[[int], None]) -> tuple[list[rules.ScoringRule], bool, int]:
    """New rules score leads from their next change on; existing scores stay as they were explained."""
    stored = repository.scoring_rules(session, tenant)
    check_version(0 if stored is None else stored.version)
    wanted = [rules.ScoringRule(rule=r.rule, field=r.field, points=r.points, values=tuple(r.values),
                                minimum=r.min, maximum=r.max) for r in body.rules]
    rules.check_scoring_rules(wanted)
    documents = [_scoring_document(r) for r in wanted]
    if stored is None:
        stored = ScoringRuleSet(tenant_id=tenant, rules=documents, version=1, updated_at=utcnow())
        session.add(stored)
    else:
        stored.rules, stored.version, stored.updated_at = documents, stored.version + 1, utcnow()
    return wanted, False, stored.version


def _scoring_rule(document: dict[str, Any]) -> rules.ScoringRule:
    return rules.ScoringRule(rule=document["rule"], field=document["field"], points=int(document["points"]),
                             values=tuple(document.get("values") or ()), minimum=document.get("min"),
                             maximum=document.get("max"))


def _scoring_document(rule: rules.ScoringRule) -> dict[str, Any]:
    return {"rule": rule.rule, "field": rule.field, "points": rule.points, "values": list(rule.values),
            "min": rule.minimum, "max": rule.maximum}


def _rescore(session: Session, tenant: str, lead: Lead, customer: CustomerReplica | None, now: datetime,
             tenant_rules: list[rules.ScoringRule] | None = None) -> None:
    if tenant_rules is None:
        tenant_rules = scoring_rules_of(session, tenant)[0]
    facts = rules.lead_facts(_fields(lead), customer=_profile(customer), now=now)
    lead.score, lead.score_reasons = rules.score(facts, tenant_rules)


# --- the customers' life cycle -------------------------------------------------------------


def follow_customer(session: Session, tenant: str, lead: Lead, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the lead from ``previous`` to another customer."""
    now = utcnow()
    repository.add_history(session, lead, "moved", {"from": str(previous), "to": str(lead.customer_id)}, now)
    _bump(lead, now)
    _publish(session, tenant, "updated", lead, {"customer_id": {"old": str(previous), "new": str(lead.customer_id)}})


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The customer is erased: its leads lose their personal data (and their history its details);
    statuses, scores and the company, which are no one's personal data, stay for the figures."""
    leads = repository.leads_of(session, tenant, customer_id)
    now = utcnow()
    for lead in leads:
        if lead.email is None and lead.phone is None and lead.given_name in (None, ERASED_TEXT) \
                and lead.family_name in (None, ERASED_TEXT):
            continue  # already erased: a redelivery changes nothing
        lead.email = lead.phone = None
        lead.given_name = ERASED_TEXT if lead.given_name else None
        lead.family_name = ERASED_TEXT if lead.family_name else None
        lead.email_key = lead.phone_key = lead.domain_key = None
        _bump(lead, now)
        _publish(session, tenant, "updated", lead, {name: {"erased": True} for name in PERSONAL_FIELDS})
    repository.erase_history(session, tenant, [lead.id for lead in leads])


# --- helpers -------------------------------------------------------------------------------


def _found(session: Session, tenant: str, lead_id: uuid.UUID) -> Lead:
    lead = repository.get_lead(session, tenant, lead_id)
    if lead is None:
        raise NotFound(f"No lead {lead_id}.")
    return lead


def _customer_of(session: Session, tenant: str, lead: Lead) -> CustomerReplica | None:
    return customers.find_customer(session, tenant, lead.customer_id) if lead.customer_id else None


def _profile(customer: CustomerReplica | None) -> dict[str, Any]:
    if customer is None:
        return {}
    profile = (customer.view or {}).get("profile") or {}
    return profile if isinstance(profile, dict) else {}


def _fields(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in (*CONTACT_FIELDS, "source", "responses", "last_engaged_at")}


def _rekey(lead: Lead) -> None:
    keys = rules.match_keys(lead.email, lead.phone)
    lead.email_key, lead.phone_key, lead.domain_key = keys.email, keys.phone, keys.domain


def _engage(lead: Lead, at: datetime) -> None:
    lead.responses += 1
    lead.last_engaged_at = at if lead.last_engaged_at is None else max(lead.last_engaged_at, at)


def _touch(lead: Lead, now: datetime) -> None:
    if lead.touched_at is None:
        lead.touched_at = now


def _bump(lead: Lead, now: datetime) -> None:
    lead.version += 1
    lead.updated_at = now


def _facts(lead: Lead, duplicate_of: uuid.UUID | None = None) -> dict[str, Any]:
    return {"lead_id": lead.id, "status": lead.status, "source": lead.source, "company": lead.company,
            "score": lead.score, "team": lead.team, "owner": lead.owner, "customer_id": lead.customer_id,
            "opportunity_id": lead.opportunity_id, "duplicate_of": duplicate_of, "version": lead.version,
            "campaign_id": lead.campaign_id}


def lead_event(action: str | None, lead: Lead, changes: dict[str, Any], *, reason: str | None = None,
               duplicate_of: uuid.UUID | None = None) -> tuple[EventType, EventPayload, str]:
    """The event of a creation (``action`` None) or a change, with its subject: keyed by the lead's customer
    when it has one, else by the lead."""
    subject = str(lead.customer_id or lead.id)
    if action is None:
        return contract.LEAD_CREATED, contract.LeadReported(**_facts(lead)), subject
    return (contract.LEAD_CHANGED[action],
            contract.LeadChanged(**_facts(lead, duplicate_of), changes=changes, reason=reason), subject)


def _publish(session: Session, tenant: str, action: str | None, lead: Lead, changes: dict[str, Any], *,
             reason: str | None = None, duplicate_of: uuid.UUID | None = None) -> None:
    event_type, payload, subject = lead_event(action, lead, changes, reason=reason, duplicate_of=duplicate_of)
    publish(session, event_type, payload, subject=subject, tenant=tenant)
