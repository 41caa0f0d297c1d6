"""Response body of a bulk import."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    line: int = Field(description="Line of the file the row starts on (CSV: the header is line 1).")
    external_id: Any = None
    errors: list[dict[str, str]]


class ImportOut(BaseModel):
    rows: int
    created: int
    existing: int = Field(description="Rows whose external_id the tenant already had: left alone.")
    failed: int
    errors: list[RowErrorOut]
    errors_truncated: bool
