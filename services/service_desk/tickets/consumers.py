"""How tickets follow their customer's life cycle: merges re-point them to the survivor, unmerges bring them
back, erasure blanks what the customer wrote."""

from __future__ import annotations

from services.service_desk.tickets import service
from services.service_desk.tickets.tables import Ticket
from shared.lifecycle import Follower

FOLLOWER = Follower(Ticket, "ticket", moved=service.follow_customer, anonymise=service.erase_customer)
