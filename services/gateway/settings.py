"""The gateway's own settings, beyond the library's: several upstreams per service, and how long one that
failed sits out."""

from __future__ import annotations

from pydantic import Field

from shared.settings import Settings


class GatewaySettings(Settings):
    # Each service's replicas (CRM_CUSTOMER_URLS, CRM_SALES_URLS, CRM_SERVICE_DESK_URLS, CRM_CAMPAIGN_URLS: JSON
    # lists of base URLs), taken in turn. Empty: the one URL of CRM_SERVICE_URLS, else the default port.
    customer_urls: list[str] = Field(default_factory=list)
    sales_urls: list[str] = Field(default_factory=list)
    service_desk_urls: list[str] = Field(default_factory=list)
    campaign_urls: list[str] = Field(default_factory=list)
    # How long an upstream that could not be reached is passed over (CRM_UPSTREAM_COOLDOWN_SECONDS); tried
    # again after that, and at once when every other one of its service failed too.
    upstream_cooldown_seconds: float = 5.0

    def urls_of(self, service: str) -> list[str]:
        listed: list[str] = getattr(self, f"{service}_urls", [])
        return listed
