"""Which replica of a service the gateway sends a request to: each in turn, passing over one that could not be
reached for a cooldown, and the next one when a request may be sent again.

A request is sent to another replica when the first never received it (the connection could not be
made), whatever its method; when the exchange broke off after it was sent, only if repeating it changes
nothing: GET, HEAD, OPTIONS, PUT and DELETE, or a request carrying an ``Idempotency-Key`` (the services
answer a repeated key with the first answer). Anything else is answered with the problem, as before.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def may_resend(method: str, headers: httpx.Headers, error: httpx.TransportError) -> bool:
    """Whether a request that failed with ``error`` may go to another replica."""
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
        return True  # it never left
    return method.upper() in IDEMPOTENT_METHODS or "idempotency-key" in headers


class Upstreams:
    """Each service's replicas, in rotation; the state is the gateway process's, kept on its app."""

    def __init__(self, urls: dict[str, list[httpx.URL]], *, cooldown_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._urls = {service: list(found) for service, found in urls.items()}
        self._turns = {service: itertools.cycle(range(len(found))) for service, found in urls.items()}
        self._resting: dict[httpx.URL, float] = {}
        self._cooldown, self._clock = cooldown_seconds, clock

    def first(self, service: str) -> httpx.URL:
        return self._urls[service][0]

    def all(self) -> dict[str, list[httpx.URL]]:
        return {service: list(found) for service, found in self._urls.items()}

    def in_turn(self, service: str) -> list[httpx.URL]:
        """The replicas to try, starting with this request's turn; those resting after a failure come last."""
        found = self._urls[service]
        start = next(self._turns[service])
        ordered = found[start:] + found[:start]
        now = self._clock()
        return [u for u in ordered if self._resting.get(u, 0.0) <= now] + \
            [u for u in ordered if self._resting.get(u, 0.0) > now]

    def failed(self, url: httpx.URL) -> None:
        self._resting[url] = self._clock() + self._cooldown

    def answered(self, url: httpx.URL) -> None:
        self._resting.pop(url, None)
