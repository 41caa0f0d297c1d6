"""The gateway with several replicas per service (CRM_<SERVICE>_URLS), answered by httpx's MockTransport: requests
go to each in turn, one that cannot be reached is passed over (any method: it never got the request), one that
broke off after receiving it is retried elsewhere only for requests safe to repeat, and /readyz is ready while one
replica of each service is."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient

from services.gateway.app import create_gateway_app
from services.gateway.settings import GatewaySettings
from services.gateway.upstreams import Upstreams

ONE, TWO = "http://sales-1.test:9001", "http://sales-2.test:9002"


def _gateway(answer: Callable[[httpx.Request], httpx.Response]) -> TestClient:
    settings = GatewaySettings(service="gateway", sales_urls=[ONE, TWO])
    return TestClient(create_gateway_app(settings, transport=httpx.MockTransport(answer)))


def _served_by(seen: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host} {request.method}")
        return httpx.Response(200, json={"host": request.url.host})
    return answer


def test_requests_go_to_each_replica_in_turn() -> None:
    seen: list[str] = []
    with _gateway(_served_by(seen)) as client:
        for _ in range(4):
            assert client.get("/v1/orders").status_code == 200
    assert seen == ["sales-1.test GET", "sales-2.test GET", "sales-1.test GET", "sales-2.test GET"]


def test_a_replica_that_cannot_be_reached_is_passed_over_for_any_method_and_rests() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "sales-1.test":
            seen.append("refused")
            raise httpx.ConnectError("connection refused", request=request)
        return _served_by(seen)(request)

    with _gateway(answer) as client:
        created = client.post("/v1/orders", json={"customer_id": "c"})
        assert (created.status_code, created.json()) == (200, {"host": "sales-2.test"})
        for _ in range(3):
            assert client.get("/v1/orders").json() == {"host": "sales-2.test"}
    # Refused once; then it rests, and every request goes to the replica that answers.
    assert seen == ["refused", "sales-2.test POST", "sales-2.test GET", "sales-2.test GET", "sales-2.test GET"]


def test_a_broken_off_exchange_is_repeated_elsewhere_only_when_repeating_is_safe() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "sales-1.test":
            seen.append(f"broke off {request.method}")
            raise httpx.ReadError("connection reset", request=request)
        return _served_by(seen)(request)

    with _gateway(answer) as client:
        assert client.get("/v1/orders").json() == {"host": "sales-2.test"}
    with _gateway(answer) as client:
        refused = client.post("/v1/orders", json={})
        assert refused.status_code == 502 and refused.headers["content-type"] == "application/problem+json"
    with _gateway(answer) as client:
        keyed = client.post("/v1/orders", json={}, headers={"Idempotency-Key": "k-1"})
        assert keyed.json() == {"host": "sales-2.test"}
    assert seen == ["broke off GET", "sales-2.test GET", "broke off POST", "broke off POST", "sales-2.test POST"]


def test_readiness_needs_one_ready_replica_of_each_service() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "sales-1.test":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"status": "ready", "checks": {}})

    with _gateway(answer) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["services"]["sales#1"]["status"] == "unreachable"
        assert ready.json()["services"]["sales#2"]["status"] == "ready"


def test_a_resting_replica_is_tried_again_after_its_cooldown() -> None:
    now = [0.0]
    one, two = httpx.URL(ONE), httpx.URL(TWO)
    upstreams = Upstreams({"sales": [one, two]}, cooldown_seconds=5, clock=lambda: now[0])
    upstreams.failed(one)
    assert [upstreams.in_turn("sales")[0] for _ in range(2)] == [two, two]
    now[0] = 6.0
    assert {upstreams.in_turn("sales")[0] for _ in range(2)} == {one, two}
