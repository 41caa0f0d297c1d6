"""Rules of the unified view: how events become facts and timeline entries, and how facts become KPIs.

The view is computed from *facts*: the latest known state of each thing another
service owns (an opportunity, a ticket, a campaign membership ...). A KPI is a pure
function of a customer's facts and the time of the latest event applied (``as_of``),
never of the wall clock or of the order events arrived in. That is what makes a
rebuild from Kafka come out identical to the live view, and a redelivered or late
event harmless.

Adding a KPI for a new event type is a local change: a reader model in the service's
contract, a fact rule in ``FACT_RULES`` (and a timeline rule in ``TIMELINE_RULES``), and a
KPI rule in ``KPI_RULES``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.customer.contract import (
    CreditNoteReport,
    InvoiceReport,
    LeadReport,
    LoyaltyReport,
    MembershipReport,
    OffersReport,
    OpportunityReport,
    OrderReport,
    PaymentReport,
    ResponseReport,
    ReturnReport,
    SatisfactionReport,
    SendReport,
    SlaBreachReport,
    TicketReport,
)
from shared.envelope import CloudEvent

RECENT = timedelta(days=90)
# A view's consent before the master recorded any: every channel unknown (the consent API's own answer).
NO_CONSENT: dict[str, str] = {"email": "unknown", "sms": "unknown", "phone": "unknown"}


@dataclass(frozen=True)
class Fact:
    source: str
    entity: str
    entity_id: str
    customer_id: uuid.UUID
    sequence: int
    state: dict[str, Any]

    @property
    def at(self) -> datetime:
        """When the event that set this state happened."""
        return datetime.fromisoformat(self.state["at"])


# --- events -> facts --------------------------------------------------------------------


def _opportunity(event: CloudEvent) -> Fact:
    report = OpportunityReport.model_validate(event.data)
    return _fact(event, "opportunity", report.opportunity_id, {
        "name": report.name,
        "status": report.status,
        "stage": report.stage,
        "probability": report.probability,
        "amount": str(report.amount.amount),
        "currency": report.amount.currency,
        "forecast_category": report.forecast_category,
        "owner": report.owner,
        "expected_close_date": report.expected_close_date.isoformat() if report.expected_close_date else None,
    })


def _lead(event: CloudEvent) -> Fact | None:
    report = LeadReport.model_validate(event.data)
    if report.customer_id is None:
        return None  # keyed by the lead itself: about no customer (yet)
    return _fact(event, "lead", report.lead_id, {
        "status": report.status,
        "source": report.source,
        "score": report.score,
        "opportunity_id": str(report.opportunity_id) if report.opportunity_id else None,
        "duplicate_of": str(report.duplicate_of) if report.duplicate_of else None,
    })


def _ticket(event: CloudEvent) -> Fact:
    report = TicketReport.model_validate(event.data)
    return _fact(event, "ticket", report.ticket_id, {
        "subject": report.subject,
        "status": report.status,
        "priority": report.priority,
        "type": report.type,
        "channel": report.channel,
        "opened_at": (report.created_at or event.time).isoformat(),
    })


def _campaign_member(event: CloudEvent) -> Fact:
    report = MembershipReport.model_validate(event.data)
    return _fact(event, "campaign_member", f"{report.campaign_id}:{event.subject}", {
        "campaign_id": report.campaign_id,
        "campaign_name": report.campaign_name,
        "status": report.status,
    })


def _campaign_response(event: CloudEvent) -> Fact:
    report = ResponseReport.model_validate(event.data)
    return _fact(event, "campaign_response", report.response_id, {
        "campaign_id": report.campaign_id,
        "campaign_name": report.campaign_name,
        "kind": report.kind,
        "occurred_at": report.occurred_at.astimezone(UTC).isoformat(),
    })


def _campaign_send(event: CloudEvent) -> Fact | None:
    report = SendReport.model_validate(event.data)
    if report.status == "suppressed":
        return None  # never left: no contact, and nothing for the view to recompute
    return _fact(event, "campaign_send", report.send_id, {
        "campaign_id": report.campaign_id,
        "campaign_name": report.campaign_name,
        "channel": report.channel,
        "status": report.status,
        "occurred_at": report.occurred_at.astimezone(UTC).isoformat(),
    })


def _order(event: CloudEvent) -> Fact:
    report = OrderReport.model_validate(event.data)
    return _fact(event, "order", report.order_id, _order_state(report))


def _order_state(report: OrderReport) -> dict[str, Any]:
    return {"status": report.status, "total": str(report.total.amount), "currency": report.total.currency,
            "returned": str(report.returned.amount)}


def _order_return(event: CloudEvent) -> Fact:
    # A fact of its own (one per return, so returns can be counted by when they happened), which also
    # carries the order as the return left it: the order's status is that of its newest event of either.
    report = ReturnReport.model_validate(event.data)
    return _fact(event, "order_return", report.return_id, _order_state(report) | {
        "order_id": report.order_id, "amount": str(report.amount.amount)})


def _invoice(event: CloudEvent) -> Fact:
    report = InvoiceReport.model_validate(event.data)
    return _fact(event, "invoice", report.invoice_id, {
        "order_id": report.order_id,
        "number": report.number,
        "due_on": report.due_on.isoformat(),
        "total": str(report.total.amount),
        "currency": report.total.currency,
        "open_amount": str(report.open_amount.amount),
        "status": report.status,
        "written_off": str(report.written_off.amount) if report.written_off else "0",
        # crm.sales.invoice.overdue.v1: the owner says it is overdue (a due_soon reminder says it is not yet).
        "overdue_reported": _action(event) == "overdue",
    })


def _payment(event: CloudEvent) -> Fact:
    report = PaymentReport.model_validate(event.data)
    return _fact(event, "payment", report.payment_id, {
        "amount": str(report.amount.amount),
        "currency": report.amount.currency,
        "allocations": [{"invoice_id": a.invoice_id, "amount": str(a.amount.amount), "currency": a.amount.currency}
                        for a in report.allocations],
    })


def _credit_note(event: CloudEvent) -> Fact:
    report = CreditNoteReport.model_validate(event.data)
    return _fact(event, "credit_note", report.credit_note_id, {
        "invoice_id": report.invoice_id,
        "kind": report.kind,
        "amount": str(report.amount.amount),
        "currency": report.amount.currency,
    })


def _loyalty(event: CloudEvent) -> Fact:
    # One fact per account, its newest movement's balance: a customer merged into another brings its
    # account along as a second fact, and the survivor's balance is the sum of both.
    report = LoyaltyReport.model_validate(event.data)
    return _fact(event, "loyalty", str(report.customer_id), {"balance": report.balance})


def _offers(event: CloudEvent) -> Fact:
    report = OffersReport.model_validate(event.data)
    return _fact(event, "offers", str(report.customer_id), {
        "offers": [{"product_id": o.product_id, "name": o.name, "reason": o.reason} for o in report.offers]})


def _sla_breach(event: CloudEvent) -> Fact:
    """A breach is a fact of its own beside the ticket's: the ticket's later events must not wash it out."""
    report = SlaBreachReport.model_validate(event.data)
    return _fact(event, "ticket_sla_breach", report.ticket_id, {"ticket_id": report.ticket_id,
                                                                 "target": report.target})


def _rating(event: CloudEvent) -> Fact:
    report = SatisfactionReport.model_validate(event.data)
    return _fact(event, "satisfaction", f"{report.ticket_id}:{report.resolution}", {
        "ticket_id": report.ticket_id, "resolution": report.resolution, "rating": report.rating,
        "rated_at": (report.rated_at or event.time).isoformat()})


def _fact(event: CloudEvent, entity: str, entity_id: str, state: dict[str, Any]) -> Fact:
    state = state | {"at": event.time.isoformat()}
    return Fact(event.service, entity, str(entity_id), uuid.UUID(event.subject), event.sequence, state)


# Event-type prefix -> how its event becomes a fact (None: about no customer). Types not listed carry no
# customer fact.
FACT_RULES: dict[str, Callable[[CloudEvent], Fact | None]] = {
    "crm.sales.opportunity.": _opportunity,
    "crm.sales.lead.": _lead,
    "crm.sales.order.returned.": _order_return,  # before the other order events: a payload of its own
    "crm.sales.order.": _order,
    "crm.sales.invoice.": _invoice,
    "crm.sales.payment.": _payment,
    "crm.sales.credit_note.": _credit_note,
    "crm.sales.loyalty.": _loyalty,
    "crm.sales.offers.": _offers,
    "crm.service_desk.ticket.sla_breached.": _sla_breach,  # before the other ticket events: a fact of its own
    "crm.service_desk.ticket.": _ticket,
    "crm.service_desk.satisfaction.": _rating,
    "crm.campaign.member.": _campaign_member,
    "crm.campaign.response.": _campaign_response,
    "crm.campaign.send.": _campaign_send,
}


def fact_from_event(event: CloudEvent) -> Fact | None:
    for prefix, rule in FACT_RULES.items():
        if event.type.startswith(prefix):
            return rule(event)
    return None


def is_newer(incoming_sequence: int, known_sequence: int | None) -> bool:
    """Facts only move forward: a late or repeated event never overwrites a newer one."""
    return known_sequence is None or incoming_sequence > known_sequence


# --- events -> timeline -----------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event_id: uuid.UUID
    customer_id: uuid.UUID
    occurred_at: datetime
    source: str
    type: str
    summary: str
    resource: str | None


def _action(event: CloudEvent) -> str:
    return event.type.split(".")[-2]


def _opportunity_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = OpportunityReport.model_validate(event.data)
    return (f"Opportunity '{report.name}' {_action(event)} ({report.amount.amount} {report.amount.currency}, "
            f"{report.stage})", f"/v1/opportunities/{report.opportunity_id}")


def _order_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = OrderReport.model_validate(event.data)
    return (f"Order {_action(event)} ({report.total.amount} {report.total.currency}, {report.status})",
            f"/v1/orders/{report.order_id}")


def _return_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = ReturnReport.model_validate(event.data)
    return (f"Goods returned ({report.amount.amount} {report.amount.currency}; order {report.status})",
            f"/v1/orders/{report.order_id}/returns")


def _invoice_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = InvoiceReport.model_validate(event.data)
    return (f"Invoice {report.number} {_action(event).replace('_', ' ')} ({report.total.amount} "
            f"{report.total.currency}, due {report.due_on.isoformat()})", f"/v1/invoices/{report.invoice_id}")


def _payment_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = PaymentReport.model_validate(event.data)
    return (f"Payment {_action(event)} ({report.amount.amount} {report.amount.currency}, "
            f"to {len(report.allocations)} invoice{'' if len(report.allocations) == 1 else 's'})",
            f"/v1/payments/{report.payment_id}")


def _credit_note_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = CreditNoteReport.model_validate(event.data)
    return (f"Credit note {report.number} {_action(event)} ({report.amount.amount} {report.amount.currency}, {report.kind})",
            f"/v1/credit-notes/{report.credit_note_id}")


def _loyalty_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = LoyaltyReport.model_validate(event.data)
    return (f"Loyalty points {_action(event)} ({report.points}, balance {report.balance})",
            f"/v1/loyalty/accounts/{report.customer_id}")


def _offers_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = OffersReport.model_validate(event.data)
    return f"Offers updated ({len(report.offers)})", f"/v1/customers/{report.customer_id}/offers"


def _ticket_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = TicketReport.model_validate(event.data)
    return (f"Ticket '{report.subject}' {_action(event)} ({report.priority}, {report.status})",
            f"/v1/tickets/{report.ticket_id}")


def _rating_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = SatisfactionReport.model_validate(event.data)
    return (f"Rated ticket resolution {report.resolution}: {report.rating}/5",
            f"/v1/tickets/{report.ticket_id}/satisfaction")


def _membership_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = MembershipReport.model_validate(event.data)
    verb = "Added to" if _action(event) == "added" else "Removed from"
    return f"{verb} campaign '{report.campaign_name}'", f"/v1/campaigns/{report.campaign_id}"


def _lead_entry(event: CloudEvent) -> tuple[str, str | None]:
    # Status, source and score only: the lead's names, e-mail and phone stay in the sales service.
    report = LeadReport.model_validate(event.data)
    return (f"Lead {_action(event)} ({report.status}, from {report.source or 'unknown source'}, score {report.score})",
            f"/v1/leads/{report.lead_id}")


def _send_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = SendReport.model_validate(event.data)
    what = {"sent": f"sent by {report.channel}", "bounced": f"{report.channel} bounced",
            "suppressed": f"not sent by {report.channel}"}.get(report.status, report.status)
    moved = " (moved here with a merge)" if _action(event) == "moved" else ""
    return (f"Campaign '{report.campaign_name}': {what}{moved}",
            f"/v1/campaigns/{report.campaign_id}/sends")


def _response_entry(event: CloudEvent) -> tuple[str, str | None]:
    report = ResponseReport.model_validate(event.data)
    moved = " (moved here with a merge)" if _action(event) == "moved" else ""
    return (f"Campaign '{report.campaign_name}': {report.kind}{moved}",
            f"/v1/campaigns/{report.campaign_id}/responses?customer_id={event.subject}")


TIMELINE_RULES: dict[str, Callable[[CloudEvent], tuple[str, str | None]]] = {
    "crm.customer.": lambda e: (f"Customer {_action(e)}", f"/v1/customers/{e.subject}"),
    "crm.sales.opportunity.": _opportunity_entry,
    "crm.sales.lead.": _lead_entry,
    "crm.sales.order.returned.": _return_entry,
    "crm.sales.order.": _order_entry,
    "crm.sales.invoice.": _invoice_entry,
    "crm.sales.payment.": _payment_entry,
    "crm.sales.credit_note.": _credit_note_entry,
    "crm.sales.loyalty.": _loyalty_entry,
    "crm.sales.offers.": _offers_entry,
    "crm.service_desk.ticket.": _ticket_entry,
    "crm.service_desk.satisfaction.": _rating_entry,
    "crm.campaign.member.": _membership_entry,
    "crm.campaign.response.": _response_entry,
    "crm.campaign.send.": _send_entry,
}


def timeline_entry(event: CloudEvent) -> TimelineEntry:
    """Every event about a customer is an interaction on its timeline, linked to the owning resource."""
    summary, resource = f"{event.type}", None
    for prefix, rule in TIMELINE_RULES.items():
        if event.type.startswith(prefix):
            summary, resource = rule(event)
            break
    return TimelineEntry(
        event_id=uuid.UUID(event.id) if _is_uuid(event.id) else uuid.uuid5(uuid.NAMESPACE_URL, event.id),
        customer_id=uuid.UUID(event.subject),
        occurred_at=event.time,
        source=event.service,
        type=event.type,
        summary=summary[:500],
        resource=resource,
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- facts -> KPIs ----------------------------------------------------------------------


def _money_totals(pairs: list[tuple[str, Decimal]]) -> list[dict[str, str]]:
    """Sums per currency, currencies in alphabetical order: no exchange rates are assumed."""
    totals: dict[str, Decimal] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return [{"amount": format(totals[c], "f"), "currency": c} for c in sorted(totals)]


def _of(facts: list[Fact], entity: str) -> list[Fact]:
    return [f for f in facts if f.entity == entity]


# Always shown for open deals (empty when none); other categories (omitted, or none reported by
# deals from before categories were published: "uncategorized") only when a deal is in them.
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit")
UNCATEGORIZED = "uncategorized"


def _by_category(open_ones: list[Fact]) -> dict[str, list[dict[str, str]]]:
    """Open value per forecast category, each per currency."""
    pairs: dict[str, list[tuple[str, Decimal]]] = {category: [] for category in FORECAST_CATEGORIES}
    for fact in open_ones:
        category = fact.state.get("forecast_category") or UNCATEGORIZED
        pairs.setdefault(category, []).append((fact.state["currency"], Decimal(fact.state["amount"])))
    return {category: _money_totals(pairs[category]) for category in sorted(pairs)}


def pipeline_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    opportunities = _of(facts, "opportunity")
    open_ones = [f for f in opportunities if f.state["status"] == "open"]
    won = [f for f in opportunities if f.state["status"] == "won"]
    return {
        "open_opportunities": len(open_ones),
        "open_pipeline_value": _money_totals([(f.state["currency"], Decimal(f.state["amount"])) for f in open_ones]),
        "open_pipeline_by_category": _by_category(open_ones),
        "weighted_pipeline_value": _money_totals([
            (f.state["currency"], (Decimal(f.state["amount"]) * f.state["probability"] / 100).quantize(Decimal("0.01")))
            for f in open_ones
        ]),
        "won_deals": len(won),
        "won_value": _money_totals([(f.state["currency"], Decimal(f.state["amount"])) for f in won]),
        "lost_deals": sum(1 for f in opportunities if f.state["status"] == "lost"),
        "lost_deals_90d": sum(1 for f in opportunities if f.state["status"] == "lost" and as_of - f.at <= RECENT),
    }


# A lead that ended: turned into a customer's deal, or turned down.
CLOSED_LEAD_STATUSES = frozenset({"converted", "disqualified"})


def _open_lead(fact: Fact) -> bool:
    # A merged event names the lead a duplicate was folded into (itself, when it is that lead): a lead
    # that names another one is the duplicate, and is not one more open lead.
    folded_into = fact.state.get("duplicate_of")
    return fact.state["status"] not in CLOSED_LEAD_STATUSES and folded_into in (None, fact.entity_id)


def sales_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    """Open leads, and the time of the newest sales event (lead or opportunity)."""
    leads = _of(facts, "lead")
    sales = leads + _of(facts, "opportunity")
    return {
        "open_leads": sum(1 for f in leads if _open_lead(f)),
        "last_sales_contact_at": max(f.at for f in sales).isoformat() if sales else None,
    }


# An order is open until its goods arrived, or it ended otherwise.
CLOSED_ORDER_STATUSES = frozenset({"delivered", "cancelled", "returned"})
SETTLED_INVOICE_STATUSES = frozenset({"paid", "written_off"})


def _orders_now(facts: list[Fact]) -> list[Fact]:
    """Each order as its newest event left it: an order event, or a return (which reports the order too)."""
    newest: dict[str, Fact] = {}
    for fact in _of(facts, "order") + _of(facts, "order_return"):
        order_id = fact.state.get("order_id", fact.entity_id)
        if order_id not in newest or fact.sequence > newest[order_id].sequence:
            newest[order_id] = fact
    return list(newest.values())


def order_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    """Open orders (not delivered, cancelled or returned) and their value less what came back, per currency;
    returns in the last 90 days (by when the return was reported)."""
    open_ones = [f for f in _orders_now(facts) if f.state["status"] not in CLOSED_ORDER_STATUSES]
    return {
        "open_orders": len(open_ones),
        "open_orders_value": _money_totals([
            (f.state["currency"], Decimal(f.state["total"]) - Decimal(f.state["returned"])) for f in open_ones]),
        "returns_90d": sum(1 for f in _of(facts, "order_return") if as_of - f.at <= RECENT),
    }


def _by_invoice(facts: list[Fact]) -> tuple[dict[str, list[tuple[str, Decimal]]], dict[str, list[tuple[str, Decimal]]]]:
    """What each invoice was paid (payments' allocations) and credited (credit notes), as (currency, amount)."""
    paid: dict[str, list[tuple[str, Decimal]]] = {}
    credited: dict[str, list[tuple[str, Decimal]]] = {}
    for payment in _of(facts, "payment"):
        for allocation in payment.state["allocations"]:
            paid.setdefault(allocation["invoice_id"], []).append(
                (allocation["currency"], Decimal(allocation["amount"])))
    for note in _of(facts, "credit_note"):
        credited.setdefault(note.state["invoice_id"], []).append((note.state["currency"], Decimal(note.state["amount"])))
    return paid, credited


def _sum(pairs: list[tuple[str, Decimal]]) -> Decimal:
    return sum((amount for _, amount in pairs), Decimal(0))


def receivable_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    """Lifetime value from paid money, open and overdue receivables, per currency (an invoice has one).

    **Lifetime value** is what the customer paid and kept: per invoice, the payments allocated
    to it less what its credit notes gave back of that money, i.e. ``min(paid, total - credited)``.
    A credit note on the part not paid yet lowers what is owed, not what was paid (taking it
    off again would count it twice); an over-payment left unallocated is the customer's
    credit, not revenue. For an invoice the view has not heard of yet (its payment came
    first), its payments less its credit notes count. The typed-in ``lifetime_value`` of the
    profile is an opening balance (worth before or outside this system) and is not in here.

    **Open receivables**: per invoice ``total - payments - credit notes - written off`` (never
    below zero, and zero once the sales service reports it paid or written off), and at
    most the open amount its latest event reported: partial payments and credit notes are
    their own events, not invoice events, so the view subtracts them itself.

    **Overdue**: open and either reported overdue by the sales service
    (``crm.sales.invoice.overdue.v1``, once it publishes it) or due before the day of
    ``as_of``. ``as_of`` is the time of the customer's latest event, not the wall clock (a
    replay must give the same view), so an invoice falls due in the view with the
    customer's next event after its due date, not at midnight.
    """
    paid, credited = _by_invoice(facts)
    today = as_of.astimezone(UTC).date()
    lifetime: list[tuple[str, Decimal]] = []
    open_money: list[tuple[str, Decimal]] = []
    overdue_money: list[tuple[str, Decimal]] = []
    invoices = {f.entity_id: f for f in _of(facts, "invoice")}
    for invoice_id, invoice in invoices.items():
        currency, total = invoice.state["currency"], Decimal(invoice.state["total"])
        paid_here, credited_here = _sum(paid.get(invoice_id, [])), _sum(credited.get(invoice_id, []))
        kept = min(paid_here, total - credited_here)
        if kept > 0:
            lifetime.append((currency, kept))
        if invoice.state["status"] in SETTLED_INVOICE_STATUSES:
            continue
        balance = total - paid_here - credited_here - Decimal(invoice.state["written_off"])
        owed = min(balance, Decimal(invoice.state["open_amount"]))
        if owed <= 0:
            continue
        open_money.append((currency, owed))
        if invoice.state["overdue_reported"] or date.fromisoformat(invoice.state["due_on"]) < today:
            overdue_money.append((currency, owed))
    for invoice_id in sorted((paid.keys() | credited.keys()) - invoices.keys()):
        pairs = paid.get(invoice_id, [])
        kept = _sum(pairs) - _sum(credited.get(invoice_id, []))
        if pairs and kept > 0:
            lifetime.append((pairs[0][0], kept))
    return {
        "lifetime_value": _money_totals(lifetime),
        "open_receivables": _money_totals(open_money),
        "overdue_receivables": _money_totals(overdue_money),
        "overdue_invoices": len(overdue_money),
    }


# Orders the customer is committed to (the sales service's credit check counts the same ones).
COMMITTED_ORDER_STATUSES = frozenset({"confirmed", "shipped", "delivered"})


def credit_exposure(facts: list[Fact], open_receivables: list[dict[str, str]]) -> list[dict[str, str]]:
    """Open receivables plus committed orders no invoice names yet (less what came back), per currency."""
    invoiced = {f.state["order_id"] for f in _of(facts, "invoice")}
    pairs = [(m["currency"], Decimal(m["amount"])) for m in open_receivables]
    for order in _orders_now(facts):
        order_id = order.state.get("order_id", order.entity_id)
        if order.state["status"] in COMMITTED_ORDER_STATUSES and order_id not in invoiced:
            pairs.append((order.state["currency"], Decimal(order.state["total"]) - Decimal(order.state["returned"])))
    return _money_totals([(currency, amount) for currency, amount in pairs if amount])


def credit_headroom(exposure: list[dict[str, str]], credit_limit: dict[str, Any] | None) -> dict[str, Any] | None:
    """The credit limit less the exposure, in the limit's currency; None without a limit.

    The view holds no exchange rates (the sales service's credit check converts at dated
    rates): exposure in another currency leaves the amount unknown and names that currency,
    rather than guessing a rate.
    """
    if not credit_limit:
        return None
    currency = credit_limit["currency"]
    unconverted = sorted(m["currency"] for m in exposure if m["currency"] != currency)
    if unconverted:
        return {"amount": None, "currency": currency, "unconverted": unconverted}
    used = sum((Decimal(m["amount"]) for m in exposure), Decimal(0))
    return {"amount": format(Decimal(str(credit_limit["amount"])) - used, "f"), "currency": currency,
            "unconverted": []}


def loyalty_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    """Loyalty points, and the newest cross-sell offers (at most three)."""
    offers = max(_of(facts, "offers"), key=lambda f: (f.at, f.sequence), default=None)
    return {
        "loyalty_balance": sum(f.state["balance"] for f in _of(facts, "loyalty")),
        "offers": offers.state["offers"][:3] if offers is not None else [],
    }


# "solved" is what tickets resolved before the desk said "resolved" carry in the events kept on the topic.
CLOSED_TICKET_STATUSES = frozenset({"solved", "resolved", "closed"})


def service_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    tickets = _of(facts, "ticket")
    open_ones = [f for f in tickets if f.state["status"] not in CLOSED_TICKET_STATUSES]
    breached = {f.state["ticket_id"] for f in _of(facts, "ticket_sla_breach")}
    # In the order rated (then applied): the last is the customer's latest word.
    ratings = sorted(_of(facts, "satisfaction"), key=lambda f: (datetime.fromisoformat(f.state["rated_at"]), f.sequence))
    return {
        "open_tickets": len(open_ones),
        "urgent_open_tickets": sum(1 for f in open_ones if f.state["priority"] in ("high", "urgent")),
        "complaints_90d": sum(
            1 for f in tickets
            if f.state["type"] == "complaint" and as_of - datetime.fromisoformat(f.state["opened_at"]) <= RECENT
        ),
        "open_sla_breaches": sum(1 for f in open_ones if f.entity_id in breached),
        "csat_last": ratings[-1].state["rating"] if ratings else None,
        "csat_average": round(sum(f.state["rating"] for f in ratings) / len(ratings), 2) if ratings else None,
        "last_service_contact": max(tickets, key=lambda f: (f.at, f.sequence)).at.isoformat() if tickets else None,
    }


def campaign_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    members = [f for f in _of(facts, "campaign_member") if f.state["status"] != "removed"]
    responses = _of(facts, "campaign_response")
    sent = [f for f in _of(facts, "campaign_send") if f.state["status"] == "sent"]
    # Messages that reached the customer and the customer's responses, each at the moment it happened.
    touches = [(f.state["occurred_at"], f.state["campaign_id"], f.state["campaign_name"], "sent") for f in sent] + [
        (f.state["occurred_at"], f.state["campaign_id"], f.state["campaign_name"], f.state["kind"]) for f in responses]
    latest = max(touches, key=lambda t: (datetime.fromisoformat(t[0]), t[1], t[3])) if touches else None
    return {
        "campaigns": len({f.state["campaign_id"] for f in members}),
        "responses": len(responses),
        # When the customer responded, not when it was recorded.
        "last_response_at": max((f.state["occurred_at"] for f in responses), key=datetime.fromisoformat)
        if responses else None,
        "last_marketing_contact": {"at": latest[0], "campaign_id": latest[1], "campaign_name": latest[2],
                                   "kind": latest[3]} if latest else None,
        "last_marketing_contact_at": latest[0] if latest else None,
    }


# What the services conclude about a customer on their own (points expiring, offers re-ranked) is no
# contact with the customer.
NOT_CONTACT = frozenset({"loyalty", "offers", "ticket_sla_breach"})


# A message we sent is a contact but no sign of interest; a customer who clicks, replies, registers or
# converts shows more of it than one who merely opens.
INTEREST_RESPONSES = frozenset({"clicked", "replied", "registered", "converted"})


def _engagement_points(fact: Fact) -> int:
    if fact.entity == "campaign_send":
        return 0
    if fact.entity == "campaign_response":
        return 20 if fact.state["kind"] in INTEREST_RESPONSES else 5 if fact.state["kind"] == "opened" else 0
    return 10


def contact_kpis(facts: list[Fact], as_of: datetime) -> dict[str, Any]:
    """Last contact on any channel, and how engaged the customer has been in the last 90 days."""
    facts = [f for f in facts if f.entity not in NOT_CONTACT]
    if not facts:
        return {"last_contact": None, "engagement_score": 0}
    latest = max(facts, key=lambda f: (f.at, f.source, f.entity, f.entity_id))
    recent = [f for f in facts if as_of - f.at <= RECENT]
    silence_days = (as_of - latest.at).days
    recency = max(0, 50 - silence_days * 50 // 90)
    activity = min(50, sum(_engagement_points(f) for f in recent))
    return {
        "last_contact": {"at": latest.at.isoformat(), "source": latest.source, "entity": latest.entity},
        "engagement_score": recency + activity,
    }


KPI_RULES: tuple[Callable[[list[Fact], datetime], dict[str, Any]], ...] = (
    pipeline_kpis,
    sales_kpis,
    order_kpis,
    receivable_kpis,
    loyalty_kpis,
    service_kpis,
    campaign_kpis,
    contact_kpis,
)


def compute_kpis(facts: list[Fact], as_of: datetime, credit_limit: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every KPI of one customer; ``credit_limit`` is its profile's (money), for the credit headroom."""
    kpis: dict[str, Any] = {}
    for rule in KPI_RULES:
        kpis.update(rule(facts, as_of))
    kpis["credit_exposure"] = credit_exposure(facts, kpis["open_receivables"])
    kpis["credit_headroom"] = credit_headroom(kpis["credit_exposure"], credit_limit)
    kpis["churn_risk"] = churn_risk(kpis, as_of)
    kpis["next_best_action"] = next_best_action(kpis)
    return kpis


# --- judgements on top of the KPIs ------------------------------------------------------

# A rating at or below this (of 1-5) is a dissatisfied customer.
LOW_CSAT = 2

# (weight, condition, explanation): each that holds adds its weight to the risk score.
CHURN_SIGNALS: tuple[tuple[int, Callable[[dict[str, Any], datetime], bool], str], ...] = (
    (30, lambda k, _: k["complaints_90d"] > 0, "complained in the last 90 days"),
    (20, lambda k, _: k["urgent_open_tickets"] > 0, "has urgent tickets open"),
    (15, lambda k, _: k["open_tickets"] >= 3, "has many tickets open"),
    (20, lambda k, _: k["lost_deals_90d"] > 0, "lost a deal in the last 90 days"),
    (25, lambda k, now: _silent(k, now), "no contact for over 90 days"),
    (10, lambda k, _: k["won_deals"] > 0 and k["open_opportunities"] == 0, "no open business after earlier wins"),
    (25, lambda k, _: k["overdue_invoices"] > 0, "has overdue invoices"),
    (15, lambda k, _: k["returns_90d"] > 0, "returned goods in the last 90 days"),
    (20, lambda k, _: k.get("open_sla_breaches", 0) > 0, "has open tickets past their SLA"),
    (20, lambda k, _: k.get("csat_last") is not None and k["csat_last"] <= LOW_CSAT, "rated the service poorly"),
)


def _silent(kpis: dict[str, Any], as_of: datetime) -> bool:
    last = kpis["last_contact"]
    return last is not None and as_of - datetime.fromisoformat(last["at"]) > RECENT


def churn_risk(kpis: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    """A 0-100 score with the reasons behind it, so nobody has to trust a bare number."""
    reasons = [text for weight, holds, text in CHURN_SIGNALS if holds(kpis, as_of)]
    score = min(100, sum(weight for weight, holds, _ in CHURN_SIGNALS if holds(kpis, as_of)))
    level = "high" if score >= 50 else "medium" if score >= 25 else "low"
    return {"score": score, "level": level, "reasons": reasons}


def next_best_action(kpis: dict[str, Any]) -> dict[str, str]:
    """The first rule that applies, most urgent first."""
    if kpis["urgent_open_tickets"]:
        return {"action": "resolve_urgent_tickets", "reason": "urgent tickets are open"}
    if kpis["churn_risk"]["level"] == "high":
        return {"action": "call_customer", "reason": "churn risk is high: " + "; ".join(kpis["churn_risk"]["reasons"])}
    if kpis["overdue_invoices"]:
        return {"action": "collect_overdue_invoices", "reason": f"{kpis['overdue_invoices']} invoices are overdue"}
    if kpis["open_opportunities"]:
        return {"action": "advance_pipeline", "reason": f"{kpis['open_opportunities']} opportunities are open"}
    if kpis.get("offers"):
        best = kpis["offers"][0]
        return {"action": "offer_product", "reason": f"offer {best['name'] or best['product_id']}: {best['reason']}"}
    if kpis["campaigns"] == 0:
        return {"action": "invite_to_campaign", "reason": "the customer has not been in any campaign"}
    return {"action": "nurture", "reason": "nothing pressing"}


# --- group roll-ups ---------------------------------------------------------------------

# Counts add up over a group; "campaigns" counts memberships (the same campaign in two companies twice).
ADDITIVE_KPIS = ("open_opportunities", "won_deals", "lost_deals", "open_tickets", "urgent_open_tickets",
                 "complaints_90d", "campaigns", "open_leads", "responses", "open_orders", "returns_90d",
                 "overdue_invoices", "loyalty_balance", "open_sla_breaches")
MONEY_KPIS = ("open_pipeline_value", "weighted_pipeline_value", "won_value", "open_orders_value", "lifetime_value",
              "open_receivables", "overdue_receivables", "credit_exposure")
# Money per forecast category: added per category and per currency.
CATEGORY_MONEY_KPIS = ("open_pipeline_by_category",)
# Times do not add up: the group's is the newest of any member's.
LATEST_KPIS = ("last_sales_contact_at", "last_response_at", "last_service_contact", "last_marketing_contact_at")


def group_totals(own: dict[str, Any], subsidiaries: list[dict[str, Any]]) -> dict[str, Any]:
    """An organization's totals including every subsidiary below it (their KPIs as computed for each).

    A subsidiary's KPIs may predate a KPI (computed before it existed, until its next event):
    a missing one counts as nothing rather than failing the roll-up.
    """
    everyone = [own, *subsidiaries]
    totals: dict[str, Any] = {name: sum(k.get(name, 0) for k in everyone) for name in ADDITIVE_KPIS}
    for name in MONEY_KPIS:
        totals[name] = _money_totals(_money_pairs(m for k in everyone for m in k.get(name, [])))
    for name in CATEGORY_MONEY_KPIS:
        categories = sorted({c for k in everyone for c in k.get(name, {})})
        totals[name] = {c: _money_totals(_money_pairs(m for k in everyone for m in k.get(name, {}).get(c, [])))
                        for c in categories}
    for name in LATEST_KPIS:
        times = [k[name] for k in everyone if k.get(name) is not None]
        totals[name] = max(times, key=datetime.fromisoformat) if times else None
    totals["members"] = len(everyone)
    return totals


def _money_pairs(amounts: Iterable[dict[str, str]]) -> list[tuple[str, Decimal]]:
    return [(m["currency"], Decimal(m["amount"])) for m in amounts]
