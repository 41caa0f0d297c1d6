"""The campaign service's own settings, beyond the library's: where the customer service answers, and how
often unsubscribes are carried to its consent API, how often audiences that read the clock are evaluated again,
and how often scheduled campaigns are checked for their start."""

from __future__ import annotations

from shared.settings import Settings


class CampaignSettings(Settings):
    # Base URL of the customer service's API (CRM_CUSTOMER_SERVICE_URL), whose consent an unsubscribe
    # withdraws; `crm run` and the test system set it. Empty: its entry in CRM_SERVICE_URLS.
    customer_service_url: str = ""
    # How often withdrawals waiting for the customer service are sent (CRM_CONSENT_SYNC_SECONDS).
    consent_sync_seconds: float = 5.0
    # How often audiences whose rules read the clock (last_contact_days) are evaluated again
    # (CRM_AUDIENCE_REFRESH_SECONDS): a day passing changes them without any view changing.
    audience_refresh_seconds: float = 3600.0
    # How often scheduled campaigns whose start day has come are set running (CRM_CAMPAIGN_START_SECONDS).
    campaign_start_seconds: float = 60.0

    @property
    def customer_api(self) -> str:
        return self.customer_service_url or self.service_urls.get("customer", "")
