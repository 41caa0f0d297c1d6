"""HTTP edges of custom fields: a tenant declares the typed fields its customers carry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response

from services.customer import contract
from services.customer.custom_fields import rules, service
from services.customer.custom_fields.schemas import CustomFieldIn, CustomFieldOut
from services.customer.custom_fields.tables import CustomFieldDefinition
from shared.auth import ADMIN_SCOPE, Principal, Scopes
from shared.http import DbSession, check_if_match, feature_router, written

router = feature_router(tags=["custom fields"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
# Declaring fields shapes every customer of the tenant: an administrator's job.
Admin = Annotated[Principal, Depends(Scopes(ADMIN_SCOPE))]
FieldName = Annotated[str, Path(max_length=63, pattern=rules.NAME.pattern)]


def _out(definition: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut.model_validate(definition, from_attributes=True)


@router.get("/custom-fields", response_model=list[CustomFieldOut], summary="The tenant's custom fields")
def list_custom_fields(db: DbSession, who: Reader) -> list[CustomFieldOut]:
    return [_out(d) for d in service.declared(db, who.tenant)]


@router.put("/custom-fields/{name}", response_model=CustomFieldOut, summary="Declare or change a custom field")
def put_custom_field(name: FieldName, body: CustomFieldIn, request: Request, response: Response, db: DbSession,
                     who: Admin) -> CustomFieldOut:
    """Values customers already hold are kept; the new definition applies to later writes."""
    definition = service.declare(db, who.tenant, name, body.model_dump(),
                                 check_version=lambda version: check_if_match(request, version))
    written(response, version=definition.version)
    return _out(definition)


@router.delete("/custom-fields/{name}", status_code=204, summary="Remove a custom field declaration")
def delete_custom_field(name: FieldName, request: Request, db: DbSession, who: Admin) -> None:
    service.remove(db, who.tenant, name, check_version=lambda version: check_if_match(request, version))
