"""Consent: its rules without a database, and recording consent on a database of its own."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.consent import rules, service
from services.customer.customers import service as customers
from services.customer.customers.schemas import CustomerCreate
from services.customer.customers.tables import Customer
from shared.errors import InvalidInput, NotFound
from tests.factories import person_body
from tests.unit.customer.conftest import TENANT, announced

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def test_an_opt_in_needs_the_wording_shown() -> None:
    with pytest.raises(InvalidInput, match="wording"):
        rules.record(channel="email", status="opt_in", source="web", wording=None, recorded_at=None,
                       previous="unknown", recorded_by="dev", now=NOW)
    record = rules.record(channel="email", status="opt_out", source="unsubscribe link", wording=None,
                            recorded_at=None, previous="opt_in", recorded_by="dev", now=NOW)
    assert record["recorded_at"] == NOW and record["previous_status"] == "opt_in"


def test_consent_is_never_dated_ahead_and_unknown_by_default() -> None:
    with pytest.raises(InvalidInput):
        rules.record(channel="sms", status="opt_out", source="x", wording=None, recorded_at=NOW + timedelta(hours=1),
                       previous="unknown", recorded_by="dev", now=NOW)
    assert {c: s["status"] for c, s in rules.current({}).items()} == {"email": "unknown", "sms": "unknown",
                                                                       "phone": "unknown"}


# --- the use cases, on a database of their own ---------------------------------------------


def _person(db: Session, given: str, **fields: object) -> Customer:
    body = CustomerCreate.model_validate(person_body(given, **fields)).model_dump(mode="json")
    return customers.create_customer(db, TENANT, body).customer


def test_recording_consent_keeps_the_history_and_announces_each_change(db: Session) -> None:
    ada = _person(db, "Ada")
    service.record(db, TENANT, ada.id, "email", status="opt_in", source="web form", wording="Send me news",
                   recorded_at=NOW, recorded_by="dev")
    after = service.record(db, TENANT, ada.id, "email", status="opt_out", source="unsubscribe link", wording=None,
                           recorded_at=None, recorded_by="dev")
    assert after["email"]["status"] == "opt_out" and after["sms"]["status"] == "unknown"
    assert [(h.previous_status, h.status) for h in service.history(db, TENANT, ada.id, "email")] == [
        ("unknown", "opt_in"), ("opt_in", "opt_out")]
    changes = announced(db, contract.CONSENT_CHANGED.name)
    assert [data["status"] for _, _, data in changes] == ["opt_in", "opt_out"]
    assert changes[0][1] == str(ada.id) and changes[0][2]["recorded_at"] == str(NOW)


def test_consent_of_nobody_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        service.current(db, TENANT, uuid.uuid4())
