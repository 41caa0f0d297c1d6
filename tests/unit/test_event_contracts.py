"""Every consumer's reader model agrees with the schema its producer publishes.

Services never import each other: a consumer reads an event with a model of its own
(its contract's ``READS``). This test puts each reader next to the producer's JSON
Schema (generated from the producer's ``PUBLISHES``), so renaming or retyping a field
a consumer reads fails here, in the consumer's name, not in production.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, create_model

from crm.catalogue import CATALOGUE_FILE, catalogue_text, published_event_types
from crm.registry import SERVICES, contract_of
from shared.contract import Reads, reader_mismatches

PRODUCERS = {event_type.name: event_type for event_type in published_event_types()}
READERS = [(service, reads) for service in SERVICES for reads in getattr(contract_of(service), "READS", ())]


def _id(entry: tuple[str, Reads]) -> str:
    return f"{entry[0]}:{entry[1].name}"


def test_every_service_reads_something_and_publishes_something() -> None:
    assert {service for service, _ in READERS} >= {"customer", "sales", "service_desk", "campaign"}
    assert {event_type.name.split(".")[1] for event_type in PRODUCERS.values()} >= {
        "customer", "sales", "service_desk", "campaign"}


@pytest.mark.parametrize("entry", READERS, ids=[_id(e) for e in READERS])
def test_reader_matches_the_producers_schema(entry: tuple[str, Reads]) -> None:
    service, reads = entry
    producer = PRODUCERS.get(reads.name)
    assert producer is not None, f"{service} reads {reads.name}, which no service publishes"
    assert producer.topic.name == reads.topic, f"{reads.name} goes to {producer.topic.name}, not {reads.topic}"
    problems = reader_mismatches(reads, producer.schema())
    assert not problems, f"{service}'s reader disagrees with the producer: " + "; ".join(problems)


@pytest.mark.parametrize("entry", READERS, ids=[_id(e) for e in READERS])
def test_renaming_a_field_the_reader_uses_is_caught(entry: tuple[str, Reads]) -> None:
    service, reads = entry
    fields = reads.reader.model_json_schema().get("properties", {})
    if not fields:
        pytest.skip(f"{service} reads nothing of {reads.name}'s data (only its subject)")
    schema = PRODUCERS[reads.name].schema()
    for name in fields:
        renamed = _renamed(schema, name)
        assert reader_mismatches(reads, renamed), f"renaming {name} went unnoticed"


def _renamed(schema: dict[str, Any], field: str) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    properties = changed["properties"]
    properties[f"{field}_renamed"] = properties.pop(field)
    if field in changed.get("required", []):
        changed["required"] = [f"{field}_renamed" if n == field else n for n in changed["required"]]
    changed["additionalProperties"] = False
    return changed


def test_the_committed_event_catalogue_is_current() -> None:
    assert CATALOGUE_FILE.is_file(), "run `crm schemas` to write docs/event-catalogue.json"
    assert CATALOGUE_FILE.read_text() == catalogue_text(), "docs/event-catalogue.json is stale: run `crm schemas`"


class _Producer(BaseModel):
    customer_id: uuid.UUID
    amount: int
    note: str | None = None
    lines: list[dict[str, Any]] = []


@pytest.mark.parametrize(("reader_fields", "complaint"), [
    ({"customer_id": (uuid.UUID, ...)}, None),
    ({"amount": (float, ...)}, None),  # a reader of numbers takes integers
    ({"amount": (str, ...)}, "sends ['integer']"),
    ({"note": (str, ...)}, "may leave it out"),
    ({"note": (str | None, None)}, None),
    ({"customer": (str, ...)}, "no such field"),
    ({"lines": (list[dict[str, Any]], [])}, None),
])
def test_the_checker_tells_what_a_reader_cannot_rely_on(reader_fields: dict[str, Any], complaint: str | None) -> None:
    reader = create_model("Reader", **reader_fields)
    problems = reader_mismatches(Reads("crm.test.thing.done.v1", "crm.test.v1", reader), _Producer.model_json_schema())
    if complaint is None:
        assert problems == []
    else:
        assert any(complaint in problem for problem in problems), problems
