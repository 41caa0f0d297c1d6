"""Typed event contracts: how a service declares what it publishes and what it reads.

A producer declares each event type once, in its ``contract.py``: the type name
(``crm.<service>.<entity>.<action>.v1``), the topic it goes to and the Pydantic model
of its ``data``. The JSON Schemas generated from those models are the published
contract (``event_schemas``). A consumer in another service never imports the
producer's models: it declares a reader model of its own (``Reads``) with only the
fields it uses, and ``reader_mismatches`` checks a reader against the producer's
schema, so a renamed or retyped field fails a test instead of a consumer in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    """Base of every published payload: nothing undeclared goes out."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class TopicSpec:
    """A topic a service produces to or consumes from; ``compacted`` keeps the newest value per key."""

    name: str
    compacted: bool = False


@dataclass(frozen=True)
class EventType:
    """One published event type: its name, its topic and the model of its ``data``."""

    name: str
    topic: TopicSpec
    payload: type[BaseModel]

    def schema(self) -> dict[str, Any]:
        return self.payload.model_json_schema(mode="serialization")


@dataclass(frozen=True)
class Reads:
    """An event type a consumer acts on, read with the consumer's own model."""

    name: str
    topic: str
    reader: type[BaseModel]

    def read(self, data: dict[str, Any] | None) -> Any:
        """The event's data in the reader's model; a ``ValidationError`` fails the message."""
        return self.reader.model_validate(data if data is not None else {})


def event_schemas(event_types: Iterable[EventType]) -> dict[str, dict[str, Any]]:
    """The catalogue: every event type's name -> its topic and the JSON Schema of its data."""
    catalogue: dict[str, dict[str, Any]] = {}
    for event_type in sorted(event_types, key=lambda e: e.name):
        if event_type.name in catalogue:
            raise ValueError(f"{event_type.name} is declared twice")
        catalogue[event_type.name] = {"topic": event_type.topic.name, "data": event_type.schema()}
    return catalogue


def reader_mismatches(reads: Reads, producer_schema: dict[str, Any]) -> list[str]:
    """What a reader expects that the producer's schema does not offer ([] when they agree).

    Every field the reader declares must exist in the producer's schema; a field the
    reader requires must be required there too; JSON types must be compatible, and
    nested objects are checked the same way.
    """
    reader_schema = reads.reader.model_json_schema(mode="validation")
    return _mismatches(reader_schema, reader_schema, producer_schema, producer_schema, reads.name)


def _mismatches(reader: dict[str, Any], reader_root: dict[str, Any], producer: dict[str, Any],
                producer_root: dict[str, Any], path: str) -> list[str]:
    reader, producer = _resolve(reader, reader_root), _resolve(producer, producer_root)
    problems: list[str] = []
    reader_types, producer_types = _json_types(reader, reader_root), _json_types(producer, producer_root)
    if reader_types and producer_types and not producer_types <= reader_types | _widened(reader_types):
        problems.append(f"{path}: the reader takes {sorted(reader_types)}, the producer sends {sorted(producer_types)}")
    reader_fields = _properties(reader, reader_root)
    producer_fields = _properties(producer, producer_root)
    if reader_fields and producer_fields is None:
        if not _is_free_object(producer, producer_root):
            problems.append(f"{path}: the reader expects an object, the producer sends none")
        return problems
    producer_required = _required(producer, producer_root)
    for name, field in (reader_fields or {}).items():
        where = f"{path}.{name}"
        if name not in (producer_fields or {}):
            if not _is_free_object(producer, producer_root):
                problems.append(f"{where}: the producer has no such field")
            continue
        if name in _required(reader, reader_root) and name not in producer_required:
            problems.append(f"{where}: the reader requires it, the producer may leave it out")
        problems += _mismatches(field, reader_root, producer_fields[name], producer_root, where)
    reader_items, producer_items = _items(reader, reader_root), _items(producer, producer_root)
    if reader_items is not None and producer_items is not None:
        problems += _mismatches(reader_items, reader_root, producer_items, producer_root, f"{path}[]")
    return problems


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {})[name]
    return schema


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return [v for option in schema[combinator] for v in _variants(option, root)]
    return [schema]


def _json_types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    types: set[str] = set()
    for variant in _variants(schema, root):
        kind = variant.get("type")
        if kind is None:
            return set()  # unconstrained: anything goes
        types |= set(kind) if isinstance(kind, list) else {kind}
    return types


def _widened(types: set[str]) -> set[str]:
    # A reader taking numbers accepts integers too.
    return {"integer"} if "number" in types else set()


def _properties(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = None
    for variant in _variants(schema, root):
        if "properties" in variant:
            found = {**(found or {}), **variant["properties"]}
    return found


def _required(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    variants = [v for v in _variants(schema, root) if v.get("type") != "null"]
    if not variants:
        return set()
    return set.intersection(*(set(v.get("required", [])) for v in variants))


def _items(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    for variant in _variants(schema, root):
        if "items" in variant:
            return dict(variant["items"])
    return None


def _is_free_object(schema: dict[str, Any], root: dict[str, Any]) -> bool:
    """An object whose keys the producer does not fix (``dict[str, Any]``): the reader's fields may be in it."""
    return any(v.get("type") == "object" and "properties" not in v and v.get("additionalProperties", True) is not False
               for v in _variants(schema, root))
