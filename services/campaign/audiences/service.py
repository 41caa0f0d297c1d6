"""Audience use cases: define, list, read, change and delete audiences, preview who they hold, and keep
their membership current as customers' views change.

An audience's membership is stored (``audience_members``) and kept incrementally: each view version
the replica applies re-evaluates that customer against every audience of its tenant
(``customer_changed``, called in the replica's transaction), and creating or changing an audience
evaluates the tenant's whole replica once. A preview then counts and samples stored rows, whatever
the audience's size. Rules reading the clock (days since the last contact) also change without a
new view: the ``audience-refresh`` job re-evaluates those audiences.

Writers of a tenant's audiences hold its audience lock alone and the replica's re-evaluation holds it
shared, once per consumer batch: a full evaluation sees every view applied before it, and a view
applied after it sees the audience.

Every function works inside the caller's unit of work and never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.campaign.audiences import repository, rules
from services.campaign.audiences.schemas import AudienceIn, RulesPreview
from services.campaign.audiences.tables import Audience
from services.campaign.customers.tables import CustomerReplica
from shared.db import hold_lock, unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.settings import Settings

SAMPLE_SIZE = 20
MAX_STATIC = 100_000


@dataclass(frozen=True)
class Preview:
    """How many customers an audience holds, and the first of them as the replica shows them."""

    count: int
    sample: list[CustomerReplica]
    evaluated_at: datetime


@dataclass(frozen=True)
class Compiled:
    """An audience ready to evaluate views: its predicate and its static list."""

    id: uuid.UUID
    matches: rules.Predicate
    static: frozenset[uuid.UUID]

    def holds(self, customer_id: uuid.UUID, values: rules.Values) -> bool:
        return customer_id in self.static or self.matches(values)


def create_audience(session: Session, tenant: str, body: AudienceIn) -> Audience:
    checked, static = _checked(session, tenant, body)
    _lock_audiences(session, tenant)
    now = utcnow()
    audience = Audience(id=new_id(), tenant_id=tenant, name=body.name, rules=checked.rules if checked else None,
                        static_customer_ids=[str(c) for c in static], clock_dependent=bool(checked and
                                                                                          checked.clock_dependent),
                        evaluated_at=now, version=1, created_at=now, updated_at=now)
    session.add(audience)
    session.flush()
    _evaluate(session, audience, now)
    return audience


def replace_audience(session: Session, tenant: str, audience_id: uuid.UUID, body: AudienceIn) -> Audience:
    """New rules, list or name for an audience; its membership is evaluated again."""
    checked, static = _checked(session, tenant, body)
    _lock_audiences(session, tenant)
    audience = get_audience(session, tenant, audience_id)
    now = utcnow()
    audience.name, audience.rules = body.name, checked.rules if checked else None
    audience.static_customer_ids = [str(c) for c in static]
    audience.clock_dependent = bool(checked and checked.clock_dependent)
    audience.version += 1
    audience.updated_at = now
    _evaluate(session, audience, now)
    return audience


def delete_audience(session: Session, tenant: str, audience_id: uuid.UUID) -> None:
    _lock_audiences(session, tenant)
    audience = get_audience(session, tenant, audience_id)
    repository.forget_audience(session, audience.id)
    session.delete(audience)


def get_audience(session: Session, tenant: str, audience_id: uuid.UUID) -> Audience:
    audience = repository.get_audience(session, tenant, audience_id)
    if audience is None:
        raise NotFound(f"No audience {audience_id}.")
    return audience


def list_audiences(session: Session, tenant: str, page: PageRequest) -> list[Audience]:
    """The page's audiences, plus one more if there is a next page."""
    return repository.list_audiences(session, tenant, page)


def preview(session: Session, tenant: str, audience_id: uuid.UUID, sample_size: int = SAMPLE_SIZE) -> Preview:
    """The stored membership: counted and sampled, not evaluated again."""
    audience = get_audience(session, tenant, audience_id)
    count, ids = repository.counted_sample(session, audience.id, sample_size)
    shown = repository.replicas(session, tenant, set(ids))
    return Preview(count=count, sample=[shown[c] for c in ids if c in shown], evaluated_at=audience.evaluated_at)


def preview_rules(session: Session, tenant: str, body: RulesPreview, sample_size: int = SAMPLE_SIZE) -> Preview:
    """Rules not stored yet, evaluated over the tenant's replica now: what an audience of them would hold."""
    checked = rules.check(body.rules.model_dump(by_alias=True, exclude_none=True))
    matches, now = rules.compile_rules(checked.rules), utcnow()
    count, sample = 0, []
    for customer_id, view in repository.replica_views(session, tenant):
        if matches(rules.values_of(view, now)):
            count += 1
            if len(sample) < sample_size:
                sample.append(customer_id)
    shown = repository.replicas(session, tenant, set(sample))
    return Preview(count=count, sample=[shown[c] for c in sorted(sample) if c in shown], evaluated_at=now)


def member_ids(session: Session, tenant: str, audience_id: uuid.UUID) -> list[uuid.UUID]:
    """Everyone the audience holds now, in customer id order (what a campaign freezes at launch)."""
    return repository.member_ids(session, get_audience(session, tenant, audience_id).id)


def customer_changed(session: Session, customer_id: uuid.UUID, tenant: str | None,
                     view: dict[str, Any] | None) -> None:
    """The replica applied a customer's view (or forgot the customer): the audiences holding it follow.

    Called for every view version the replica applies, so it does no database work a tenant without
    audiences would pay for, and writes only when the membership really changes.
    """
    if tenant is None or view is None:
        repository.leave_all(session, customer_id)
        return
    compiled = _tenant_audiences(session, tenant)
    if not compiled:
        return
    now = utcnow()
    values = rules.values_of(view, now)
    holding = {a.id for a in compiled if a.holds(customer_id, values)}
    held = repository.memberships_of(session, customer_id)
    repository.leave(session, customer_id, held - holding)
    repository.join(session, tenant, customer_id, holding - held, now)


def refresh_clock_dependent(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The ``audience-refresh`` job: audiences whose rules read the clock, evaluated again one by one."""
    with unit_of_work(sessions) as session:
        due = [(a.tenant_id, a.id) for a in repository.clock_dependent_audiences(session)]
    for tenant, audience_id in due:
        with unit_of_work(sessions) as session:
            hold_lock(session, _lock(tenant))
            audience = repository.get_audience(session, tenant, audience_id)
            if audience is not None and audience.clock_dependent:
                _evaluate(session, audience, utcnow())
    return len(due)


# --- helpers ------------------------------------------------------------------------------------


def _lock(tenant: str) -> str:
    return f"campaign.audiences:{tenant}"


def _lock_audiences(session: Session, tenant: str) -> None:
    """A writer's hold on the tenant's audiences; what this unit of work compiled of them is stale now."""
    hold_lock(session, _lock(tenant))
    session.info.pop(_COMPILED, None)


def _checked(session: Session, tenant: str, body: AudienceIn) -> tuple[rules.Checked | None, list[uuid.UUID]]:
    """The rules checked, and the static list without repeats, every customer of it known to the replica."""
    checked = rules.check(body.rules.model_dump(by_alias=True, exclude_none=True)) if body.rules is not None else None
    static = list(dict.fromkeys(body.static_customer_ids))
    if checked is None and not static:
        raise InvalidInput.on("rules", "an audience needs rules, static_customer_ids or both")
    if len(static) > MAX_STATIC:
        raise InvalidInput.on("static_customer_ids", f"at most {MAX_STATIC:,} customers")
    known = repository.known_customers(session, tenant, set(static))
    for index, customer_id in enumerate(static):
        if customer_id not in known:
            raise InvalidInput.on(f"static_customer_ids[{index}]", f"no customer {customer_id} is known to this service")
    return checked, static


def _compiled(audience: Audience) -> Compiled:
    return Compiled(id=audience.id, matches=rules.compile_rules(audience.rules),
                    static=frozenset(uuid.UUID(str(c)) for c in audience.static_customer_ids))


def _evaluate(session: Session, audience: Audience, now: datetime) -> None:
    """The whole replica of the audience's tenant against it, once: its membership from now on."""
    compiled = _compiled(audience)
    holding = [customer_id for customer_id, view in repository.replica_views(session, audience.tenant_id)
               if compiled.holds(customer_id, rules.values_of(view, now))]
    repository.replace_members(session, audience.tenant_id, audience.id, sorted(holding), now)
    audience.evaluated_at = now


# The tenant's audiences compiled once per unit of work: a consumer batch applies many views of a few
# tenants, and each would otherwise load and compile every audience again. The shared lock is taken
# with the first load, so a batch holds it once.
_COMPILED = "campaign.audiences.compiled"


def _tenant_audiences(session: Session, tenant: str) -> list[Compiled]:
    loaded: dict[str, list[Compiled]] = session.info.setdefault(_COMPILED, {})
    if tenant not in loaded:
        hold_lock(session, _lock(tenant), shared=True)
        loaded[tenant] = [_compiled(a) for a in repository.tenant_audiences(session, tenant)]
    return loaded[tenant]
