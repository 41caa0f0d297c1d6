"""HTTP edges of custom fields: a tenant declares the typed fields its customers carry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from services.customer import events
from services.customer.domain import custom_fields as domain
from services.customer.repository import customers as repository
from services.customer.schemas.customers import CustomFieldIn, CustomFieldOut
from services.customer.tables.customers import CustomFieldDefinition
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import DbSession, check_if_match, commit_write

router = APIRouter(tags=["custom fields"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]
# Declaring fields shapes every customer of the tenant: an administrator's job.
Admin = Annotated[Principal, Depends(Scopes("admin"))]
FieldName = Annotated[str, Path(max_length=63)]


def _out(definition: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut.model_validate(definition, from_attributes=True)


@router.get("/custom-fields", response_model=list[CustomFieldOut], summary="The tenant's custom fields")
def list_custom_fields(db: DbSession, who: Reader) -> list[CustomFieldOut]:
    return [_out(d) for d in repository.custom_fields(db, who.tenant)]


@router.put("/custom-fields/{name}", response_model=CustomFieldOut, summary="Declare or change a custom field")
def put_custom_field(name: FieldName, body: CustomFieldIn, request: Request, db: DbSession, who: Admin) -> Response:
    """Values customers already hold are kept; the new definition applies to later writes."""
    checked = domain.check_definition({"name": name, **body.model_dump()})
    definition = repository.custom_field(db, who.tenant, name)
    if definition is None:
        definition = CustomFieldDefinition(tenant_id=who.tenant, name=name, version=0)
        db.add(definition)
    else:
        check_if_match(request, definition.version)
    for key in ("type", "label", "choices", "required"):
        setattr(definition, key, checked[key])
    definition.version += 1
    definition.updated_at = utcnow()
    events.custom_field_changed(db, who.tenant, checked, name)
    return commit_write(db, request, _out(definition), version=definition.version)


@router.delete("/custom-fields/{name}", status_code=204, summary="Remove a custom field declaration")
def delete_custom_field(name: FieldName, request: Request, db: DbSession, who: Admin) -> Response:
    definition = repository.custom_field(db, who.tenant, name)
    if definition is None:
        raise NotFound(f"No custom field '{name}'.")
    check_if_match(request, definition.version)
    db.delete(definition)
    events.custom_field_changed(db, who.tenant, None, name)
    return commit_write(db, request, None, status=204)
