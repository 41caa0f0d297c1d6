"""The customer service's event contract: what it publishes, what it reads, the scopes it checks.

Changes to the customer master go to ``crm.customer.v1``, keyed by the customer id
(tenant settings by the tenant's settings id, ``settings_subject``). Each new version of
a customer's unified view goes to the compacted ``crm.customer_view.v1``, keyed by the
customer id; a tombstone there (no data) means the customer is gone. The events the view
is built from (sales, the service desk, campaigns) are read with reader models of this
service's own, holding only the fields it uses.

The payloads reproduce the documents these events have always carried: times in the
customer document are ISO 8601 as ``datetime.isoformat`` writes them, money is
``{"amount": "12.50", "currency": "EUR"}``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer, WithJsonSchema

from shared.contract import EventPayload, EventType, Reads, TopicSpec
from shared.types import Amount, Money

READ_SCOPE = "customers:read"
WRITE_SCOPE = "customers:write"
# Contact details and a person's names are masked for callers without it.
PII_SCOPE = "customers:pii"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE, PII_SCOPE)

CUSTOMER_TOPIC = TopicSpec("crm.customer.v1")
VIEW_TOPIC = TopicSpec("crm.customer_view.v1", compacted=True)
SALES_TOPIC = TopicSpec("crm.sales.v1")
SERVICE_DESK_TOPIC = TopicSpec("crm.service_desk.v1")
CAMPAIGN_TOPIC = TopicSpec("crm.campaign.v1")
# Every domain topic the view is built from, this service's own included.
DOMAIN_TOPICS: tuple[TopicSpec, ...] = (CUSTOMER_TOPIC, SALES_TOPIC, SERVICE_DESK_TOPIC, CAMPAIGN_TOPIC)
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (*DOMAIN_TOPICS, VIEW_TOPIC)

# Namespace of the ids tenant-level settings events are keyed by (a UUID, like every other subject).
_SETTINGS_NAMESPACE = uuid.UUID("6f1d3c1e-7a52-4d1b-9a3e-0c6d2f7e5b10")


def settings_subject(tenant: str) -> str:
    """The stable key of a tenant's customer-master settings: all its settings events stay in order."""
    return str(uuid.uuid5(_SETTINGS_NAMESPACE, tenant))


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


def _spaced(moment: datetime) -> str:
    return str(moment)


_DATE_TIME = WithJsonSchema({"type": "string", "format": "date-time"})
# A time as the customer document writes it: ``2026-11-26T09:00:00+00:00``.
IsoTime = Annotated[AwareDatetime, PlainSerializer(_isoformat, return_type=str), _DATE_TIME]
# Consent events have carried their time with a space between date and time since their first version.
SpacedTime = Annotated[AwareDatetime, PlainSerializer(_spaced, return_type=str), _DATE_TIME]


# --- the customer document ----------------------------------------------------------------


class Email(EventPayload):
    address: str
    primary: bool


class Phone(EventPayload):
    number: str = Field(description="E.164.")
    primary: bool


class Address(EventPayload):
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str | None
    primary: bool


class CustomerDocument(EventPayload):
    """A customer of the master as it is now (the API's document, personal fields unmasked)."""

    id: uuid.UUID
    kind: Literal["person", "organization"]
    display_name: str
    given_name: str | None
    family_name: str | None
    organization_name: str | None
    emails: list[Email]
    phones: list[Phone]
    country: str | None
    region: str | None
    addresses: list[Address]
    industry: str | None
    employees: int | None
    annual_revenue: Money | None
    preferred_language: str | None
    preferred_currency: str | None
    owner: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    credit_limit: Money | None
    lifetime_value: Money | None
    parent_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    organization_role: str | None
    external_id: str | None
    customer_group: str | None
    value_tier: str | None
    version: int
    created_at: IsoTime
    updated_at: IsoTime


# --- crm.customer.v1 ------------------------------------------------------------------------


class Change(EventPayload):
    old: Any
    new: Any


class CustomerCreated(EventPayload):
    customer: CustomerDocument


class CustomerUpdated(EventPayload):
    """The customer after a change, and what changed: ``{field: {"old": ..., "new": ...}}``."""

    customer: CustomerDocument
    changes: dict[str, Change]


class CustomerDeleted(EventPayload):
    customer_id: uuid.UUID


class Classification(EventPayload):
    customer_group: str | None
    value_tier: str | None


class CustomerClassified(EventPayload):
    """A customer's group or tier moved (a changed value alone is not announced)."""

    customer_id: uuid.UUID
    customer_group: str
    value_tier: str
    value: Amount = Field(description="What the tier ranked: lifetime value plus won deals, in the value currency.")
    previous: Classification


class ConsentChanged(EventPayload):
    customer_id: uuid.UUID
    channel: str = Field(description="email, sms or phone")
    status: str = Field(description="opt_in, opt_out or unknown")
    previous_status: str
    source: str
    wording: str | None = Field(description="The exact text the customer was shown.")
    recorded_at: SpacedTime
    recorded_by: str


class CustomFieldDefinition(EventPayload):
    name: str
    type: str = Field(description="text, number, date or choice")
    label: str
    choices: list[str] | None
    required: bool


class CustomFieldChanged(EventPayload):
    """A custom field was declared or changed (``definition``), or removed (``definition`` null)."""

    name: str
    definition: CustomFieldDefinition | None
    removed: bool


class Condition(EventPayload):
    field: str
    op: str
    value: Any = None


class GroupRule(EventPayload):
    group: str
    when: list[Condition]


class Tier(EventPayload):
    tier: str
    share: float


class ClassificationRulesChanged(EventPayload):
    rules: list[GroupRule]
    default_group: str
    tiers: list[Tier]
    currency: str | None
    exchange_rates: dict[str, str]
    value_basis: str = Field(default="paid_revenue", description="paid_revenue or won_deals: what value adds to "
                                                                  "the lifetime value.")
    version: int


class CustomerMerged(EventPayload):
    """Other services re-point the merged-away customers' records to the survivor."""

    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    customer: CustomerDocument


class CustomerUnmerged(EventPayload):
    """Other services give the restored customers their records back; ``restored``: their documents."""

    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    restored_ids: list[uuid.UUID]
    customer: CustomerDocument
    restored: list[CustomerDocument]


class CustomerErased(EventPayload):
    """No personal data on purpose: the event only names whom every service must forget."""

    customer_id: uuid.UUID


CUSTOMER_CREATED = EventType("crm.customer.created.v1", CUSTOMER_TOPIC, CustomerCreated)
CUSTOMER_UPDATED = EventType("crm.customer.updated.v1", CUSTOMER_TOPIC, CustomerUpdated)
CUSTOMER_DELETED = EventType("crm.customer.deleted.v1", CUSTOMER_TOPIC, CustomerDeleted)
CUSTOMER_CLASSIFIED = EventType("crm.customer.classified.v1", CUSTOMER_TOPIC, CustomerClassified)
CONSENT_CHANGED = EventType("crm.customer.consent_changed.v1", CUSTOMER_TOPIC, ConsentChanged)
# Tenant settings, not about one customer: keyed by settings_subject.
CUSTOM_FIELD_CHANGED = EventType("crm.customer.custom_field.changed.v1", CUSTOMER_TOPIC, CustomFieldChanged)
CLASSIFICATION_RULES_CHANGED = EventType("crm.customer.classification_rules.changed.v1", CUSTOMER_TOPIC,
                                         ClassificationRulesChanged)
CUSTOMER_MERGED = EventType("crm.customer.merged.v1", CUSTOMER_TOPIC, CustomerMerged)
CUSTOMER_UNMERGED = EventType("crm.customer.unmerged.v1", CUSTOMER_TOPIC, CustomerUnmerged)
CUSTOMER_ERASED = EventType("crm.customer.erased.v1", CUSTOMER_TOPIC, CustomerErased)
TENANT_EVENTS = frozenset({CUSTOM_FIELD_CHANGED.name, CLASSIFICATION_RULES_CHANGED.name})


# --- crm.customer_view.v1 ---------------------------------------------------------------------


# What a view's ``kpis`` hold, each recomputed from the facts the services published (money: one
# entry per currency, never added across currencies; times: ISO 8601 in UTC, null when nothing is known).
VIEW_KPIS_DESCRIPTION = (
    "Computed from the facts the services published. Sales: open_opportunities, open_pipeline_value, "
    "weighted_pipeline_value, open_pipeline_by_category ({pipeline, best_case, commit, and omitted or "
    "uncategorized when a deal is in them: money per currency}), won_deals, won_value, lost_deals, "
    "lost_deals_90d, open_leads (neither converted nor disqualified; a duplicate folded into another lead "
    "is none), last_sales_contact_at (the newest lead or opportunity event). Order to cash: open_orders (not "
    "delivered, cancelled or returned), open_orders_value (their totals less returns), returns_90d, "
    "lifetime_value (paid money: payments allocated to invoices less what credit notes gave back of them; the "
    "profile's lifetime_value is a typed-in opening balance, not included), open_receivables, "
    "overdue_receivables and overdue_invoices (open invoices due before the day of as_of, or reported "
    "overdue), credit_exposure (open receivables and confirmed, shipped or delivered orders not invoiced yet, "
    "per currency) and credit_headroom ({amount, currency, unconverted}: the profile's credit_limit less the "
    "exposure in its currency; amount null, and the other currencies named in unconverted, when exposure is in "
    "a currency the view has no rate for; null without a credit limit), loyalty_balance (points, summed over "
    "merged accounts), offers (the sales service's cross-sell offers, best first: {product_id, name, "
    "reason}). Service desk: open_tickets, "
    "urgent_open_tickets, complaints_90d, open_sla_breaches (open tickets that missed an SLA target), csat_last "
    "and csat_average (the customer's ratings, 1-5; null before any), last_service_contact (the newest ticket "
    "event). Campaigns: campaigns, responses, last_response_at (when the "
    "customer last responded), last_marketing_contact ({at, campaign_id, campaign_name, kind}: the newest "
    "campaign message sent to the customer (kind sent) or response of theirs (its kind); null before any) and "
    "last_marketing_contact_at. Any channel: last_contact {at, source, entity}, engagement_score (0-100), "
    "churn_risk {score, level, reasons}, next_best_action {action, reason}. An organization with "
    "subsidiaries also has group: the counts and money summed over it and every subsidiary below it (money "
    "per currency), the newest of their times, and members. Money is a list of {amount, currency}."
)


class CustomerViewDocument(EventPayload):
    """One version of a customer's unified view (as published and as served over HTTP).

    Published as built (the view builder's hot path does not go through this model);
    the view consumer's tests check what it publishes against it.
    """

    customer_id: uuid.UUID
    version: int = Field(description="How many events the view has applied.")
    profile: dict[str, Any] = Field(description="The customer document without version and times, and "
                                                "customer_since (when the customer was created) and consent "
                                                "({email, sms, phone}: the master's current opt_in, opt_out or "
                                                "unknown per channel).")
    kpis: dict[str, Any] = Field(description=VIEW_KPIS_DESCRIPTION)
    source_sequences: dict[str, int] = Field(description="The last outbox sequence applied from each service.")
    as_of: IsoTime = Field(description="Time of the latest event the view reflects.")
    updated_at: IsoTime


VIEW_UPDATED = EventType("crm.customer.view.updated.v1", VIEW_TOPIC, CustomerViewDocument)

PUBLISHES: tuple[EventType, ...] = (
    CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_DELETED, CUSTOMER_CLASSIFIED, CONSENT_CHANGED,
    CUSTOM_FIELD_CHANGED, CLASSIFICATION_RULES_CHANGED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED,
    VIEW_UPDATED,
)


# --- read from the other services ---------------------------------------------------------------
# Each of these events is about the customer it is keyed by (the event's subject).


class MoneyRead(BaseModel):
    amount: Decimal
    currency: str


class OpportunityReport(BaseModel):
    """An opportunity as a sales event reports it: the view's fact and the value tiers' deal."""

    opportunity_id: str
    name: str
    stage: str
    status: str = Field(description="open, won or lost")
    probability: int = 0
    amount: MoneyRead
    # Added to the sales events later: absent from earlier ones.
    forecast_category: str | None = Field(default=None, description="pipeline, best_case, commit, closed or omitted")
    owner: str | None = None
    expected_close_date: date | None = None


class TicketReport(BaseModel):
    """A ticket as a service-desk event reports it."""

    ticket_id: str
    subject: str = ""
    status: str
    priority: str
    type: str = "question"
    channel: str | None = None
    created_at: AwareDatetime | None = None


class SlaBreachReport(TicketReport):
    """A ticket that missed an SLA target (``crm.service_desk.ticket.sla_breached.v1``)."""

    target: str = Field(description="first_response, next_response or resolution")
    due_at: AwareDatetime | None = None


class SatisfactionReport(BaseModel):
    """A customer's rating (1-5) of one resolution of a ticket (``crm.service_desk.satisfaction.rated.v1``)."""

    ticket_id: str
    rating: int = Field(ge=1, le=5)
    resolution: int = 1
    rated_at: AwareDatetime | None = None


class MembershipReport(BaseModel):
    """A customer's membership of a campaign as a campaign event reports it."""

    campaign_id: str
    campaign_name: str = ""
    status: str


class LeadReport(BaseModel):
    """A lead as a sales event reports it (``LeadReported``): the view counts the customer's open leads.

    A lead's events name its customer once it has one; before that they are keyed by the lead
    itself and are about no customer the view knows.
    """

    lead_id: str
    status: str = Field(description="new, working, qualified, disqualified or converted")
    source: str = ""
    score: int = 0
    customer_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    duplicate_of: uuid.UUID | None = Field(default=None, description="Merged events: the lead a duplicate was "
                                                                     "folded into.")


class ResponseReport(BaseModel):
    """A customer's response to a campaign as a campaign event reports it."""

    response_id: str
    campaign_id: str
    campaign_name: str = ""
    kind: str = Field(description="opened, clicked, replied, registered, unsubscribed or converted")
    occurred_at: AwareDatetime


class SendReport(BaseModel):
    """A campaign's message to a customer as a campaign event reports it: when it left, on which channel."""

    send_id: str
    campaign_id: str
    campaign_name: str = ""
    channel: str
    status: str = Field(description="sent, suppressed or bounced")
    occurred_at: AwareDatetime


class OrderReport(BaseModel):
    """An order as a sales event reports it (``OrderReported``): the view counts the customer's open orders."""

    order_id: str
    status: str = Field(description="placed, confirmed, on_hold, shipped, delivered, cancelled or returned")
    total: MoneyRead
    returned: MoneyRead = Field(description="The value of what came back so far.")


class ReturnReport(OrderReport):
    """Goods that came back (``OrderReturned``): the order as it is after, and this return."""

    return_id: str
    amount: MoneyRead = Field(description="The value of this return.")


class InvoiceReport(BaseModel):
    """An invoice as a sales event reports it (``InvoiceReported``): issued, paid or written off.

    Its ``open_amount`` is as of that event: payments and credit notes since then come as
    their own events, and the view subtracts them itself.
    """

    invoice_id: str
    order_id: str
    number: str
    due_on: date
    total: MoneyRead
    open_amount: MoneyRead
    status: str = Field(description="open, paid or written_off")
    written_off: MoneyRead | None = None


class AllocationRead(BaseModel):
    invoice_id: str
    amount: MoneyRead


class PaymentReport(BaseModel):
    """Money a customer paid (``PaymentReceived``), and which invoices it went to."""

    payment_id: str
    amount: MoneyRead
    allocations: list[AllocationRead]
    # Added to the sales events later: absent (None) from earlier ones.
    paid_revenue: list[MoneyRead] | None = Field(default=None, description="The customer's paid revenue after it.")


class CreditNoteReport(BaseModel):
    """A credit note against one of the customer's invoices (``CreditNoteIssued``)."""

    credit_note_id: str
    invoice_id: str
    number: str
    kind: str = Field(description="return or correction")
    amount: MoneyRead
    paid_revenue: list[MoneyRead] | None = Field(default=None, description="The customer's paid revenue after it.")


class LoyaltyReport(BaseModel):
    """A movement on a customer's loyalty account (``crm.sales.loyalty.*``): the view shows the balance after it."""

    customer_id: uuid.UUID
    points: int = Field(description="The points this movement earned, redeemed or let expire.")
    balance: int = Field(description="The account's balance after it.")


class OfferRead(BaseModel):
    product_id: str
    name: str = ""
    reason: str = ""


class OffersReport(BaseModel):
    """The products the sales service now offers the customer, best first (``crm.sales.offers.updated.v1``)."""

    customer_id: uuid.UUID
    offers: list[OfferRead]


OPPORTUNITY_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.opportunity.{action}.v1", SALES_TOPIC.name, OpportunityReport)
    for action in ("created", "updated", "won", "lost"))
TICKET_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.service_desk.ticket.{action}.v1", SERVICE_DESK_TOPIC.name, TicketReport)
    for action in ("created", "updated", "assigned", "commented", "solved", "closed", "reopened"))
# What the service figures of the view learn from beside the ticket's own state.
SLA_BREACHED = Reads("crm.service_desk.ticket.sla_breached.v1", SERVICE_DESK_TOPIC.name, SlaBreachReport)
SATISFACTION_RATED = Reads("crm.service_desk.satisfaction.rated.v1", SERVICE_DESK_TOPIC.name, SatisfactionReport)
MEMBERSHIP_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.campaign.member.{action}.v1", CAMPAIGN_TOPIC.name, MembershipReport)
    for action in ("added", "removed", "moved"))

# The view takes every crm.sales.lead.* event (rules.FACT_RULES), all with the same payload; these are
# the ones the sales contract promises.
LEAD_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.lead.{action}.v1", SALES_TOPIC.name, LeadReport)
    for action in ("created", "assigned", "qualified", "disqualified", "converted", "updated", "merged"))
# The six kinds, and a response a merge gave to another customer (moved).
RESPONSE_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.campaign.response.{kind}.v1", CAMPAIGN_TOPIC.name, ResponseReport)
    for kind in ("opened", "clicked", "replied", "registered", "unsubscribed", "converted", "moved"))
# A message sent (the last marketing contact), found bounced after all, or given to another customer by a merge.
SEND_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.campaign.send.{action}.v1", CAMPAIGN_TOPIC.name, SendReport) for action in ("sent", "bounced", "moved"))

# Order to cash: orders (a return has its own payload), invoices, payments and credit notes.
ORDER_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.order.{action}.v1", SALES_TOPIC.name, OrderReport)
    for action in ("placed", "confirmed", "held", "shipped", "delivered", "cancelled", "moved"))
ORDER_RETURNED = Reads("crm.sales.order.returned.v1", SALES_TOPIC.name, ReturnReport)
INVOICE_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.invoice.{action}.v1", SALES_TOPIC.name, InvoiceReport)
    for action in ("issued", "paid", "written_off", "overdue", "due_soon", "moved"))
PAYMENT_RECEIVED = Reads("crm.sales.payment.received.v1", SALES_TOPIC.name, PaymentReport)
CREDIT_NOTE_ISSUED = Reads("crm.sales.credit_note.issued.v1", SALES_TOPIC.name, CreditNoteReport)
# A merge or an unmerge moved the record to another customer: its fact follows (``moved`` above too).
PAYMENT_MOVED = Reads("crm.sales.payment.moved.v1", SALES_TOPIC.name, PaymentReport)
# A payment's credit paid a later invoice: the payment with its allocations now.
PAYMENT_APPLIED = Reads("crm.sales.payment.applied.v1", SALES_TOPIC.name, PaymentReport)
CREDIT_NOTE_MOVED = Reads("crm.sales.credit_note.moved.v1", SALES_TOPIC.name, CreditNoteReport)
CASH_EVENTS: tuple[Reads, ...] = (*ORDER_EVENTS, ORDER_RETURNED, *INVOICE_EVENTS, PAYMENT_RECEIVED,
                                  CREDIT_NOTE_ISSUED, PAYMENT_APPLIED, PAYMENT_MOVED, CREDIT_NOTE_MOVED)
# Loyalty movements (the balance after each) and the cross-sell offers the sales service ranks.
LOYALTY_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.loyalty.{action}.v1", SALES_TOPIC.name, LoyaltyReport)
    for action in ("earned", "redeemed", "expired", "moved", "reversed", "restored"))
OFFERS_UPDATED = Reads("crm.sales.offers.updated.v1", SALES_TOPIC.name, OffersReport)

READS: tuple[Reads, ...] = (*OPPORTUNITY_EVENTS, *LEAD_EVENTS, *TICKET_EVENTS, SLA_BREACHED, SATISFACTION_RATED,
                            *MEMBERSHIP_EVENTS, *RESPONSE_EVENTS, *SEND_EVENTS, *CASH_EVENTS, *LOYALTY_EVENTS, OFFERS_UPDATED)
