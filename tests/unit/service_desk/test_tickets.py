"""Rules of the ticket life cycle, tested without a database."""

from __future__ import annotations

import pytest

from services.service_desk.tickets import rules as desk
from shared.errors import Conflict


def test_ticket_life_cycle() -> None:
    desk.check_transition("new", "open")
    desk.check_transition("solved", "open")
    with pytest.raises(Conflict):
        desk.check_transition("closed", "open")
    assert desk.event_action("open", "solved") == "solved"
    assert desk.event_action("solved", "open") == "reopened"
    assert desk.event_action(None, "new") == "created"
