"""Alembic environment of the campaign service."""

from services.campaign import tables
from shared.migrate import run_migrations

run_migrations(tables.Base.metadata)
