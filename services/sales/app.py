"""The sales service: leads, opportunities, the catalogue and prices, orders, invoices, payments, credit notes,
receivables and collections."""

from __future__ import annotations

from fastapi import FastAPI

from services.sales.collections import routes as collections
from services.sales.credit_notes import routes as credit_notes
from services.sales.exchange_rates import routes as exchange_rates
from services.sales.forecast import routes as forecast
from services.sales.invoices import routes as invoices
from services.sales.lead_import import routes as lead_import
from services.sales.leads import routes as leads
from services.sales.loyalty import routes as loyalty
from services.sales.opportunities import routes as opportunities
from services.sales.offers import routes as offers
from services.sales.orders import routes as orders
from services.sales.payments import routes as payments
from services.sales.pipeline_stages import routes as pipeline_stages
from services.sales.price_books import routes as price_books
from services.sales.price_quotes import routes as price_quotes
from services.sales.products import routes as products
from services.sales.profitability import routes as profitability
from services.sales.receivables import routes as receivables
from services.sales.routing import routes as routing
from services.sales.sales_policy import routes as sales_policy
from services.sales.settings import SalesSettings
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("sales", SalesSettings)
    return create_service_app(
        settings=settings,
        title="OneView CRM: sales service",
        description="Opportunities and the sales pipeline, for customers known from the unified view.",
        routers=(opportunities.router, pipeline_stages.router, exchange_rates.router, forecast.router,
                 products.router, price_books.router, price_quotes.router, lead_import.router, leads.router, routing.router,
                 sales_policy.router, orders.router, invoices.router, payments.router, credit_notes.router,
                 receivables.router, collections.router, loyalty.router, profitability.router, offers.router),
    )
