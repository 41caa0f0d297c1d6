"""Rules of campaigns and their members, tested without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.campaign.campaigns import rules as campaigns
from shared.errors import Conflict, InvalidInput


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
