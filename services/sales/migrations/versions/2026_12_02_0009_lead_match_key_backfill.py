"""The match keys of customers replicated before leads existed: every replicated view's e-mails, phones and
company domains, so a new lead is matched against them at once, not only after each customer's next view.

Keys are kept per applied view from sales_0007 on; a database that already held replicated
customers then had none for them. The keys are derived by the leads' own rule
(``leads.rules.customer_keys``), the one the replica's hook uses, so both agree.

Revision ID: sales_0009
Revises: sales_0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.sales.leads.rules import customer_keys
from shared.db import JsonType

revision = "sales_0009"
down_revision = "sales_0008"
branch_labels = None
depends_on = None

BATCH = 1000

replicas = sa.table("customer_replicas", sa.column("customer_id", sa.Uuid()), sa.column("tenant_id", sa.String()),
                    sa.column("view", JsonType))
keys = sa.table("lead_customer_keys", sa.column("customer_id", sa.Uuid()), sa.column("kind", sa.String()),
                sa.column("value", sa.String()), sa.column("tenant_id", sa.String()))


def upgrade() -> None:
    connection = op.get_bind()
    keyed = sa.select(keys.c.customer_id).distinct()
    after = None
    while True:
        query = sa.select(replicas.c.customer_id, replicas.c.tenant_id, replicas.c.view).where(
            replicas.c.customer_id.not_in(keyed)).order_by(replicas.c.customer_id).limit(BATCH)
        if after is not None:
            query = query.where(replicas.c.customer_id > after)
        rows = connection.execute(query).all()
        if not rows:
            return
        found = [{"customer_id": customer_id, "kind": kind, "value": value, "tenant_id": tenant}
                 for customer_id, tenant, view in rows for kind, value in sorted(customer_keys(view))]
        if found:
            connection.execute(keys.insert(), found)
        after = rows[-1].customer_id


def downgrade() -> None:
    pass  # the keys stay: the replica's hook would keep them the same way
