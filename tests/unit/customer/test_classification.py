"""Classification: ordered group rules and value tiers (Pareto by default) without a database, and
reclassifying and taking deals on a database of their own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.customers import service as customers
from services.customer.customers.schemas import CustomerCreate
from services.customer.customers.tables import Customer
from services.customer.classification import rules, service
from shared.envelope import CloudEvent
from shared.errors import InvalidInput
from tests.factories import person_body
from tests.unit.customer.conftest import TENANT, announced

RULES = rules.check_rules([
    {"group": "government", "when": [{"field": "industry", "op": "eq", "value": "Government"}]},
    {"group": "large enterprise", "when": [{"field": "kind", "op": "eq", "value": "organization"},
                                           {"field": "employees", "op": "gte", "value": 1000}]},
    {"group": "sme", "when": [{"field": "kind", "op": "eq", "value": "organization"}]},
    {"group": "individual high-value", "when": [{"field": "lifetime_value", "op": "gte", "value": "10000"}]},
    {"group": "partner", "when": [{"field": "tags", "op": "contains", "value": "partner"}]},
    {"group": "campus", "when": [{"field": "custom.segment", "op": "in", "value": ["university", "school"]}]},
])


@pytest.mark.parametrize(("state", "group"), [
    ({"kind": "organization", "industry": "government", "employees": 50000}, "government"),
    ({"kind": "organization", "employees": 1000}, "large enterprise"),
    ({"kind": "organization", "employees": 999}, "sme"),
    ({"kind": "organization"}, "sme"),
    ({"kind": "person", "lifetime_value": {"amount": "12000.00", "currency": "EUR"}}, "individual high-value"),
    ({"kind": "person", "tags": ["partner"]}, "partner"),
    ({"kind": "person", "custom_fields": {"segment": "school"}}, "campus"),
    ({"kind": "person"}, "household"),
])
def test_first_matching_rule_names_the_group(state: dict, group: str) -> None:
    assert rules.group_of(state, RULES, "household") == group


def test_bad_rules_are_refused_with_their_place() -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.check_rules([{"group": "x", "when": [{"field": "shoe_size", "op": "eq", "value": 1},
                                                  {"field": "employees", "op": "gte", "value": "many"}]}])
    assert {e["field"] for e in raised.value.errors or []} == {"rules.0.when.0.field", "rules.0.when.1.value"}


def test_tier_shares_must_add_up() -> None:
    with pytest.raises(InvalidInput):
        rules.check_tiers([{"tier": "A", "share": 0.5}, {"tier": "B", "share": 0.3}])
    assert rules.check_tiers(rules.DEFAULT_TIERS) == rules.DEFAULT_TIERS


def test_pareto_default_top_20_percent_are_tier_a() -> None:
    values = [(f"c{i:02d}", Decimal(100 - i)) for i in range(10)]  # c00 is the most valuable
    tiers, cutoffs = rules.assign_tiers(values, rules.DEFAULT_TIERS)
    assert [tiers[f"c{i:02d}"] for i in range(10)] == ["A"] * 2 + ["B"] * 3 + ["C"] * 5
    assert cutoffs == ["99", "96", None]


def test_equal_values_share_the_better_tier_and_no_value_is_never_a() -> None:
    values = [("a", Decimal(50)), ("b", Decimal(50)), ("c", Decimal(50)), ("d", Decimal(0)), ("e", Decimal(0))]
    tiers, _ = rules.assign_tiers(values, rules.DEFAULT_TIERS)
    assert tiers == {"a": "A", "b": "A", "c": "A", "d": "C", "e": "C"}
    nobody, cutoffs = rules.assign_tiers([("x", Decimal(0))], rules.DEFAULT_TIERS)
    assert nobody == {"x": "C"} and cutoffs == [None, None, None]


def test_a_single_customer_is_placed_with_the_last_cutoffs() -> None:
    cutoffs = ["99", "96", None]
    assert rules.tier_of(Decimal(120), rules.DEFAULT_TIERS, cutoffs) == "A"
    assert rules.tier_of(Decimal(97), rules.DEFAULT_TIERS, cutoffs) == "B"
    assert rules.tier_of(Decimal(1), rules.DEFAULT_TIERS, cutoffs) == "C"
    assert rules.tier_of(Decimal(0), rules.DEFAULT_TIERS, [None, None, None]) == "C"


def test_classify_combines_group_and_tier() -> None:
    settings = {"rules": RULES, "default_group": "household", "tiers": rules.DEFAULT_TIERS, "cutoffs": ["99", "96", None]}
    assert rules.classify({"kind": "organization", "employees": 5000,
                           "lifetime_value": {"amount": "150.00", "currency": "EUR"}}, settings) == {
        "customer_group": "large enterprise", "value_tier": "A", "value_amount": Decimal("150")}


# --- value from sales -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, tzinfo=UTC)
EUR_RATES = {"rules": [], "default_group": "all", "tiers": rules.DEFAULT_TIERS, "cutoffs": ["1000", "100", None],
             "currency": "EUR", "exchange_rates": {"USD": "0.5", "SEK": "0.1"}, "value_basis": "won_deals"}


def _money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def test_sales_figures_count_won_deals_per_currency_and_the_last_win() -> None:
    early, late = NOW - timedelta(days=40), NOW - timedelta(days=3)
    figures = rules.sales_figures([("won", Decimal("100.0000"), "USD", early), ("open", Decimal("999"), "USD", None),
                                   ("won", Decimal("5"), "JPY", late), ("lost", Decimal("7"), "EUR", None),
                                   ("won", Decimal("0.5"), "USD", early)])
    assert figures == {"won_deals": 3, "won_value": [_money("5", "JPY"), _money("100.50", "USD")], "last_won_at": late}
    assert rules.sales_figures([]) == rules.NO_SALES


def test_value_is_lifetime_value_plus_won_deals_converted_into_the_value_currency() -> None:
    sales = {"won_deals": 2, "won_value": [_money("100", "USD"), _money("1000", "SEK")], "last_won_at": NOW}
    state = {"lifetime_value": _money("30", "EUR")}
    assert rules.value_of(state, EUR_RATES, sales) == Decimal("180")  # 30 + 50 + 100
    # A currency without a rate counts for nothing (never a guessed rate), and is reported as such.
    no_sek = EUR_RATES | {"exchange_rates": {"USD": "0.5"}}
    assert rules.value_of(state, no_sek, sales) == Decimal("80")
    assert rules.unconverted(["EUR", "SEK", "USD"], no_sek) == ["SEK"]
    # A one-currency tenant (no value currency) counts amounts as they are.
    one_currency = EUR_RATES | {"currency": None, "exchange_rates": {}}
    assert rules.value_of(state, one_currency, sales) == Decimal("1130")
    assert rules.unconverted(["EUR", "SEK"], one_currency) == []
    assert rules.value_of({}, EUR_RATES) == Decimal(0)


def test_by_default_value_is_lifetime_value_plus_paid_revenue_and_won_deals_only_feed_group_rules() -> None:
    paid_basis = EUR_RATES | {"value_basis": "paid_revenue"}
    sales = {"won_deals": 1, "won_value": [_money("5000", "EUR")], "last_won_at": NOW,
             "paid_revenue": [_money("200", "USD"), _money("40", "EUR")]}
    state = {"lifetime_value": _money("30", "EUR")}
    assert rules.value_of(state, paid_basis, sales) == Decimal("170")  # 30 + 100 + 40: the won deal is not paid
    assert rules.value_of(state, paid_basis, {"won_deals": 0, "won_value": [], "last_won_at": None}) == Decimal("30")
    facts = rules.rule_facts(state, paid_basis, sales, NOW)
    assert (facts["paid_revenue"], facts["won_value"], facts["value"]) == (Decimal("140"), Decimal("5000"),
                                                                        Decimal("170"))
    assert rules.value_of(state, {k: v for k, v in paid_basis.items() if k != "value_basis"}, sales) == Decimal("170")


def _payment_event(sequence: int, customer: uuid.UUID, paid: list[dict[str, str]] | None) -> CloudEvent:
    data = {"payment_id": str(uuid.uuid4()), "customer_id": str(customer), "amount": _money("10.00", "EUR"),
            "received_on": "2026-11-30", "allocations": [], "unallocated": _money("10.00", "EUR")}
    if paid is not None:
        data["paid_revenue"] = paid
    return CloudEvent.model_validate({
        "id": str(uuid.uuid4()), "source": "/crm/sales", "type": "crm.sales.payment.received.v1",
        "subject": str(customer), "time": NOW.isoformat(), "tenant": "t", "sequence": sequence, "data": data})


def test_paid_revenue_reported_by_payments_moves_value_and_tier_and_a_late_report_changes_nothing(db: Session) -> None:
    payer, others = _create(db, "Payer"), [_create(db, f"Quiet{n}") for n in range(4)]
    service.change_rules(db, TENANT, [], "everyone", None, None, {}, check_version=_any_version)
    payer = customers.found(db, TENANT, payer.id)  # ranking writes in bulk, past the loaded rows
    assert payer.value_tier == "C"
    newer = rules.paid_revenue_from_event(_payment_event(9, payer.id, [_money("1200.5", "EUR")]))
    older = rules.paid_revenue_from_event(_payment_event(8, payer.id, [_money("600", "EUR")]))
    assert newer is not None and older is not None
    assert newer.amounts == [_money("1200.50", "EUR")]
    service.take_paid_revenue(db, TENANT, newer)
    service.take_paid_revenue(db, TENANT, older)  # late: the newer report stands
    assert (payer.paid_revenue, payer.paid_revenue_sequence, payer.value_amount) == (
        [_money("1200.50", "EUR")], 9, Decimal("1200.5000"))
    # Nobody had value at the last ranking, so no cut-off places a single write above the last tier until the
    # next ranking, which ranks the payer first.
    service.evaluate(db, TENANT)
    assert customers.found(db, TENANT, payer.id).value_tier == "A"
    assert all(customers.found(db, TENANT, o.id).value_tier == "C" for o in others)
    # Events from before the sales service reported paid revenue, and other events, carry none.
    assert rules.paid_revenue_from_event(_payment_event(10, payer.id, None)) is None
    assert rules.paid_revenue_from_event(_opportunity_event("won", 3, payer.id, uuid.uuid4())) is None


def test_a_won_deal_moves_the_tier_and_sales_figures_feed_group_rules() -> None:
    settings = EUR_RATES | {"rules": rules.check_rules([
        {"group": "loyal", "when": [{"field": "won_deals", "op": "gte", "value": 2},
                                    {"field": "days_since_last_won", "op": "lte", "value": 30}]},
        {"group": "big spender", "when": [{"field": "won_value", "op": "gte", "value": 500}]},
    ])}
    state = {"kind": "person"}
    assert rules.classify(state, settings, None, NOW) == {
        "customer_group": "all", "value_tier": "C", "value_amount": Decimal(0)}
    one_big_win = {"won_deals": 1, "won_value": [_money("2400", "USD")], "last_won_at": NOW - timedelta(days=100)}
    assert rules.classify(state, settings, one_big_win, NOW) == {
        "customer_group": "big spender", "value_tier": "A", "value_amount": Decimal("1200")}
    two_recent = {"won_deals": 2, "won_value": [_money("300", "EUR")], "last_won_at": NOW - timedelta(days=10)}
    assert rules.classify(state, settings, two_recent, NOW) == {
        "customer_group": "loyal", "value_tier": "B", "value_amount": Decimal("300")}
    assert rules.moved({"customer_group": "all", "value_tier": "C"}, {"customer_group": "all", "value_tier": "C",
                                                                    "value_amount": Decimal(5)}) is False


def _opportunity_event(status: str, sequence: int, customer: uuid.UUID, opportunity: uuid.UUID) -> CloudEvent:
    return CloudEvent.model_validate({
        "id": str(uuid.uuid4()), "source": "/crm/sales", "type": f"crm.sales.opportunity.{status}.v1",
        "subject": str(customer), "time": NOW.isoformat(), "tenant": "t", "sequence": sequence,
        "data": {"opportunity_id": str(opportunity), "customer_id": str(customer), "name": "Deal",
                 "amount": _money("250.00", "USD"), "stage": "closed_won", "status": status, "probability": 100,
                 "version": 1}})


def test_a_deal_is_read_from_opportunity_events_and_keeps_when_it_was_first_won() -> None:
    customer, opportunity = uuid.uuid4(), uuid.uuid4()
    deal = rules.deal_from_event(_opportunity_event("won", 7, customer, opportunity))
    assert deal == rules.Deal(opportunity_id=opportunity, customer_id=customer, status="won",
                              amount=Decimal("250.00"), currency="USD", sequence=7, at=NOW)
    earlier = NOW - timedelta(days=9)
    assert rules.won_at(deal, "won", earlier) == earlier  # re-pointed by a merge: still won back then
    assert rules.won_at(deal, "open", None) == NOW
    assert rules.won_at(rules.Deal(opportunity, customer, "lost", Decimal(1), "USD", 8, NOW), "won", earlier) is None


def test_exchange_rates_need_a_value_currency_and_positive_rates() -> None:
    assert rules.check_exchange_rates("EUR", {"USD": Decimal("0.920"), "EUR": Decimal(1)}) == {"USD": "0.92"}
    for currency, rates in ((None, {"USD": Decimal(1)}), ("EUR", {"USD": Decimal(0)}), ("EUR", {"EUR": Decimal(2)})):
        with pytest.raises(InvalidInput):
            rules.check_exchange_rates(currency, rates)


# --- the use cases, on a database of their own ---------------------------------------------


def _create(db: Session, given: str, **fields: object) -> Customer:
    body = CustomerCreate.model_validate(person_body(given, **fields)).model_dump(mode="json")
    return customers.create_customer(db, TENANT, body).customer


def _any_version(version: int) -> None:
    pass


def test_new_rules_reclassify_everyone_and_announce_whose_group_or_tier_moved(db: Session) -> None:
    rich = _create(db, "Rich", lifetime_value={"amount": "900.00", "currency": "EUR"})
    for n in range(4):
        _create(db, f"Other{n}")
    overview = service.change_rules(db, TENANT, [{"group": "big", "when": [
        {"field": "value", "op": "gte", "value": 500}]}], "everyone", None, "EUR", {}, check_version=_any_version)
    assert (overview.version, overview.reclassified) == (1, 5)
    assert overview.current["cutoffs"][0] == "900.0000"
    ranked = customers.found(db, TENANT, rich.id)  # ranking writes in bulk, past the loaded rows
    assert (ranked.customer_group, ranked.value_tier) == ("big", "A")
    rules_changed = announced(db, contract.CLASSIFICATION_RULES_CHANGED.name)
    assert rules_changed[0][1] == contract.settings_subject(TENANT) and rules_changed[0][2]["version"] == 1
    moved = {key: data for _, key, data in announced(db, contract.CUSTOMER_CLASSIFIED.name)}
    assert moved[str(rich.id)] == {"customer_id": str(rich.id), "customer_group": "big", "value_tier": "A",
                                   "value": "900.0000", "previous": {"customer_group": "unclassified",
                                                                     "value_tier": "C"}}


def test_a_won_deal_moves_its_customers_figures_once(db: Session) -> None:
    buyer = _create(db, "Buyer")
    service.change_rules(db, TENANT, [], "everyone", None, None, {}, check_version=_any_version,
                         value_basis="won_deals")
    buyer = customers.found(db, TENANT, buyer.id)  # ranking writes in bulk, past the loaded rows
    event = _opportunity_event("won", 3, buyer.id, uuid.uuid4())
    deal = rules.deal_from_event(event)
    assert deal is not None
    service.take_deal(db, TENANT, deal)
    service.take_deal(db, TENANT, deal)  # a redelivery counts nothing twice
    assert (buyer.won_deals, buyer.won_value) == (1, [{"amount": "250.00", "currency": "USD"}])
    assert buyer.value_amount == Decimal("250.0000")
