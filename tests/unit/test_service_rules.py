"""Rules of sales, the service desk and campaigns, tested without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.campaign import domain as campaigns
from services.sales import domain as sales
from services.service_desk import domain as desk
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


def test_ticket_life_cycle() -> None:
    desk.check_transition("new", "open")
    desk.check_transition("solved", "open")
    with pytest.raises(Conflict):
        desk.check_transition("closed", "open")
    assert desk.event_action("open", "solved") == "solved"
    assert desk.event_action("solved", "open") == "reopened"
    assert desk.event_action(None, "new") == "created"


def test_campaign_rules() -> None:
    with pytest.raises(InvalidInput):
        campaigns.check_dates(date(2026, 5, 2), date(2026, 5, 1))
    with pytest.raises(Conflict):
        campaigns.check_transition("completed", "active")
    with pytest.raises(Conflict):
        campaigns.check_can_add_member("cancelled")
    campaigns.check_can_add_member("active")
    assert campaigns.patch_fields({"budget": {"amount": Decimal("9.99"), "currency": "EUR"}}) == {
        "budget_amount": Decimal("9.99"), "budget_currency": "EUR"}
