"""The ``audience-refresh`` job: audiences whose rules read the clock, evaluated again (``service``)."""

from __future__ import annotations

from services.campaign.audiences.service import refresh_clock_dependent
from services.campaign.settings import CampaignSettings
from shared.jobs import PeriodicJob

AUDIENCE_REFRESH = PeriodicJob(
    name="audience-refresh",
    interval=lambda settings: float(getattr(settings, "audience_refresh_seconds",
                                            CampaignSettings.model_fields["audience_refresh_seconds"].default)),
    run=refresh_clock_dependent)
