"""The indexes the profitability report reads other features' tables by (it keeps no table of its own).

The report selects a period's invoices and credit notes by their issue day, per tenant; declared
here, beside the report that needs them, on the tables they index (migration sales_0015).
"""

from __future__ import annotations

from sqlalchemy import Index

from services.sales.credit_notes.tables import CreditNote
from services.sales.invoices.tables import Invoice

INVOICES_BY_DAY = Index("ix_invoices_tenant_issued_on", Invoice.tenant_id, Invoice.issued_on)
CREDIT_NOTES_BY_DAY = Index("ix_credit_notes_tenant_issued_on", CreditNote.tenant_id, CreditNote.issued_on)
