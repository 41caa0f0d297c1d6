"""The OpenAPI document of a service, made exact about its errors and its credentials.

FastAPI documents each route's success answer and a 422 in a shape this product never
sends. Every error here is RFC 9457 ``application/problem+json`` (``shared.problems``), so
this module replaces that 422 with the problems each route can really answer, all
pointing at one ``Problem`` schema, and declares the bearer token the ``/v1`` routes
demand. The statuses are derived from the route itself: authenticated routes can answer
401 and 403, a route with parameters 422, one with a body 413 and 415, one with a path
id 404, a write 409 (a state that refuses it) and 412 (a stale ``If-Match``). A feature
whose routes can answer more (410 for an erased customer, 503 while a view catches up)
says so with FastAPI's ``responses=`` and gets the same problem document for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shared.auth import Scopes, authenticate

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA = "Problem"
BEARER_SCHEME = "bearer"

# The members shared.errors.Problem.body and shared.problems write, and nothing else.
PROBLEM_SCHEMA_DOCUMENT: dict[str, Any] = {
    "title": PROBLEM_SCHEMA,
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference",
                 "description": "What kind of problem, e.g. /problems/validation-error."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri-reference", "description": "The path that answered."},
        "errors": {
            "type": "array",
            "description": "Validation problems only: one entry per refused field.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# Why a route answers each status, as its OpenAPI description says.
REASONS: dict[int, str] = {
    400: "Malformed request: a cursor, consistency token or header this service did not issue.",
    401: "No valid bearer token.",
    403: "The token lacks a scope this operation needs.",
    404: "No such resource for this tenant.",
    409: "The resource's state refuses this change.",
    410: "The resource was erased.",
    412: "If-Match names a version that is no longer current.",
    413: "The request body is larger than this service accepts.",
    415: "The request body is not in a media type this operation reads.",
    422: "The request is well formed but breaks a rule (the errors member names each field).",
    503: "Not available yet; retry after the Retry-After header's seconds.",
}

# For a feature_router(responses=...) whose routes can meet an erased resource.
GONE: dict[int | str, dict[str, Any]] = {410: {"description": REASONS[410]}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": REASONS[503]}}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Every documented API route as the app serves it (with its router's prefix and responses)."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _authenticated(route: Any) -> bool:
    return any(d.call is authenticate or isinstance(d.call, Scopes) for d in _dependencies(route.dependant))


def _has_parameters(dependant: Dependant) -> bool:
    return bool(dependant.query_params or dependant.header_params or dependant.path_params
                or dependant.cookie_params or dependant.body_params) or any(
        _has_parameters(d) for d in dependant.dependencies)


def problem_statuses(route: Any, method: str) -> set[int]:
    """The problem statuses one route can answer, from what it takes and what it does."""
    statuses: set[int] = set()
    if _authenticated(route):
        # 400: a cursor, consistency token or Idempotency-Key that this system did not issue.
        statuses |= {400, 401, 403}
    body = bool(route.dependant.body_params) or "requestBody" in (route.openapi_extra or {})
    if _has_parameters(route.dependant) or body:
        statuses.add(422)
    if body:
        statuses |= {413, 415}
    if "{" in route.path_format:
        statuses.add(404)
    if method in WRITE_METHODS:
        # A write may meet a state that refuses it, or (under Idempotency-Key) a key reused: 422.
        statuses |= {409, 422}
        if method != "POST":
            statuses.add(412)
    # Declared by the feature (responses={410: {...}}); an entry with content of its own is not a problem.
    statuses |= {int(code) for code, answer in route.responses.items()
                 if str(code).isdigit() and int(code) >= 400 and "content" not in answer}
    return statuses


def problem_response(status: int) -> dict[str, Any]:
    description = REASONS.get(status) or HTTPStatus(status).phrase
    return {"description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}}}


def exact_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's document with every route's problems and its bearer security (cached like FastAPI's own)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # FastAPI's validation error shapes are never sent (shared.problems answers problem+json).
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas[PROBLEM_SCHEMA] = PROBLEM_SCHEMA_DOCUMENT
    secured = False
    for route in _api_routes(app):
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(problem_statuses(route, method)):
                responses[str(status)] = problem_response(status)
            if _authenticated(route):
                operation["security"] = [{BEARER_SCHEME: []}]
                secured = True
    if secured:
        components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A token carrying the tenant and scopes (crm token prints one for development).",
        }
    app.openapi_schema = document
    return document


def install_exact_openapi(app: FastAPI) -> None:
    """Serve ``exact_openapi`` at ``/openapi.json`` (and in ``/docs``) instead of FastAPI's default document."""
    app.openapi = lambda: exact_openapi(app)  # type: ignore[method-assign]
