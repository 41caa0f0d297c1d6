"""The services the command line knows, and what each one contributes to it.

The library (``shared/``) knows no service; this program does. Each service offers,
by convention: ``services.<name>.app:create_app`` (the process), ``services.<name>.worker``
(its consumers, jobs and the hashes of its projections), ``services.<name>.contract``
(its events and scopes) and, if it has any, ``services.<name>.commands.register`` (its
own sub-commands).
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from services.gateway.app import DEFAULT_PORTS, SERVICES
from shared.auth import ADMIN_SCOPE

__all__ = ["ALL_SCOPES", "DEFAULT_PORTS", "SERVICES", "contract_of", "register_service_commands", "worker_of"]


def worker_of(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.worker")


def contract_of(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.contract")


def _all_scopes() -> tuple[str, ...]:
    scopes = [scope for service in SERVICES for scope in contract_of(service).SCOPES]
    return (*dict.fromkeys(scopes), ADMIN_SCOPE)


# Every scope a development token can carry: each service's own, then the platform's.
ALL_SCOPES: tuple[str, ...] = _all_scopes()


def register_service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for service in SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.commands")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{service}.commands":
                raise
            continue
        module.register(commands)
