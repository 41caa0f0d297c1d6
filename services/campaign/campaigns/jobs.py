"""The ``campaign-start`` job: scheduled campaigns set running on their start day (``service``)."""

from __future__ import annotations

from services.campaign.campaigns.service import start_due_campaigns
from services.campaign.settings import CampaignSettings
from shared.jobs import PeriodicJob

CAMPAIGN_START = PeriodicJob(
    name="campaign-start",
    interval=lambda settings: float(getattr(settings, "campaign_start_seconds",
                                            CampaignSettings.model_fields["campaign_start_seconds"].default)),
    run=start_due_campaigns)
