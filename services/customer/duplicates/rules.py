"""Rules of duplicate detection: how alike two customer records are, with the reasons why.

Plain Python. Exact matches of a normalised e-mail or phone are strong evidence on
their own; a similar name is evidence only together with something else the records
share (a postal address, a company e-mail domain or a phone). Reasons name the kind
of evidence, never the personal value itself, so callers without ``customers:pii``
can be shown them.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from services.customer.customers.rules import email_key, phone_key, search_name

SAME_EMAIL = 0.9
SAME_PHONE = 0.8
NAME_WITH_ADDRESS = 0.7
NAME_WITH_DOMAIN = 0.5
NAME_ALONE_THRESHOLD = 0.85
# Public mail providers: sharing one says nothing about being the same customer.
PUBLIC_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
    "aol.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "qq.com", "163.com", "proton.me", "protonmail.com",
    "example.com",
})
MIN_SCORE = 0.5


def name_similarity(a: str, b: str) -> float:
    """0..1, on the search form of the names (accents, case and spacing ignored)."""
    return SequenceMatcher(None, search_name(a), search_name(b)).ratio()


def _emails(state: dict[str, Any]) -> set[str]:
    return {email_key(e["address"]) for e in state.get("emails") or []}


def _phones(state: dict[str, Any]) -> set[str]:
    return {phone_key(p["number"]) for p in state.get("phones") or []}


def _domains(state: dict[str, Any]) -> set[str]:
    return {e.rpartition("@")[2] for e in _emails(state)} - PUBLIC_DOMAINS


def _addresses(state: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(search_name(a.get("line1") or ""), search_name(a.get("postal_code") or a.get("city") or ""),
             (a.get("country") or "").upper()) for a in state.get("addresses") or [] if a.get("line1")}


def compare(a: dict[str, Any], b: dict[str, Any], name_a: str, name_b: str) -> tuple[float, list[str]]:
    """How likely two records (domain states, with display names) are one customer: a score and its reasons."""
    if a.get("kind") != b.get("kind"):
        return 0.0, []
    evidence: list[tuple[float, str]] = []
    if _emails(a) & _emails(b):
        evidence.append((SAME_EMAIL, "same e-mail address"))
    if _phones(a) & _phones(b):
        evidence.append((SAME_PHONE, "same phone number"))
    similar = name_similarity(name_a, name_b)
    if similar >= NAME_ALONE_THRESHOLD:
        if _addresses(a) & _addresses(b):
            evidence.append((NAME_WITH_ADDRESS * similar, "similar name and same address"))
        if _domains(a) & _domains(b):
            evidence.append((NAME_WITH_DOMAIN * similar, "similar name and same e-mail domain"))
        if evidence:
            evidence.append((0.0, f"names {round(similar * 100)}% alike"))
    remaining = 1.0
    for weight, _ in evidence:
        remaining *= 1.0 - weight
    score = round(1.0 - remaining, 3)
    return (score, [reason for _, reason in evidence]) if score >= MIN_SCORE else (0.0, [])


# --- matching imported rows ---------------------------------------------------------------

IDENTIFYING_KEYS = ("email", "phone")
_KEY_REASONS = {"email": "same e-mail address", "phone": "same phone number"}


def identifying_keys(keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The keys that identify a customer on their own (tags do not), in a stable order."""
    return sorted(k for k in keys if k[0] in IDENTIFYING_KEYS)


def match_by_keys(keys: list[tuple[str, str]], owners: dict[tuple[str, str], Any]) -> tuple[Any, list[str]] | None:
    """The customer an imported row duplicates: the first owner of its e-mail, else of its phone.

    Returns the owner and the reasons (kinds of evidence, never the values), or None.
    """
    for kind in IDENTIFYING_KEYS:
        for key in keys:
            if key[0] == kind and key in owners:
                owner = owners[key]
                return owner, [_KEY_REASONS[k] for k in IDENTIFYING_KEYS
                               if any(other[0] == k and owners.get(other) == owner for other in keys)]
    return None
