"""Process settings, read once from environment variables.

Each process (one service, the gateway, the command line) builds exactly one
``Settings`` object and passes it down; nothing else reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "oneview-dev-secret-change-me-in-production"


class Settings(BaseSettings):
    """Everything a service process can be configured with.

    ``database_url`` defaults to a SQLite file per service under ``CRM_VAR_DIR``;
    ``<SERVICE>_DATABASE_URL`` (e.g. ``SALES_DATABASE_URL``) points a service at PostgreSQL.
    """

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service: str = "crm"
    database_url: str = ""
    var_dir: Path = Path("var")
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CRM_KAFKA_BOOTSTRAP_SERVERS"),
    )
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "oneview-crm"
    # Consumers of one service share a group, so replicas of a service split partitions.
    consumer_group_prefix: str = "crm"
    consumer_max_attempts: int = 3
    # How long a crashed consumer keeps its partitions before the group hands them on (heartbeats go
    # every quarter of it). A clean stop leaves the group at once; 10 s rides out the CPU pauses of a
    # small, busy machine without declaring a live worker dead.
    consumer_session_timeout_ms: int = 10000
    # The last resort: a consumer out of its group this long while the broker answers is created anew.
    consumer_stall_seconds: float = 10.0
    relay_batch_size: int = 500
    relay_idle_poll_seconds: float = 0.5
    consistency_wait_seconds: float = 5.0
    # Stored answers to Idempotency-Key writes are kept this long, and purged this often.
    idempotency_retention_hours: int = 24
    idempotency_purge_seconds: float = 3600.0
    # How a worker creates topics it finds missing (shared.topics.TopicLayout): a cluster sets 3 and 2.
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    topic_min_insync_replicas: int = 1
    # Domain and dead-letter topics: -1 keeps them for ever, which `crm replay` from offset zero needs.
    topic_retention_ms: int = -1
    # Base URL of each other process by name (CRM_SERVICE_URLS, JSON), as `crm run` sets it.
    service_urls: dict[str, str] = Field(default_factory=dict)
    # Where `crm run` puts the gateway; the services take the next ports in order.
    port_base: int = 8000
    # The service's worker process (relay, consumers, jobs): its ops endpoints, and where its API
    # sends the wake-up datagram after a commit on SQLite (<SERVICE>_WORKER_PORT; 0: none).
    worker_host: str = "127.0.0.1"
    worker_port: int = 0
    # Log levels of the product's own loggers and of the Kafka client (whose INFO lines tell
    # every group join and coordinator change: what to turn on when a consumer seems stuck).
    log_level: str = "INFO"
    kafka_log_level: str = "WARNING"
    # Request bodies: a JSON body past max_body_bytes is refused (413) before it is read; a streamed
    # bulk upload (the customer import) is counted as it arrives, up to max_stream_bytes.
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    max_stream_bytes: int = Field(default=256 * 1_048_576, ge=1)
    # Origins of front-end apps allowed to call the API from a browser (CRM_CORS_ORIGINS, JSON list).
    # Empty: no cross-origin access at all, which suits every client that is not a browser.
    cors_origins: list[str] = Field(default_factory=list)


S = TypeVar("S", bound=Settings)


def load_settings(service: str = "crm", settings_class: type[S] = Settings) -> S:  # type: ignore[assignment]
    """Read the settings of one process from the environment; a service with settings of its own passes its class."""
    settings = settings_class(service=service)
    update: dict[str, object] = {}
    worker_port = os.environ.get(f"{service.upper()}_WORKER_PORT")
    if worker_port:
        update["worker_port"] = int(worker_port)
    explicit = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if explicit:
        update["database_url"] = explicit
    else:
        var_dir = settings.var_dir.resolve()
        update |= {"var_dir": var_dir, "database_url": f"sqlite:///{var_dir / service}.db"}
    return settings.model_copy(update=update)
