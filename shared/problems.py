"""RFC 9457 problem details: the one shape every error of every service takes.

Domain code raises these typed errors; one handler turns them (and framework
errors: validation, 404, 405) into ``application/problem+json``. Nothing a client
sends can produce a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import DataError
from starlette.routing import Match

from shared.errors import InvalidInput, Problem

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def _instance(request: Request) -> str:
    # The path as the client sent it, still percent-encoded: a URI reference, whatever it names.
    raw: bytes | None = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else request.url.path


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=_instance(request)),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts) or "body"


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        return {"field": "body", "message": f"not valid JSON ({error.get('msg', 'decode error')})"}
    return {"field": _field_of(tuple(error.get("loc", ()))), "message": str(error.get("msg", "invalid"))}


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(e) for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem_response(InvalidInput(detail or "The request is not valid.", errors=errors), request)


_HTTP_SLUGS = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed"),
               413: ("content-too-large", "Content too large"), 415: ("unsupported-media-type", "Unsupported media type")}


def _allowed_methods(request: Request) -> str | None:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for context in routing.iter_route_contexts(request.app.routes):
        route = context.original_route if context.path_regex is None else context
        matches = getattr(route, "matches", None)
        if matches is None:
            continue
        match, _ = matches({**request.scope, "method": "\0"})
        if match is Match.PARTIAL and route.methods:
            methods |= set(route.methods)
    return ", ".join(sorted(methods)) if methods else None


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = allowed
    problem = Problem(str(exc.detail), headers=headers)
    problem.slug, problem.title, problem.status = slug, title, exc.status_code
    return problem_response(problem, request)


async def _on_data_error(request: Request, exc: Exception) -> Response:
    # The database refused a value the request carried (PostgreSQL text holds no NUL character, a
    # number past its column): bad input, not a failure of ours. The unit of work rolled it all back.
    log.info("the database refused a value of %s %s: %s", request.method, request.url.path, exc)
    problem = InvalidInput("The database cannot store a value of this request (text with a NUL character, "
                           "or a number beyond its range).", errors=[{"field": "body", "message": "not storable"}])
    return problem_response(problem, request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem("The server failed to handle this request; it has been logged.")
    problem.slug, problem.title, problem.status = "internal-error", "Internal server error", 500
    return problem_response(problem, request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(Exception, _on_unexpected)
