"""The rules of orders, the credit check's arithmetic, payment allocation and document numbers, without a
database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.sales.credit import rules as credit
from services.sales.invoices import rules as invoices
from services.sales.orders import rules
from services.sales.payments import rules as payments
from shared.errors import Conflict, InvalidInput


def test_the_transitions_table_takes_an_order_through_its_life() -> None:
    assert rules.next_status("confirm", "placed") == "confirmed"
    assert rules.next_status("approve", "on_hold") == "confirmed"
    assert rules.next_status("ship", "confirmed") == "shipped"
    assert rules.next_status("deliver", "shipped") == "delivered"
    assert rules.next_status("cancel", "on_hold") == "cancelled"
    assert rules.allowed_actions("placed") == ["confirm", "cancel"]
    assert rules.allowed_actions("delivered") == ["return"]
    assert rules.allowed_actions("cancelled") == rules.allowed_actions("returned") == []


@pytest.mark.parametrize(("action", "status", "allowed"), [
    ("ship", "placed", "confirm, cancel"), ("approve", "confirmed", "ship, cancel"),
    ("cancel", "shipped", "deliver, return"), ("deliver", "cancelled", "nothing")])
def test_a_transition_out_of_order_is_a_conflict_naming_the_allowed_ones(action: str, status: str,
                                                                        allowed: str) -> None:
    with pytest.raises(Conflict, match=f"Allowed: {allowed}"):
        rules.next_status(action, status)


def test_an_invoiced_order_is_not_cancelled() -> None:
    rules.check_cancellable(False)
    with pytest.raises(Conflict, match="credit note"):
        rules.check_cancellable(True)


LINES = [{"product_id": str(uuid.UUID(int=1)), "quantity": "3", "line_total": "100.00"},
         {"product_id": str(uuid.UUID(int=2)), "quantity": "2", "line_total": "50.00"}]


def test_a_line_returned_in_parts_adds_up_to_its_total() -> None:
    first = rules.plan_return(LINES, [Decimal(0), Decimal(0)], [(0, Decimal(1))], "EUR")
    assert first[0]["amount"] == "33.33"
    second = rules.plan_return(LINES, [Decimal(1), Decimal(0)], [(0, Decimal(1))], "EUR")
    third = rules.plan_return(LINES, [Decimal(2), Decimal(0)], [(0, Decimal(1))], "EUR")
    assert Decimal(first[0]["amount"]) + Decimal(second[0]["amount"]) + Decimal(third[0]["amount"]) == Decimal("100.00")
    assert rules.all_returned(LINES, [Decimal(3), Decimal(2)])
    assert not rules.all_returned(LINES, [Decimal(3), Decimal(1)])


@pytest.mark.parametrize(("asked", "field"), [
    ([(0, Decimal(4))], "lines[0].quantity"), ([(5, Decimal(1))], "lines[0].line"),
    ([(1, Decimal(1)), (1, Decimal(1))], "lines[1].line"), ([], "lines")])
def test_a_return_of_more_than_was_shipped_is_refused_naming_the_line(asked: list[tuple[int, Decimal]],
                                                                     field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.plan_return(LINES, [Decimal(0), Decimal(0)], asked, "EUR")
    assert refused.value.errors is not None and refused.value.errors[0]["field"] == field


def _rate(code: str) -> Decimal | None:
    return {"USD": Decimal("0.8"), "JPY": Decimal("0.006")}.get(code)


def test_exposure_sums_every_currency_in_the_tenant_currency() -> None:
    exposure = credit.exposure(currency="EUR", receivables={"EUR": Decimal("100"), "USD": Decimal("50")},
                               uninvoiced={"JPY": Decimal("10000")}, order_total=Decimal("200"), order_currency="EUR",
                               limit=(Decimal("500"), "USD"), rate_of=_rate)
    assert (exposure.open_receivables, exposure.uninvoiced_orders, exposure.this_order) == (
        Decimal("140.00"), Decimal("60.00"), Decimal("200"))
    assert exposure.total == Decimal("400.00") and exposure.limit == Decimal("400.00")
    assert exposure.within_limit and exposure.headroom == 0  # equal to the limit passes
    over = credit.exposure(currency="EUR", receivables={}, uninvoiced={}, order_total=Decimal("400.01"),
                           order_currency="EUR", limit=(Decimal("400"), "EUR"), rate_of=_rate)
    assert not over.within_limit and over.headroom == Decimal("-0.01")


def test_a_currency_without_a_rate_is_refused_naming_where_it_came_from() -> None:
    with pytest.raises(InvalidInput) as refused:
        credit.exposure(currency="EUR", receivables={}, uninvoiced={}, order_total=Decimal(1), order_currency="CHF",
                        limit=None, rate_of=_rate)
    assert refused.value.errors == [{"field": "currency",
                                     "message": "no exchange rate from CHF to the tenant currency EUR today"}]
    with pytest.raises(InvalidInput, match="customer.credit_limit.currency"):
        credit.exposure(currency="EUR", receivables={}, uninvoiced={}, order_total=Decimal(1), order_currency="EUR",
                        limit=(Decimal(1), "CHF"), rate_of=_rate)


def test_the_limit_is_the_customers_else_the_tenant_default_else_none() -> None:
    view = {"profile": {"credit_limit": {"amount": "900.00", "currency": "USD"}}}
    assert credit.limit_of(view, Decimal(5), "EUR") == (Decimal("900.00"), "USD")
    assert credit.limit_of({"profile": {"credit_limit": None}}, Decimal(5), "EUR") == (Decimal(5), "EUR")
    assert credit.limit_of(None, None, "EUR") is None


A, B, C = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def test_a_payment_goes_to_the_oldest_invoices_first() -> None:
    owed = [payments.OpenInvoice(A, Decimal(10)), payments.OpenInvoice(B, Decimal(20)), payments.OpenInvoice(C, Decimal(30))]
    assert payments.oldest_first(Decimal(25), owed) == [(A, Decimal(10)), (B, Decimal(15))]
    assert payments.oldest_first(Decimal(100), owed) == [(A, Decimal(10)), (B, Decimal(20)), (C, Decimal(30))]


def test_allocations_and_over_payments_are_checked() -> None:
    open_of = {A: Decimal(10)}
    payments.check_allocations([(A, Decimal(10))], open_of)
    for asked, field in (([(B, Decimal(1))], "allocations[0].invoice_id"), ([(A, Decimal(11))], "allocations[0].amount"),
                         ([(A, Decimal(1)), (A, Decimal(1))], "allocations[1].invoice_id")):
        with pytest.raises(InvalidInput) as refused:
            payments.check_allocations(asked, open_of)
        assert refused.value.errors is not None and refused.value.errors[0]["field"] == field
    with pytest.raises(InvalidInput, match="keep_excess_as_credit"):
        payments.check_excess(Decimal(15), Decimal(10), keep_excess=False)
    assert payments.check_excess(Decimal(15), Decimal(10), keep_excess=True) == Decimal(5)


def test_document_numbers_and_due_dates() -> None:
    assert invoices.number("invoice", 2026, 7) == "INV-2026-000007"
    assert invoices.number("credit_note", 2027, 1) == "CN-2027-000001"
    assert invoices.due_on(date(2026, 12, 20), 30) == date(2027, 1, 19)
    assert invoices.shown_status("open", date(2026, 1, 1), date(2026, 1, 2)) == "overdue"
    assert invoices.shown_status("paid", date(2026, 1, 1), date(2026, 1, 2)) == "paid"
    assert invoices.status_after("open", Decimal(0)) == "paid"
    assert invoices.open_amount(Decimal(-5)) == 0
