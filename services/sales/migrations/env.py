"""Alembic environment of the sales service."""

from services.sales import tables
from shared.migrate import run_migrations

run_migrations(tables.Base.metadata)
