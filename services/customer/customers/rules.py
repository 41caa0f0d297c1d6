"""Rules of the customer master: identity, names, contact points, hierarchy, money, masking and search.

Plain Python, tested directly. Customer state is handled as a plain dict of the
profile fields whose values are already JSON-native (money as
``{"amount": "12.50", "currency": "EUR"}``, ids as strings), so that the state, the
``changes`` of an update event and the API document all compare and serialise the
same way.

A list is walked by keyset pagination on ``(sort key, id)``: the cursor carries the last
row's sort key and id, so a page is one index range scan however deep the client has
paged, and rows written meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pycountry

from shared.errors import BadRequest, InvalidInput
from shared.types import check_money

# The first eight are the original profile; the view builder keeps their order (it skips ``kind``).
PROFILE_FIELDS: tuple[str, ...] = (
    "kind",
    "given_name",
    "family_name",
    "organization_name",
    "emails",
    "phones",
    "country",
    "region",
    "addresses",
    "industry",
    "employees",
    "annual_revenue",
    "preferred_language",
    "preferred_currency",
    "owner",
    "tags",
    "custom_fields",
    "credit_limit",
    "lifetime_value",
    "parent_id",
    "organization_id",
    "organization_role",
    "external_id",
)

LIST_FIELDS = ("emails", "phones", "addresses", "tags")
MONEY_FIELDS = ("annual_revenue", "credit_limit", "lifetime_value")
ADDRESS_PARTS = ("line1", "line2", "city", "postal_code", "region", "country")
MAX_HIERARCHY_DEPTH = 50


# --- identity and names -----------------------------------------------------------------


def display_name(state: dict[str, Any]) -> str:
    if state["kind"] == "organization":
        return str(state["organization_name"])
    return f"{state['given_name']} {state['family_name']}"


def search_name(text: str) -> str:
    """The name as search compares it: accents dropped, case folded, spaces collapsed ('Ångström  AB' -> 'angstrom ab')."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def check_identity(state: dict[str, Any]) -> None:
    """A person needs a given and a family name; an organization needs its name."""
    if state["kind"] == "person":
        missing = [f for f in ("given_name", "family_name") if not state.get(f)]
    else:
        missing = [] if state.get("organization_name") else ["organization_name"]
    if missing:
        raise InvalidInput(
            f"A {state['kind']} needs {' and '.join(missing)}.",
            errors=[{"field": f, "message": f"required for a {state['kind']}"} for f in missing],
        )


# --- contact points ---------------------------------------------------------------------


def contact_points(items: list[dict[str, Any]], value_field: str) -> list[dict[str, Any]]:
    """Drop repeats (e-mail case-insensitively) and make exactly one entry primary."""
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for item in items:
        value = str(item[value_field])
        marker = value.lower()
        if marker in seen:
            continue
        seen.add(marker)
        unique.append({value_field: value, "primary": bool(item.get("primary"))})
    return _one_primary(unique)


def addresses(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Postal addresses with every part present (``None`` when empty), repeats dropped, one primary."""
    seen: set[tuple[str, ...]] = set()
    unique: list[dict[str, Any]] = []
    for item in items:
        address = {part: (item.get(part) or None) for part in ADDRESS_PARTS}
        marker = tuple(" ".join(str(address[p] or "").casefold().split()) for p in ADDRESS_PARTS)
        if marker in seen:
            continue
        seen.add(marker)
        unique.append(address | {"primary": bool(item.get("primary"))})
    return _one_primary(unique)


def _one_primary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    primaries = [i for i in items if i["primary"]]
    if len(primaries) > 1:
        # Only reachable through a repeat that collapsed onto a primary: keep the first.
        for extra in primaries[1:]:
            extra["primary"] = False
    if items and not primaries:
        items[0]["primary"] = True
    return items


def tags(values: Iterable[str]) -> list[str]:
    """Tags are trimmed, lower case, unique, in the order first given."""
    return list(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))


def email_key(address: str) -> str:
    return address.strip().lower()


def phone_key(number: str) -> str:
    """Digits only, international: '+49 (30) 1234-567' and '0049301234567' both give '49301234567'."""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("00"):
        digits = digits[2:]
    return digits


def search_keys(state: dict[str, Any]) -> set[tuple[str, str]]:
    """The exact-match keys a customer is found by: normalised e-mails, phones and tags."""
    keys = {("email", email_key(e["address"])) for e in state.get("emails") or []}
    keys |= {("phone", phone_key(p["number"])) for p in state.get("phones") or []}
    keys |= {("tag", t) for t in state.get("tags") or []}
    return keys


# --- languages and money ----------------------------------------------------------------

_BCP47 = re.compile(
    r"^(?P<language>[A-Za-z]{2,3})"
    r"(?:-(?P<script>[A-Za-z]{4}))?"
    r"(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)$"
)


@lru_cache(maxsize=4096)
def language_tag(value: str) -> str:
    """A BCP 47 tag in its canonical case ('EN-gb' -> 'en-GB'); the language must be an ISO 639 code."""
    match = _BCP47.match(value.strip())
    if match is None:
        raise ValueError("must be a BCP 47 language tag, e.g. 'en', 'de-CH' or 'zh-Hans-CN'")
    language = match["language"].lower()
    known = pycountry.languages.get(alpha_2=language) if len(language) == 2 else pycountry.languages.get(alpha_3=language)
    if known is None:
        raise ValueError(f"'{language}' is not an ISO 639 language code")
    parts = [language]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [v.lower() for v in match["variants"].split("-") if v]
    return "-".join(parts)


def money(value: dict[str, Any] | None, field: str) -> dict[str, str] | None:
    """Money as state keeps it: a non-negative amount with the currency's decimals, as a string."""
    if value is None:
        return None
    currency = str(value["currency"])
    amount = check_money(Decimal(str(value["amount"])), currency, f"{field}.amount")
    return {"amount": format(amount, "f"), "currency": currency}


# --- hierarchy --------------------------------------------------------------------------


def check_links(
    state: dict[str, Any],
    customer_id: str | None,
    kind_of: Callable[[str], str | None],
    ancestors_of: Callable[[str], list[str]],
) -> None:
    """Organizations form a tree (no person parents, no cycles); persons link to an organization.

    ``kind_of`` answers the kind of another customer of the tenant (None: no such
    customer); ``ancestors_of`` its chain of parents, nearest first.
    """
    parent_id = state.get("parent_id")
    if parent_id is not None:
        if state["kind"] != "organization":
            raise InvalidInput.on("parent_id", "only organizations have a parent; link a person with organization_id")
        parent_kind = kind_of(parent_id)
        if parent_kind is None:
            raise InvalidInput.on("parent_id", f"no customer {parent_id}")
        if parent_kind != "organization":
            raise InvalidInput.on("parent_id", "the parent must be an organization, not a person")
        chain = [parent_id, *ancestors_of(parent_id)]
        if customer_id is not None and customer_id in chain:
            raise InvalidInput.on("parent_id", "this parent would make the hierarchy a cycle")
        if len(chain) > MAX_HIERARCHY_DEPTH:
            raise InvalidInput.on("parent_id", f"a hierarchy may be at most {MAX_HIERARCHY_DEPTH} levels deep")
    organization_id = state.get("organization_id")
    if organization_id is not None:
        if state["kind"] != "person":
            raise InvalidInput.on("organization_id", "only persons belong to an organization; use parent_id")
        if kind_of(organization_id) != "organization":
            raise InvalidInput.on("organization_id", f"no organization {organization_id}")
    elif state.get("organization_role"):
        raise InvalidInput.on("organization_role", "a role needs an organization_id")


# --- creating and changing --------------------------------------------------------------


def _normalised(name: str, value: Any) -> Any:
    if name == "emails":
        return contact_points(value or [], "address")
    if name == "phones":
        return contact_points(value or [], "number")
    if name == "addresses":
        return addresses(value or [])
    if name == "tags":
        return tags(value or [])
    if name == "custom_fields":
        return {k: v for k, v in (value or {}).items() if v is not None}
    if name in MONEY_FIELDS:
        return money(value, name)
    return value


def new_customer(fields: dict[str, Any]) -> dict[str, Any]:
    """The state of a customer about to be created, checked and normalised."""
    state = {name: _normalised(name, fields.get(name)) for name in PROFILE_FIELDS}
    check_identity(state)
    return state


def change_customer(current: dict[str, Any], changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply a partial update; returns the new state and ``{field: {old, new}}`` of what really changed.

    ``custom_fields`` merges: the fields sent change, a ``null`` removes one, the others stay.
    """
    updated = dict(current)
    for name, value in changes.items():
        if name == "custom_fields":
            merged = dict(current.get("custom_fields") or {})
            merged.update(value or {})
            value = merged
        updated[name] = _normalised(name, value)
    check_identity(updated)
    diff = {name: {"old": current.get(name), "new": updated[name]} for name in changes if current.get(name) != updated[name]}
    return updated, diff


def customer_document(
    state: dict[str, Any],
    *,
    customer_id: uuid.UUID | str,
    version: int,
    created_at: datetime,
    updated_at: datetime,
    customer_group: str | None = None,
    value_tier: str | None = None,
) -> dict[str, Any]:
    """The customer as the API answers it and as ``crm.customer.*`` events carry it (JSON-native)."""
    document: dict[str, Any] = {"id": str(customer_id), "kind": state["kind"], "display_name": display_name(state)}
    document.update({name: state.get(name) for name in PROFILE_FIELDS[1:]})
    document.update({
        "customer_group": customer_group,
        "value_tier": value_tier,
        "version": version,
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
    })
    return document


# --- personal data ----------------------------------------------------------------------


def _mask_text(value: str | None, keep: int = 1) -> str | None:
    if not value:
        return value
    return value[:keep] + "***"


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_phone(number: str) -> str:
    return number[:3] + "*" * max(len(number) - 5, 0) + number[-2:]


def masked(document: dict[str, Any]) -> dict[str, Any]:
    """The document for a caller without ``customers:pii``: contact details and a person's names hidden."""
    out = dict(document)
    out["emails"] = [e | {"address": _mask_email(e["address"])} for e in document.get("emails") or []]
    out["phones"] = [p | {"number": _mask_phone(p["number"])} for p in document.get("phones") or []]
    out["addresses"] = [
        a | {"line1": _mask_text(a.get("line1"), 0), "line2": _mask_text(a.get("line2"), 0),
             "postal_code": _mask_text(a.get("postal_code"), 0)}
        for a in document.get("addresses") or []
    ]
    if document.get("kind") == "person":
        given, family = _mask_text(document.get("given_name")), _mask_text(document.get("family_name"))
        out.update(given_name=given, family_name=family, display_name=f"{given} {family}")
    out["pii_masked"] = True
    return out


# --- search -----------------------------------------------------------------------------

# API sort name -> the column it walks (display_name sorts by its normalised form).
SORTS: dict[str, str] = {"display_name": "name_search", "created_at": "created_at", "updated_at": "updated_at"}


@dataclass(frozen=True)
class Sort:
    column: str  # "id" or a value of SORTS
    descending: bool = False

    @property
    def name(self) -> str:
        api = next((k for k, v in SORTS.items() if v == self.column), self.column)
        return f"-{api}" if self.descending else api


DEFAULT_SORT = Sort("id")


def parse_sort(text: str | None) -> Sort:
    """``display_name``, ``-created_at`` ...; none means creation order (by id)."""
    if not text:
        return DEFAULT_SORT
    descending = text.startswith("-")
    name = text.lstrip("-+")
    if name == "id":
        return Sort("id", descending)
    if name not in SORTS:
        raise InvalidInput.on("sort", f"sort by one of {', '.join(['id', *SORTS])}, '-' first for descending")
    return Sort(SORTS[name], descending)


@dataclass(frozen=True)
class Cursor:
    after_id: uuid.UUID
    key: Any = None  # the sort column's value of the last row (None when sorting by id)


def encode_cursor(sort: Sort, after_id: uuid.UUID, key: Any) -> str:
    # The default (id-order) cursor keeps the shape the other lists use: {"after": id}.
    payload: dict[str, Any] = {"after": str(after_id)}
    if sort != DEFAULT_SORT:
        payload["sort"] = sort.name
    if sort.column != "id":
        payload["key"] = key.isoformat() if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: Sort) -> Cursor:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        after = uuid.UUID(raw["after"])
        sorted_by = raw.get("sort")
        key = raw.get("key")
        if sort.column in ("created_at", "updated_at"):
            key = datetime.fromisoformat(key)
        elif sort.column != "id" and not isinstance(key, str):
            raise ValueError("a sorted cursor needs its key")
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not one this service issued.") from exc
    if sorted_by != (None if sort == DEFAULT_SORT else sort.name):
        raise BadRequest("This cursor belongs to a list in another sort order; start again without a cursor.")
    return Cursor(after, key)


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (binary order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_query(text: str) -> str:
    normalised = search_name(text)
    if not normalised:
        raise InvalidInput.on("name", "give at least one letter or digit")
    return normalised


def phone_query(text: str) -> str:
    key = phone_key(text)
    if len(key) < 6:
        raise InvalidInput.on("phone", "give the number with its country code, e.g. +49 30 1234567")
    return key
