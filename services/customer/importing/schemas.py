"""Response body of a bulk import."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    line: int = Field(description="Line of the file the row starts on (CSV: the header is line 1).")
    external_id: Any = None
    errors: list[dict[str, str]]


class RowMatchOut(BaseModel):
    line: int = Field(description="Line of the file the row starts on.")
    external_id: Any = None
    customer_id: str = Field(description="The existing customer the row duplicates; nothing was created for it.")
    reasons: list[str] = Field(description="The evidence: 'same e-mail address' and/or 'same phone number' (normalised).")


class ImportOut(BaseModel):
    rows: int
    created: int
    existing: int = Field(description="Rows whose external_id the tenant already had: left alone.")
    matched: int = Field(description="Rows matched to an existing customer by e-mail or phone "
                                     "(only with on_duplicate=match): nothing created, nothing overwritten.")
    failed: int
    errors: list[RowErrorOut]
    errors_truncated: bool
    matches: list[RowMatchOut] = Field(description="The matched rows (the first 1,000).")
    matches_truncated: bool
