"""Request and response bodies of the pipeline stages API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sales.pipeline_stages import rules
from shared.types import NotBoolean

ForecastCategory = Literal["pipeline", "best_case", "commit", "closed", "omitted"]
Outcome = Literal["open", "won", "lost"]
CHANGEABLE = ("label", "position", "probability", "forecast_category")
StageName = Annotated[str, Field(min_length=1, max_length=50, pattern=rules.NAME.pattern,
                                 description="Stable key of the stage, the name opportunities carry.")]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Position = Annotated[int, Field(ge=1, le=1000, description="Place in the pipeline's order (ties: by name)."), NotBoolean]
Probability = Annotated[int, Field(ge=0, le=100, description="Default win probability, in percent."), NotBoolean]


def without_null(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Fields typed ``X | None`` only so that a missing one is None, whose null the service refuses: the schema
    says X alone. (``X | SkipJsonSchema[None]`` would say the same, but as a union its errors would name the
    union's member, ``amount.MoneyIn.amount``, where the client sent ``amount.amount``.)"""
    for name in names:
        field = schema["properties"][name]
        kept = [option for option in field.pop("anyOf", []) if option != {"type": "null"}]
        if kept:
            field.update(kept[0])


def _unclearable(schema: dict[str, Any]) -> None:
    without_null(schema, CHANGEABLE)


def _closing_stages(schema: dict[str, Any]) -> None:
    """rules.check_stage as a union on ``outcome``: won is closed at 100, lost omitted at 0, open never closed."""
    open_categories = [c for c in rules.FORECAST_CATEGORIES if c != "closed"]
    schema["oneOf"] = [
        *({"required": ["outcome"],
           "properties": {"outcome": {"const": outcome}, "forecast_category": {"const": category},
                          "probability": {"const": probability}}}
          for outcome, (category, probability) in rules.CLOSING.items()),
        {"properties": {"outcome": {"const": "open"}, "forecast_category": {"enum": open_categories}}},
    ]


class StageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_closing_stages)

    name: StageName
    label: Label | None = Field(default=None, description="Default: the name in words.")
    position: Position | None = Field(default=None, description="Default: after every other stage.")
    probability: Probability
    forecast_category: ForecastCategory
    outcome: Outcome = Field(default="open", description="open, or won / lost for the stages that close a deal.")


class StagePatch(BaseModel):
    """What may change of a stage; its name and outcome are what opportunities rely on, and stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_unclearable)
    # None only as the default (a field not sent): null is refused (service.change_stage), so the schema leaves it out.
    label: Label | None = None
    position: Position | None = None
    probability: Probability | None = None
    forecast_category: ForecastCategory | None = None


class StageOut(BaseModel):
    name: str
    label: str
    position: int
    probability: int
    forecast_category: ForecastCategory
    outcome: Outcome
    retired: bool = Field(description="Retired stages take no deals; closed deals may still name them.")
    version: int
    configured: bool = Field(description="False: one of the defaults of a tenant that has configured no stage yet.")
    updated_at: datetime | None
