"""Each service's OpenAPI document against the service itself: schemathesis, every check, zero failures.

schemathesis reads ``/openapi.json`` of a running service and sends what the document
allows (and, in its negative mode, what it forbids), then checks every answer: no 5xx,
every status, content type, header and body as documented, schema-valid requests
accepted and invalid ones refused, authentication enforced, 405 for undeclared methods.
A bounded run (a fixed seed, a few examples per operation, on PostgreSQL) belongs to
``make test``; ``make test-fuzz`` sets ``CRM_FUZZ_EXAMPLES`` and ``CRM_FUZZ_BACKENDS`` for a
long one on both databases. Each run uses a tenant of its
own, so it never meets another test's data.

schemathesis 4.32 through its engine (``schemathesis.engine.from_schema``), as
``schemathesis run --checks all`` drives it: the examples, coverage and fuzzing phases,
positive and negative data; the stateful phase is off to keep the bounded run bounded
(the documents declare no links for it to follow). Every check of ``--checks all`` runs
with schemathesis's own expectations, and two narrowings, both of
``positive_data_acceptance``: a 410 counts like the 404 it already accepts (an erased
customer, named by an id the run itself created and erased, is gone), and a 422 problem
is accepted on the operations of a 422 problem on the operations of
``DATA_RULES`` when every field it names is one listed there. Those are rules no JSON
Schema can state, because they depend on stored data (a customer id this service has not
heard of, a parent that must be an existing organization, a custom field the tenant has
not declared, the stored kind of the customer a patch changes) or on several items at
once (tier shares adding up to 1, exchange rates needing a value currency, a merge not
naming its survivor among the duplicates); each answer is a 422 problem naming the field,
documented on the operation (and a language tag whose shape is right but whose language
is not among ISO 639's ~7,900 codes, a list too long for a pattern). Any other refusal of
a schema-valid request still fails.

Opaque values are left out of generation where the hooks allow it, and their refusal is
no failure where they do not: a ``cursor`` or a ``CRM-Consistency-Token`` can only be one
the service issued, so a generated one is refused (400) whatever the schema says; paging
and read-your-writes are tested with real ones (test_http_contract, test_unified_view).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from crm.registry import SERVICES
from shared.http import NUL_MESSAGE
from tests.support.system import System

pytestmark = pytest.mark.integration

SEED = 18
EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "5"))
# The contract is the same on every database; PostgreSQL is the stricter one (a value SQLite stores, such as
# a NUL character, is an error there) and production's, so the bounded run fuzzes it alone and
# ``make test-fuzz`` both. Every other integration test runs on both.
BACKENDS = tuple(os.environ.get("CRM_FUZZ_BACKENDS", "postgresql").split(","))

# Values only the service issues: a cursor from a page, a consistency token from a write.
OPAQUE = frozenset({"cursor", "crm-consistency-token"})
# Per operation, the fields whose 422 a schema-valid request may meet (see the module docstring).
# preferred_language: the schema states the BCP 47 shape; that the language is one of ISO 639's ~7,900
# codes the server checks, a list no pattern should carry.
_PROFILE_LINKS = ("parent_id", "organization_id", "organization_role", "custom_fields", "preferred_language")
DATA_RULES: dict[str, tuple[str, ...]] = {
    # emails, phones, addresses: at most one entry of each may be primary, a rule over several items.
    "POST /v1/customers": _PROFILE_LINKS + ("emails", "phones", "addresses"),
    "PATCH /v1/customers/{customer_id}": _PROFILE_LINKS + ("given_name", "family_name", "organization_name",
                                                          "emails", "phones", "addresses"),
    "PUT /v1/classification": ("tiers", "exchange_rates", "rules"),
    "POST /v1/customers/{survivor_id}/merge": ("duplicate_ids", "fields", "consent"),
    # stage: one of the tenant's pipeline; lines: products and prices of its catalogue; amount: the lines' sum;
    # close_reason, competitor: what the stage's outcome (won, lost) requires.
    "POST /v1/opportunities": ("customer_id", "stage", "lines", "amount", "close_reason", "competitor"),
    "PATCH /v1/opportunities/{opportunity_id}": ("stage", "lines", "amount", "close_reason", "competitor"),
    "POST /v1/opportunities/{opportunity_id}/reopen": ("stage",),
    # outcome: exactly one won stage; category and probability: what the stored stage's outcome allows.
    "POST /v1/pipeline-stages": ("outcome",),
    "PATCH /v1/pipeline-stages/{name}": ("forecast_category", "probability"),
    # quote: not the base; from/to: a window of at most five years, to not before from (rules over two fields).
    "POST /v1/exchange-rates": ("quote",),
    "GET /v1/forecast": ("from", "to"),
    # from/to: at most three years, to not before from; group_by: no dimension twice (rules over several values).
    "GET /v1/profitability": ("from", "to", "group_by"),
    # queue_id, assignee_id: a queue and an agent of the tenant.
    "POST /v1/tickets": ("customer_id", "queue_id"),
    "PATCH /v1/tickets/{ticket_id}": ("queue_id", "assignee_id"),
    # queue_ids: queues of the tenant.
    "POST /v1/agents": ("queue_ids",),
    "PATCH /v1/agents/{agent_id}": ("queue_ids",),
    # time_zone: one of the IANA zones zoneinfo knows (~600 names, a list no schema should carry); working_hours:
    # a day's intervals not overlapping, at least one in the week (rules over several items); calendar_id: a
    # calendar of the tenant; first_response_minutes: at least one of the three targets (a rule over three fields).
    "POST /v1/calendars": ("time_zone", "working_hours"),
    "PATCH /v1/calendars/{calendar_id}": ("time_zone", "working_hours"),
    "POST /v1/sla-policies": ("calendar_id", "first_response_minutes"),
    "PATCH /v1/sla-policies/{policy_id}": ("calendar_id", "first_response_minutes"),
    # components, entries: products that exist (and no bundle inside itself); valid_to: after valid_from; a book's
    # prices in its currency, a new currency with new prices; lines: products that exist and have a price.
    "POST /v1/products": ("components",),
    "PATCH /v1/products/{product_id}": ("components",),
    "POST /v1/price-books": ("entries", "valid_to"),
    "PATCH /v1/price-books/{price_book_id}": ("entries", "valid_to", "currency"),
    "POST /v1/price-quotes": ("customer_id", "lines"),
    # customer_id: one the replica knows; email: a lead needs a contact or a customer (a rule over four fields);
    # a conversion's new customer is the customer service's to accept; rules: a rule that can match (text values,
    # number ranges); team: one of the tenant's; employees_max: not below employees_min; a team's name unique,
    # its members listed once.
    "POST /v1/leads": ("customer_id", "email"),
    "POST /v1/leads/{lead_id}/convert": ("customer_id", "opportunity"),
    "PUT /v1/lead-scoring-rules": ("rules",),
    "POST /v1/routing-rules": ("team", "employees_max"),
    "PATCH /v1/routing-rules/{rule_id}": ("team", "employees_max"),
    "POST /v1/sales-teams": ("name", "members"),
    "PATCH /v1/sales-teams/{team_id}": ("members",),
    # Order to cash: a customer the replica knows, a won deal of theirs, lines the books price, a currency with a
    # rate to the tenant's; the tenant currency's decimals for a default limit; an order, return or invoice that
    # exists; allocations to the payer's own open invoices, a payment no larger than they owe; dunning levels'
    # offsets rising from level to level (a rule over several items).
    "PUT /v1/sales-policy": ("default_credit_limit", "dunning_levels"),
    "POST /v1/orders": ("customer_id", "opportunity_id", "lines", "currency"),
    "POST /v1/invoices": ("order_id",),
    "POST /v1/payments": ("customer_id", "amount", "allocations"),
    "POST /v1/credit-notes": ("return_id", "invoice_id", "amount"),
    "POST /v1/campaigns/{campaign_id}/members": ("customer_id",),
    # occurred_at: not in the future, a rule on the clock no schema can state.
    "POST /v1/campaigns/{campaign_id}/responses": ("customer_id", "occurred_at"),
}


def _opaque_value_refused(case: Any, status: int, body: bytes) -> bool:
    """A generated cursor or consistency token refused as one the service never issued (the docstring says why)."""
    sent = ({k.lower() for k in (case.headers or {})} | {k.lower() for k in (case.query or {})}) & OPAQUE
    return status == 400 and bool(sent) and b"/problems/bad-request" in body


def _data_rule(label: str, status: int, body: bytes) -> bool:
    """Whether a refusal is a documented 422 of a rule on stored data, naming only the fields allowed;
    or the one rule of every operation: no NUL character in any text (shared.http, refuse_nul_characters),
    which the generator is told not to produce but its coverage phase still does."""
    if status != 422:
        return False
    try:
        problem = json.loads(body)
    except ValueError:
        return False
    if any(e.get("message") == NUL_MESSAGE for e in problem.get("errors") or []):
        return True
    allowed = DATA_RULES.get(label)
    if not allowed:
        return False
    fields = [str(e.get("field", "")) for e in problem.get("errors") or []]
    return (problem.get("type") == "/problems/validation-error" and bool(fields)
            and all(re.split(r"[.\[]", f)[0] in allowed for f in fields))


def _config(token: str) -> Any:
    """What ``schemathesis run --checks all --seed 18 --max-examples N`` would be, for one tenant's token."""
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {token}"},
        # No NUL characters: PostgreSQL text cannot hold one, and the services answer it with a 422
        # problem (shared.problems), which is no acceptance of a schema-valid string.
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all", "allow-x00": False},
        "phases": {"stateful": {"enabled": False}},
        # An erased customer is gone (410) as an unknown one is not found (404): both are answers
        # to a valid request naming a resource that is not there.
        "checks": {"enabled": True, "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]}},
        "request-timeout": 30,
        "workers": 1,
    })


def _failures(service: str, url: str, token: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=_config(token))
    schema.config.update(base_url=url)
    return failures_of(service, schema)


def failures_of(service: str, schema: Any) -> tuple[list[str], int]:
    """Run every phase but the stateful one against ``schema``'s service: what failed, and how many scenarios ran."""

    @schema.hook
    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        # True keeps the failure; a documented 422 of a data rule is no failure (module docstring).
        rejected = type(failure).__name__ == "RejectedPositiveData"
        return not (rejected and (_data_rule(case.operation.label, response.status_code, response.content)
                                  or _opaque_value_refused(case, response.status_code, response.content)))

    @schema.hook
    def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
        if headers:
            headers.pop("CRM-Consistency-Token", None)
        return headers

    @schema.hook
    def map_query(context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
        # A cursor is opaque: only a page this service answered can hold a valid one, so a generated
        # cursor is refused (400) whatever the schema says; paging is tested with real cursors elsewhere.
        if query:
            query.pop("cursor", None)
        return query

    found: list[str] = []
    scenarios = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            if event.status in (Status.FAILURE, Status.ERROR):
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        if check.failure_info is not None:
                            case = event.recorder.cases[case_id].value
                            interaction = event.recorder.interactions.get(case_id)
                            answer = interaction.response if interaction is not None else None
                            said = f"{answer.status_code} {answer.content[:300]!r}" if answer is not None else "-"
                            found.append(f"{service} {event.label}: {check.name}: {check.failure_info.failure.title}"
                                         f" -- {check.failure_info.failure.message[:300]}\n    -> {said}"
                                         f"\n    {case.as_curl_command()[:2000]}")
        elif isinstance(event, events.NonFatalError):
            found.append(f"{service} {event.label}: error: {event.info.format()[:600]}")
        elif isinstance(event, events.FatalError):
            found.append(f"{service}: fatal: {event.exception!r}")
    return found, scenarios


@pytest.mark.parametrize("service", SERVICES)
def test_service_meets_its_openapi_document(system: System, service: str) -> None:
    if system.backend not in BACKENDS:
        pytest.skip(f"fuzzed on {', '.join(BACKENDS)} (CRM_FUZZ_BACKENDS)")
    tenant = f"fuzz-{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    found, scenarios = _failures(service, system.url(service), system.token(tenant))
    print(f"{service}: {scenarios} scenarios in {time.monotonic() - started:.1f} s")
    assert scenarios > 0
    assert not found, "\n".join(dict.fromkeys(found))
