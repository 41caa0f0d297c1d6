"""Value currencies on SQLite and PostgreSQL: the classification names every currency a customer's value is held
in that the tenant has no rate for, the paid revenue sales reports included (read inside its JSON lists)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from services.customer.classification import rules, service
from services.customer.customers import service as customers
from services.customer.customers.schemas import CustomerCreate
from shared.db import unit_of_work
from tests.factories import person_body

TENANT = "acme"


def _paid(customer_id: uuid.UUID, sequence: int, *amounts: tuple[str, str]) -> rules.PaidRevenue:
    return rules.PaidRevenue(customer_id, [{"amount": a, "currency": c} for a, c in amounts], sequence)


def test_paid_revenue_in_a_currency_without_a_rate_is_named_until_the_tenant_gives_one(
        customer_sessions: sessionmaker[Session]) -> None:
    with unit_of_work(customer_sessions) as db:
        payer, other = (customers.create_customer(db, TENANT, CustomerCreate.model_validate(
            person_body(given)).model_dump(mode="json")).customer for given in ("Payer", "Other"))
        service.change_rules(db, TENANT, [], "everyone", None, "EUR", {"USD": Decimal("0.9")},
                             check_version=lambda version: None)
        service.take_paid_revenue(db, TENANT, _paid(payer.id, 5, ("120.00", "EUR"), ("300", "SEK")))
        service.take_paid_revenue(db, TENANT, _paid(other.id, 7, ("10.00", "USD")))
        service.take_paid_revenue(db, TENANT, _paid(uuid.uuid4(), 8, ("10", "NOK")))  # no such customer: ignored
        # Another tenant, paid in its own currency only: the first tenant's SEK is none of its business.
        beta = customers.create_customer(db, "beta", CustomerCreate.model_validate(
            person_body("Beta")).model_dump(mode="json")).customer
        service.change_rules(db, "beta", [], "everyone", None, "EUR", {}, check_version=lambda version: None)
        service.take_paid_revenue(db, "beta", _paid(beta.id, 9, ("5.00", "EUR")))
    with customer_sessions() as db:
        assert service.overview(db, TENANT).currencies_without_rate == ["SEK"]
        assert service.overview(db, "beta").currencies_without_rate == []
    with unit_of_work(customer_sessions) as db:
        settings = service.change_rules(db, TENANT, [], "everyone", None, "EUR",
                                        {"USD": Decimal("0.9"), "SEK": Decimal("0.09")},
                                        check_version=lambda version: None)
    assert settings.currencies_without_rate == []
