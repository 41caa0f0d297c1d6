"""The sales service's event contract: what it publishes, what it reads, the scopes it checks.

Opportunity events go to ``crm.sales.v1``, keyed by the customer id. What it reads from
the customer service (the unified view, the customer life cycle) it names here and reads
with the models of the library mechanisms that act on it (``shared.replica``,
``shared.lifecycle``): the contract test holds those against the producer's schema.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.contract import EventPayload, EventType, Reads, TopicSpec
from shared.lifecycle import ErasureAnnouncement, MergeAnnouncement, UnmergeAnnouncement
from shared.replica import ReplicatedView
from shared.types import Money

READ_SCOPE = "sales:read"
WRITE_SCOPE = "sales:write"
# Reopening a closed deal, a discount above the tenant's threshold, releasing an order held for credit, writing
# off an invoice: a manager's decision.
APPROVE_SCOPE = "sales:approve"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE, APPROVE_SCOPE)

SALES_TOPIC = TopicSpec("crm.sales.v1")
CUSTOMER_TOPIC = TopicSpec("crm.customer.v1")
CUSTOMER_VIEW_TOPIC = TopicSpec("crm.customer_view.v1", compacted=True)


# --- published ---------------------------------------------------------------------------
# Vocabularies (stage, status) are plain strings: they grow (stages become per tenant),
# and a new value must not break a reader that validates the payload.


class OpportunityCreated(EventPayload):
    """An opportunity as it is now."""

    opportunity_id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    amount: Money
    stage: str
    status: str = Field(description="open, won or lost")
    probability: int = Field(description="Win probability of the stage, in percent.")
    version: int
    owner: str | None = None
    team: str | None = None
    forecast_category: str | None = Field(
        default=None, description="pipeline, best_case, commit, closed or omitted: the stage's, when it entered it.")
    expected_close_date: date | None = None
    close_reason: str | None = None
    competitor: str | None = Field(default=None, description="The company a lost deal went to.")


class OpportunityChanged(OpportunityCreated):
    """An opportunity after a change, with what changed: ``{field: {"old": ..., "new": ...}}``.

    An erasure reports ``{"name": {"erased": true}}`` instead of the old name.
    """

    changes: dict[str, dict[str, Any]]


OPPORTUNITY_CREATED = EventType("crm.sales.opportunity.created.v1", SALES_TOPIC, OpportunityCreated)
OPPORTUNITY_UPDATED = EventType("crm.sales.opportunity.updated.v1", SALES_TOPIC, OpportunityChanged)
OPPORTUNITY_WON = EventType("crm.sales.opportunity.won.v1", SALES_TOPIC, OpportunityChanged)
OPPORTUNITY_LOST = EventType("crm.sales.opportunity.lost.v1", SALES_TOPIC, OpportunityChanged)
# By what a change did (``rules.event_action``); creation has its own payload.
OPPORTUNITY_CHANGED: dict[str, EventType] = {
    "updated": OPPORTUNITY_UPDATED, "won": OPPORTUNITY_WON, "lost": OPPORTUNITY_LOST}

PUBLISHES: tuple[EventType, ...] = (OPPORTUNITY_CREATED, OPPORTUNITY_UPDATED, OPPORTUNITY_WON, OPPORTUNITY_LOST)


# --- exchange rates ------------------------------------------------------------------------
# Tenant reference data, about no customer: keyed by the rate's own id.


class ExchangeRateCreated(EventPayload):
    """A dated rate: one ``base`` is worth ``rate`` ``quote`` from ``valid_from`` until the pair's next rate."""

    rate_id: uuid.UUID
    base: str
    quote: str
    rate: str = Field(description="Decimal string.")
    valid_from: date


EXCHANGE_RATE_CREATED = EventType("crm.sales.exchange_rate.created.v1", SALES_TOPIC, ExchangeRateCreated)
PUBLISHES += (EXCHANGE_RATE_CREATED,)


# --- pipeline stages ---------------------------------------------------------------------
# Tenant settings, about no customer: keyed by pipeline_subject, so a tenant's stage changes stay in order.

_PIPELINE_NAMESPACE = uuid.UUID("5f0c6b1e-8f3a-4c55-9d1e-2a7b3c4d5e6f")


def pipeline_subject(tenant: str) -> str:
    """The stable key of a tenant's pipeline on the sales topic."""
    return str(uuid.uuid5(_PIPELINE_NAMESPACE, tenant))


class PipelineStageChanged(EventPayload):
    """A stage of a tenant's pipeline as it is after a change (added, changed or retired)."""

    name: str
    label: str
    position: int
    probability: int
    forecast_category: str
    outcome: str = Field(description="open, won or lost")
    retired: bool
    version: int


PIPELINE_STAGE_CHANGED = EventType("crm.sales.pipeline_stage.changed.v1", SALES_TOPIC, PipelineStageChanged)
PUBLISHES += (PIPELINE_STAGE_CHANGED,)


# --- published: leads ----------------------------------------------------------------------
# Keyed by the lead's customer when it has one, else by the lead's own id. No e-mail, phone or
# person names: the sales database holds those, and erases them.


class LeadReported(EventPayload):
    """A lead as it is now."""

    lead_id: uuid.UUID
    status: str = Field(description="new, working, qualified, disqualified or converted")
    source: str
    company: str | None
    score: int
    team: str | None
    owner: str | None
    customer_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    duplicate_of: uuid.UUID | None = Field(description="Merged events: the lead the duplicate was folded into.")
    version: int
    campaign_id: uuid.UUID | None = Field(default=None, description="The campaign whose response made the lead.")


class LeadChanged(LeadReported):
    """A lead after a change: ``{field: {"old": ..., "new": ...}}`` (a personal field: ``{"changed": true}``)."""

    changes: dict[str, dict[str, Any]]
    reason: str | None


LEAD_CREATED = EventType("crm.sales.lead.created.v1", SALES_TOPIC, LeadReported)
LEAD_UPDATED = EventType("crm.sales.lead.updated.v1", SALES_TOPIC, LeadChanged)
LEAD_ASSIGNED = EventType("crm.sales.lead.assigned.v1", SALES_TOPIC, LeadChanged)
LEAD_QUALIFIED = EventType("crm.sales.lead.qualified.v1", SALES_TOPIC, LeadChanged)
LEAD_DISQUALIFIED = EventType("crm.sales.lead.disqualified.v1", SALES_TOPIC, LeadChanged)
LEAD_CONVERTED = EventType("crm.sales.lead.converted.v1", SALES_TOPIC, LeadChanged)
LEAD_MERGED = EventType("crm.sales.lead.merged.v1", SALES_TOPIC, LeadChanged)
LEAD_OVERDUE = EventType("crm.sales.lead.overdue.v1", SALES_TOPIC, LeadChanged)
# By what a change did (``leads.rules.status_event`` and the use cases); creation has its own payload.
LEAD_CHANGED: dict[str, EventType] = {
    "updated": LEAD_UPDATED, "assigned": LEAD_ASSIGNED, "qualified": LEAD_QUALIFIED,
    "disqualified": LEAD_DISQUALIFIED, "converted": LEAD_CONVERTED, "merged": LEAD_MERGED, "overdue": LEAD_OVERDUE}
PUBLISHES += (LEAD_CREATED, *LEAD_CHANGED.values())


# --- products and price books --------------------------------------------------------------
# The catalogue, about no customer: keyed by the product's or the book's own id, so each one's changes
# stay in order. For whoever keeps a copy of the catalogue (a shop, an ERP, a partner's webhook); a book's
# entries are read from the API (a book may hold thousands), its events say that they changed.


class ProductReported(EventPayload):
    """A product as it is now."""

    product_id: uuid.UUID
    kind: str = Field(description="product or service")
    sku: str
    name: str
    category: str | None = Field(description="A path in the category hierarchy, e.g. Hardware/Laptops.")
    cost_price: Money | None
    active: bool
    components: list[dict[str, str]] = Field(description="A bundle's components: product_id and quantity.")
    version: int


class ProductChanged(ProductReported):
    """A product after a change: ``{field: {"old": ..., "new": ...}}``."""

    changes: dict[str, dict[str, Any]]


class PriceBookReported(EventPayload):
    """A price book as it is now (its entries counted; the API lists them)."""

    price_book_id: uuid.UUID
    name: str
    currency: str
    customer_group: str | None
    value_tier: str | None
    valid_from: date
    valid_to: date | None = Field(description="Exclusive; none: open-ended.")
    status: str = Field(description="active or retired")
    entry_count: int
    version: int


class PriceBookChanged(PriceBookReported):
    """A price book after a change (or its retirement): ``{field: {"old": ..., "new": ...}}``; new entries
    show as ``{"entries": {"changed": true}}``."""

    changes: dict[str, dict[str, Any]]


PRODUCT_CREATED = EventType("crm.sales.product.created.v1", SALES_TOPIC, ProductReported)
PRODUCT_UPDATED = EventType("crm.sales.product.updated.v1", SALES_TOPIC, ProductChanged)
PRICE_BOOK_CREATED = EventType("crm.sales.price_book.created.v1", SALES_TOPIC, PriceBookReported)
PRICE_BOOK_UPDATED = EventType("crm.sales.price_book.updated.v1", SALES_TOPIC, PriceBookChanged)
PUBLISHES += (PRODUCT_CREATED, PRODUCT_UPDATED, PRICE_BOOK_CREATED, PRICE_BOOK_UPDATED)

# The discount threshold is a control setting: its changes are told (for the audit trail), keyed by
# pricing_policy_subject so a tenant's changes stay in order.
_PRICING_POLICY_NAMESPACE = uuid.UUID("0b8e7c2a-3d4f-4e61-9a5b-7c8d9e0f1a2b")


def pricing_policy_subject(tenant: str) -> str:
    """The stable key of a tenant's pricing policy on the sales topic."""
    return str(uuid.uuid5(_PRICING_POLICY_NAMESPACE, tenant))


class PricingPolicyChanged(EventPayload):
    """The tenant's discount threshold after a change, and before it."""

    discount_threshold: str = Field(description="Percent, a decimal string: a discount above it needs sales:approve.")
    previous_threshold: str
    version: int


PRICING_POLICY_CHANGED = EventType("crm.sales.pricing_policy.changed.v1", SALES_TOPIC, PricingPolicyChanged)
PUBLISHES += (PRICING_POLICY_CHANGED,)


# --- orders, invoices, payments, credit notes (order to cash) -------------------------------
# Keyed by the customer id, so a customer's orders, invoices and payments stay in order on one partition.


class CreditFigures(EventPayload):
    """A credit check's figures, all in the tenant's currency at the day's rates."""

    currency: str = Field(description="The tenant's currency (the sales policy's).")
    open_receivables: Money = Field(description="What the customer's invoices still owe.")
    uninvoiced_orders: Money = Field(description="Confirmed orders not invoiced yet (this order excluded).")
    this_order: Money
    exposure: Money = Field(description="The sum of the three.")
    credit_limit: Money | None = Field(description="The customer's limit (or the tenant default); none: no check.")
    headroom: Money | None = Field(description="The limit less the exposure (negative: over it).")
    within_limit: bool


class OrderReported(EventPayload):
    """An order as it is after a change, and the change: ``from_status`` (none: just placed) to ``status``."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None
    status: str = Field(description="placed, confirmed, on_hold, shipped, delivered, cancelled or returned")
    from_status: str | None
    total: Money
    returned: Money = Field(description="The value of what came back so far.")
    line_count: int
    version: int
    credit: CreditFigures | None = Field(default=None, description="Confirmation and hold: the credit check.")
    approved_by: str | None = Field(default=None, description="A confirmation by /approve: who approved it.")
    reason: str | None = None


class ReturnedLine(EventPayload):
    line: int = Field(description="The order line's index.")
    product_id: uuid.UUID
    quantity: str


class OrderReturned(OrderReported):
    """Goods came back (part of them, or all: then the order's status is returned)."""

    return_id: uuid.UUID
    lines: list[ReturnedLine]
    amount: Money = Field(description="The value of this return.")


ORDER_PLACED = EventType("crm.sales.order.placed.v1", SALES_TOPIC, OrderReported)
ORDER_CONFIRMED = EventType("crm.sales.order.confirmed.v1", SALES_TOPIC, OrderReported)
ORDER_HELD = EventType("crm.sales.order.held.v1", SALES_TOPIC, OrderReported)
ORDER_SHIPPED = EventType("crm.sales.order.shipped.v1", SALES_TOPIC, OrderReported)
ORDER_DELIVERED = EventType("crm.sales.order.delivered.v1", SALES_TOPIC, OrderReported)
ORDER_CANCELLED = EventType("crm.sales.order.cancelled.v1", SALES_TOPIC, OrderReported)
ORDER_RETURNED = EventType("crm.sales.order.returned.v1", SALES_TOPIC, OrderReturned)
# By the status an order moved to (an approval publishes confirmed, with approved_by).
ORDER_EVENTS: dict[str, EventType] = {
    "placed": ORDER_PLACED, "confirmed": ORDER_CONFIRMED, "on_hold": ORDER_HELD, "shipped": ORDER_SHIPPED,
    "delivered": ORDER_DELIVERED, "cancelled": ORDER_CANCELLED}
# A merge moved the order to the survivor, or an unmerge brought it back: its state as it is, under its
# customer now (so the view moves the order's fact; status and version are unchanged).
ORDER_MOVED = EventType("crm.sales.order.moved.v1", SALES_TOPIC, OrderReported)
PUBLISHES += (*ORDER_EVENTS.values(), ORDER_RETURNED, ORDER_MOVED)


class InvoiceReported(EventPayload):
    """An invoice as it is after a change; ``open_amount`` is derived from its payments, credit notes and
    write-off."""

    invoice_id: uuid.UUID
    customer_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    issued_on: date
    due_on: date
    total: Money
    open_amount: Money
    status: str = Field(description="open, paid or written_off (overdue is open past due_on, as of a day)")
    version: int
    reason: str | None = Field(default=None, description="A write-off's reason.")
    written_off: Money | None = None


INVOICE_ISSUED = EventType("crm.sales.invoice.issued.v1", SALES_TOPIC, InvoiceReported)
INVOICE_PAID = EventType("crm.sales.invoice.paid.v1", SALES_TOPIC, InvoiceReported)
INVOICE_WRITTEN_OFF = EventType("crm.sales.invoice.written_off.v1", SALES_TOPIC, InvoiceReported)
# Moved with a merge or an unmerge, like ORDER_MOVED.
INVOICE_MOVED = EventType("crm.sales.invoice.moved.v1", SALES_TOPIC, InvoiceReported)
PUBLISHES += (INVOICE_ISSUED, INVOICE_PAID, INVOICE_WRITTEN_OFF, INVOICE_MOVED)


class InvoiceOverdue(InvoiceReported):
    """An open invoice reached a dunning level: past its due date (``overdue``) or before it (``due_soon``, the
    pre-due reminder). Published once per level reached; the collections job moves an invoice straight to the
    highest level due, so skipped ones are not published."""

    days_past_due: int = Field(description="On the day the level was reached.")
    level: int = Field(description="The level's place among the tenant's dunning levels, from 1.")
    offset_days: int = Field(description="The level's days after the due date (0 or less: on or before it).")
    action: str = Field(description="reminder, second_reminder, call or hold_new_orders")
    reached_on: date


INVOICE_OVERDUE = EventType("crm.sales.invoice.overdue.v1", SALES_TOPIC, InvoiceOverdue)
# A dunning level before (or on) the due date was reached: the pre-due reminder; the same payload, with
# days_past_due 0 or less and offset_days what the level says (0 or less).
INVOICE_DUE_SOON = EventType("crm.sales.invoice.due_soon.v1", SALES_TOPIC, InvoiceOverdue)
PUBLISHES += (INVOICE_OVERDUE, INVOICE_DUE_SOON)


class AllocationReported(EventPayload):
    invoice_id: uuid.UUID
    amount: Money


PAID_REVENUE = ("The customer's paid revenue after this event, per currency: over all its invoices, what was paid "
                "to each, at most its total less its credit notes. Value tiers rank customers by it.")


class PaymentReceived(EventPayload):
    """Money received from a customer, what it paid, and what is left as the customer's credit."""

    payment_id: uuid.UUID
    customer_id: uuid.UUID
    amount: Money
    received_on: date
    allocations: list[AllocationReported]
    unallocated: Money = Field(description="Kept as the customer's credit (an over-payment asked for).")
    paid_revenue: list[Money] = Field(default_factory=list, description=PAID_REVENUE)


PAYMENT_RECEIVED = EventType("crm.sales.payment.received.v1", SALES_TOPIC, PaymentReceived)


class CreditNoteIssued(EventPayload):
    """A credit note against an invoice: for a return, or a correction."""

    credit_note_id: uuid.UUID
    customer_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    kind: str = Field(description="return or correction")
    return_id: uuid.UUID | None
    amount: Money
    reason: str
    issued_on: date
    paid_revenue: list[Money] = Field(default_factory=list, description=PAID_REVENUE)


CREDIT_NOTE_ISSUED = EventType("crm.sales.credit_note.issued.v1", SALES_TOPIC, CreditNoteIssued)
# The payment's credit (what it kept over) paid a new invoice: its allocations as they are now.
PAYMENT_APPLIED = EventType("crm.sales.payment.applied.v1", SALES_TOPIC, PaymentReceived)
# Moved with a merge or an unmerge, like ORDER_MOVED; ``paid_revenue`` is then the new customer's.
PAYMENT_MOVED = EventType("crm.sales.payment.moved.v1", SALES_TOPIC, PaymentReceived)
CREDIT_NOTE_MOVED = EventType("crm.sales.credit_note.moved.v1", SALES_TOPIC, CreditNoteIssued)
PUBLISHES += (PAYMENT_RECEIVED, CREDIT_NOTE_ISSUED, PAYMENT_APPLIED, PAYMENT_MOVED, CREDIT_NOTE_MOVED)

# The sales policy (tenant currency, default credit limit, invoicing and payment terms) is a control
# setting: its changes are told, keyed by sales_policy_subject so a tenant's changes stay in order.
_SALES_POLICY_NAMESPACE = uuid.UUID("9d3c1a7e-52b4-4f0e-8c61-3e2f4a5b6c7d")


def sales_policy_subject(tenant: str) -> str:
    """The stable key of a tenant's sales policy on the sales topic."""
    return str(uuid.uuid5(_SALES_POLICY_NAMESPACE, tenant))


class DunningLevelReported(EventPayload):
    offset_days: int = Field(description="Days from the due date (negative: before it).")
    action: str = Field(description="reminder, second_reminder, call or hold_new_orders")


class SalesPolicyChanged(EventPayload):
    """The tenant's sales policy after a change: ``{field: {"old": ..., "new": ...}}`` of what changed
    (``dunning_levels`` old or new null: the defaults)."""

    currency: str
    default_credit_limit: Money | None
    invoice_from: str = Field(description="confirmed or shipped: the first order status an invoice may be issued in.")
    payment_terms_days: int
    dunning_levels: list[DunningLevelReported] = Field(default_factory=list,
                                                       description="The dunning levels in force, in order.")
    version: int
    changes: dict[str, dict[str, Any]]


SALES_POLICY_CHANGED = EventType("crm.sales.sales_policy.changed.v1", SALES_TOPIC, SalesPolicyChanged)
PUBLISHES += (SALES_POLICY_CHANGED,)


# --- cross-sell offers -----------------------------------------------------------------------
# Keyed by the customer id: the unified view's next best action reads the newest one.


class OfferReported(EventPayload):
    """One offer: a product similar customers bought that the customer does not have."""

    product_id: uuid.UUID
    sku: str
    name: str
    reason: str = Field(description="Why, in words (how many similar customers bought it, what else they bought).")
    score: str = Field(description="Decimal string; the offers come in its order, best first.")


class OffersUpdated(EventPayload):
    """The customer's top offers after they changed (an empty list: none any more)."""

    customer_id: uuid.UUID
    offers: list[OfferReported]


OFFERS_UPDATED = EventType("crm.sales.offers.updated.v1", SALES_TOPIC, OffersUpdated)
PUBLISHES += (OFFERS_UPDATED,)


# --- loyalty ---------------------------------------------------------------------------------
# Keyed by the customer id. Every movement reports its points and the customer's balance after it, so a reader
# keeps the balance from the newest event alone.


class LoyaltyMovementReported(EventPayload):
    movement_id: uuid.UUID
    customer_id: uuid.UUID
    points: int = Field(description="The points this movement moved (always positive; the type says which way).")
    balance: int = Field(description="The customer's usable points after the movement.")


class LoyaltyLineReason(EventPayload):
    line: int = Field(description="The order line's index.")
    product_id: uuid.UUID
    points: int
    reason: str


class LoyaltyEarned(LoyaltyMovementReported):
    """Points earned by a paid invoice (once per invoice), usable through ``expires_on``."""

    invoice_id: uuid.UUID
    order_id: uuid.UUID
    expires_on: date
    lines: list[LoyaltyLineReason]


class LoyaltyRedeemed(LoyaltyMovementReported):
    """Points redeemed as a discount on an order, whose total the discount reduced."""

    order_id: uuid.UUID
    discount: Money = Field(description="In the order's currency.")
    order_total: Money = Field(description="The order's total after the discount.")


class LoyaltyExpired(LoyaltyMovementReported):
    """What a lot still held after its last usable day (once per lot)."""

    lot_id: uuid.UUID = Field(description="The earning movement whose points expired.")
    expires_on: date = Field(description="The lot's last usable day.")


class LoyaltyMoved(LoyaltyMovementReported):
    """A lot of points moved with a merge (to the survivor) or an unmerge (back): told once for the account
    it left and once for the account it joined (``customer_id``), each with its balance after."""

    lot_id: uuid.UUID = Field(description="The earning movement whose remaining points moved.")
    from_customer_id: uuid.UUID
    to_customer_id: uuid.UUID


class LoyaltyReversed(LoyaltyMovementReported):
    """Points taken back because goods came back or the invoice was corrected after it earned them (once per
    credit note): ``points_due`` is what the invoice no longer earns, ``points`` what the account still held
    of it (points already spent are not taken twice; ``shortfall`` says how many)."""

    invoice_id: uuid.UUID
    credit_note_id: uuid.UUID
    points_due: int
    shortfall: int


class LoyaltyRestored(LoyaltyMovementReported):
    """The points a cancelled order's discount used, given back to the lots they came from (once per order)."""

    order_id: uuid.UUID


LOYALTY_EARNED = EventType("crm.sales.loyalty.earned.v1", SALES_TOPIC, LoyaltyEarned)
LOYALTY_REDEEMED = EventType("crm.sales.loyalty.redeemed.v1", SALES_TOPIC, LoyaltyRedeemed)
LOYALTY_EXPIRED = EventType("crm.sales.loyalty.expired.v1", SALES_TOPIC, LoyaltyExpired)
LOYALTY_MOVED = EventType("crm.sales.loyalty.moved.v1", SALES_TOPIC, LoyaltyMoved)
LOYALTY_REVERSED = EventType("crm.sales.loyalty.reversed.v1", SALES_TOPIC, LoyaltyReversed)
LOYALTY_RESTORED = EventType("crm.sales.loyalty.restored.v1", SALES_TOPIC, LoyaltyRestored)
PUBLISHES += (LOYALTY_EARNED, LOYALTY_REDEEMED, LOYALTY_EXPIRED, LOYALTY_MOVED, LOYALTY_REVERSED, LOYALTY_RESTORED)


# --- read from the customer service --------------------------------------------------------


VIEW_UPDATED = Reads("crm.customer.view.updated.v1", CUSTOMER_VIEW_TOPIC.name, ReplicatedView)
CUSTOMER_MERGED = Reads("crm.customer.merged.v1", CUSTOMER_TOPIC.name, MergeAnnouncement)
CUSTOMER_UNMERGED = Reads("crm.customer.unmerged.v1", CUSTOMER_TOPIC.name, UnmergeAnnouncement)
CUSTOMER_ERASED = Reads("crm.customer.erased.v1", CUSTOMER_TOPIC.name, ErasureAnnouncement)

READS: tuple[Reads, ...] = (VIEW_UPDATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED)


# --- read from the campaign service ---------------------------------------------------------
# Campaign responses make leads (replied, registered, converted) or add engagement (opened, clicked).


class CampaignResponse(BaseModel):
    """What leads read of a campaign response."""

    response_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    customer_id: uuid.UUID
    kind: str
    occurred_at: datetime


CAMPAIGN_TOPIC = TopicSpec("crm.campaign.v1")
CAMPAIGN_RESPONSE_KINDS: tuple[str, ...] = ("opened", "clicked", "replied", "registered", "converted")
CAMPAIGN_RESPONSES: tuple[Reads, ...] = tuple(
    Reads(f"crm.campaign.response.{kind}.v1", CAMPAIGN_TOPIC.name, CampaignResponse) for kind in CAMPAIGN_RESPONSE_KINDS)
READS += CAMPAIGN_RESPONSES
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (SALES_TOPIC, CUSTOMER_TOPIC, CUSTOMER_VIEW_TOPIC, CAMPAIGN_TOPIC)
