"""Custom fields: a tenant declares typed fields (text, number, date, choice); customer writes are checked against them.

Plain Python. A definition is a dict ``{name, type, label, choices, required}``; the
values a customer carries live in its ``custom_fields`` object, keyed by name.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import InvalidInput

TYPES = ("text", "number", "date", "choice")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_TEXT = 2000


def check_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition made consistent: choices only (and always) for a choice field, unique and non-empty."""
    name = definition["name"]
    if not NAME.match(name):
        raise InvalidInput.on("name", "lower-case letters, digits and '_', starting with a letter (max 63)")
    kind = definition["type"]
    choices = [str(c) for c in definition.get("choices") or []]
    if kind == "choice":
        if not choices or len(set(choices)) != len(choices) or any(not c.strip() for c in choices):
            raise InvalidInput.on("choices", "a choice field needs a list of distinct, non-empty choices")
    elif choices:
        raise InvalidInput.on("choices", f"only a choice field has choices, not a {kind} field")
    return {
        "name": name,
        "type": kind,
        "label": definition.get("label") or name,
        "choices": choices if kind == "choice" else None,
        "required": bool(definition.get("required")),
    }


def _value(definition: dict[str, Any], value: Any) -> Any:
    """One value checked against its definition, in the form it is stored."""
    kind = definition["type"]
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"must be text of at most {MAX_TEXT} characters")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError("must be a number") from exc
        if not number.is_finite():
            raise ValueError("must be a finite number")
        # JSON numbers stay numbers; integers stay integers.
        return int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValueError("must be a date, YYYY-MM-DD") from exc
    if value not in (definition.get("choices") or []):
        raise ValueError(f"must be one of {', '.join(definition.get('choices') or [])}")
    return value


def check_values(
    values: dict[str, Any], definitions: dict[str, dict[str, Any]], *, creating: bool, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``custom_fields`` a write sends, checked; ``None`` values (removals) are kept for the merge.

    On create every required field must be present; on change a required field cannot be removed.
    """
    errors: list[dict[str, str]] = []
    checked: dict[str, Any] = {}
    for name, value in values.items():
        field = f"custom_fields.{name}"
        definition = definitions.get(name)
        if definition is None:
            errors.append({"field": field, "message": "no such custom field is declared (see /v1/custom-fields)"})
            continue
        if value is None:
            if definition["required"]:
                errors.append({"field": field, "message": "required; it cannot be removed"})
            checked[name] = None
            continue
        try:
            checked[name] = _value(definition, value)
        except ValueError as exc:
            errors.append({"field": field, "message": str(exc)})
    if creating:
        present = {**(current or {}), **{k: v for k, v in checked.items() if v is not None}}
        errors += [
            {"field": f"custom_fields.{name}", "message": "required"}
            for name, definition in definitions.items()
            if definition["required"] and name not in present
        ]
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)
    return checked
