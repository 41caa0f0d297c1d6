"""The customer service's event payloads carry exactly the documents its events have always carried."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from services.customer import contract
from services.customer.customers import rules as customer_rules
from services.customer.view import rules as view_rules
from services.customer.view.consumers import profile_of
from services.customer.view.repository import view_document
from services.customer.view.tables import CustomerView

NOW = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=timezone.utc)


def _document() -> dict[str, object]:
    state = customer_rules.new_customer({
        "kind": "person", "given_name": "Zoë", "family_name": "Müller",
        "emails": [{"address": "zoe@example.com"}], "phones": [{"number": "+4930123456", "primary": True}],
        "addresses": [{"line1": "1 Main St", "city": "Berlin", "country": "DE"}], "tags": ["vip"],
        "custom_fields": {"seats": 12, "since": "2024-02-29"}, "lifetime_value": {"amount": "12.5", "currency": "EUR"},
        "credit_limit": {"amount": "1000", "currency": "JPY"}, "organization_id": str(uuid.uuid4()),
        "organization_role": "CFO", "external_id": "erp-1", "employees": None,
    })
    return customer_rules.customer_document(state, customer_id=uuid.uuid4(), version=3, created_at=NOW,
                                            updated_at=NOW, customer_group="loyal", value_tier="B")


def test_the_customer_document_goes_out_as_the_rules_build_it() -> None:
    document = _document()
    created = contract.CustomerCreated(customer=contract.CustomerDocument.model_validate(document))
    assert created.model_dump(mode="json") == {"customer": document}
    assert document["created_at"] == "2026-11-26T09:30:15.123456+00:00"


def test_an_update_carries_old_and_new_of_each_change() -> None:
    document = _document()
    changes = {"tags": {"old": [], "new": ["vip"]}, "custom_fields": {"old": {}, "new": {"seats": 12}}}
    updated = contract.CustomerUpdated(customer=contract.CustomerDocument.model_validate(document), changes=changes)
    assert updated.model_dump(mode="json") == {"customer": document, "changes": changes}


def test_consent_and_classification_keep_their_published_forms() -> None:
    customer_id = uuid.uuid4()
    consent = contract.ConsentChanged(customer_id=customer_id, channel="email", status="opt_in",
                                      previous_status="unknown", source="web form", wording="Send me news",
                                      recorded_at=NOW, recorded_by="dev")
    assert consent.model_dump(mode="json")["recorded_at"] == "2026-11-26 09:30:15.123456+00:00"
    classified = contract.CustomerClassified(customer_id=customer_id, customer_group="everyone", value_tier="A",
                                             value=Decimal("1500.0000"),
                                             previous=contract.Classification(customer_group=None, value_tier=None))
    assert classified.model_dump(mode="json") == {
        "customer_id": str(customer_id), "customer_group": "everyone", "value_tier": "A", "value": "1500.0000",
        "previous": {"customer_group": None, "value_tier": None}}


def test_a_published_view_is_what_its_payload_model_describes() -> None:
    document = _document()
    view = CustomerView(customer_id=uuid.UUID(str(document["id"])), tenant_id="t", version=4,
                        profile=profile_of(document), profile_sequence=7, kpis=view_rules.compute_kpis([], NOW),
                        source_sequences={"customer": 7, "sales": 2}, updated_at=NOW, parent_id=None,
                        removed_at=None, merged_into=None, document=None)
    published = view_document(view)
    assert contract.CustomerViewDocument.model_validate(published).model_dump(mode="json") == published
    assert published["profile"]["customer_since"] == document["created_at"]


def test_every_event_goes_to_a_topic_the_service_provisions() -> None:
    assert {event_type.topic for event_type in contract.PUBLISHES} <= set(contract.TOPICS)
    assert {reads.topic for reads in contract.READS} <= {topic.name for topic in contract.TOPICS}
    assert [topic.name for topic in contract.TOPICS if topic.compacted] == ["crm.customer_view.v1"]
    assert len({event_type.name for event_type in contract.PUBLISHES}) == len(contract.PUBLISHES)


def test_tenant_settings_events_are_keyed_by_one_stable_id_per_tenant() -> None:
    assert contract.settings_subject("acme") == contract.settings_subject("acme") != contract.settings_subject("beta")
    assert uuid.UUID(contract.settings_subject("acme")).version == 5
