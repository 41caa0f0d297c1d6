"""Request and response bodies of the customer master's HTTP API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic.networks import validate_email

from services.customer.customers.rules import language_tag
from shared.types import CountryCode, CurrencyCode, MoneyIn, NotBoolean, PhoneNumber

Kind = Literal["person", "organization"]
Name = Field(default=None, min_length=1, max_length=200)
# The BCP 47 shape rules.language_tag reads; whether the language is one of ISO 639's ~7,900 codes the
# server checks (a 422 naming the field), a list too long for a pattern.
LanguageTag = Annotated[str, AfterValidator(language_tag), Field(
    pattern=r"^\s*[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*\s*$")]
ShortText = Annotated[str, Field(min_length=1, max_length=100)]
Tag = Annotated[str, Field(min_length=1, max_length=60)]


# A plain ASCII dot-atom address: the common case, whose domain alone needs the full check.
_PLAIN_ADDRESS = re.compile(r"^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)$")


@lru_cache(maxsize=65536)
def _checked_domain(domain: str) -> str | None:
    try:
        return str(email_validator.validate_email(f"x@{domain}", check_deliverability=False).domain)
    except email_validator.EmailNotValidError:
        return None


def _email(value: str) -> str:
    """Pydantic's e-mail check, with the domain check remembered: bulk imports see the same domains again and again."""
    plain = _PLAIN_ADDRESS.match(value) if len(value) <= 254 else None
    if plain is not None and len(plain[1]) <= 64:
        domain = _checked_domain(plain[2])
        if domain is not None:
            return f"{plain[1]}@{domain}"
    return validate_email(value)[1]  # anything else, and every refusal, takes the full path


EmailAddress = Annotated[str, AfterValidator(_email), Field(json_schema_extra={"format": "email"})]


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: EmailAddress
    primary: StrictBool = False  # true or false, not 0, 1 or "yes" (as the schema says)


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: PhoneNumber = Field(description="E.164; spaces, dashes and brackets are accepted and removed.")
    primary: StrictBool = False


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=100)
    country: CountryCode
    primary: StrictBool = False


def _one_primary(items: list[Any] | None, field: str) -> None:
    if items and sum(1 for i in items if i.primary) > 1:
        raise ValueError(f"{field}: at most one entry may be primary")


class _ProfileIn(BaseModel):
    """Fields a create and a change share."""

    model_config = ConfigDict(extra="forbid")

    given_name: str | None = Name
    family_name: str | None = Name
    organization_name: str | None = Name
    country: CountryCode | None = None
    region: str | None = Field(default=None, min_length=1, max_length=100)
    industry: ShortText | None = None
    employees: Annotated[int, Field(ge=0, le=10_000_000), NotBoolean] | None = None
    annual_revenue: MoneyIn | None = None
    preferred_language: LanguageTag | None = Field(default=None, description="BCP 47, e.g. 'en', 'de-CH'.")
    preferred_currency: CurrencyCode | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200, description="Who looks after this customer.")
    credit_limit: MoneyIn | None = None
    lifetime_value: MoneyIn | None = Field(
        default=None, description="Value figure the value tiers rank by (later fed by sales events).")
    parent_id: uuid.UUID | None = Field(default=None, description="Parent organization (organizations only).")
    organization_id: uuid.UUID | None = Field(default=None, description="Organization a person belongs to.")
    organization_role: ShortText | None = Field(default=None, description="The person's role there, e.g. 'CFO'.")
    external_id: str | None = Field(default=None, min_length=1, max_length=200,
                                    description="Id in a source system; unique per tenant (imports match on it).")

    # Per field (not on the model), so that the problem names the list at fault.
    @field_validator("emails", "phones", "addresses", check_fields=False)
    @classmethod
    def _one_primary_entry(cls, items: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        _one_primary(items, str(info.field_name))
        return items


_NAME_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_UNSET = {"type": "null"}


def _per_kind(schema: dict[str, Any]) -> None:
    """What rules.check_identity and rules.check_links demand of each kind, as a union on ``kind``.

    The body stays one model (the rules answer each refusal as a 422 naming the field);
    the document states the same per-kind requirements, so a valid document is a valid create.
    Whether a named parent or organization exists, and is an organization, only the data can say.
    """
    schema["oneOf"] = [
        {"title": "Person", "required": ["kind", "given_name", "family_name"],
         "properties": {"kind": {"const": "person"}, "given_name": _NAME_TEXT, "family_name": _NAME_TEXT,
                        "parent_id": _UNSET},
         # A role at an organization needs the organization.
         "if": {"required": ["organization_role"], "properties": {"organization_role": {"type": "string"}}},
         "then": {"required": ["organization_id"], "properties": {"organization_id": {"type": "string"}}}},
        {"title": "Organization", "required": ["kind", "organization_name"],
         "properties": {"kind": {"const": "organization"}, "organization_name": _NAME_TEXT,
                        "organization_id": _UNSET, "organization_role": _UNSET}},
    ]


class CustomerCreate(_ProfileIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_per_kind)

    kind: Kind
    emails: list[EmailIn] = Field(default_factory=list, max_length=20)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="Values of the tenant's custom fields.")


class CustomerPatch(_ProfileIn):
    """Only the fields sent change; ``null`` clears an optional field. ``custom_fields`` merges by name."""

    emails: list[EmailIn] | None = Field(default=None, max_length=20)
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)
    addresses: list[AddressIn] | None = Field(default=None, max_length=20)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None


class EmailOut(BaseModel):
    address: str
    primary: bool


class PhoneOut(BaseModel):
    number: str
    primary: bool


class AddressOut(BaseModel):
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str | None
    primary: bool


class MoneyOut(BaseModel):
    amount: str
    currency: str


class CustomerOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    display_name: str
    given_name: str | None
    family_name: str | None
    organization_name: str | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut] = Field(default_factory=list)
    country: str | None
    region: str | None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: MoneyOut | None = None
    preferred_language: str | None = None
    preferred_currency: str | None = None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    credit_limit: MoneyOut | None = None
    lifetime_value: MoneyOut | None = None
    parent_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    organization_role: str | None = None
    external_id: str | None = None
    customer_group: str | None = None
    value_tier: str | None = None
    pii_masked: bool = Field(default=False, description="True when personal fields are hidden (no customers:pii scope).")
    version: int
    created_at: datetime
    updated_at: datetime


class HierarchyOut(BaseModel):
    """An organization's place in its group: the parents above it and every subsidiary below."""

    customer_id: uuid.UUID
    ancestors: list[CustomerOut]
    descendants: list[CustomerOut]
