"""Sales policy use cases: read the tenant's policy (its defaults when never set) and change it.

A change publishes ``crm.sales.sales_policy.changed.v1`` in the same transaction. New dunning
levels apply from the collections job's next run: each invoice keeps the offset it reached and
moves on to the first new level beyond it. A new
currency applies to credit checks from then on; amounts already recorded keep their own
currencies (each document keeps its own), so nothing is converted in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.collections import rules as dunning
from services.sales.sales_policy import repository, rules
from services.sales.sales_policy.schemas import SalesPolicyIn
from services.sales.sales_policy.tables import SalesPolicy
from shared.changes import changed_fields
from shared.db import utcnow
from shared.errors import Conflict
from shared.outbox import publish
from shared.types import Money, check_money

FIELDS = ("currency", "default_credit_limit", "invoice_from", "payment_terms_days")


def policy(session: Session, tenant: str) -> rules.Policy:
    found = repository.get_policy(session, tenant)
    return _plain(found) if found is not None else rules.DEFAULT


def change_policy(session: Session, tenant: str, body: SalesPolicyIn, *,
                  check_version: Callable[[int], None]) -> rules.Policy:
    """Set the policy as a whole; ``check_version`` refuses a stale change (If-Match; 0: the defaults)."""
    found = repository.get_policy(session, tenant, lock=True)
    check_version(found.version if found is not None else 0)
    limit = (check_money(body.default_credit_limit, body.currency, "default_credit_limit")
             if body.default_credit_limit is not None else None)
    wanted: dict[str, Any] = {"currency": body.currency, "default_credit_limit": limit,
                              "invoice_from": body.invoice_from, "payment_terms_days": body.payment_terms_days,
                              "dunning_levels": _dunning_documents(body)}
    before = _plain(found) if found is not None else rules.DEFAULT
    diff = changed_fields({name: getattr(before, name) for name in FIELDS}
                          | {"dunning_levels": found.dunning_levels if found is not None else None}, wanted)
    if not diff:
        return before
    now = utcnow()
    if found is None:
        found = SalesPolicy(tenant_id=tenant, version=1, updated_at=now, **wanted)
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError as exc:
            raise Conflict("The sales policy was just set by another request; re-read it and retry.") from exc
    else:
        for name, value in wanted.items():
            setattr(found, name, value)
        found.version, found.updated_at = found.version + 1, now
    session.flush()
    after = _plain(found)
    publish(session, contract.SALES_POLICY_CHANGED, contract.SalesPolicyChanged(
        currency=after.currency, invoice_from=after.invoice_from, payment_terms_days=after.payment_terms_days,
        default_credit_limit=(Money.of(after.default_credit_limit, after.currency)
                              if after.default_credit_limit is not None else None),
        dunning_levels=[contract.DunningLevelReported(offset_days=level.offset_days, action=level.action)
                        for level in after.dunning_levels],
        version=after.version, changes={k: {"old": _text(v["old"]), "new": _text(v["new"])} for k, v in diff.items()}),
        subject=contract.sales_policy_subject(tenant), tenant=tenant)
    return after


def _dunning_documents(body: SalesPolicyIn) -> list[dict[str, object]] | None:
    """The levels as stored, checked; None (left out): the defaults."""
    if body.dunning_levels is None:
        return None
    levels = [dunning.Level(level.offset_days, level.action) for level in body.dunning_levels]
    dunning.check_levels(levels)
    return dunning.documents_of(levels)


def _text(value: Any) -> Any:
    return format(value, "f") if hasattr(value, "quantize") else value


def _plain(row: SalesPolicy) -> rules.Policy:
    return rules.Policy(currency=row.currency, default_credit_limit=row.default_credit_limit,
                        invoice_from=row.invoice_from,  # type: ignore[arg-type]
                        payment_terms_days=row.payment_terms_days, version=row.version, updated_at=row.updated_at,
                        dunning_levels=dunning.levels_of(row.dunning_levels))
