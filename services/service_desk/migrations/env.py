"""Alembic environment of the service desk."""

from services.service_desk import tables
from shared.migrate import run_migrations

run_migrations(tables.Base.metadata)
