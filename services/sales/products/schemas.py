"""Request and response bodies of the products API, and the quantity types every catalogue body uses."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StrictBool, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from shared.types import Money, MoneyIn

Kind = Literal["product", "service"]
# Letters, digits and . _ - /, starting with a letter or digit: what fits on a label and in a URL.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
# A path of names from the top of the hierarchy down, e.g. "Hardware/Laptops": no empty name, no leading "/".
CATEGORY_PATTERN = r"^[^/]+(/[^/]+)*$"
# Decimal strings, as money is written: up to 9 integer digits and 4 decimals.
QUANTITY_PATTERN = (r"^([1-9][0-9]{0,8}(\.[0-9]{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$")
MIN_QUANTITY_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"


def decimal_text(pattern: str, says: str) -> BeforeValidator:
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str) and compiled.match(value):
            return Decimal(value)
        raise ValueError(says)

    return BeforeValidator(check)


_AS_TEXT = PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str)
Quantity = Annotated[Decimal, decimal_text(QUANTITY_PATTERN, 'must be a decimal string above 0, at most 4 decimals, e.g. "3"'),
                     _AS_TEXT, WithJsonSchema({"type": "string", "pattern": QUANTITY_PATTERN, "examples": ["3"]})]
MinQuantity = Annotated[Decimal, decimal_text(MIN_QUANTITY_PATTERN, 'must be a decimal string, at most 4 decimals, e.g. "10"'),
                        _AS_TEXT, WithJsonSchema({"type": "string", "pattern": MIN_QUANTITY_PATTERN, "examples": ["10"]})]
Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["CHAIR-OAK-1"])]
Category = Annotated[str, Field(max_length=300, pattern=CATEGORY_PATTERN, examples=["Furniture/Chairs"],
                                description="A path in the category hierarchy, names separated by '/'.")]


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    quantity: Quantity


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "product"
    sku: Sku = Field(description="Unique per tenant.")
    name: str = Field(min_length=1, max_length=200)
    category: Category | None = None
    description: str | None = Field(default=None, max_length=2000)
    cost_price: MoneyIn | None = Field(default=None, description="What one unit costs the seller.")
    active: StrictBool = True
    components: list[ComponentIn] = Field(
        default_factory=list, max_length=100,
        description="A bundle's component products and quantities (existing products, no cycles); empty: no bundle.")


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent) for those that cannot be cleared (rules.patch_fields).
    kind: Kind | SkipJsonSchema[None] = None
    sku: Sku | SkipJsonSchema[None] = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    category: Category | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    cost_price: MoneyIn | None = None
    active: StrictBool | SkipJsonSchema[None] = None
    components: Annotated[list[ComponentIn], Field(max_length=100)] | SkipJsonSchema[None] = None


class ComponentOut(BaseModel):
    product_id: uuid.UUID
    quantity: Quantity


class ProductOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    sku: str
    name: str
    category: str | None
    description: str | None
    cost_price: Money | None
    active: bool
    bundle: bool = Field(description="Whether the product is a bundle of components.")
    components: list[ComponentOut]
    version: int
    created_at: datetime
    updated_at: datetime
