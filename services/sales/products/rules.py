"""The catalogue's rules: cost prices, patches, and bundles (components that exist, no cycles). Plain Python.

A bundle is a product that lists other products with quantities. Its components must
exist in the tenant's catalogue, each once, and no bundle may contain itself, directly
or through the bundles inside it: a cycle would make "what is in this box" endless.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from shared.changes import changed_fields
from shared.errors import InvalidInput
from shared.types import check_money

# Fields a PATCH may not clear (the others may be set to null).
REQUIRED = ("kind", "sku", "name", "active", "components")


def check_cost(cost: Mapping[str, Any] | None) -> tuple[Decimal | None, str | None]:
    """A cost price as stored: amount (the currency's decimals) and currency, or nothing."""
    if cost is None:
        return None, None
    return check_money(Decimal(cost["amount"]), cost["currency"], "cost_price.amount"), cost["currency"]


def stored_components(components: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Components as the JSON column keeps them: ids and quantities as strings."""
    return [{"product_id": str(c["product_id"]), "quantity": format(Decimal(c["quantity"]).normalize(), "f")}
            for c in components]


def component_ids(components: Sequence[Mapping[str, Any]]) -> list[uuid.UUID]:
    return [uuid.UUID(str(c["product_id"])) for c in components]


def check_components(bundle_id: uuid.UUID, components: Sequence[uuid.UUID],
                     known: Mapping[uuid.UUID, Sequence[uuid.UUID]]) -> None:
    """Each component exists (``known``: every product reachable from them, with its own components), once,
    and the bundle does not come back inside itself. Errors name ``components[i].product_id``."""
    seen: set[uuid.UUID] = set()
    for index, component in enumerate(components):
        field = f"components[{index}].product_id"
        if component not in known:
            raise InvalidInput.on(field, f"no product {component}")
        if component in seen:
            raise InvalidInput.on(field, "lists the same product twice; give it once with the whole quantity")
        seen.add(component)
        path = path_back(component, bundle_id, known)
        if path is not None:
            shown = " -> ".join(str(p) for p in [bundle_id, *path])
            raise InvalidInput.on(field, f"would make the bundle contain itself ({shown})")


def path_back(start: uuid.UUID, target: uuid.UUID, known: Mapping[uuid.UUID, Sequence[uuid.UUID]]) -> list[uuid.UUID] | None:
    """The chain of components from ``start`` down to ``target``, if there is one (depth first, each product once)."""
    stack: list[tuple[uuid.UUID, list[uuid.UUID]]] = [(start, [start])]
    visited: set[uuid.UUID] = set()
    while stack:
        current, path = stack.pop()
        if current == target:
            return path
        if current in visited:
            continue
        visited.add(current)
        stack.extend((child, [*path, child]) for child in known.get(current, ()))
    return None


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH sets: the cost price becomes amount and currency; required fields cannot be cleared."""
    for name in REQUIRED:
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    fields = dict(patch)
    if "cost_price" in fields:
        fields["cost_amount"], fields["cost_currency"] = check_cost(fields.pop("cost_price"))
    if "components" in fields:
        fields["components"] = stored_components(fields["components"])
    return fields


def changes(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {old, new}}`` of what really changes."""
    return changed_fields(current, fields)
