"""The ``campaign-start`` job: scheduled campaigns set running on their start day, and A/B tests whose window
has passed given their winner (``service``)."""

from __future__ import annotations

from services.campaign.campaigns.service import choose_winners, start_due_campaigns
from services.campaign.settings import CampaignSettings
from shared.jobs import PeriodicJob

CAMPAIGN_START = PeriodicJob(
    name="campaign-start",
    interval=lambda settings: float(getattr(settings, "campaign_start_seconds",
                                            CampaignSettings.model_fields["campaign_start_seconds"].default)),
    run=lambda sessions, settings: start_due_campaigns(sessions, settings) + choose_winners(sessions, settings))
