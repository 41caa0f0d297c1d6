"""Satisfaction's rules, plain Python: the signed link, which resolution may be rated, the service figures.

The link's signature is an HMAC-SHA256 over the tenant, the ticket id and the resolution, keyed with
``DeskSettings.satisfaction_link_secret`` (or else the JWT secret). The secret is a setting, so nothing in the
use cases holds it: the route and the request job pass ``link_secret(settings)`` to these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
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
class GroupRow:
    """One group's sums, counts, averages and medians as the database computed them (minutes)."""

    group: str | None
    tickets: int
    breached: int
    rating_sum: int
    rating_count: int
    first_average: float | None
    first_median: float | None
    first_count: int
    resolved_average: float | None
    resolved_median: float | None
    resolved_count: int


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures(rows: Iterable[GroupRow]) -> list[dict[str, Any]]:
    """Per group (by group, none last): CSAT (average, count), first-response and resolution minutes (average,
    median), the breach rate (tickets with a breached target / tickets) and the ticket count."""
    out = []
    for row in sorted(rows, key=lambda r: (r.group is None, r.group or "")):
        out.append({
            "group": row.group,
            "tickets": row.tickets,
            "csat": {"average": _rounded(row.rating_sum / row.rating_count) if row.rating_count else None,
                     "count": row.rating_count},
            "first_response_minutes": {"average": _rounded(row.first_average), "median": _rounded(row.first_median),
                                       "count": row.first_count},
            "resolution_minutes": {"average": _rounded(row.resolved_average),
                                   "median": _rounded(row.resolved_median), "count": row.resolved_count},
            "breach_rate": round(row.breached / row.tickets, 4) if row.tickets else 0.0,
        })
    return out
