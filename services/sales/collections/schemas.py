"""Request and response bodies of collections: the dunning levels (in the sales policy) and the collections list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.sales.collections import rules
from shared.replica import EmbeddedCustomer
from shared.types import Money, NotBoolean

# Offsets, actions and the number of levels are declared here but checked by the rules, so that a 422 names
# dunning_levels[i].field like the rule over several levels (offsets rising) does.
ActionIn = Annotated[str, WithJsonSchema({"type": "string", "enum": list(rules.ACTIONS)})]


class DunningLevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset_days: Annotated[int, NotBoolean] = Field(
        json_schema_extra={"minimum": -rules.MAX_OFFSET_DAYS, "maximum": rules.MAX_OFFSET_DAYS},
        description=f"Days from the due date (negative: before it), {-rules.MAX_OFFSET_DAYS} to "
                    f"{rules.MAX_OFFSET_DAYS}; strictly rising from level to level.")
    action: ActionIn = Field(description="reminder, second_reminder, call or hold_new_orders (confirming a new "
                                         "order of the customer holds it while the invoice is open).")


class DunningLevelOut(BaseModel):
    offset_days: int
    action: rules.Action


class LevelReachedOut(BaseModel):
    position: int = Field(description="The level's place among the tenant's levels when reached, from 1.")
    offset_days: int
    action: rules.Action
    reached_on: date


class NextStepOut(BaseModel):
    position: int = Field(description="The level's place among the tenant's levels, from 1.")
    offset_days: int
    action: rules.Action
    due_on: date = Field(description="The day the step falls due: the invoice's due date plus the offset.")


class CollectionOut(BaseModel):
    invoice_id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    due_on: date
    days_past_due: int = Field(description="As of the as_of day; negative: not due yet (a pre-due level).")
    total: Money
    open_amount: Money = Field(description="Total less payments allocated, credit notes and the write-off.")
    level: LevelReachedOut | None = Field(description="The dunning level reached; null: none yet.")
    next_step: NextStepOut | None = Field(description="The next level and its day; null: past the last level.")
