"""Campaign rules: the campaign life cycle, budgets and membership. Plain Python, tested directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.campaign.sends import rules as sends
from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput
from shared.types import check_money

# Launching (``launch``) is the only way out of draft into scheduled or running: it freezes the members.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"scheduled", "running", "cancelled"}),
    "scheduled": frozenset({"running", "cancelled"}),
    "running": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
LAUNCHED = frozenset({"scheduled", "running"})
OPEN_FOR_MEMBERS = frozenset({"draft", "scheduled", "running"})
# What a launch freezes: changing these afterwards would change who the campaign is for.
FROZEN_AT_LAUNCH = frozenset({"audience_id", "variants", "test_share", "channel", "winner_metric",
                              "test_window_hours"})
# What a winner is chosen by: the rate of members of each variant who responded so, who became a lead (made by
# this campaign's responses), or the won revenue of those leads' deals per member.
RESPONSE_METRICS = ("opened", "clicked", "replied", "registered", "converted")
WINNER_METRICS = (*RESPONSE_METRICS, "leads", "won_revenue")


@dataclass(frozen=True)
class Variant:
    name: str
    share: int


def check_variants(variants: list[dict[str, Any]]) -> None:
    """A/B variants: names unique, shares (whole percent) adding up to 100."""
    if not variants:
        return
    names = [v["name"] for v in variants]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InvalidInput.on(f"variants[{index}].name", f"{name!r} is named twice")
    total = sum(int(v["share"]) for v in variants)
    if total != 100:
        raise InvalidInput.on("variants", f"the shares add up to {total}%, not 100%")
    for index, variant in enumerate(variants):
        for part in ("subject", "body"):
            sends.check_template(f"variants[{index}].{part}", variant.get(part))


def check_ab_test(variants: list[Any], test_share: int | None, metric: str | None, window: int | None) -> None:
    """An A/B test splits a share of the members among two variants or more, and says by what and when
    the rest get the winner; without a test share nothing is chosen, so neither may be named."""
    if test_share is None:
        for name, value in (("winner_metric", metric), ("test_window_hours", window)):
            if value is not None:
                raise InvalidInput.on(name, "only an A/B test (test_share) chooses a winner")
        return
    if len(variants) < 2:
        raise InvalidInput.on("variants", "an A/B test (test_share) needs two variants or more")
    for name, value in (("winner_metric", metric), ("test_window_hours", window)):
        if value is None:
            raise InvalidInput.on(name, "an A/B test (test_share) says how and when its winner is chosen")


@dataclass(frozen=True)
class VariantResult:
    """A variant's test: its members, how many of them did what the metric counts, and for ``won_revenue``
    what their won deals brought (in the budget's currency)."""

    name: str
    members: int
    responders: int
    revenue: Decimal | None = None
    currency: str = ""

    @property
    def rate(self) -> float:
        score = self.revenue if self.revenue is not None else self.responders
        return float(score) / self.members if self.members else 0.0

    def figures(self) -> str:
        if self.revenue is not None:
            return f"{self.name} {self.revenue:.2f} {self.currency} from {self.members} ({self.rate:.2f} per member)"
        return f"{self.name} {self.responders} of {self.members} ({self.rate:.1%})"


def choose_winner(metric: str, results: list[VariantResult]) -> tuple[str, str]:
    """The variant whose members did best by the metric (a tie: the one more members got, then the first
    listed), and the reason with every variant's figures."""
    ranked = sorted(enumerate(results), key=lambda pair: (-pair[1].rate, -pair[1].members, pair[0]))
    winner = ranked[0][1]
    figures = ", ".join(r.figures() for _, r in ranked)
    return winner.name, f"{metric}: {figures}"[:500]


def check_launch(status: str, budget_amount: Decimal, has_audience: bool) -> None:
    if status != "draft":
        raise Conflict(f"A {status} campaign cannot be launched: only a draft can.")
    if budget_amount <= 0:
        raise InvalidInput.on("budget", "a campaign is launched with a budget above zero")
    if not has_audience:
        raise InvalidInput.on("audience_id", "a campaign is launched with an audience or members")


def status_at_launch(starts_on: date | None, today: date) -> str:
    return "scheduled" if starts_on is not None and starts_on > today else "running"


def assign_variants(member_keys: list[tuple[str, Any]], variants: list[Variant], test_share: int | None) -> dict[Any, str | None]:
    """Each member's variant, fixed at launch: members ordered by a digest of campaign and customer (so no
    id order or sign-up order decides who gets what), the first ``test_share`` percent split among the
    variants by their shares (largest remainder, so the counts add up), the rest waiting for the winner
    (None). Without variants nobody has one; without a test share everyone is in the split."""
    if not variants:
        return {key: None for _, key in member_keys}
    ordered = [key for _, key in sorted(member_keys, key=lambda pair: pair[0])]
    tested = len(ordered) if test_share is None else (len(ordered) * test_share) // 100
    counts = _largest_remainder(tested, [v.share for v in variants])
    assigned: dict[Any, str | None] = {}
    position = 0
    for variant, count in zip(variants, counts):
        for key in ordered[position:position + count]:
            assigned[key] = variant.name
        position += count
    for key in ordered[position:]:
        assigned[key] = None
    return assigned


def _largest_remainder(total: int, shares: list[int]) -> list[int]:
    exact = [total * share / 100 for share in shares]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (exact[i] - counts[i], -i), reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def check_cost(amount: Decimal, currency: str, budget_currency: str) -> Decimal:
    """An actual cost, in any status (a cancelled campaign may still have spent); ROI compares it with the budget."""
    if currency != budget_currency:
        raise InvalidInput.on("amount.currency", f"costs are booked in the budget's currency, {budget_currency}")
    return check_money(amount, currency, "amount.amount")


def check_budget(amount: Decimal, currency: str) -> Decimal:
    """A campaign's budget, checked by the money rule."""
    return check_money(amount, currency, "budget.amount")


def check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput.on("ends_on", "must not be before starts_on")


def check_transition(current: str, new: str) -> None:
    if current != new and new not in TRANSITIONS[current]:
        raise Conflict(f"A {current} campaign cannot become {new}.")


def check_patched_status(current: str, new: str) -> None:
    """A PATCH completes or cancels; scheduling and running come from a launch, which freezes the members."""
    if current != new and new in LAUNCHED:
        raise Conflict(f"A campaign becomes {new} by its launch (POST /v1/campaigns/{{id}}/launch), not by a change.")
    check_transition(current, new)


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH sets; the budget money object becomes amount and currency."""
    for name in ("name", "channel", "budget", "status", "variants"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    fields = dict(patch)
    if "budget" in fields:
        money = fields.pop("budget")
        fields["budget_amount"] = check_budget(Decimal(money["amount"]), money["currency"])
        fields["budget_currency"] = money["currency"]
    return fields


def change_campaign(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update; returns ``{field: {old, new}}`` of what really changes."""
    if "status" in fields:
        check_patched_status(current["status"], fields["status"])
    if current["status"] != "draft":
        for name in sorted(FROZEN_AT_LAUNCH & fields.keys()):
            if fields[name] != current.get(name):
                raise Conflict(f"A {current['status']} campaign's {name} was frozen at its launch.")
    if "variants" in fields:
        check_variants(fields["variants"] or [])
    check_dates(fields.get("starts_on", current.get("starts_on")), fields.get("ends_on", current.get("ends_on")))
    return changed_fields(current, fields)


def check_can_add_member(campaign_status: str) -> None:
    if campaign_status not in OPEN_FOR_MEMBERS:
        raise Conflict(f"A {campaign_status} campaign takes no new members.")
