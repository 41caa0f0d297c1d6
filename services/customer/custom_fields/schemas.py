"""Request and response bodies of custom fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

FieldType = Literal["text", "number", "date", "choice"]


def _choices_per_type(schema: dict[str, Any]) -> None:
    """rules.check_definition as a union on ``type``: a choice field has distinct choices, no other has any."""
    schema["oneOf"] = [
        {"required": ["type", "choices"],
         "properties": {"type": {"const": "choice"}, "choices": {"type": "array", "minItems": 1, "uniqueItems": True}}},
        {"properties": {"type": {"enum": ["text", "number", "date"]},
                        "choices": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]}}},
    ]


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_choices_per_type)

    type: FieldType
    label: str | None = Field(default=None, min_length=1, max_length=200)
    # A choice is more than blanks (rules.check_definition strips it; Python counts \x1c-\x1f and \x85 as blanks too).
    choices: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"[^\s\x1c-\x1f\x85]")]] | None = Field(default=None, max_length=200)
    required: StrictBool = False


class CustomFieldOut(BaseModel):
    name: str
    type: FieldType
    label: str
    choices: list[str] | None
    required: bool
    version: int
    updated_at: datetime
