"""The campaign service's own settings, beyond the library's: where the customer service answers, and how
often unsubscribes are carried to its consent API, how often audiences that read the clock are evaluated again,
and how often scheduled campaigns are checked for their start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

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
    # The SMTP server campaign e-mail goes out through (CRM_SMTP_HOST, CRM_SMTP_PORT); an empty host keeps
    # e-mail sends queued, unsent, until one is configured.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # From of every campaign e-mail, and the domain of its Message-IDs (CRM_CAMPAIGN_MAIL_FROM).
    campaign_mail_from: str = "news@oneview-crm.local"
    # The envelope sender, where receiving servers send bounces (CRM_CAMPAIGN_BOUNCE_ADDRESS).
    campaign_bounce_address: str = "bounces@oneview-crm.local"
    # The public base URL tracked links, pixels and unsubscribes point at: the gateway as customers reach it.
    public_base_url: str = "http://127.0.0.1:8000"
    # Signs tracking tokens (CRM_TRACKING_SECRET); empty: the JWT secret.
    tracking_secret: str = ""
    # How often the send job looks for members to send to (CRM_CAMPAIGN_SEND_SECONDS).
    campaign_send_seconds: float = 1.0
    # The most messages one tenant's campaigns send per second, over every worker (CRM_SEND_RATE_PER_TENANT);
    # 0: no limit.
    send_rate_per_tenant: float = Field(default=50.0, ge=0)
    # Where SMS and phone-list sends are written, one JSON line each, for a development setup
    # (CRM_SMS_OUTBOX, CRM_CALL_LIST); empty: under var_dir. A deployment plugs its gateway in instead.
    sms_outbox: Path | None = None
    call_list: Path | None = None

    @property
    def customer_api(self) -> str:
        return self.customer_service_url or self.service_urls.get("customer", "")
