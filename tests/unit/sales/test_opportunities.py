"""Rules of the opportunity pipeline, tested without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.sales.opportunities import rules as sales
from shared.errors import Conflict, InvalidInput


def test_stage_decides_status_and_probability() -> None:
    assert sales.status_of("negotiation") == "open"
    assert sales.status_of("closed_won") == "won"
    assert sales.status_of("closed_lost") == "lost"
    assert sales.probability_of("proposal") == 50


def test_amounts_respect_the_currency_and_are_not_negative() -> None:
    assert sales.check_amount(Decimal("10.5"), "EUR") == Decimal("10.50")
    assert sales.check_amount(Decimal("1000"), "JPY") == Decimal("1000")
    for amount, currency in ((Decimal("-1"), "EUR"), (Decimal("1.001"), "EUR"), (Decimal("1.5"), "JPY")):
        with pytest.raises(InvalidInput):
            sales.check_amount(amount, currency)


def test_a_closed_deal_stays_closed() -> None:
    with pytest.raises(Conflict):
        sales.change_opportunity("closed_won", {"stage": "closed_won"}, {"stage": "proposal"})
    assert sales.change_opportunity("proposal", {"stage": "proposal"}, {"stage": "closed_lost"}) == {
        "stage": {"old": "proposal", "new": "closed_lost"}}


def test_opportunity_patch_splits_money_and_refuses_clearing_required_fields() -> None:
    assert sales.patch_fields({"amount": {"amount": Decimal("5"), "currency": "USD"}}) == {
        "amount": Decimal("5.00"), "currency": "USD"}
    with pytest.raises(InvalidInput):
        sales.patch_fields({"name": None})


@pytest.mark.parametrize(("old", "new", "action"), [
    (None, "open", "created"), ("open", "won", "won"), ("open", "lost", "lost"), ("open", "open", "updated")])
def test_opportunity_event_names_what_happened(old: str | None, new: str, action: str) -> None:
    assert sales.event_action(old, new) == action
