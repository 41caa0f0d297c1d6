"""One look at the running system: ``crm status`` (``--watch`` to refresh, ``--json`` for scripts).

Per service: whether its API and its worker answer ``/readyz``; its outbox backlog (events
written and not yet on Kafka) and how old the oldest is; its worker's consumer lag (records on
its topics past the group's committed offsets) and how old the oldest record it has not applied
is; and its pending dead letters. The customer worker's lag is how far the unified view is
behind the events: its oldest unapplied record's age is the view's convergence delay right now.

Each figure is read from where it lives (HTTP, the service's database, Kafka), with a bound on
every call: a part that does not answer shows as down or unknown, never as a hang.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from crm import deadletters
from crm.registry import SERVICES
from services.gateway.app import upstream_url
from shared.db import OutboxRecord, make_engine
from shared.settings import Settings, load_settings

T = TypeVar("T")
CALL_SECONDS = 10.0


@dataclass
class ServiceStatus:
    service: str
    api: str = "down"
    worker: str = "down"
    outbox_pending: int | None = None
    outbox_oldest_seconds: float | None = None
    consumer_lag: int | None = None
    oldest_unapplied_seconds: float | None = None
    dead_letters: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def up(self) -> bool:
        return self.api == "up" and self.worker == "up"


def gather() -> list[ServiceStatus]:
    """Every service's status, read side by side."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        return list(pool.map(service_status, SERVICES))


def service_status(service: str) -> ServiceStatus:
    settings = load_settings(service)
    status = ServiceStatus(service)
    status.api = _ready(upstream_url(settings, service))
    status.worker = _ready(worker_url(settings, service))
    if (outbox := _read(status, "outbox", lambda: _outbox(settings))) is not None:
        status.outbox_pending, status.outbox_oldest_seconds = outbox
    if (lag := _read(status, "consumer lag", lambda: _lag(settings))) is not None:
        status.consumer_lag, status.oldest_unapplied_seconds = lag
    status.dead_letters = _read(status, "dead letters",
                                lambda: len(deadletters.pending(settings.kafka_bootstrap_servers, service)))
    return status


def worker_url(settings: Settings, service: str) -> str:
    """Where the service's worker answers: ``CRM_SERVICE_URLS`` (``"sales-worker"``), else its port (the API's + 10
    as ``crm run`` places it, or ``<SERVICE>_WORKER_PORT``)."""
    listed = settings.service_urls.get(f"{service}-worker")
    if listed:
        return listed
    api = httpx.URL(upstream_url(settings, service))
    return str(api.copy_with(port=settings.worker_port or (api.port or 80) + 10))


def render(statuses: list[ServiceStatus]) -> str:
    rows = [("service", "api", "worker", "outbox", "oldest", "lag", "oldest unapplied", "dead letters")]
    for s in statuses:
        rows.append((s.service, s.api, s.worker, _n(s.outbox_pending), _age(s.outbox_oldest_seconds),
                     _n(s.consumer_lag), _age(s.oldest_unapplied_seconds), _n(s.dead_letters)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    view = next((s for s in statuses if s.service == "customer"), None)
    if view is not None and view.consumer_lag is not None:
        behind = "up to date" if view.consumer_lag == 0 else (
            f"{view.consumer_lag} event(s) behind, the oldest {_age(view.oldest_unapplied_seconds)} old")
        lines.append(f"unified view: {behind}")
    for s in statuses:
        lines += [f"{s.service}: {problem}" for problem in s.problems]
    return "\n".join(lines)


def as_json(statuses: list[ServiceStatus]) -> dict[str, Any]:
    return {"at": datetime.now(timezone.utc).isoformat(), "services": [asdict(s) for s in statuses],
            "up": all(s.up for s in statuses)}


# --- reading each figure ------------------------------------------------------------------------


def _bounded(call: Callable[[], T], seconds: float = CALL_SECONDS) -> T:
    """``call``'s answer within ``seconds`` (kafka-python's admin calls take no timeout of their own)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def _read(status: ServiceStatus, what: str, call: Callable[[], T]) -> T | None:
    """``call``'s answer, or None with the reason noted when the figure cannot be read."""
    try:
        return _bounded(call)
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be read is shown as unknown, with why
        status.problems.append(f"{what} unknown: {type(exc).__name__}: {exc}"[:300])
        return None


def _ready(url: str) -> str:
    try:
        return "up" if httpx.get(f"{url}/readyz", timeout=3).status_code == 200 else "not ready"
    except httpx.HTTPError:
        return "down"


def _outbox(settings: Settings) -> tuple[int, float | None]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            count, oldest = connection.execute(select(func.count(), func.min(OutboxRecord.occurred_at))
                                               .where(OutboxRecord.published_at.is_(None))).one()
    finally:
        engine.dispose()
    return int(count), _since(oldest) if oldest is not None else None


def _lag(settings: Settings) -> tuple[int, float | None]:
    """Records past the worker group's committed offsets, and the age of the oldest of them."""
    group = f"{settings.consumer_group_prefix}.{settings.service}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        committed = {tp: meta.offset for tp, meta in admin.list_group_offsets(group).get(group, {}).items()}
    finally:
        admin.close()
    if not committed:
        return 0, None
    reader = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                           group_id=None)
    try:
        ends = reader.end_offsets(list(committed))
        behind = {tp: ends[tp] - max(offset, 0) for tp, offset in committed.items() if ends.get(tp, 0) > offset >= 0}
        oldest: float | None = None
        for tp in behind:
            reader.assign([tp])
            reader.seek(tp, committed[tp])
            for batch in reader.poll(timeout_ms=2000, max_records=1).values():
                for record in batch:
                    age = time.time() - record.timestamp / 1000
                    oldest = age if oldest is None else max(oldest, age)
        return sum(behind.values()), oldest
    finally:
        reader.close()


def _since(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max((datetime.now(timezone.utc) - moment).total_seconds(), 0.0)


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.0f}m"
