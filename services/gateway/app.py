"""The gateway: one origin for front-end apps, routing each request by path to the service that owns it.

It is a thin reverse proxy and nothing more: no authentication (every service checks
the bearer token itself), no caching, no aggregation. It adds what a single origin
needs: per-service OpenAPI documents and docs pages under ``/<service>/``, its own
``/healthz`` and ``/readyz``, and problem+json answers when a route is unknown or a
service does not answer, so a client never sees a bare 5xx from the proxy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.gateway.settings import GatewaySettings
from services.gateway.upstreams import Upstreams, may_resend
from shared.edge import install_browser_policy
from shared.errors import NotFound, Problem
from shared.http import body_limit
from shared.problems import install_problem_handlers
from shared.process import settle_heap
from shared.settings import Settings, load_settings

log = logging.getLogger(__name__)

# Path prefixes each service owns (API.md, "Resources"). A prefix matches itself and
# anything below it, never a longer word: /v1/orders routes, /v1/ordersx does not.
# Only prefixes a service really serves: a feature adds its prefix when it lands.
ROUTES: dict[str, tuple[str, ...]] = {
    "customer": ("/v1/customers", "/v1/classification", "/v1/custom-fields"),
    "sales": ("/v1/opportunities", "/v1/exchange-rates", "/v1/forecast", "/v1/pipeline-stages", "/v1/products", "/v1/price-books", "/v1/price-quotes", "/v1/pricing-policy",
              "/v1/leads", "/v1/lead-scoring-rules", "/v1/routing-rules", "/v1/sales-teams",
              "/v1/sales-policy", "/v1/orders", "/v1/invoices", "/v1/payments", "/v1/credit-notes",
              "/v1/receivables", "/v1/collections", "/v1/loyalty", "/v1/profitability"),
    "service_desk": ("/v1/tickets", "/v1/sla-policies", "/v1/calendars", "/v1/queues", "/v1/agents",
                     "/v1/service-stats"),
    "campaign": ("/v1/campaigns", "/v1/audiences", "/v1/frequency-caps", "/t"),
}
# Paths under another service's prefix that a service answers: (prefix, suffix, service) routes exactly
# prefix/<one segment>suffix, before the prefixes. The offers of a customer are sales', not the customer service's.
NESTED_ROUTES: tuple[tuple[str, str, str], ...] = (("/v1/customers", "/offers", "sales"),)
SERVICES: tuple[str, ...] = tuple(ROUTES)
# Where each process listens when nothing says otherwise (``crm run`` shifts them all by --port-base).
DEFAULT_PORTS: dict[str, int] = {"gateway": 8000, "customer": 8001, "sales": 8002, "service_desk": 8003, "campaign": 8004}

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# RFC 9110 section 7.6.1, plus the non-standard ones still seen in the wild. They
# describe one connection, so they must not cross the proxy; Host names the gateway.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        # Recomputed from the body actually sent, on both legs.
        "content-length",
    }
)

# Reads can legitimately take a while (a view read waits for consistency, an import
# runs in the request), so the read timeout is generous; connecting is local and fast.
UPSTREAM_TIMEOUT = httpx.Timeout(60.0, connect=5.0, pool=10.0)
READINESS_TIMEOUT = httpx.Timeout(3.0)
# Uvicorn closes idle keep-alive connections after 5 s; expiring ours first avoids
# reusing a connection the service is closing at that very moment.
UPSTREAM_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=4.0)


class BadGateway(Problem):
    slug, title, status = "bad-gateway", "Bad gateway", 502


class ServiceUnavailable(Problem):
    slug, title, status = "service-unavailable", "Service unavailable", 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class GatewayTimeout(Problem):
    slug, title, status = "gateway-timeout", "Gateway timeout", 504


def create_gateway_from_env() -> FastAPI:
    """Uvicorn factory: ``uvicorn services.gateway.app:create_gateway_from_env --factory``."""
    return create_gateway_app(load_settings("gateway", GatewaySettings))


def upstream_url(settings: Settings, service: str) -> str:
    """A service's base URL: from ``CRM_SERVICE_URLS``, else its default port on this machine."""
    return settings.service_urls.get(service, f"http://127.0.0.1:{DEFAULT_PORTS[service]}")


def upstream_urls(settings: GatewaySettings, service: str) -> list[httpx.URL]:
    """A service's replicas: ``CRM_<SERVICE>_URLS`` when listed, else its one base URL."""
    return [httpx.URL(url) for url in settings.urls_of(service)] or [httpx.URL(upstream_url(settings, service))]


def _gateway_settings(settings: Settings) -> GatewaySettings:
    """The gateway's own settings; plain library settings (a test's) take the gateway's defaults for the rest."""
    return settings if isinstance(settings, GatewaySettings) else GatewaySettings.model_construct(
        **settings.model_dump())


def workers_listed(settings: Settings) -> dict[str, httpx.URL]:
    """The services' workers named in ``CRM_SERVICE_URLS`` (``"sales-worker": ...``), whose readiness
    the gateway's ``/readyz`` includes.

    ``crm run`` lists them: on one machine "ready" means every consumer holds its partitions. A
    deployment with many gateway replicas lists none, so that a worker restarting never takes the
    gateways out of their balancer (writes go on into the outbox meanwhile).
    """
    return {f"{service}-worker": httpx.URL(settings.service_urls[f"{service}-worker"])
            for service in SERVICES if f"{service}-worker" in settings.service_urls}


def create_gateway_app(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The gateway app; ``transport`` lets tests answer for the services without sockets."""
    own = _gateway_settings(settings)
    replicas = Upstreams({service: upstream_urls(own, service) for service in SERVICES},
                         cooldown_seconds=own.upstream_cooldown_seconds)
    table = routing_table(ROUTES)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One pooled client for the process: keep-alive connections are what makes a proxy fast.
        async with httpx.AsyncClient(
            transport=transport or httpx.AsyncHTTPTransport(limits=UPSTREAM_LIMITS, retries=1),
            timeout=UPSTREAM_TIMEOUT,
            follow_redirects=False,
        ) as client:
            app.state.client = client
            settle_heap()
            yield

    app = FastAPI(
        title="OneView CRM: gateway",
        description="One origin for front-end apps; routes each request to the service that owns its path.",
        version="1.0.0",
        lifespan=lifespan,
        # The gateway has no API of its own; each service's documents are under /<service>/.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.upstreams = replicas
    install_problem_handlers(app)
    install_browser_policy(app, settings)
    _add_ops_routes(app, _ops_targets(replicas) | workers_listed(settings))
    for service in SERVICES:
        _add_docs_routes(app, service)

    @app.api_route("/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
    async def proxy(request: Request) -> Response:
        service = service_for_path(request.url.path, table)
        if service is None:
            raise NotFound(f"No service answers {request.url.path}.")
        # The gateway holds a body whole before forwarding it: never one past what any route takes.
        body_limit(request, max(settings.max_body_bytes, settings.max_stream_bytes))
        return await forward(request, service, _raw_target(request))

    return app


# --- routing ----------------------------------------------------------------------------


def routing_table(routes: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(prefix, service) pairs, longest prefix first so a nested prefix could win."""
    pairs = [(prefix, service) for service, prefixes in routes.items() for prefix in prefixes]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def service_for_path(path: str, table: list[tuple[str, str]],
                     nested: tuple[tuple[str, str, str], ...] = NESTED_ROUTES) -> str | None:
    for prefix, suffix, owner in nested:
        if path.startswith(prefix + "/") and path.endswith(suffix):
            middle = path[len(prefix) + 1:len(path) - len(suffix)]
            if middle and "/" not in middle:
                return owner
    for prefix, service in table:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def _raw_target(request: Request) -> bytes:
    """The request target exactly as the client encoded it (an id with %2F stays one segment)."""
    path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return path + b"?" + query if query else path


# --- forwarding -------------------------------------------------------------------------


async def forward(request: Request, service: str, target: bytes) -> Response:
    """Send the request on to one of ``service``'s replicas and answer with what it answered (``upstreams``
    says when another replica is tried)."""
    client: httpx.AsyncClient = request.app.state.client
    replicas: Upstreams = request.app.state.upstreams
    content = await request.body()
    error: httpx.TransportError | None = None
    for upstream in replicas.in_turn(service):
        url = upstream.copy_with(raw_path=upstream.raw_path.rstrip(b"/") + target)
        outgoing = client.build_request(request.method, url, headers=_request_headers(request), content=content)
        try:
            answer = await client.send(outgoing, stream=True)
            try:
                body = await _raw_body(answer)
            finally:
                await answer.aclose()
        except httpx.TransportError as exc:
            replicas.failed(upstream)
            error = exc
            if may_resend(request.method, outgoing.headers, exc):
                continue
            break
        replicas.answered(upstream)
        return _response_from(answer, body, head=request.method == "HEAD")
    assert error is not None
    raise _upstream_problem(service, error) from error


_FORWARDED_HEADERS = (b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto")


async def _raw_body(answer: httpx.Response) -> bytes:
    # Raw bytes, not decoded ones: the Content-Encoding header is passed on unchanged.
    if answer.is_stream_consumed:
        # Only an in-memory answer (a test's MockTransport) arrives already read.
        return answer.content
    return b"".join([chunk async for chunk in answer.aiter_raw()])


def _request_headers(request: Request) -> list[tuple[bytes, bytes]]:
    headers = [(n, v) for n, v in _end_to_end(request.headers.raw) if n.lower() not in _FORWARDED_HEADERS]
    if "accept-encoding" not in request.headers:
        # httpx would otherwise ask for gzip on the client's behalf and we would pass
        # a compressed body to a client that never said it could read one.
        headers.append((b"accept-encoding", b"identity"))
    return headers + _forwarded_headers(request)


def _forwarded_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """X-Forwarded-*: who really called, since the service only sees the gateway."""
    client_host = request.client.host if request.client else "unknown"
    prior = request.headers.get("x-forwarded-for")
    forwarded_for = f"{prior}, {client_host}" if prior else client_host
    return [
        (b"x-forwarded-for", forwarded_for.encode("latin-1")),
        (b"x-forwarded-host", request.headers.get("host", "").encode("latin-1")),
        (b"x-forwarded-proto", request.url.scheme.encode("latin-1")),
    ]


def _end_to_end(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Drop hop-by-hop headers, including any the Connection header names."""
    named = {
        token.strip().lower() for name, value in raw if name.lower() == b"connection" for token in value.split(b",")
    }
    dropped = {h.encode() for h in HOP_BY_HOP_HEADERS} | named
    return [(name, value) for name, value in raw if name.lower() not in dropped]


# The server running the gateway adds its own; passing the service's on would send both.
_SERVER_HEADERS = (b"date", b"server")


def _response_from(answer: httpx.Response, body: bytes, *, head: bool) -> Response:
    headers = [(n, v) for n, v in _end_to_end(answer.headers.raw) if n.lower() not in _SERVER_HEADERS]
    if head:
        # A HEAD answer has no body but describes the length of the GET one.
        length = answer.headers.get("content-length")
        if length is not None:
            headers.append((b"content-length", length.encode("latin-1")))
    elif answer.status_code >= 200 and answer.status_code not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    response = Response(status_code=answer.status_code)
    # Assigned raw so repeated headers (Set-Cookie, Link, Vary) survive as they came.
    response.raw_headers = headers
    response.body = b"" if head else body
    return response


def _upstream_problem(service: str, exc: httpx.TransportError) -> Problem:
    log.warning("%s service failed to answer: %s: %s", service, type(exc).__name__, exc)
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return ServiceUnavailable(f"The {service} service is not reachable; try again shortly.")
    if isinstance(exc, httpx.PoolTimeout):
        return ServiceUnavailable(f"The gateway has no free connection to the {service} service; try again shortly.")
    if isinstance(exc, httpx.TimeoutException):
        return GatewayTimeout(f"The {service} service did not answer in time.")
    return BadGateway(f"The {service} service broke off the exchange ({type(exc).__name__}).")


# --- documents and operations -----------------------------------------------------------


def _add_docs_routes(app: FastAPI, service: str) -> None:
    openapi_path = f"/{service}/openapi.json"

    @app.get(openapi_path, include_in_schema=False, name=f"{service}-openapi")
    async def openapi(request: Request) -> Response:
        return await forward(request, service, b"/openapi.json")

    # Rendered here rather than passed through: the service's own page would load
    # /openapi.json from this origin, which is no service's document.
    @app.get(f"/{service}/docs", include_in_schema=False, name=f"{service}-docs")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_path, title=f"OneView CRM: {service} service")


def _ops_targets(replicas: Upstreams) -> dict[str, httpx.URL]:
    """What ``/readyz`` asks: each replica by the service's name (with its place, when there are several)."""
    targets: dict[str, httpx.URL] = {}
    for service, urls in replicas.all().items():
        for index, url in enumerate(urls):
            targets[service if len(urls) == 1 else f"{service}#{index + 1}"] = url
    return targets


def _add_ops_routes(app: FastAPI, upstreams: dict[str, httpx.URL]) -> None:
    @app.get("/healthz", summary="The gateway process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Every service behind the gateway is ready", response_model=None)
    async def readyz(request: Request) -> JSONResponse:
        client: httpx.AsyncClient = request.app.state.client
        reports = await asyncio.gather(*(_readiness_of(client, s, url) for s, url in upstreams.items()))
        services = dict(zip(upstreams, reports))
        # A service with several replicas is ready when one of them is: the others are passed over.
        by_service: dict[str, list[bool]] = {}
        for name, report in services.items():
            by_service.setdefault(name.split("#", 1)[0], []).append(report["status"] == "ready")
        ready = all(any(replicas) for replicas in by_service.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "services": services}, status_code=200 if ready else 503
        )


async def _readiness_of(client: httpx.AsyncClient, service: str, upstream: httpx.URL) -> dict[str, Any]:
    url = upstream.copy_with(raw_path=upstream.raw_path.rstrip(b"/") + b"/readyz")
    try:
        answer = await client.get(url, timeout=READINESS_TIMEOUT)
    except httpx.TransportError as exc:
        return {"status": "unreachable", "detail": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}
    try:
        checks = answer.json().get("checks", {})
    except ValueError:
        checks = {}
    return {"status": "ready" if answer.status_code == 200 else "not ready", "checks": checks}
