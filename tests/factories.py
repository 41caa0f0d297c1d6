"""Test data: customers, opportunities, tickets and campaigns made through the public API.

Each HTTP factory posts one record, asserts it was created and returns its body; the customer
factories also return the ``CRM-Consistency-Token`` header, so a follow-up write in another
service can wait until that service has seen the customer. Keyword fields override the defaults.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.waiting import eventually

Json = dict[str, Any]
Token = dict[str, str]


def _created(response: httpx.Response) -> Json:
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def _token(response: httpx.Response) -> Token:
    return {"CRM-Consistency-Token": response.headers["CRM-Consistency-Token"]}


def person_body(given: str = "Ada", **fields: Any) -> Json:
    """A person's create body: a name and one e-mail address made from the given name."""
    return {"kind": "person", "given_name": given, "family_name": "Example",
            "emails": [{"address": f"{given.lower()}@example.com"}]} | fields


def person_record(**fields: Any) -> Json:
    """A person as the duplicate rules read it (no names, no database): empty contact points by default."""
    return {"kind": "person", "emails": [], "phones": [], "addresses": []} | fields


def person(client: httpx.Client, given: str, **fields: Any) -> tuple[Json, Token]:
    """Create a person; returns its body and the consistency-token header of the write."""
    response = client.post("/v1/customers", json=person_body(given, **fields))
    return _created(response), _token(response)


def organization(client: httpx.Client, name: str, **fields: Any) -> tuple[Json, Token]:
    """Create an organization; returns its body and the consistency-token header of the write."""
    response = client.post("/v1/customers", json={"kind": "organization", "organization_name": name} | fields)
    return _created(response), _token(response)


def opportunity(client: httpx.Client, customer: Json, token: Token | None = None, *, name: str = "Deal",
                amount: str = "40.00", currency: str = "EUR", **fields: Any) -> Json:
    """Open an opportunity for a customer; pass the customer's token so sales waits until it knows them."""
    body = {"customer_id": customer["id"], "name": name, "amount": {"amount": amount, "currency": currency}} | fields
    return _created(client.post("/v1/opportunities", headers=token or {}, json=body))


def ticket(client: httpx.Client, customer: Json, token: Token | None = None, *, subject: str = "A question",
           **fields: Any) -> Json:
    """Open a ticket for a customer; pass the customer's token so the service desk waits until it knows them."""
    body = {"customer_id": customer["id"], "subject": subject} | fields
    return _created(client.post("/v1/tickets", headers=token or {}, json=body))


def campaign(client: httpx.Client, name: str, *, channel: str = "email", budget: str = "1", currency: str = "EUR",
             **fields: Any) -> Json:
    """Create a campaign."""
    body = {"name": name, "channel": channel, "budget": {"amount": budget, "currency": currency}} | fields
    return _created(client.post("/v1/campaigns", json=body))


def product(client: httpx.Client, sku: str, *, name: str | None = None, **fields: Any) -> Json:
    """Add a product to the catalogue (a bundle with ``components=[{"product_id", "quantity"}]``)."""
    return _created(client.post("/v1/products", json={"sku": sku, "name": name or sku} | fields))


def price_book(client: httpx.Client, prices: dict[str, str], *, name: str = "Prices", currency: str = "EUR",
               valid_from: str = "2026-01-01", **fields: Any) -> Json:
    """Create a price book: ``prices`` maps product ids to unit prices (in ``currency``, from quantity 0)."""
    entries = [{"product_id": product_id, "unit_price": {"amount": amount, "currency": currency}}
               for product_id, amount in prices.items()]
    body = {"name": name, "currency": currency, "valid_from": valid_from, "entries": entries} | fields
    return _created(client.post("/v1/price-books", json=body))


def shipped_order(client: httpx.Client, customer: Json, product: Json, quantity: str, token: Token | None = None, *,
                  currency: str = "EUR") -> Json:
    """Place an order of one product at its price-book price, confirm it and ship it (ready to invoice)."""
    placed = _created(client.post("/v1/orders", headers=token or {}, json={
        "customer_id": customer["id"], "currency": currency,
        "lines": [{"product_id": product["id"], "quantity": quantity}]}))
    for step in ("confirm", "ship"):
        moved_on = client.post(f"/v1/orders/{placed['id']}/{step}")
        assert moved_on.status_code == 200, moved_on.text
    return placed


def opt_in(client: httpx.Client, customer: Json, channel: str = "email") -> None:
    """Record the customer's opt-in on a channel in the customer master."""
    recorded = client.put(f"/v1/customers/{customer['id']}/consent/{channel}", json={
        "status": "opt_in", "source": "web form", "wording": "Send me news"})
    assert recorded.status_code == 200, recorded.text


def opted_in_audience(client: httpx.Client, tag: str, size: int) -> str:
    """An audience of the customers tagged ``tag`` who opted in to e-mail; returns its id once the campaign
    service's replica holds all ``size`` of them."""
    rules = {"all": [{"field": "tags", "op": "contains", "value": tag},
                     {"field": "consent.email", "op": "eq", "value": "opt_in"}]}
    created = client.post("/v1/audiences", json={"name": f"Audience {tag}", "rules": rules})
    assert created.status_code == 201, created.text
    audience_id = str(created.json()["id"])
    eventually(lambda: client.get(f"/v1/audiences/{audience_id}/preview").json()["count"] == size, timeout=60,
               what=f"{size} opted-in customers in the audience")
    return audience_id
