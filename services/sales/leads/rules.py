"""The lead rules: match keys for de-duplication, the status life cycle and explainable scoring.

Plain Python, tested directly.

Match keys. Two records are the same lead when they share one of these keys:
- ``email``: the address trimmed and lower-cased;
- ``phone``: the number in E.164 (spaces, dashes, dots and brackets removed, ``00`` read as ``+``),
  so "+49 30 1234567" and "+49301234567" are one;
- ``domain``: the company domain, taken from the e-mail's domain, unless it is a free-mail
  provider's (``FREE_MAIL_DOMAINS``): two people at gmail.com are not one company.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput
from shared.types import normalise_phone

EMAIL, PHONE, DOMAIN = "email", "phone", "domain"
# The order in which evidence counts: the first kind that matches names the duplicate.
KEY_KINDS: tuple[str, ...] = (EMAIL, PHONE, DOMAIN)

# Public mail providers: sharing one says nothing about being the same company.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.de", "yahoo.co.uk", "hotmail.com", "hotmail.de",
    "outlook.com", "outlook.de", "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net",
    "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de", "mail.ru", "yandex.ru", "qq.com", "163.com",
    "proton.me", "protonmail.com", "mail.com", "zoho.com",
})

# --- statuses ------------------------------------------------------------------------------

STATUSES: tuple[str, ...] = ("new", "working", "qualified", "disqualified", "converted")
# A lead that can still become business: a new inquiry from the same person folds into it.
OPEN_STATUSES: tuple[str, ...] = ("new", "working", "qualified")
# A lead someone is working on: it counts against its owner's capacity.
ACTIVE_STATUSES: tuple[str, ...] = ("new", "working")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("working", "qualified", "disqualified", "converted"),
    "working": ("qualified", "disqualified", "converted"),
    "qualified": ("disqualified", "converted"),
    "disqualified": (),
    "converted": (),
}


def check_transition(current: str, new: str) -> None:
    """A 409 naming the transitions the lead's status allows."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "none"
        raise Conflict(f"The lead is {current}; it cannot become {new}. Allowed from {current}: {allowed}.")


# --- match keys ----------------------------------------------------------------------------


def email_key(address: str | None) -> str | None:
    if not address or not address.strip():
        return None
    return address.strip().lower()


def phone_key(number: str | None) -> str | None:
    """E.164, or None for what is no international number (a national number cannot be compared safely)."""
    if not number or not number.strip():
        return None
    try:
        return normalise_phone(number.strip())
    except ValueError:
        return None


def domain_key(address: str | None) -> str | None:
    """The company domain of an e-mail address; None for a free-mail provider's."""
    email = email_key(address)
    if email is None or "@" not in email:
        return None
    domain = email.rpartition("@")[2].rstrip(".")
    return None if not domain or domain in FREE_MAIL_DOMAINS else domain


@dataclass(frozen=True)
class MatchKeys:
    email: str | None = None
    phone: str | None = None
    domain: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """(kind, value) of each key present, strongest evidence first."""
        return [(kind, value) for kind, value in ((EMAIL, self.email), (PHONE, self.phone), (DOMAIN, self.domain))
                if value is not None]


def match_keys(email: str | None, phone: str | None) -> MatchKeys:
    return MatchKeys(email=email_key(email), phone=phone_key(phone), domain=domain_key(email))


def customer_keys(view: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """The keys a customer is matched by, from its published view: every e-mail, phone and company domain."""
    profile = (view or {}).get("profile") or {}
    keys: set[tuple[str, str]] = set()
    for entry in profile.get("emails") or []:
        address = entry.get("address") if isinstance(entry, Mapping) else None
        for kind, value in ((EMAIL, email_key(address)), (DOMAIN, domain_key(address))):
            if value is not None:
                keys.add((kind, value))
    for entry in profile.get("phones") or []:
        number = phone_key(entry.get("number") if isinstance(entry, Mapping) else None)
        if number is not None:
            keys.add((PHONE, number))
    return keys


def strongest_match(found: Mapping[str, Sequence[Any]]) -> tuple[str, Any] | None:
    """The first match in ``KEY_KINDS`` order, from ``{kind: candidates}``; candidates are already ordered."""
    for kind in KEY_KINDS:
        if found.get(kind):
            return kind, found[kind][0]
    return None


# What a duplicate may add to the lead it folds into: only what that lead does not know yet.
FILLABLE = ("email", "phone", "company", "given_name", "family_name", "country", "region", "industry", "employees")


def fill_blanks(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a folded duplicate fills in; it never overwrites what the existing lead says."""
    return {name: incoming[name] for name in FILLABLE
            if incoming.get(name) is not None and current.get(name) in (None, "")}


# --- scoring -------------------------------------------------------------------------------

TEXT_FIELDS = ("industry", "country", "region", "source", "customer_tier")
NUMBER_FIELDS = ("employees", "responses", "recency_days")
SCORE_FIELDS: tuple[str, ...] = TEXT_FIELDS + NUMBER_FIELDS


@dataclass(frozen=True)
class ScoringRule:
    """Points for a lead whose ``field`` is one of ``values`` (text) or within ``minimum``..``maximum`` (numbers).

    ``responses`` counts the lead's campaign responses; ``recency_days`` is the days since its
    last engagement (absent when it never engaged, which no range matches).
    """

    rule: str
    field: str
    points: int
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @cached_property
    def _folded_values(self) -> frozenset[str]:
        return frozenset(v.strip().casefold() for v in self.values)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        value = facts.get(self.field)
        if value is None:
            return False
        if self.field in TEXT_FIELDS:
            return str(value).strip().casefold() in self._folded_values
        number = int(value)
        return (self.minimum is None or number >= self.minimum) and (self.maximum is None or number <= self.maximum)


# Fit (size, the tier of a matching customer) and engagement (responses, recency); a tenant replaces
# them with rules of its own (PUT /v1/lead-scoring-rules).
DEFAULT_SCORING: tuple[ScoringRule, ...] = (
    ScoringRule("fit.mid_size", "employees", 10, minimum=50, maximum=999),
    ScoringRule("fit.enterprise", "employees", 20, minimum=1000),
    ScoringRule("fit.customer_tier_a", "customer_tier", 20, values=("A",)),
    ScoringRule("fit.customer_tier_b", "customer_tier", 10, values=("B",)),
    ScoringRule("engagement.responded", "responses", 10, minimum=1),
    ScoringRule("engagement.responded_often", "responses", 10, minimum=3),
    ScoringRule("engagement.recent_week", "recency_days", 15, minimum=0, maximum=7),
    ScoringRule("engagement.recent_month", "recency_days", 5, minimum=8, maximum=30),
)


def check_scoring_rule(rule: ScoringRule, index: int) -> None:
    """Text fields take values, numbers take a range: a rule that can never match is refused, naming it."""
    where = f"rules[{index}]"
    if rule.field not in SCORE_FIELDS:
        raise InvalidInput.on(f"{where}.field", f"one of {', '.join(SCORE_FIELDS)}")
    if rule.field in TEXT_FIELDS and not rule.values:
        raise InvalidInput.on(f"{where}.values", f"a rule on {rule.field} needs at least one value")
    if rule.field in TEXT_FIELDS and (rule.minimum is not None or rule.maximum is not None):
        raise InvalidInput.on(f"{where}.min", f"{rule.field} is text: give values, not a range")
    if rule.field in NUMBER_FIELDS:
        if rule.values:
            raise InvalidInput.on(f"{where}.values", f"{rule.field} is a number: give min and/or max, not values")
        if rule.minimum is None and rule.maximum is None:
            raise InvalidInput.on(f"{where}.min", f"a rule on {rule.field} needs min and/or max")
        if rule.minimum is not None and rule.maximum is not None and rule.minimum > rule.maximum:
            raise InvalidInput.on(f"{where}.max", "must not be below min")


def check_scoring_rules(rules: Sequence[ScoringRule]) -> None:
    names: set[str] = set()
    for index, rule in enumerate(rules):
        check_scoring_rule(rule, index)
        if rule.rule in names:
            raise InvalidInput.on(f"rules[{index}].rule", f"{rule.rule!r} is named twice")
        names.add(rule.rule)


FIT_FIELDS = ("industry", "country", "region", "employees")


def lead_facts(lead: Mapping[str, Any], *, customer: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """What scoring and routing read of a lead: its fit fields (the matching customer's profile fills in
    what the lead does not say), that customer's value tier, its source and its engagement."""
    profile = customer or {}
    last = lead.get("last_engaged_at")
    recency = None if last is None else max(0, (now - last).days)
    fit = {name: lead.get(name) if lead.get(name) is not None else profile.get(name) for name in FIT_FIELDS}
    return fit | {"source": lead.get("source"), "customer_tier": profile.get("value_tier"),
                  "responses": lead.get("responses") or 0, "recency_days": recency}


def customer_body(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The customer a converted lead becomes: an organization by its company, else a person by their name."""
    body: dict[str, Any] = {name: lead[name] for name in ("country", "region", "industry", "employees")
                            if lead.get(name) is not None}
    if lead.get("email"):
        body["emails"] = [{"address": lead["email"], "primary": True}]
    if lead.get("phone"):
        body["phones"] = [{"number": lead["phone"], "primary": True}]
    if lead.get("company"):
        return {"kind": "organization", "organization_name": lead["company"]} | body
    if lead.get("given_name") and lead.get("family_name"):
        return {"kind": "person", "given_name": lead["given_name"], "family_name": lead["family_name"]} | body
    raise InvalidInput.on("customer_id", "the lead has neither a company nor a full name to create a customer "
                                         "from: name the customer to convert it into")


def score(facts: Mapping[str, Any], rules: Iterable[ScoringRule]) -> tuple[int, list[dict[str, Any]]]:
    """The score (never below zero) and its reasons: each matching rule with its points, in rule order."""
    reasons = [{"rule": rule.rule, "points": rule.points} for rule in rules if rule.matches(facts)]
    return max(0, sum(r["points"] for r in reasons)), reasons


# --- what an event says --------------------------------------------------------------------


def status_event(new_status: str) -> str:
    """The event action of a status change: qualified, disqualified, converted, or updated (working)."""
    return new_status if new_status in ("qualified", "disqualified", "converted") else "updated"


def diff(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {old, new}}`` of what really changes."""
    return changed_fields(current, fields)


# Fields whose values are personal data: an event says that they changed, never what to.
PERSONAL = frozenset({"email", "phone", "given_name", "family_name"})


def public_changes(changes: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The changes as an event may carry them: personal values replaced by ``{"changed": true}``."""
    return {name: ({"changed": True} if name in PERSONAL else dict(change)) for name, change in changes.items()}
