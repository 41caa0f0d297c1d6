"""The event catalogue: every published event type of every service, with the JSON Schema of its data.

Generated from the producers' typed payloads (each service's ``contract.PUBLISHES``) and
kept in the repository as ``docs/event-catalogue.json``, so a change to a published
schema shows in review; ``crm schemas --check`` (and a test) fail when the file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm.registry import SERVICES, contract_of
from shared.contract import EventType, event_schemas

CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "docs" / "event-catalogue.json"


def published_event_types() -> list[EventType]:
    return [event_type for service in SERVICES for event_type in getattr(contract_of(service), "PUBLISHES", ())]


def catalogue() -> dict[str, Any]:
    return {"title": "OneView CRM event catalogue", "events": event_schemas(published_event_types())}


def catalogue_text() -> str:
    return json.dumps(catalogue(), indent=2, sort_keys=True) + "\n"
