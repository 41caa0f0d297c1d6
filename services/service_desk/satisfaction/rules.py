"""Satisfaction's rules, plain Python: the signed link, which resolution may be rated, the service figures.

The link's signature is an HMAC-SHA256 over the tenant, the ticket id and the resolution, keyed with
``DeskSettings.satisfaction_link_secret`` (or else the JWT secret). The secret is a setting, so nothing in the
use cases holds it: the route and the request job pass ``link_secret(settings)`` to these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from shared.errors import Conflict
from shared.settings import Settings

RATINGS = range(1, 6)
GROUPINGS = ("queue", "agent", "tier", "period")
PERIODS = ("day", "week", "month")
# The widest window the figures cover in one request: a bound on what one request reads.
MAX_WINDOW = timedelta(days=366 * 2)


def link_secret(settings: Settings) -> str:
    """The key satisfaction links are signed with: the desk's own secret, else the JWT secret."""
    return str(getattr(settings, "satisfaction_link_secret", "") or settings.jwt_secret)


def sign(secret: str, tenant: str, ticket_id: uuid.UUID, resolution: int) -> str:
    message = f"{tenant}\n{ticket_id}\n{resolution}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(secret: str, tenant: str, ticket_id: uuid.UUID, resolution: int, signature: str) -> bool:
    # Constant time: the comparison must not tell a forger how much of a guess was right.
    return hmac.compare_digest(sign(secret, tenant, ticket_id, resolution).encode(), signature.encode())


def rating_link(base_url: str, secret: str, tenant: str, ticket_id: uuid.UUID, resolution: int) -> str:
    query = urlencode({"resolution": resolution, "signature": sign(secret, tenant, ticket_id, resolution)})
    return f"{base_url.rstrip('/')}/v1/tickets/{ticket_id}/satisfaction?{query}"


def request_mail(ticket_subject: str, token: str, link: str) -> tuple[str, str]:
    """The subject and body of the e-mail asking for a rating."""
    subject = f"[#{token}] How did we do?"
    body = (f"Your request \"{ticket_subject}\" has been resolved.\n\n"
            f"Please tell us how satisfied you are (1 = not at all, 5 = very), here:\n{link}\n\n"
            "Thank you.\n")
    return subject, body


def check_ratable(resolutions: int, resolution: int, answered: bool) -> None:
    """A resolution may be rated once, and only one the ticket has had."""
    if resolutions == 0:
        raise Conflict("The ticket has not been resolved yet: there is nothing to rate.")
    if not 1 <= resolution <= resolutions:
        raise Conflict(f"The ticket has been resolved {resolutions} time(s); resolution {resolution} does not exist.")
    if answered:
        raise Conflict(f"Resolution {resolution} of this ticket has already been rated.")


# --- the service figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFigures:
    """One ticket's part in the figures, as the statement derived it."""

    group: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    breached: bool
    rating_sum: int = 0
    rating_count: int = 0


def period_start(at: datetime, period: str) -> date:
    """The day, the ISO week's Monday, or the month's first day ``at`` falls in (UTC)."""
    day = at.date()
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def figures(tickets: Iterable[TicketFigures]) -> list[dict[str, Any]]:
    """Per group (in the group's order): CSAT (average, count), first-response and resolution minutes (average,
    median), the breach rate (tickets with a breached target / tickets) and the ticket count."""
    groups: dict[str | None, list[TicketFigures]] = {}
    for ticket in tickets:
        groups.setdefault(ticket.group, []).append(ticket)
    out = []
    for group in sorted(groups, key=lambda g: (g is None, g or "")):
        members = groups[group]
        rated = sum(t.rating_count for t in members)
        csat = round(sum(t.rating_sum for t in members) / rated, 2) if rated else None
        first = [_minutes(t.first_response_at, t.created_at) for t in members if t.first_response_at is not None]
        resolved = [_minutes(t.resolved_at, t.created_at) for t in members if t.resolved_at is not None]
        out.append({
            "group": group,
            "tickets": len(members),
            "csat": {"average": csat, "count": rated},
            "first_response_minutes": {"average": _average(first), "median": _median(first), "count": len(first)},
            "resolution_minutes": {"average": _average(resolved), "median": _median(resolved), "count": len(resolved)},
            "breach_rate": round(sum(1 for t in members if t.breached) / len(members), 4),
        })
    return out
