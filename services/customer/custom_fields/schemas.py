"""Request and response bodies of custom fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal["text", "number", "date", "choice"]


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: FieldType
    label: str | None = Field(default=None, min_length=1, max_length=200)
    choices: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=200)
    required: bool = False


class CustomFieldOut(BaseModel):
    name: str
    type: FieldType
    label: str
    choices: list[str] | None
    required: bool
    version: int
    updated_at: datetime
