"""Alembic, per service: each service keeps its own migration history in ``services/<name>/migrations``.

``upgrade`` is what ``crm migrate`` and ``crm run`` call. The platform tables every
service has (outbox, processed events, idempotency keys, and the customer-view
replica of the non-customer services) are created by the helpers below, called from
each service's first revision, so their definition exists once.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData

from shared.db import PLATFORM_METADATA, JsonType, UtcDateTime, make_engine

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    # Passed as an attribute, not an ini option, so '%' in passwords needs no escaping.
    config.attributes["database_url"] = database_url
    return config


def upgrade(service: str, database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def run_migrations(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``: the service's MetaData plus the platform's."""
    targets = [metadata, PLATFORM_METADATA]
    url = context.config.attributes.get("database_url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=targets, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=targets, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def create_platform_tables() -> None:
    """Outbox, processed events and idempotency keys, from their one definition in ``shared.db``.

    Only the tables: their indexes are history, created and changed by the revisions
    that introduced them (the first revision indexed the outbox by publication time).
    """
    for table in PLATFORM_METADATA.sorted_tables:
        op.create_table(table.name, *(column._copy() for column in table.columns))
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "sequence"])


def index_pending_outbox() -> None:
    """The relay's claim reads the oldest unpublished rows: an index holding only those.

    The earlier index led with ``published_at``; the planner preferred walking the primary
    key and skipping every published row, so each claim grew with what was already sent
    (quadratic over a backlog). A partial index holds only what is pending.
    """
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["sequence"], postgresql_where=sa.text("published_at IS NULL"),
                    sqlite_where=sa.text("published_at IS NULL"))


def unindex_pending_outbox() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "sequence"])


def create_customer_replica_table() -> None:
    """The unified-view replica kept by sales, service desk and campaign."""
    op.create_table(
        "customer_replicas",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("view_version", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("view", JsonType, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_customer_replicas_tenant", "customer_replicas", ["tenant_id", "customer_id"])


def create_repointing_table() -> None:
    """What merges moved, per record, so that an unmerge can move it back (see ``shared.lifecycle``)."""
    op.create_table(
        "customer_repointings",
        sa.Column("merge_id", sa.Uuid(), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("record_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("original_customer_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("moved_at", UtcDateTime(), nullable=False),
    )
