"""Queries of custom fields: the tenant's declarations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer.custom_fields.tables import CustomFieldDefinition


def custom_fields(session: Session, tenant: str) -> list[CustomFieldDefinition]:
    return list(session.scalars(select(CustomFieldDefinition).where(
        CustomFieldDefinition.tenant_id == tenant).order_by(CustomFieldDefinition.name)))


def custom_field(session: Session, tenant: str, name: str) -> CustomFieldDefinition | None:
    return session.get(CustomFieldDefinition, (tenant, name))


def definitions(session: Session, tenant: str) -> dict[str, dict[str, Any]]:
    """The tenant's custom fields as the domain rules take them."""
    return {d.name: {"name": d.name, "type": d.type, "label": d.label, "choices": d.choices, "required": d.required}
            for d in custom_fields(session, tenant)}
