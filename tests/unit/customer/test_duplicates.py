"""Rules of duplicate detection, tested without a database."""

from __future__ import annotations

from services.customer.duplicates import rules
from tests.factories import person_record


def test_same_email_in_any_case_is_a_strong_match() -> None:
    score, reasons = rules.compare(person_record(emails=[{"address": "Ada@Example.org"}]),
                                   person_record(emails=[{"address": "ada@example.org "}]), "Ada Lovelace", "A. King")
    assert score == rules.SAME_EMAIL and reasons == ["same e-mail address"]


def test_same_phone_in_any_formatting_matches() -> None:
    score, reasons = rules.compare(person_record(phones=[{"number": "+49 30 123456"}]),
                                   person_record(phones=[{"number": "0049-30-123456"}]), "X", "Y")
    assert score == rules.SAME_PHONE and reasons == ["same phone number"]


def test_a_similar_name_counts_only_with_a_shared_address_or_company_domain() -> None:
    address = {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
    alone, _ = rules.compare(person_record(), person_record(), "Ada Lovelace", "Àda Lovelace")
    assert alone == 0.0
    with_address, reasons = rules.compare(person_record(addresses=[address]),
                                          person_record(addresses=[address | {"city": "x"}]),
                                          "Ada Lovelace", "Ada Lovelance")
    assert with_address >= rules.MIN_SCORE and reasons[0] == "similar name and same address"
    public = rules.compare(person_record(emails=[{"address": "a@gmail.com"}]),
                           person_record(emails=[{"address": "b@gmail.com"}]), "Ada Lovelace", "Ada Lovelace")
    assert public == (0.0, [])
    company, reasons = rules.compare(person_record(emails=[{"address": "a@engines.example"}]),
                                     person_record(emails=[{"address": "b@engines.example"}]),
                                     "Ada Lovelace", "Ada Lovelace")
    assert company == rules.NAME_WITH_DOMAIN and "similar name and same e-mail domain" in reasons


def test_evidence_adds_up_but_never_past_one_and_kinds_never_match() -> None:
    a = person_record(emails=[{"address": "a@x.example"}], phones=[{"number": "+4930123456"}])
    score, reasons = rules.compare(a, a, "Ada", "Ada")
    assert 0.9 < score < 1.0 and reasons[:2] == ["same e-mail address", "same phone number"]
    assert rules.compare(a, a | {"kind": "organization"}, "Ada", "Ada") == (0.0, [])


def test_an_imported_row_matches_the_owner_of_its_email_first_then_its_phone() -> None:
    keys = rules.identifying_keys({("email", "a@x.org"), ("phone", "4930123"), ("tag", "vip")})
    assert keys == [("email", "a@x.org"), ("phone", "4930123")]  # tags identify nobody
    assert rules.match_by_keys(keys, {}) is None
    assert rules.match_by_keys(keys, {("phone", "4930123"): "P"}) == ("P", ["same phone number"])
    assert rules.match_by_keys(keys, {("phone", "4930123"): "P", ("email", "a@x.org"): "E"}) == (
        "E", ["same e-mail address"])
    assert rules.match_by_keys(keys, {("phone", "4930123"): "E", ("email", "a@x.org"): "E"}) == (
        "E", ["same e-mail address", "same phone number"])
