"""What every HTTP process answers with besides its content: security headers and CORS.

The services and the gateway install the same policy, so an answer carries it whichever
process a client reached. Browsers are the audience: ``nosniff`` keeps a JSON answer from
being run as a script, ``no-store`` keeps personal data out of shared and browser caches,
and a JSON answer may not be framed or load anything. Cross-origin access is off unless
the operator names the front-end origins (``CRM_CORS_ORIGINS``).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.settings import Settings

# Set when the answer has not set them itself (a proxied answer keeps the service's own).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
# Only on answers that are not HTML: the interactive docs page loads its scripts and styles.
NON_HTML_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
)

# What a browser app may send and read across origins: the contract's own headers.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "CRM-Consistency-Token"]
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Link", "Retry-After", "Idempotent-Replayed", "CRM-Consistency-Token",
                        "CRM-Possible-Duplicates", "CRM-Possible-Duplicates-Truncated"]


class SecurityHeaders:
    """A plain ASGI middleware (no extra task per request, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = SECURITY_HEADERS
                if not headers.get("content-type", "").startswith("text/html"):
                    extra += NON_HTML_HEADERS
                for name, value in extra:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_browser_policy(app: FastAPI, settings: Settings) -> None:
    """Security headers on every answer, and CORS for the configured front-end origins only."""
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        # Added last, so it runs first: a preflight is answered before anything else looks at it.
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_EXPOSED_HEADERS, max_age=600,
        )
