"""Log lines of a service process: one format on stderr, levels from the settings.

uvicorn configures only its own loggers; without this the product's INFO lines (a consumer
holding its partitions, a relay catching up) and the Kafka client's group changes were lost.
"""

from __future__ import annotations

import logging
import sys

from shared.settings import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s [{service}] %(message)s"


def configure_logging(settings: Settings) -> None:
    """Send the product's and the Kafka client's records to stderr; called once at process start."""
    root = logging.getLogger()
    if not any(getattr(handler, "crm", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.crm = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(_FORMAT.format(service=settings.service)))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("shared", "services", "crm"):
        logging.getLogger(name).setLevel(settings.log_level.upper())
    logging.getLogger("kafka").setLevel(settings.kafka_log_level.upper())
