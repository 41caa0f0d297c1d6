"""The routing rules: which team a lead goes to, and which member of the team takes it. Plain Python, tested directly.

A rule's conditions are lists of accepted values (``countries``, ``regions``,
``industries``, ``tiers``, ``sources``) and a company size range (``employees_min``,
``employees_max``); a lead matches a rule when it meets every condition the rule sets
(an unset condition accepts any lead, a set one refuses a lead that does not say).
The first matching rule, in position order, chooses the team.

Within the team, a member can take a lead while available and below capacity (their
open leads, new or working, counted). ``round_robin`` takes turns in member order,
starting after the member who got the previous lead; ``least_loaded`` gives it to the
member with the fewest open leads (ties in member order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROUND_ROBIN, LEAST_LOADED = "round_robin", "least_loaded"
STRATEGIES: tuple[str, ...] = (ROUND_ROBIN, LEAST_LOADED)
LIST_CONDITIONS: dict[str, str] = {
    "countries": "country", "regions": "region", "industries": "industry", "tiers": "customer_tier",
    "sources": "source",
}


@dataclass(frozen=True)
class Member:
    owner: str
    capacity: int
    available: bool
    load: int

    @property
    def can_take(self) -> bool:
        return self.available and self.load < self.capacity


def _folded(value: Any) -> str:
    return str(value).strip().casefold()


def prepared(conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The conditions with each list of accepted values folded once, for a rule tried on many leads."""
    return {name: frozenset(_folded(v) for v in value) if name in LIST_CONDITIONS and value else value
            for name, value in conditions.items()}


def matches(conditions: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether a lead's facts (country, region, industry, employees, customer_tier, source) meet every condition."""
    for condition, field in LIST_CONDITIONS.items():
        accepted = conditions.get(condition) or ()
        if not accepted:
            continue
        folded = accepted if isinstance(accepted, frozenset) else {_folded(a) for a in accepted}
        if facts.get(field) is None or _folded(facts[field]) not in folded:
            return False
    low, high = conditions.get("employees_min"), conditions.get("employees_max")
    if low is not None or high is not None:
        employees = facts.get("employees")
        if employees is None or (low is not None and employees < low) or (high is not None and employees > high):
            return False
    return True


def choose_rule(rules: Sequence[tuple[Mapping[str, Any], str]], facts: Mapping[str, Any]) -> str | None:
    """The team of the first rule (``(conditions, team)``, in order) the lead matches; None when none does."""
    for conditions, team in rules:
        if matches(conditions, facts):
            return team
    return None


def choose_member(members: Sequence[Member], strategy: str, last_owner: str | None) -> str | None:
    """Who takes the team's next lead, or None when nobody can (the lead waits in the team's queue)."""
    ordered = sorted(members, key=lambda m: m.owner)
    takers = [m for m in ordered if m.can_take]
    if not takers:
        return None
    if strategy == LEAST_LOADED:
        return min(takers, key=lambda m: m.load).owner  # min keeps the first of equals: member order
    after = [m for m in takers if last_owner is not None and m.owner > last_owner]
    return (after or takers)[0].owner


def assign_queue(queued: int, members: Sequence[Member], strategy: str,
                 last_owner: str | None) -> list[str]:
    """The owners the first ``queued`` waiting leads go to, in queue order, as far as capacity goes."""
    current = {m.owner: m for m in members}
    owners: list[str] = []
    for _ in range(queued):
        owner = choose_member(list(current.values()), strategy, last_owner)
        if owner is None:
            break
        owners.append(owner)
        member = current[owner]
        current[owner] = Member(member.owner, member.capacity, member.available, member.load + 1)
        last_owner = owner
    return owners


def check_employees_range(conditions: Mapping[str, Any]) -> str | None:
    """A message when the size range is empty (min above max), else None."""
    low, high = conditions.get("employees_min"), conditions.get("employees_max")
    if low is not None and high is not None and low > high:
        return "must not be below employees_min"
    return None
