"""The API app factory every service is built with: one lifespan, one set of conventions.

A service hands over its settings and its feature routers; this module adds the problem
handlers, the exact OpenAPI document (``shared.openapi``), security headers and CORS
(``shared.edge``), the ops endpoints (``/healthz``, ``/readyz``, ``/metrics``), request metrics,
and a lifespan that opens the database and the wake-up line to the service's worker
(``shared.worker`` runs the relay, the consumers and the jobs in a process of their own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import VerifiedTokens
from shared.db import make_engine, make_sessions
from shared.edge import install_browser_policy
from shared.http import UnitOfWorkRoute
from shared.group import broker_reachable
from shared.logs import configure_logging
from shared.metrics import ServiceMetrics
from shared.openapi import install_exact_openapi
from shared.outbox import pending_count
from shared.problems import install_problem_handlers
from shared.process import settle_heap
from shared.settings import Settings
from shared.wakeup import Waker

log = logging.getLogger(__name__)


def create_service_app(
    *, settings: Settings, title: str, description: str, routers: tuple[APIRouter, ...],
    public_routers: tuple[APIRouter, ...] = (),
) -> FastAPI:
    """One service's API process: its feature routers under ``/v1`` and the ops endpoints.

    ``public_routers`` are mounted at the root, outside ``/v1``: links people follow from a message (a
    tracked link, a one-click unsubscribe), which carry their own signed credential.

    The relay, the consumers and the jobs run in the service's worker process
    (``shared.worker``); after a commit that appended events the API wakes that relay.
    """
    metrics = ServiceMetrics(settings.service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        engine = make_engine(settings.database_url)
        app.state.engine = engine  # for single-statement reads that need no session
        app.state.sessions = make_sessions(engine)
        app.state.waker = Waker(settings)
        settle_heap()
        try:
            yield
        finally:
            app.state.waker.close()
            engine.dispose()

    app = ops_app(settings, metrics, title=title, description=description, lifespan=lifespan,
                  readiness=api_readiness)
    app.state.tokens = VerifiedTokens(secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    install_browser_policy(app, settings)
    _install_request_metrics(app, metrics)
    for feature in routers:
        _require_units_of_work(feature)
        app.include_router(feature, prefix="/v1")
    for feature in public_routers:
        _require_units_of_work(feature)
        app.include_router(feature)
    install_exact_openapi(app)
    return app


def ops_app(settings: Settings, metrics: ServiceMetrics, *, title: str, description: str,
            lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
            readiness: Callable[[FastAPI], dict[str, bool]]) -> FastAPI:
    """An app with the conventions every process of a service shares: problems and ops endpoints."""
    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.include_router(_ops_router(readiness))
    return app


def _require_units_of_work(router: APIRouter) -> None:
    """Refuse to build an app with a route outside a unit of work: its writes would never commit."""
    stray = [route.path for route in router.routes if isinstance(route, APIRoute) and not isinstance(route, UnitOfWorkRoute)]
    if stray:
        raise TypeError(f"routes {stray} are not on a feature_router (shared.http): they have no unit of work")


def _install_request_metrics(app: FastAPI, metrics: ServiceMetrics) -> None:
    # A plain ASGI middleware: Starlette's BaseHTTPMiddleware (``@app.middleware("http")``)
    # runs every request in an extra task with memory streams, which cost the unified-view
    # read about a third of its throughput (bench/results/latest.md).
    app.add_middleware(RequestMetrics, metrics=metrics)


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()


def _ops_router(readiness: Callable[[FastAPI], dict[str, bool]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and Kafka are reachable", response_model=None,
                responses={503: {"description": "Not ready: the checks say which part is missing.",
                                 "content": {"application/json": {}}}})
    def readyz(request: Request) -> JSONResponse:
        checks = readiness(request.app)
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response,
                responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    def prometheus(request: Request) -> Response:
        app = request.app
        try:
            with app.state.sessions() as session:
                app.state.metrics.outbox_pending.set(pending_count(session))
        except Exception:  # noqa: BLE001 - metrics must render even with the database down
            log.debug("could not count the outbox", exc_info=True)
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    return router


def database_readiness(app: FastAPI) -> dict[str, bool]:
    """Whether the process's database answers."""
    try:
        with app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        return {"database": True}
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        return {"database": False}


def api_readiness(app: FastAPI) -> dict[str, bool]:
    """The API's readiness: its database answers and a Kafka broker accepts connections.

    The API itself only writes to its outbox; its worker relays. A broker that accepts a
    connection is what "Kafka reachable" can mean here without the API running a client.
    """
    return database_readiness(app) | {"kafka": broker_reachable(app.state.settings.kafka_bootstrap_servers)}
