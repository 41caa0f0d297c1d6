"""Fair assignment, plain Python: which agent of a queue takes its next ticket.

An agent can take a ticket of a queue when they work the queue, are available, have every skill the queue
requires, speak the ticket's language (when the ticket has one and the agent lists languages) and hold fewer
open tickets than their capacity. Among those:

- ``round_robin``: agents in a stable order (their id); the one after the queue's cursor (the agent given
  its last ticket) is next, wrapping round; an agent who cannot take it now is passed over, not owed one.
- ``least_loaded``: the fewest open tickets; then the one longest since their last assignment (never
  assigned first); then id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from services.service_desk.queues.rules import speaks

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Candidate:
    """An agent of the queue as assignment sees them; ``load`` is their open tickets now."""

    id: uuid.UUID
    available: bool
    skills: frozenset[str]
    languages: tuple[str, ...]
    capacity: int
    load: int
    last_assigned_at: datetime | None = None


def can_take(agent: Candidate, *, required_skills: Iterable[str], language: str | None) -> bool:
    if not agent.available or agent.load >= agent.capacity:
        return False
    if not set(required_skills) <= agent.skills:
        return False
    return language is None or not agent.languages or speaks(agent.languages, language)


def choose(agents: Sequence[Candidate], *, strategy: str, required_skills: Iterable[str], language: str | None,
           last_agent_id: uuid.UUID | None) -> uuid.UUID | None:
    """The agent who takes the ticket; None when nobody can (it waits in the queue)."""
    skills = tuple(required_skills)
    able = [a for a in agents if can_take(a, required_skills=skills, language=language)]
    if not able:
        return None
    if strategy == "least_loaded":
        return min(able, key=lambda a: (a.load, a.last_assigned_at or _NEVER, a.id)).id
    ordered = sorted(able, key=lambda a: a.id)
    if last_agent_id is not None:
        for agent in ordered:
            if agent.id > last_agent_id:
                return agent.id
    return ordered[0].id
