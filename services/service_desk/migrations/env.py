"""Alembic environment of the service desk: every feature's tables, on the service's own MetaData."""

from services.service_desk.customers import tables as customers  # noqa: F401 - registers the tables
from services.service_desk.database import Base
from services.service_desk.tickets import tables as tickets  # noqa: F401 - registers the tables
from shared.migrate import run_migrations

run_migrations(Base.metadata)
