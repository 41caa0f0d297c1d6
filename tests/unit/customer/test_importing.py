"""Import formats, stream splitting and demo data, tested without a database; and what a bulk import announces,
on a SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from services.customer import contract
from services.customer.customers.schemas import CustomerCreate
from services.customer.importing import rules as importing
from services.customer.importing.rules import DUPLICATE_EVERY, Seeder
from services.customer.importing.service import BulkImporter, seed
from shared.db import OutboxRecord, make_engine, make_sessions
from shared.migrate import upgrade


def _records(data: bytes, csv_mode: bool, chunk: int) -> list[tuple[int, str]]:
    splitter = importing.RecordSplitter(csv_mode)
    found: list[tuple[int, str]] = []
    for start in range(0, len(data), chunk):
        found += splitter.feed(data[start:start + chunk])
    return found + list(splitter.close())


def test_records_are_cut_whole_whatever_the_chunking() -> None:
    data = '\ufeffa,b\n1,"two\nlines"\r\n3,4'.encode()
    for chunk in (1, 3, 1000):
        assert _records(data, True, chunk) == [(1, "a,b"), (2, '1,"two\nlines"'), (4, "3,4")]
    assert _records(b'{"a": 1}\n\n{"b": "x\\"y"}\n', False, 2) == [(1, '{"a": 1}'), (2, ""), (3, '{"b": "x\\"y"}')]


def test_csv_rows_become_create_bodies() -> None:
    reader = importing.RowReader(csv_mode=True)
    assert reader.row(1, "external_id,kind,given_name,family_name,emails,tags,credit_limit_amount,"
                         "credit_limit_currency,address_city,address_line1,address_country,custom.segment") is None
    row = reader.row(2, "x1,person,Ada,Lovelace,a@example.com; b@example.com,vip;key,10.00,EUR,London,1 Main St,GB,gold")
    assert row is not None and row.body == {
        "external_id": "x1", "kind": "person", "given_name": "Ada", "family_name": "Lovelace",
        "emails": [{"address": "a@example.com", "primary": True}, {"address": "b@example.com", "primary": False}],
        "tags": ["vip", "key"], "credit_limit": {"amount": "10.00", "currency": "EUR"},
        "addresses": [{"city": "London", "line1": "1 Main St", "country": "GB", "primary": True}],
        "custom_fields": {"segment": "gold"}}
    assert reader.row(3, "too,few").error == "2 cells, but the header has 12 columns"  # type: ignore[union-attr]


def test_unknown_csv_columns_and_bad_json_are_row_errors() -> None:
    reader = importing.RowReader(csv_mode=True)
    reader.row(1, "external_id,shoe_size")
    assert "shoe_size" in (reader.row(2, "x,44").error or "")  # type: ignore[union-attr]
    ndjson = importing.RowReader(csv_mode=False)
    assert (ndjson.row(7, "{nope").error or "").startswith("not valid JSON")  # type: ignore[union-attr]
    assert ndjson.row(8, '{"id": "1", "version": 3, "kind": "person"}').body == {"kind": "person"}  # type: ignore[union-attr]


def test_exported_documents_read_back_as_the_same_bodies() -> None:
    document = {"id": "0000", "kind": "organization", "display_name": "Acme", "organization_name": "Acme",
                "emails": [{"address": "b@x.example", "primary": False}, {"address": "a@x.example", "primary": True}],
                "phones": [], "addresses": [], "tags": ["a"], "custom_fields": {"seats": 3},
                "credit_limit": {"amount": "5.00", "currency": "EUR"}, "external_id": None, "version": 2}
    row = importing.csv_from_document(document, ["seats"])
    reader = importing.RowReader(csv_mode=True)
    reader.header = list(row)
    body = reader.row(2, ",".join(row.values())).body  # type: ignore[union-attr]
    assert body["external_id"] == "0000" and body["emails"][0] == {"address": "a@x.example", "primary": True}
    assert body["custom_fields"] == {"seats": "3"} and body["credit_limit"] == {"amount": "5.00", "currency": "EUR"}
    assert json.loads(importing.ndjson_from_document(document))["external_id"] == "0000"


def test_seeding_is_deterministic_valid_and_plants_duplicates() -> None:
    first = list(Seeder(42).rows(500))
    assert first == list(Seeder(42).rows(500)) and first != list(Seeder(43).rows(500))
    seen: dict[str, str] = {}
    for body in first:
        creatable, links = importing.split_links({k: v for k, v in body.items() if v is not None})
        CustomerCreate.model_validate(creatable)
        # Every link names an earlier organization (an import resolves it then); subsidiaries hang below roots.
        for linked in links.values():
            assert seen.get(linked) == "organization"
        if "parent_id" in links:
            assert not next(b for b in first if b["external_id"] == links["parent_id"]).get("parent_external_id")
        seen[body["external_id"]] = body["kind"]
    assert sum("parent_external_id" in b for b in first) > 0 and sum("organization_external_id" in b for b in first) > 0
    assert {b["kind"] for b in first} == {"person", "organization"}
    assert len({b["country"] for b in first}) >= 8 and len({b.get("industry") for b in first}) >= 8
    duplicates = [b for b in first if b.get("tags") == ["imported"]]
    assert len(duplicates) == 500 // DUPLICATE_EVERY


def test_links_by_external_id_travel_through_csv_and_ndjson_and_stay_out_of_the_create_body() -> None:
    document = {"id": "c-2", "external_id": "erp-2", "kind": "organization", "organization_name": "Plant",
                "parent_id": "c-1", "organization_id": None, "emails": [], "phones": [], "addresses": [], "tags": []}
    linked = importing.linked_by_external_id(document, {"c-1": "erp-1"})
    assert (linked["parent_external_id"], linked["parent_id"]) == ("erp-1", None)
    # Linked to a customer without an external id: the id stays, as before.
    assert importing.linked_by_external_id(document, {}) == document
    line = json.loads(importing.ndjson_from_document(linked))
    assert line["parent_external_id"] == "erp-1" and "parent_id" not in line
    record = importing.csv_from_document(linked, [])
    assert (record["parent_external_id"], record["parent_id"]) == ("erp-1", "")
    body, links = importing.split_links(importing.body_from_csv(record))
    assert links == {"parent_id": "erp-1"} and "parent_external_id" not in body


def test_bulk_created_customers_are_announced_with_the_created_payload(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'customer.db'}"
    upgrade("customer", url)
    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        report = seed(BulkImporter(sessions, "acme", batch_size=40), 100, 7)
        with sessions() as session:
            announced = list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence)))
    finally:
        engine.dispose()
    assert report.created == len(announced) > 0
    for row in announced:
        assert row.type == contract.CUSTOMER_CREATED.name and row.topic == contract.CUSTOMER_TOPIC.name
        assert contract.CustomerCreated.model_validate(row.data).model_dump(mode="json") == row.data
        assert row.key == row.data["customer"]["id"]
