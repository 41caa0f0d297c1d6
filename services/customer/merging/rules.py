"""Rules of merging duplicate customers into one survivor, and of undoing a merge.

Plain Python, tested directly. A record taking part in a merge is a ``Candidate``:
its id, its domain state (see ``customers.rules``), when it last changed and its
current consent status per channel. The rules decide the survivor's new state
field by field and say where every value came from (provenance), refuse merges that
would lose or invent consent, and compute what an unmerge gives back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.customer.consent import rules as consent_rules
from services.customer.customers import rules as customer_rules
from shared.errors import Conflict, InvalidInput

MAX_DUPLICATES = 50

CALLER_CHOICE = "caller_choice"
MOST_RECENT = "most_recent_non_empty"
UNION = "union"
DIRECT = "direct"

# ``kind`` never changes by a merge; every other profile field is decided by the rules below.
MERGED_FIELDS: tuple[str, ...] = tuple(f for f in customer_rules.PROFILE_FIELDS if f != "kind")
UNION_FIELDS = customer_rules.LIST_FIELDS
# Links that must not point into the merge itself (a record cannot become its own parent).
LINK_FIELDS = ("parent_id", "organization_id")
CUSTOM_PREFIX = "custom_fields."


@dataclass(frozen=True)
class Candidate:
    """One record taking part in a merge, as the rules need it."""

    id: str
    state: dict[str, Any]
    updated_at: datetime
    consent: dict[str, str] = field(default_factory=dict)  # channel -> status; missing means unknown


@dataclass(frozen=True)
class MergeOutcome:
    """The survivor's new state, where each of its values came from, and the consent to record on it."""

    state: dict[str, Any]
    provenance: dict[str, dict[str, Any]]
    consent: dict[str, str]  # channel -> status to record on the survivor (only where it changes)


# --- checks -----------------------------------------------------------------------------


def check_participants(survivor_id: str, duplicate_ids: list[str]) -> None:
    """One to MAX_DUPLICATES distinct duplicates, none of them the survivor itself."""
    if not duplicate_ids:
        raise InvalidInput.on("duplicate_ids", "name at least one duplicate")
    if len(duplicate_ids) > MAX_DUPLICATES:
        raise InvalidInput.on("duplicate_ids", f"at most {MAX_DUPLICATES} duplicates per merge")
    if survivor_id in duplicate_ids:
        raise InvalidInput.on("duplicate_ids", "a customer cannot be merged into itself")
    if len(set(duplicate_ids)) != len(duplicate_ids):
        raise InvalidInput.on("duplicate_ids", "each duplicate may be named once")


def check_same_kind(survivor: Candidate, duplicates: list[Candidate]) -> None:
    others = [d.id for d in duplicates if d.state["kind"] != survivor.state["kind"]]
    if others:
        raise InvalidInput.on("duplicate_ids", f"a {survivor.state['kind']} can only be merged with "
                                               f"{survivor.state['kind']}s; not: {', '.join(others)}")


def check_choices(choices: dict[str, str], participants: list[str]) -> None:
    """Each chosen field must be a mergeable field (or one custom field), taken from a participant."""
    for name, source in choices.items():
        known = name in MERGED_FIELDS or (name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX))
        if not known:
            raise InvalidInput.on(f"fields.{name}", "not a field a merge can choose")
        if source not in participants:
            raise InvalidInput.on(f"fields.{name}", f"{source} takes no part in this merge")


def resolve_consent(candidates: list[Candidate], resolution: dict[str, str]) -> dict[str, str]:
    """The consent the survivor ends with per channel, or a refusal.

    Channels where the records disagree must be resolved by the caller (409 otherwise);
    a resolution can never be ``opt_in`` where any record opted out, so a merge never
    opts a customer back in.
    """
    for channel, status in resolution.items():
        if channel not in consent_rules.CHANNELS:
            raise InvalidInput.on(f"consent.{channel}", f"one of {', '.join(consent_rules.CHANNELS)}")
        if status not in consent_rules.STATUSES:
            raise InvalidInput.on(f"consent.{channel}", f"one of {', '.join(consent_rules.STATUSES)}")
        if status == "opt_in" and any(_status(c, channel) == "opt_out" for c in candidates):
            raise InvalidInput.on(f"consent.{channel}", "a record opted out of this channel; a merge never "
                                                        "opts a customer back in")
    conflicts = [channel for channel in consent_rules.CHANNELS
                 if len({_status(c, channel) for c in candidates}) > 1 and channel not in resolution]
    if conflicts:
        raise Conflict(f"The records' consent differs for {', '.join(conflicts)}; resolve it explicitly "
                       f"with \"consent\": {{channel: status}}.",
                       errors=[{"field": f"consent.{c}", "message": "records disagree: " + ", ".join(
                           sorted({f"{x.id}={_status(x, c)}" for x in candidates}))} for c in conflicts])
    survivor = candidates[0]
    return {channel: status for channel, status in resolution.items() if _status(survivor, channel) != status}


def _status(candidate: Candidate, channel: str) -> str:
    return candidate.consent.get(channel, consent_rules.UNKNOWN)


# --- survivorship -----------------------------------------------------------------------


def merge(survivor: Candidate, duplicates: list[Candidate], choices: dict[str, str], consent: dict[str, str],
          now: datetime) -> MergeOutcome:
    """The survivor's state after folding the duplicates in.

    Per field: the caller's choice if any; lists (e-mails, phones, addresses, tags) are
    unioned with the survivor's entries first, so its primary stays primary; every
    other field takes the most recent non-empty value (by the records' ``updated_at``).
    Custom fields are decided one by one.
    """
    everyone = [survivor, *duplicates]
    check_choices(choices, [c.id for c in everyone])
    check_same_kind(survivor, duplicates)
    resolved = resolve_consent(everyone, consent)
    by_id = {c.id: c for c in everyone}
    group = {c.id for c in everyone}
    newest_first = sorted(everyone, key=lambda c: c.updated_at, reverse=True)
    state: dict[str, Any] = {"kind": survivor.state["kind"]}
    provenance: dict[str, dict[str, Any]] = {}
    for name in MERGED_FIELDS:
        if name == "custom_fields":
            state[name], custom = _custom_fields(newest_first, by_id, choices, now)
            provenance.update(custom)
        elif name in choices:
            state[name] = by_id[choices[name]].state.get(name)
            provenance[name] = _origin(choices[name], CALLER_CHOICE, now)
        elif name in UNION_FIELDS:
            state[name], sources = _union(name, everyone)
            provenance[name] = _origin(survivor.id, UNION, now) | {"sources": sources}
        else:
            source = _most_recent(name, newest_first, group)
            state[name] = None if source is None else source.state.get(name)
            provenance[name] = _origin(source.id if source else survivor.id, MOST_RECENT, now)
    customer_rules.check_identity(state)
    return MergeOutcome(state=state, provenance=provenance, consent=resolved)


def _origin(source: str, rule: str, at: datetime) -> dict[str, Any]:
    return {"source": source, "rule": rule, "at": at.isoformat()}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _most_recent(name: str, newest_first: list[Candidate], group: set[str]) -> Candidate | None:
    for candidate in newest_first:
        value = candidate.state.get(name)
        if _empty(value) or (name in LINK_FIELDS and value in group):
            continue  # a link into the merge itself would point at a merged-away record or at the survivor
        return candidate
    return None


def _union(name: str, everyone: list[Candidate]) -> tuple[list[Any], list[str]]:
    """The survivor's entries first (its primary stays primary), then each duplicate's not yet present."""
    items: list[Any] = []
    sources: list[str] = []
    for index, candidate in enumerate(everyone):
        values = candidate.state.get(name) or []
        if values:
            sources.append(candidate.id)
        if name == "tags":
            items += list(values)
        else:
            # Only the survivor's primary survives as primary.
            items += [dict(v) | ({} if index == 0 else {"primary": False}) for v in values]
    if name == "tags":
        return customer_rules.tags(items), sources
    if name == "addresses":
        return customer_rules.addresses(items), sources
    return customer_rules.contact_points(items, "address" if name == "emails" else "number"), sources


def _custom_fields(newest_first: list[Candidate], by_id: dict[str, Candidate], choices: dict[str, str],
                   now: datetime) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    values: dict[str, Any] = {}
    provenance: dict[str, dict[str, Any]] = {}
    whole = choices.get("custom_fields")
    names = sorted({n for c in newest_first for n in (c.state.get("custom_fields") or {})})
    for name in names:
        key = CUSTOM_PREFIX + name
        chosen = choices.get(key, whole)
        if chosen is not None:
            value = (by_id[chosen].state.get("custom_fields") or {}).get(name)
            if value is not None:
                values[name] = value
                provenance[key] = _origin(chosen, CALLER_CHOICE, now)
            continue
        for candidate in newest_first:
            value = (candidate.state.get("custom_fields") or {}).get(name)
            if not _empty(value):
                values[name] = value
                provenance[key] = _origin(candidate.id, MOST_RECENT, now)
                break
    return values, provenance


# --- unmerge ----------------------------------------------------------------------------


def unmerged_survivor(before: dict[str, Any], after_merge: dict[str, Any], current: dict[str, Any]) -> tuple[
        dict[str, Any], list[str]]:
    """The survivor's state after undoing a merge, and the fields kept because they changed since.

    A field still holding what the merge gave it goes back to its value before the merge;
    a field changed since keeps its current value (that change was made on purpose).
    Custom fields are judged one by one.
    """
    state = dict(current)
    kept: list[str] = []
    for name in MERGED_FIELDS:
        if name == "custom_fields":
            state[name], kept_custom = _unmerged_custom(before.get(name) or {}, after_merge.get(name) or {},
                                                        current.get(name) or {})
            kept += kept_custom
        elif current.get(name) == after_merge.get(name):
            state[name] = before.get(name)
        else:
            kept.append(name)
    return state, kept


def _unmerged_custom(before: dict[str, Any], after_merge: dict[str, Any], current: dict[str, Any]) -> tuple[
        dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    kept: list[str] = []
    for name in sorted(before.keys() | after_merge.keys() | current.keys()):
        if current.get(name) == after_merge.get(name):
            value = before.get(name)
        else:
            value = current.get(name)
            kept.append(CUSTOM_PREFIX + name)
        if value is not None:
            values[name] = value
    return values, kept


# --- provenance -------------------------------------------------------------------------


def provenance(customer_id: str, state: dict[str, Any], updated_at: datetime,
               merges: list[tuple[dict[str, Any], dict[str, dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """Where each of the customer's current values came from.

    ``merges``: (state right after the merge, its provenance) of the customer's merges
    still in effect, newest first. A value still equal to what a merge set comes from
    that merge; anything else was written directly on the customer.
    """
    direct = _origin(customer_id, DIRECT, updated_at)
    out: dict[str, dict[str, Any]] = {}
    names = [n for n in MERGED_FIELDS if n != "custom_fields"]
    names += [CUSTOM_PREFIX + n for n in sorted(state.get("custom_fields") or {})]
    for name in names:
        out[name] = direct
        for after_merge, origins in merges:
            if name in origins and _value(after_merge, name) == _value(state, name):
                out[name] = origins[name]
                break
    return out


def _value(state: dict[str, Any], name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (state.get("custom_fields") or {}).get(name[len(CUSTOM_PREFIX):])
    return state.get(name)
