"""Typed errors a client can act on, each with its RFC 9457 ``type``, ``title`` and ``status``.

Plain Python, so domain rules raise them without knowing about HTTP frameworks;
``shared.problems`` turns them into ``application/problem+json`` responses.
"""

from __future__ import annotations

from typing import Any

# Relative URI references (RFC 9457 section 3.1.1): resolved against the service that answered.
PROBLEM_BASE = "/problems/"


class Problem(Exception):
    """An error a client can act on; subclasses fix the ``type``, ``title`` and ``status``."""

    slug = "about:blank"
    title = "Error"
    status = 400

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(Problem):
    slug, title, status = "bad-request", "Bad request", 400


class Unauthorized(Problem):
    slug, title, status = "unauthorized", "Authentication required", 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(Problem):
    slug, title, status = "forbidden", "Not allowed", 403


class NotFound(Problem):
    slug, title, status = "not-found", "Not found", 404


class Conflict(Problem):
    slug, title, status = "conflict", "Conflict", 409


class Moved(Problem):
    """The resource now lives elsewhere for good (e.g. a customer merged into another): 308 with ``Location``."""

    slug, title, status = "moved-permanently", "Moved permanently", 308

    def __init__(self, detail: str, *, location: str) -> None:
        super().__init__(detail, headers={"Location": location})


class Gone(Problem):
    slug, title, status = "gone", "Gone", 410


class PreconditionFailed(Problem):
    slug, title, status = "precondition-failed", "Precondition failed", 412


class UnsupportedMediaType(Problem):
    slug, title, status = "unsupported-media-type", "Unsupported media type", 415


class InvalidInput(Problem):
    slug, title, status = "validation-error", "Invalid input", 422

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class ServiceUnavailable(Problem):
    slug, title, status = "service-unavailable", "Service unavailable", 503


class IdempotencyKeyReused(Problem):
    slug, title, status = "idempotency-key-reused", "Idempotency key reused with a different request", 422
