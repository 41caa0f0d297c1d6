"""Alembic environment of the sales service: every feature's tables, on the service's own MetaData."""

from services.sales.credit_notes import tables as credit_notes  # noqa: F401 - registers the tables
from services.sales.customers import tables as customers  # noqa: F401 - registers the tables
from services.sales.database import Base
from services.sales.collections import tables as collections  # noqa: F401 - registers the tables
from services.sales.exchange_rates import tables as exchange_rates  # noqa: F401 - registers the tables
from services.sales.forecast import tables as forecast  # noqa: F401 - registers the tables
from services.sales.invoices import tables as invoices  # noqa: F401 - registers the tables
from services.sales.loyalty import tables as loyalty  # noqa: F401 - registers the tables
from services.sales.offers import tables as offers  # noqa: F401 - registers the tables
from services.sales.opportunities import tables as opportunities  # noqa: F401 - registers the tables
from services.sales.orders import tables as orders  # noqa: F401 - registers the tables
from services.sales.payments import tables as payments  # noqa: F401 - registers the tables
from services.sales.pipeline_stages import tables as pipeline_stages  # noqa: F401 - registers the tables
from services.sales.price_books import tables as price_books  # noqa: F401 - registers the tables
from services.sales.price_quotes import tables as price_quotes  # noqa: F401 - registers the tables
from services.sales.products import tables as products  # noqa: F401 - registers the tables
from services.sales.profitability import tables as profitability  # noqa: F401 - registers the indexes
from services.sales.sales_policy import tables as sales_policy  # noqa: F401 - registers the tables
from shared.migrate import run_migrations

run_migrations(Base.metadata)
