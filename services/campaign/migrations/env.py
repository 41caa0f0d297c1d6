"""Alembic environment of the campaign service: every feature's tables, on the service's own MetaData."""

from services.campaign.campaigns import tables as campaigns  # noqa: F401 - registers the tables
from services.campaign.customers import tables as customers  # noqa: F401 - registers the tables
from services.campaign.database import Base
from shared.migrate import run_migrations

run_migrations(Base.metadata)
