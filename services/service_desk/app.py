"""The service desk: tickets (SLA policies, queues and satisfaction grow here next)."""

from __future__ import annotations

from fastapi import FastAPI

from services.service_desk.tickets import routes as tickets
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("service_desk")
    return create_service_app(
        settings=settings,
        title="OneView CRM: service desk",
        description="Customer tickets and their life cycle, for customers known from the unified view.",
        routers=(tickets.router,),
    )
