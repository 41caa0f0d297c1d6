"""The rules of a tenant's pipeline. Plain Python, tested directly.

A stage is a stable ``name`` (the key opportunities refer to), a ``label``, a ``position``
(the pipeline's order), a default win ``probability`` in percent, a ``forecast_category``
and an ``outcome``: ``open`` for a stage a deal moves through, ``won`` or ``lost`` for one
that closes it. The outcome decides the rest of a closing stage: a won deal is certain
(100 %, ``closed``), a lost one is out of every forecast (0 %, ``omitted``); an open stage
is never ``closed``. Of the stages in use exactly one is won, at least one is lost and at
least one is open, so that every deal can start, and close both ways, and "won" means one
thing in every report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.errors import Conflict, InvalidInput

NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
OUTCOMES = ("open", "won", "lost")
# What a closing stage must be: its category and its probability follow from its outcome.
CLOSING: dict[str, tuple[str, int]] = {"won": ("closed", 100), "lost": ("omitted", 0)}
# A pipeline is a short list (one page of the API, one query for every opportunity check).
MAX_STAGES = 50


@dataclass(frozen=True)
class StageDef:
    """One stage as the rules see it (a row, or one of the defaults of a tenant that configured none)."""

    name: str
    label: str
    position: int
    probability: int
    forecast_category: str
    outcome: str
    version: int = 1
    retired: bool = False


# A tenant that never configured its pipeline has these (the stages opportunities always had).
DEFAULT_STAGES: tuple[StageDef, ...] = (
    StageDef("prospecting", "Prospecting", 1, 10, "pipeline", "open"),
    StageDef("qualification", "Qualification", 2, 20, "pipeline", "open"),
    StageDef("proposal", "Proposal", 3, 50, "best_case", "open"),
    StageDef("negotiation", "Negotiation", 4, 75, "commit", "open"),
    StageDef("closed_won", "Closed won", 5, 100, "closed", "won"),
    StageDef("closed_lost", "Closed lost", 6, 0, "omitted", "lost"),
)


def label_of(name: str) -> str:
    """The label a stage gets when none is given: its name in words."""
    return name.replace("_", " ").capitalize()


def check_stage(stage: StageDef) -> StageDef:
    """A stage whose category and probability agree with its outcome (422 naming the field otherwise)."""
    if not NAME.match(stage.name):
        raise InvalidInput.on("name", "lower-case letters, digits and '_', starting with a letter (max 50)")
    if stage.outcome in CLOSING:
        category, probability = CLOSING[stage.outcome]
        if stage.forecast_category != category:
            raise InvalidInput.on("forecast_category", f"a {stage.outcome} stage is in the {category} category")
        if stage.probability != probability:
            raise InvalidInput.on("probability", f"a {stage.outcome} stage has probability {probability}")
    elif stage.forecast_category == "closed":
        raise InvalidInput.on("forecast_category", "only the won stage is in the closed category")
    if not 0 <= stage.probability <= 100:
        raise InvalidInput.on("probability", "must be between 0 and 100")
    return stage


def outcome_problem(stages: Iterable[StageDef]) -> str | None:
    """What is wrong with the outcomes of the stages in use, if anything."""
    outcomes = [s.outcome for s in stages if not s.retired]
    if outcomes.count("won") != 1:
        return "the pipeline needs exactly one won stage"
    if outcomes.count("lost") < 1:
        return "the pipeline needs at least one lost stage"
    if "open" not in outcomes:
        return "the pipeline needs at least one open stage"
    return None


def check_new_stage(stages: Sequence[StageDef], stage: StageDef) -> None:
    """A stage may join the pipeline: a new name, room for it, and the outcomes still right."""
    if any(s.name == stage.name for s in stages):
        raise Conflict(f"A stage '{stage.name}' exists already (retired stages keep their names); "
                       f"change it with PATCH /v1/pipeline-stages/{stage.name}.")
    if len(stages) >= MAX_STAGES:
        raise Conflict(f"A pipeline has at most {MAX_STAGES} stages, retired ones included.")
    problem = outcome_problem([*stages, stage])
    if problem is not None:
        raise InvalidInput.on("outcome", problem)


def check_retirement(stages: Sequence[StageDef], name: str, open_deals: int) -> None:
    """A stage may leave the pipeline only when no open deal is in it and the outcomes stay right."""
    if open_deals:
        raise Conflict(f"{open_deals} open opportunities are in stage '{name}'; move them to another stage first.")
    problem = outcome_problem([s for s in stages if s.name != name])
    if problem is not None:
        raise Conflict(f"Stage '{name}' cannot be retired: {problem}.")


def next_position(stages: Sequence[StageDef]) -> int:
    """Where a stage given no position goes: after every other."""
    return max((s.position for s in stages), default=0) + 1


def ordered(stages: Iterable[StageDef]) -> list[StageDef]:
    """The pipeline's order: by position, ties by name."""
    return sorted(stages, key=lambda s: (s.position, s.name))


def active_stage(stages: Iterable[StageDef], name: str, *, field: str = "stage") -> StageDef:
    """The stage in use of that name; a 422 naming ``field`` for a name the pipeline has not (or no longer)."""
    for stage in stages:
        if stage.name == name and not stage.retired:
            return stage
    raise InvalidInput.on(field, f"'{name}' is not a stage of this pipeline (see /v1/pipeline-stages)")


def first_open_stage(stages: Iterable[StageDef]) -> StageDef:
    """Where a new deal starts when it names no stage."""
    return next(s for s in ordered(stages) if s.outcome == "open" and not s.retired)
