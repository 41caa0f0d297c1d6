"""HTTP edges of queues: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from shared.http import feature_router

router = feature_router(tags=["queues"])
