"""The campaign service's own settings, beyond the library's: where the customer service answers, and how
often unsubscribes are carried to its consent API."""

from __future__ import annotations

from shared.settings import Settings


class CampaignSettings(Settings):
    # Base URL of the customer service's API (CRM_CUSTOMER_SERVICE_URL), whose consent an unsubscribe
    # withdraws; `crm run` and the test system set it. Empty: its entry in CRM_SERVICE_URLS.
    customer_service_url: str = ""
    # How often withdrawals waiting for the customer service are sent (CRM_CONSENT_SYNC_SECONDS).
    consent_sync_seconds: float = 5.0

    @property
    def customer_api(self) -> str:
        return self.customer_service_url or self.service_urls.get("customer", "")
