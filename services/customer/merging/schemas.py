"""Request and response bodies of merges, unmerges and provenance."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.customer.consent.schemas import Channel, Status
from services.customer.customers.schemas import CustomerOut
from services.customer.merging.rules import MAX_DUPLICATES


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_DUPLICATES,
                                           description="The records folded into the survivor (one to 50).")
    fields: dict[str, uuid.UUID] = Field(
        default_factory=dict, examples=[{"family_name": "9c1e...", "custom_fields.segment": "4f2a..."}],
        description="Per field, the participant to take the value from (the survivor or a duplicate); "
                    "'custom_fields.<name>' picks one custom field. Other fields: most recent non-empty value, "
                    "e-mails/phones/addresses/tags unioned.")
    consent: dict[Channel, Status] = Field(
        default_factory=dict, description="The consent the survivor ends with, for channels where the records "
                                          "disagree (never opt_in where any record opted out).")


class UnmergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_id: uuid.UUID | None = Field(default=None, description="Default: the survivor's latest merge in effect.")


class FieldOrigin(BaseModel):
    source: uuid.UUID = Field(description="The customer record the value came from.")
    rule: str = Field(description="caller_choice, most_recent_non_empty, union or direct.")
    at: datetime
    sources: list[uuid.UUID] | None = Field(default=None, description="For a union: every record that contributed.")


class MergeOut(BaseModel):
    merge_id: uuid.UUID
    survivor: CustomerOut
    merged_ids: list[uuid.UUID]
    provenance: dict[str, FieldOrigin]
    merged_at: datetime


class UnmergeOut(BaseModel):
    merge_id: uuid.UUID
    survivor: CustomerOut
    restored: list[CustomerOut]
    kept_fields: list[str] = Field(description="Survivor fields changed since the merge, kept as they are now.")


class ProvenanceOut(BaseModel):
    customer_id: uuid.UUID
    fields: dict[str, FieldOrigin]
