"""Periodic jobs a service runs beside its relay and consumers, one thread each.

A job is a function of the service's sessions and settings, run every ``interval``
seconds (read from the settings; zero or less: never). A failing run is logged and
the next one comes at its time: a job must be safe to repeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: Callable[[Settings], float]
    run: Callable[[sessionmaker[Session], Settings], object]


class JobRunner(threading.Thread):
    """Runs one job every interval until stopped; the first run is one interval after the start."""

    def __init__(self, job: PeriodicJob, sessions: sessionmaker[Session], settings: Settings) -> None:
        super().__init__(name=f"{settings.service}-{job.name}", daemon=True)
        self.job, self._sessions, self._settings = job, sessions, settings
        self.interval = job.interval(settings)
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.job.run(self._sessions, self._settings)
            except Exception:  # noqa: BLE001 - the next run retries; the service keeps serving
                log.exception("job %s failed; it runs again in %.0f s", self.job.name, self.interval)

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
