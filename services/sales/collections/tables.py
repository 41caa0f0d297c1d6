"""Each invoice's dunning state, and the index the collections list walks invoices by.

The tenant's dunning levels live in its sales policy (``sales_policies.dunning_levels``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base
from services.sales.invoices.tables import Invoice


class InvoiceDunning(Base):
    """The dunning level an invoice has reached and when; no row: none yet. What it still owes is the
    invoice's, derived (``invoices.repository.balance``), never kept here."""

    __tablename__ = "invoice_dunning"

    invoice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    # The level's position among the tenant's levels when it was reached (from 1); its offset and action
    # are kept too, as the tenant may change its levels later.
    level: Mapped[int]
    offset_days: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    # This level or one before it holds new orders of the customer while the invoice is open.
    holds_orders: Mapped[bool]
    reached_on: Mapped[date]
    # The invoice's due day (it never changes), so that the list filtered by level walks this table's index.
    due_on: Mapped[date]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_invoice_dunning_tenant_action_due", "tenant_id", "action", "due_on", "invoice_id"),
    )


# Collections lists a tenant's open invoices oldest due first, a page at a time (keyset on due date and id).
INVOICES_BY_DUE_DAY = Index("ix_invoices_tenant_status_due", Invoice.tenant_id, Invoice.status, Invoice.due_on,
                            Invoice.id)
