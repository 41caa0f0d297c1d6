"""Alembic environment of the customer service: every feature's tables, in the service's own MetaData."""

from services.customer.classification import tables as classification_tables  # noqa: F401
from services.customer.consent import tables as consent_tables  # noqa: F401
from services.customer.custom_fields import tables as custom_fields_tables  # noqa: F401
from services.customer.customers import tables as customers_tables  # noqa: F401
from services.customer.database import Base
from services.customer.merging import tables as merging_tables  # noqa: F401
from services.customer.privacy import tables as privacy_tables  # noqa: F401
from services.customer.view import tables as view_tables  # noqa: F401
from shared.migrate import run_migrations

run_migrations(Base.metadata)
