"""Alembic environment of the customer service."""

from services.customer import tables
from shared.migrate import run_migrations

run_migrations(tables.Base.metadata)
