"""Use cases of custom fields: declare, change and remove a tenant's typed fields, announcing each.

Values customers already hold are kept when a definition changes; the new definition
applies to later writes. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.custom_fields import repository, rules
from services.customer.custom_fields.tables import CustomFieldDefinition
from shared.db import utcnow
from shared.errors import NotFound
from shared.outbox import publish


def declared(db: Session, tenant: str) -> list[CustomFieldDefinition]:
    """The tenant's custom fields, by name."""
    return repository.custom_fields(db, tenant)


def declare(db: Session, tenant: str, name: str, fields: dict[str, Any], *,
            check_version: Callable[[int], None]) -> CustomFieldDefinition:
    """Declare a field, or change its definition (``fields``: type, label, choices, required)."""
    checked = rules.check_definition({"name": name, **fields})
    definition = repository.custom_field(db, tenant, name)
    if definition is None:
        definition = CustomFieldDefinition(tenant_id=tenant, name=name, version=0)
        db.add(definition)
    else:
        check_version(definition.version)
    for key in ("type", "label", "choices", "required"):
        setattr(definition, key, checked[key])
    definition.version += 1
    definition.updated_at = utcnow()
    _announce(db, tenant, name, contract.CustomFieldDefinition(**checked))
    return definition


def remove(db: Session, tenant: str, name: str, *, check_version: Callable[[int], None]) -> None:
    definition = repository.custom_field(db, tenant, name)
    if definition is None:
        raise NotFound(f"No custom field '{name}'.")
    check_version(definition.version)
    db.delete(definition)
    _announce(db, tenant, name, None)


def _announce(db: Session, tenant: str, name: str, definition: contract.CustomFieldDefinition | None) -> None:
    publish(db, contract.CUSTOM_FIELD_CHANGED,
            contract.CustomFieldChanged(name=name, definition=definition, removed=definition is None),
            subject=contract.settings_subject(tenant), tenant=tenant)
