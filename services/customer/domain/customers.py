"""Rules of the customer master: identity, names and contact points. Plain Python, tested directly.

Customer state is handled as a plain dict of the profile fields.
"""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidInput

PROFILE_FIELDS: tuple[str, ...] = (
    "kind",
    "given_name",
    "family_name",
    "organization_name",
    "emails",
    "phones",
    "country",
    "region",
)

def display_name(state: dict[str, Any]) -> str:
    if state["kind"] == "organization":
        return str(state["organization_name"])
    return f"{state['given_name']} {state['family_name']}"


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
    if unique and not any(i["primary"] for i in unique):
        unique[0]["primary"] = True
    return unique


def new_customer(fields: dict[str, Any]) -> dict[str, Any]:
    """The state of a customer about to be created, checked and normalised."""
    state = {name: fields.get(name) for name in PROFILE_FIELDS}
    state["emails"] = contact_points(fields.get("emails") or [], "address")
    state["phones"] = contact_points(fields.get("phones") or [], "number")
    check_identity(state)
    return state


def change_customer(current: dict[str, Any], changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply a partial update; returns the new state and ``{field: {old, new}}`` of what really changed."""
    updated = dict(current)
    for name, value in changes.items():
        if name == "emails":
            value = contact_points(value or [], "address")
        elif name == "phones":
            value = contact_points(value or [], "number")
        updated[name] = value
    check_identity(updated)
    diff = {name: {"old": current.get(name), "new": updated[name]} for name in changes if current.get(name) != updated[name]}
    return updated, diff
