"""Request and response bodies of the customer master's HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.types import CountryCode, PhoneNumber

Kind = Literal["person", "organization"]
Name = Field(default=None, min_length=1, max_length=200)


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: EmailStr
    primary: bool = False


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: PhoneNumber = Field(description="E.164; spaces, dashes and brackets are accepted and removed.")
    primary: bool = False


def _one_primary(items: list[EmailIn] | list[PhoneIn] | None, field: str) -> None:
    if items and sum(1 for i in items if i.primary) > 1:
        raise ValueError(f"{field}: at most one entry may be primary")


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    given_name: str | None = Name
    family_name: str | None = Name
    organization_name: str | None = Name
    emails: list[EmailIn] = Field(default_factory=list, max_length=20)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    country: CountryCode | None = None
    region: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _contact_points(self) -> CustomerCreate:
        _one_primary(self.emails, "emails")
        _one_primary(self.phones, "phones")
        return self


class CustomerPatch(BaseModel):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    given_name: str | None = Name
    family_name: str | None = Name
    organization_name: str | None = Name
    emails: list[EmailIn] | None = Field(default=None, max_length=20)
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)
    country: CountryCode | None = None
    region: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _contact_points(self) -> CustomerPatch:
        _one_primary(self.emails, "emails")
        _one_primary(self.phones, "phones")
        return self


class EmailOut(BaseModel):
    address: str
    primary: bool


class PhoneOut(BaseModel):
    number: str
    primary: bool


class CustomerOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    display_name: str
    given_name: str | None
    family_name: str | None
    organization_name: str | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    country: str | None
    region: str | None
    version: int
    created_at: datetime
    updated_at: datetime
