"""What the service desk runs besides HTTP: its consumers and periodic jobs, and the checks of its replica."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.service_desk import contract
from services.service_desk.agents import service as agents
from services.service_desk.customers import consumers as customers
from services.service_desk.customers.repository import REPLICA
from services.service_desk.mail import service as mail
from services.service_desk.satisfaction import service as satisfaction
from services.service_desk.sla import service as sla
from services.service_desk.tickets import consumers as tickets
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob
from services.service_desk.settings import DeskSettings
from shared.settings import load_settings
from shared.worker import create_worker_app, run_worker

CONSUMERS: list[ConsumerSpec] = [
    customers.VIEW_REPLICA,
    customers.following([tickets.FOLLOWER]),
]


def seconds(name: str) -> Callable[[Any], float]:
    """A job's interval: the process settings' field, or its default there when the settings are not the desk's."""
    return lambda settings: float(getattr(settings, name, DeskSettings.model_fields[name].default))


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(name="mail-send", interval=seconds("mail_send_seconds"), run=mail.send_queued),
    # Warnings and breaches of SLA targets, once each, and the escalations breaches call for.
    PeriodicJob(name="sla-check", interval=seconds("sla_check_seconds"), run=sla.run_sla_check),
    # The backstop of assignment: whatever waits in a queue while an agent could take it.
    PeriodicJob(name="assignment", interval=seconds("assignment_seconds"), run=agents.hand_out_waiting),
    # Satisfaction requests are signed here, where the link secret is (at the mail's own pace).
    PeriodicJob(name="satisfaction-requests", interval=seconds("mail_send_seconds"), run=satisfaction.run_request_mail),
)


# The projection is the view replica: its hash proves a rebuild identical (`crm replay`), its
# states are checked against the master view (`crm check-consistency`).
digest = REPLICA.digest
states = REPLICA.states


def create_worker() -> FastAPI:
    """The worker process: ``python -m services.service_desk.worker`` (or ``uvicorn --factory``)."""
    return create_worker_app(settings=load_settings("service_desk", DeskSettings), consumers=CONSUMERS, jobs=JOBS,
                             topics=contract.TOPICS)


if __name__ == "__main__":
    run_worker(create_worker)
