"""Views: the sequence each profile came from (the newest wins in any read order) and the published document.

Views published before this revision get their document filled in here, as the view
builder writes it, so reads keep answering across the upgrade, and their profile
sequence from the customer service's applied sequence, where it was kept until now.

Revision ID: customer_0101
Revises: customer_0100
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime
from shared.envelope import dumps

revision = "customer_0101"
down_revision = "customer_0100"
branch_labels = None
depends_on = None

BATCH = 1000

views = sa.table(
    "customer_views",
    sa.column("customer_id", sa.Uuid()),
    sa.column("version", sa.Integer()),
    sa.column("profile", JsonType),
    sa.column("kpis", JsonType),
    sa.column("source_sequences", JsonType),
    sa.column("updated_at", UtcDateTime()),
    sa.column("removed_at", UtcDateTime()),
    sa.column("merged_into", sa.Uuid()),
    sa.column("document", sa.Text()),
    sa.column("profile_sequence", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("customer_views") as batch:
        batch.add_column(sa.Column("profile_sequence", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("document", sa.Text(), nullable=True))
    _fill_new_columns(op.get_bind())


def _fill_new_columns(connection: sa.Connection) -> None:
    published = sa.select(views).where(views.c.removed_at.is_(None), views.c.merged_into.is_(None),
                                       views.c.document.is_(None)).order_by(views.c.customer_id)
    after = None
    while True:
        query = published if after is None else published.where(views.c.customer_id > after)
        rows = connection.execute(query.limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            if row.profile:
                connection.execute(sa.update(views).where(views.c.customer_id == row.customer_id).values(
                    document=dumps(_document(row)), profile_sequence=row.source_sequences.get("customer")))
        after = rows[-1].customer_id


def _document(row: sa.Row) -> dict[str, object]:
    # The document as the view builder published it at this revision.
    return {"customer_id": str(row.customer_id), "version": row.version, "profile": row.profile,
            "kpis": dict(row.kpis), "source_sequences": dict(row.source_sequences),
            "as_of": row.updated_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def downgrade() -> None:
    with op.batch_alter_table("customer_views") as batch:
        batch.drop_column("document")
        batch.drop_column("profile_sequence")
