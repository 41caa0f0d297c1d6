"""What the sales service runs besides HTTP: its consumers and periodic jobs, and the checks of its replica."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.sales import contract
from services.sales.collections import service as collections
from services.sales.credit_notes import consumers as credit_notes
from services.sales.customers import consumers as customers
from services.sales.customers.repository import REPLICA
from services.sales.forecast import service as forecast
from services.sales.invoices import consumers as invoices
from services.sales.leads import consumers as leads
from services.sales.leads import service as leads_service
from services.sales.loyalty import consumers as loyalty_lots
from services.sales.loyalty import service as loyalty
from services.sales.offers import service as offers
from services.sales.opportunities import consumers as opportunities
from services.sales.orders import consumers as orders
from services.sales.payments import consumers as payments
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob
from services.sales.settings import SalesSettings
from shared.settings import load_settings
from shared.worker import create_worker_app, run_worker


def _seconds(name: str) -> Callable[[Any], float]:
    """A job's interval: the process settings' field, or its default there when the settings are not sales'."""
    return lambda settings: float(getattr(settings, name, SalesSettings.model_fields[name].default))


CONSUMERS: list[ConsumerSpec] = [
    customers.VIEW_REPLICA,
    # Invoices before payments and credit notes: what those tell of the paid revenue counts moved invoices.
    customers.following([opportunities.FOLLOWER, leads.FOLLOWER, orders.FOLLOWER, invoices.FOLLOWER,
                         payments.FOLLOWER, credit_notes.FOLLOWER, loyalty_lots.FOLLOWER]),
    leads.CAMPAIGN_RESPONSES,
]
# Leads not touched by their team's first-touch time are flagged overdue, once each.
FIRST_TOUCH_CHECK = PeriodicJob(name="lead-first-touch-check",
                                interval=_seconds("lead_first_touch_check_seconds"),
                                run=leads_service.run_first_touch_check)
# A tenant's forecast rollup is summed once from its deals, and kept by every change from then on.
FORECAST_ROLLUP_BUILD = PeriodicJob(
    name="forecast-rollup-build",
    interval=_seconds("forecast_rollup_build_seconds"),
    run=forecast.build_waiting_rollups)
# What loyalty lots still hold after their last usable day expires, once per lot.
LOYALTY_EXPIRY_CHECK = PeriodicJob(
    name="loyalty-expiry-check",
    interval=_seconds("loyalty_expiry_check_seconds"),
    run=loyalty.run_expiry)
# Segments whose baskets changed get their customers' offers recomputed; the changed ones are published.
OFFERS_REFRESH = PeriodicJob(
    name="offers-refresh",
    interval=_seconds("offers_refresh_seconds"),
    run=offers.refresh_offers)
# Open invoices move to the dunning level their due date has reached; overdue ones are published, once per level.
COLLECTIONS_CHECK = PeriodicJob(
    name="collections-check",
    interval=_seconds("collections_check_seconds"),
    run=collections.run_dunning_check)
JOBS: tuple[PeriodicJob, ...] = (FIRST_TOUCH_CHECK, FORECAST_ROLLUP_BUILD, LOYALTY_EXPIRY_CHECK, OFFERS_REFRESH,
                                 COLLECTIONS_CHECK)


# The projection is the view replica: its hash proves a rebuild identical (`crm replay`), its
# states are checked against the master view (`crm check-consistency`).
digest = REPLICA.digest
states = REPLICA.states


def create_worker() -> FastAPI:
    """The worker process: ``python -m services.sales.worker`` (or ``uvicorn --factory``)."""
    return create_worker_app(settings=load_settings("sales", SalesSettings), consumers=CONSUMERS, jobs=JOBS,
                             topics=contract.TOPICS)


if __name__ == "__main__":
    run_worker(create_worker)
