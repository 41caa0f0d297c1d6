"""The sales service's own settings, beyond the library's: where the customer service answers, and how often
missed first touches and waiting forecast rollups are looked for."""

from __future__ import annotations

from shared.settings import Settings


class SalesSettings(Settings):
    # Base URL of the customer service's API (CRM_CUSTOMER_SERVICE_URL), which a lead's conversion calls to
    # create a new customer; `crm run` and the test system set it. Empty: its entry in CRM_SERVICE_URLS.
    customer_service_url: str = ""
    # How often the first-touch SLA of assigned leads is checked (CRM_LEAD_FIRST_TOUCH_CHECK_SECONDS).
    lead_first_touch_check_seconds: float = 60.0
    # How often tenants waiting for their forecast rollup are looked for and built
    # (CRM_FORECAST_ROLLUP_BUILD_SECONDS): a tenant's first deal, or a migration, marks one as waiting.
    forecast_rollup_build_seconds: float = 10.0
    # How often segments whose baskets changed get their customers' cross-sell offers recomputed, and the
    # changed ones published (CRM_OFFERS_REFRESH_SECONDS).
    offers_refresh_seconds: float = 300.0
    # How often loyalty lots past their last usable day are looked for and expired
    # (CRM_LOYALTY_EXPIRY_CHECK_SECONDS).
    loyalty_expiry_check_seconds: float = 3600.0
    # How often open invoices are brought to the dunning level their due date has reached, and overdue ones
    # published (CRM_COLLECTIONS_CHECK_SECONDS).
    collections_check_seconds: float = 60.0

    @property
    def customer_api(self) -> str:
        return self.customer_service_url or self.service_urls.get("customer", "")
