"""The service desk: tickets and their comments, the e-mail channel, SLA policies and calendars, queues and
agents, satisfaction and the service figures."""

from __future__ import annotations

from fastapi import FastAPI

from services.service_desk.agents import routes as agents
from services.service_desk.mail import routes as mail
from services.service_desk.queues import routes as queues
from services.service_desk.satisfaction import routes as satisfaction
from services.service_desk.settings import DeskSettings
from services.service_desk.sla import routes as sla
from services.service_desk.tickets import routes as tickets
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("service_desk", DeskSettings)
    return create_service_app(
        settings=settings,
        title="OneView CRM: service desk",
        description="Customer tickets from every channel, SLA clocks, queues and agents, satisfaction: for customers "
                    "known from the unified view.",
        routers=(mail.router, tickets.router, sla.router, queues.router, agents.router, satisfaction.router),
    )
