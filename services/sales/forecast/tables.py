"""The forecast's own index on the opportunities table: a tenant's deals by expected close date.

The forecast reads one window of close dates of one tenant; the table belongs to the
opportunities feature, the index to the query that needs it.
"""

from __future__ import annotations

from sqlalchemy import Index

from services.sales.opportunities.tables import Opportunity

BY_CLOSE_DATE = Index("ix_opportunities_tenant_close_date", Opportunity.tenant_id, Opportunity.expected_close_date)
