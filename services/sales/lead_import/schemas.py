"""Response body of a bulk lead import."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    line: int = Field(description="Line of the file the row starts on (CSV: the header is line 1).")
    errors: list[dict[str, str]]


class RowMergedOut(BaseModel):
    line: int
    lead_id: uuid.UUID = Field(description="The open lead the row duplicated and was folded into.")
    matched_on: list[str]


class ImportOut(BaseModel):
    rows: int
    created: int
    duplicates: int = Field(description="Rows folded into an open lead (an earlier row's too): nothing doubled.")
    failed: int
    errors: list[RowErrorOut] = Field(description="The failed rows (the first 1,000).")
    errors_truncated: bool
    merged: list[RowMergedOut] = Field(description="The duplicate rows (the first 1,000).")
    merged_truncated: bool
