"""The view builder: every domain event of every service, applied to the unified customer view.

For each event about a customer it records the fact the event states (if newer than
what is known), adds the interaction to the timeline, recomputes the KPIs and, once
the customer's profile is known, appends the new view version to the outbox of the
compacted view topic, all in the consumer's transaction. Organizations above the
customer get their group totals recomputed and republished too.

Determinism is the point: the version counts applied events, ``as_of`` is the latest
event time, and KPIs are functions of facts, so the final view does not depend on
the order events from different topics arrived in, and a rebuild from Kafka comes
out identical.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.view import repository, rules
from services.customer.view.tables import CustomerView
from shared.consumer import ConsumerSpec, Delivery
from shared.envelope import CloudEvent, dumps
from shared.outbox import append_event

log = logging.getLogger(__name__)

MAX_GROUP_DEPTH = 20
# A merge marker's as-of before any of the customer's own events is known.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
TENANT_EVENTS = contract.TENANT_EVENTS
MERGED, UNMERGED = contract.CUSTOMER_MERGED.name, contract.CUSTOMER_UNMERGED.name
# After these the customer is gone: the view forgets everything and publishes a tombstone.
GONE = frozenset({contract.CUSTOMER_DELETED.name, contract.CUSTOMER_ERASED.name})


def apply_to_view(session: Session, delivery: Delivery) -> None:
    event = delivery.event
    assert event is not None  # this consumer does not take tombstones
    if event.type in TENANT_EVENTS:
        return  # about the tenant's settings, not about any one customer
    fact = None
    if event.service != "customer":
        fact = rules.fact_from_event(event)
        if fact is None:
            return  # e.g. a campaign was created: nothing about any one customer
    subject = _view_for(session, event)
    if subject is None or subject.removed_at is not None:
        return
    if event.type in GONE:
        _forget(session, subject, event)
        return
    if event.service == "customer":
        _take_profile(subject, event)
    view, on_behalf_of = subject, None
    if subject.merged_into is not None:
        # Late news about a merged-away customer belongs to the survivor now; the customer's own
        # as-of time still moves, to be right again if an unmerge brings the customer back.
        on_behalf_of, view = subject.merged_into, repository.get_view(session, subject.merged_into) or subject
        subject.updated_at = max(subject.updated_at, event.time)
        if view.removed_at is not None:
            return  # the survivor was erased or deleted, and with it everything merged into it
    left: CustomerView | None = None
    if fact is not None:
        if rules.is_newer(fact.sequence, repository.known_fact_sequence(session, fact)):
            previous = repository.save_fact(session, event.tenant, fact)
            left = repository.get_view(session, previous) if previous is not None else None
    if event.type == MERGED:
        _fold(session, view, event)
    elif event.type == UNMERGED:
        _unfold(session, event)
    repository.add_timeline_entry(session, event.tenant, rules.timeline_entry(event), on_behalf_of=on_behalf_of)
    _record(view, event, moves_as_of=on_behalf_of is None)
    _recompute(session, view, event.tenant)
    if left is not None and left.removed_at is None and left.merged_into is None and left is not view:
        # The fact moved away (an unmerge gave it back): the customer it left must not keep counting it.
        _record(left, event, applied_here=False, moves_as_of=False)
        _recompute(session, left, event.tenant)
    for ancestor in _ancestors(session, view):
        _record(ancestor, event, applied_here=False)
        _recompute(session, ancestor, event.tenant)


@contextmanager
def read_ahead(session: Session, batch: list[CloudEvent]) -> Iterator[None]:
    """The views and facts a batch will touch, in a few queries instead of several per event.

    A rebuild and a busy consumer apply hundreds of events per transaction; without this,
    each event's lookups are round trips that first flush the previous event's writes.
    """
    customer_ids: set[uuid.UUID] = set()
    fact_keys: set[repository.FactKey] = set()
    for event in batch:
        if event.type in TENANT_EVENTS:
            continue
        with suppress(ValueError):  # the handler itself rejects a subject that is not an id
            customer_ids.add(uuid.UUID(event.subject))
        if event.type in (MERGED, UNMERGED):
            with suppress(KeyError, ValueError):
                customer_ids.update(_ids(event.data, "merged_ids" if event.type == MERGED else "restored_ids"))
        if event.service != "customer":
            with suppress(Exception):  # likewise: a malformed event fails in the handler, alone
                fact = rules.fact_from_event(event)
                if fact is not None:
                    fact_keys.add(repository.fact_key(fact))
    with repository.reading_ahead(session, customer_ids, fact_keys):
        session.info[_UNPUBLISHED] = {}
        try:
            yield
            _publish_batch(session)
        finally:
            session.info.pop(_UNPUBLISHED, None)


# Within a batch, the views recomputed and not yet published (customer id -> tenant and view). A customer
# several events of one batch are about publishes its view once, as the last of them left it: every version
# in between would be overwritten on the compacted topic anyway, after costing a document, an outbox row, a
# relay and an apply in each replica. Its version still counts every event.
_UNPUBLISHED = "view.unpublished"


def _publish_batch(session: Session) -> None:
    for tenant, view in session.info[_UNPUBLISHED].values():
        if view.profile is not None and view.merged_into is None:
            _publish_view(session, tenant, view)


def _fold(session: Session, survivor: CustomerView, event: CloudEvent) -> None:
    """The merged-away customers' views disappear into the survivor's: history and version count move over.

    Their facts follow when the owning services re-point their records (their events name the survivor).
    """
    for merged_id in _ids(event.data, "merged_ids"):
        merged = repository.get_view(session, merged_id)
        if merged is None:
            # The merge overtook the duplicate's own events: the marker makes them follow it when they come.
            merged = _empty_view(merged_id, event.tenant, updated_at=NEVER)
            repository.add_view(session, merged)
        if merged.customer_id == survivor.customer_id or merged.removed_at is not None:
            continue
        repository.fold_timeline(session, merged_id, survivor.customer_id)
        survivor.version += merged.version
        # Counters and KPIs go; the profile and its sequence stay (hidden) so that whichever of an
        # unmerge and the customer's own later events is read first, the newest profile comes back.
        merged.merged_into = survivor.customer_id
        merged.kpis, merged.source_sequences, merged.parent_id, merged.version = {}, {}, None, 0
        merged.document = None
        _tombstone(session, event.tenant, str(merged_id))


def _unfold(session: Session, event: CloudEvent) -> None:
    restored_docs = {str(doc["id"]): doc for doc in event.data.get("restored", [])}
    for restored_id in _ids(event.data, "restored_ids"):
        restored = repository.get_view(session, restored_id)
        if restored is None or restored.removed_at is not None:
            continue
        repository.unfold_timeline(session, restored_id)
        restored.merged_into = None
        document = restored_docs.get(str(restored_id))
        if document is not None and rules.is_newer(event.sequence, restored.profile_sequence):
            restored.profile, restored.profile_sequence = profile_of(document, restored.profile), event.sequence
        restored.parent_id = _parent_of(restored.profile) if restored.profile else None
        _record(restored, event, applied_here=False, moves_as_of=False)
        _recompute(session, restored, event.tenant)


def _view_for(session: Session, event: CloudEvent) -> CustomerView | None:
    """The view the event belongs to (created empty if new); None if another tenant owns it."""
    customer_id = uuid.UUID(event.subject)
    view = repository.get_view(session, customer_id)
    if view is None:
        view = _empty_view(customer_id, event.tenant, updated_at=event.time)
        repository.add_view(session, view)
    elif view.tenant_id != event.tenant:
        log.warning("ignoring %s %s: tenant %s does not own customer %s", event.type, event.id, event.tenant, customer_id)
        return None
    return view


def _empty_view(customer_id: uuid.UUID, tenant: str, *, updated_at: datetime) -> CustomerView:
    return CustomerView(customer_id=customer_id, tenant_id=tenant, version=0, profile=None, profile_sequence=None,
                        kpis={}, source_sequences={}, updated_at=updated_at, parent_id=None, removed_at=None,
                        merged_into=None, document=None)


def _take_profile(view: CustomerView, event: CloudEvent) -> None:
    """The newest customer document wins, whatever order the partitions were read in."""
    if event.type == contract.CUSTOMER_CLASSIFIED.name:
        _take_classification(view, event)
        return
    if event.type == contract.CONSENT_CHANGED.name:
        _take_consent(view, event)
        return
    document = event.data.get("customer")
    if document is None or not rules.is_newer(event.sequence, view.profile_sequence):
        return
    view.profile, view.profile_sequence = profile_of(document, view.profile), event.sequence
    view.parent_id = _parent_of(view.profile) if view.merged_into is None else None


def _take_consent(view: CustomerView, event: CloudEvent) -> None:
    """The status the customer master recorded last on one channel; its history and wording stay there.

    A customer's consent events and documents share its partition, so they arrive in the order
    the master wrote them; an older sequence is a replay of what the view already holds.
    """
    if view.profile is None or not rules.is_newer(event.sequence, view.profile_sequence):
        return
    consent = dict(view.profile.get("consent") or rules.NO_CONSENT)
    consent[str(event.data["channel"])] = str(event.data["status"])
    view.profile = view.profile | {"consent": consent}
    view.profile_sequence = event.sequence


def _take_classification(view: CustomerView, event: CloudEvent) -> None:
    """A group or tier that moved without a profile change (new rules, a deal won) shows in the view too."""
    if view.profile is None or not rules.is_newer(event.sequence, view.profile_sequence):
        return
    view.profile = view.profile | {"customer_group": event.data["customer_group"], "value_tier": event.data["value_tier"]}
    view.profile_sequence = event.sequence


def profile_of(customer: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a view keeps of a customer document: all but its version and times, when it became a customer,
    and the consent per channel, which no document carries (consent events do): kept from ``previous``."""
    return {name: value for name, value in customer.items() if name not in ("version", "created_at", "updated_at")} | {
        "customer_since": customer.get("created_at"),
        "consent": dict((previous or {}).get("consent") or rules.NO_CONSENT),
    }


def _parent_of(profile: dict[str, Any]) -> uuid.UUID | None:
    parent = profile.get("parent_id")
    return uuid.UUID(parent) if parent else None


def _record(view: CustomerView, event: CloudEvent, *, applied_here: bool = True, moves_as_of: bool = True) -> None:
    """One more applied event: a new version; its sequence is noted where it was applied.

    Only the view's own events move its as-of time: a subsidiary's, a moved fact's or a
    merged-away customer's late event do not, so the time does not depend on read order.
    """
    view.version += 1
    if applied_here and moves_as_of:
        view.updated_at = max(view.updated_at, event.time)
    if applied_here:
        sequences = dict(view.source_sequences)
        sequences[event.service] = max(sequences.get(event.service, 0), event.sequence)
        view.source_sequences = sequences


def _recompute(session: Session, view: CustomerView, tenant: str) -> None:
    credit_limit = (view.profile or {}).get("credit_limit")
    kpis = rules.compute_kpis(repository.facts_of(session, view.customer_id), view.updated_at, credit_limit)
    subsidiaries = _descendants(session, view) if _may_have_subsidiaries(view) else []
    if subsidiaries:
        kpis["group"] = rules.group_totals(kpis, [_own(s.kpis) for s in subsidiaries])
    view.kpis = kpis
    if view.profile is not None and view.merged_into is None:
        unpublished = session.info.get(_UNPUBLISHED)
        if unpublished is not None:
            unpublished[view.customer_id] = (tenant, view)
        else:
            _publish_view(session, tenant, view)


def _publish_view(session: Session, tenant: str, view: CustomerView) -> None:
    document = repository.view_document(view)
    view.document = dumps(document)
    _publish(session, tenant, document)


def _may_have_subsidiaries(view: CustomerView) -> bool:
    # Only organizations can be parents; a person's view skips the query (most views are persons').
    return view.profile is None or view.profile.get("kind") != "person"


def _own(kpis: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in kpis.items() if name != "group"}


def _descendants(session: Session, view: CustomerView) -> list[CustomerView]:
    found: list[CustomerView] = []
    frontier, seen = [view.customer_id], {view.customer_id}
    for _ in range(MAX_GROUP_DEPTH):
        children = [c for parent in frontier for c in repository.subsidiaries_of(session, parent) if c.customer_id not in seen]
        if not children:
            break
        found += children
        seen.update(c.customer_id for c in children)
        frontier = [c.customer_id for c in children]
    return found


def _ancestors(session: Session, view: CustomerView) -> list[CustomerView]:
    found: list[CustomerView] = []
    seen = {view.customer_id}
    parent_id = view.parent_id
    while parent_id is not None and parent_id not in seen and len(found) < MAX_GROUP_DEPTH:
        parent = repository.get_view(session, parent_id)
        if parent is None or parent.tenant_id != view.tenant_id:
            break
        found.append(parent)
        seen.add(parent_id)
        parent_id = parent.parent_id
    return found


def _forget(session: Session, view: CustomerView, event: CloudEvent) -> None:
    ancestors = _ancestors(session, view)
    repository.forget_view(session, view, event.time)
    _tombstone(session, event.tenant, str(view.customer_id))
    for ancestor in ancestors:
        _record(ancestor, event, applied_here=False)
        _recompute(session, ancestor, event.tenant)


def _ids(data: dict[str, Any], key: str) -> list[uuid.UUID]:
    return [uuid.UUID(str(value)) for value in data[key]]


def _publish(session: Session, tenant: str, view: dict[str, Any]) -> None:
    # The view document is built from JSON (profile, stored facts) and strings: plain JSON already,
    # and the hottest write of the system, so it is not run through its payload model here.
    append_event(session, topic=contract.VIEW_UPDATED.topic.name, event_type=contract.VIEW_UPDATED.name,
                 subject=view["customer_id"], tenant=tenant, data=view, flush=False, plain_json=True)


def _tombstone(session: Session, tenant: str, customer_id: str) -> None:
    """Compaction then forgets the customer on the view topic."""
    unpublished = session.info.get(_UNPUBLISHED)
    if unpublished is not None:
        unpublished.pop(uuid.UUID(customer_id), None)  # what the batch recomputed before is gone with it
    append_event(session, topic=contract.VIEW_UPDATED.topic.name, event_type=contract.VIEW_UPDATED.name,
                 subject=customer_id, tenant=tenant, data=None, flush=False)


VIEW = ConsumerSpec(name="view", topics=[topic.name for topic in contract.DOMAIN_TOPICS], handle=apply_to_view,
                    prepare=read_ahead)
