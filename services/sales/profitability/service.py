"""Profitability of a period by any combination of category, customer group, value tier, region, channel and
owner, in a reporting currency (``rules`` says what each figure is and how it is converted).

The sums per product, currency, day and dimension come from SQL (``repository``); categories and
cost prices are mapped here from the products those rows name, then every (currency, day) sum
is converted at that day's rate. Reads only; nothing is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from services.sales.exchange_rates.service import rate_book
from services.sales.profitability import repository, rules
from services.sales.sales_policy import service as sales_policy


def profitability(session: Session, tenant: str, *, start: date, end: date, currency: str | None,
                  group_by: tuple[rules.Dimension, ...], category_depth: int) -> rules.Report:
    rules.check_period(start, end)
    sold = repository.sold(session, tenant, start, end, group_by)
    returned = repository.returned(session, tenant, start, end, group_by)
    corrected = repository.corrected(session, tenant, start, end, group_by)
    products = {row.product_id for row in (*sold, *returned) if row.product_id is not None}
    costs = repository.costings(session, tenant, products)
    amounts, uncosted = rules.gather(group_by, category_depth, costs, sold, returned, corrected)
    reporting = currency or sales_policy.policy(session, tenant).currency
    others = sorted({code for _, code, _ in amounts} - {reporting})
    book = rate_book(session, tenant, reporting, others, until=end) if others else None

    def rate_of(code: str, day: date) -> Decimal | None:
        return book.rate_on(code, reporting, day) if book is not None else None

    return rules.report(group_by, reporting, amounts, uncosted, rate_of)
