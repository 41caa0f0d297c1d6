"""The channel an order came through, for profitability by channel; what cross-sell offers keep.

- ``orders.channel``: one of ``direct``, ``web``, ``partner``, ``campaign``, ``phone``, ``email``,
  ``retail`` (``orders.rules.CHANNELS``). **Backfill**: an order made from a won deal that a lead
  was converted into takes the channel of the lead's source where the mapping is obvious
  (web -> web, campaign -> campaign, partner and referral -> partner, phone -> phone, email ->
  email, retail -> retail); every other order (direct, or a lead source such as import, event or
  api) is ``direct``. The mapping is written out here, frozen as it was at this revision.
- Indexes the profitability report reads by: invoices and credit notes by their issue day.
- ``offer_segment_touches``: a customer segment (group and tier) whose baskets changed, appended
  when an order is delivered, invoiced or returned in full; the offers job reads and deletes them.
- ``offer_publications``: per customer, a hash of the offers last published, so unchanged offers
  are not published again.

Revision ID: sales_0015
Revises: sales_0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import SequenceType, UtcDateTime

revision = "sales_0015"
down_revision = "sales_0014"
branch_labels = None
depends_on = None

# Lead source -> order channel, as of this revision.
_LEAD_SOURCE_CHANNEL: dict[str, str] = {"web": "web", "campaign": "campaign", "partner": "partner",
                                        "referral": "partner", "phone": "phone", "email": "email",
                                        "retail": "retail"}

orders = sa.table("orders", sa.column("tenant_id", sa.String()), sa.column("opportunity_id", sa.Uuid()),
                  sa.column("channel", sa.String()))
leads = sa.table("leads", sa.column("tenant_id", sa.String()), sa.column("opportunity_id", sa.Uuid()),
                 sa.column("source", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("channel", sa.String(20)))
    _backfill_channels()
    op.create_index("ix_invoices_tenant_issued_on", "invoices", ["tenant_id", "issued_on"])
    op.create_index("ix_credit_notes_tenant_issued_on", "credit_notes", ["tenant_id", "issued_on"])
    op.create_table(
        "offer_segment_touches",
        sa.Column("id", SequenceType, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_group", sa.String(100)),
        sa.Column("value_tier", sa.String(100)),
        sa.Column("touched_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "offer_publications",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("offers_hash", sa.String(64), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
    )


def _backfill_channels() -> None:
    # Set-wise, one statement per channel, in SQL both databases speak: orders can be many.
    connection = op.get_bind()
    for source, channel in _LEAD_SOURCE_CHANNEL.items():
        from_lead = (sa.select(leads.c.opportunity_id)
                     .where(leads.c.tenant_id == orders.c.tenant_id, leads.c.opportunity_id == orders.c.opportunity_id,
                            leads.c.source == source))
        connection.execute(orders.update().where(orders.c.channel.is_(None), from_lead.exists()).values(
            channel=channel))
    connection.execute(orders.update().where(orders.c.channel.is_(None)).values(channel="direct"))


def downgrade() -> None:
    op.drop_table("offer_publications")
    op.drop_table("offer_segment_touches")
    op.drop_index("ix_credit_notes_tenant_issued_on", table_name="credit_notes")
    op.drop_index("ix_invoices_tenant_issued_on", table_name="invoices")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("channel")
