"""Routing rules, plain Python: which queue a new ticket goes to.

Queues are tried in routing order (``position``, then id); the first whose ``match`` the ticket meets wins.
Each condition of a match is a list; an absent or empty list matches any ticket, a non-empty one only a
ticket that states one of its values (a ticket without a language, a product or a known value tier does not
meet a condition on it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput

MATCH_FIELDS = ("types", "channels", "languages", "product_ids", "value_tiers")
ASSIGNMENTS = ("round_robin", "least_loaded")


@dataclass(frozen=True)
class TicketFacts:
    """What routing looks at: the ticket's own fields and its customer's value tier from the view replica."""

    type: str
    channel: str
    language: str | None
    product_id: str | None
    value_tier: str | None


@dataclass(frozen=True)
class RoutingRule:
    queue_id: uuid.UUID
    position: int
    match: Mapping[str, Sequence[str]]


def speaks(languages: Iterable[str], language: str) -> bool:
    """``language`` is one of ``languages``, or a variant of one ("de-CH" under "de"); case does not matter."""
    wanted = language.lower()
    return any(wanted == tag.lower() or wanted.startswith(tag.lower() + "-") for tag in languages)


def matches(match: Mapping[str, Sequence[str]], ticket: TicketFacts) -> bool:
    checks: dict[str, tuple[str | None, bool]] = {
        # field: (the ticket's value, whether a language-style prefix match applies)
        "types": (ticket.type, False), "channels": (ticket.channel, False),
        "languages": (ticket.language, True), "product_ids": (ticket.product_id, False),
        "value_tiers": (ticket.value_tier, False),
    }
    for field, (value, by_language) in checks.items():
        wanted = match.get(field) or ()
        if not wanted:
            continue
        if value is None:
            return False
        if not (speaks(wanted, value) if by_language else value in wanted):
            return False
    return True


def first_matching(rules: Iterable[RoutingRule], ticket: TicketFacts) -> uuid.UUID | None:
    """The queue of the first rule in routing order (position, then id) the ticket meets; None if none."""
    for rule in sorted(rules, key=lambda r: (r.position, r.queue_id)):
        if matches(rule.match, ticket):
            return rule.queue_id
    return None


def value_tier_of(view: Mapping[str, Any] | None) -> str | None:
    """The customer's value tier in its replicated unified view (``profile.value_tier``)."""
    profile = (view or {}).get("profile") or {}
    tier = profile.get("value_tier") if isinstance(profile, Mapping) else None
    return str(tier) if tier else None


def refuse_nulls(patch: Mapping[str, Any], *, clearable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A PATCH's fields: null only for a field that can be cleared (the schema offers null for no other)."""
    for name, value in patch.items():
        if value is None and name not in clearable:
            raise InvalidInput.on(name, "cannot be cleared")
    return dict(patch)
