"""The simulation's arithmetic, plain Python.

A rate is learnt from the tenant's history on the channel: of the members its past campaigns delivered
to, how many responded (clicked, replied, registered, converted), became a lead, an opportunity, a won
deal. Thin history must not swing a plan, so each rate is shrunk towards a broader one by
``PRIOR_WEIGHT`` pseudo-members: a tier's rate towards the channel's, the channel's towards a cautious
default (``PRIORS``). With 30 delivered members in a tier, the tier's own figures weigh as much as the
prior; with 3,000 they are nearly all of it. Each rate says which it mostly is (``basis``).

Revenue is expected won deals times the average won deal (the deals campaigns made, or any of the
tenant's won deals when campaigns have made none); without any won deal it is unknown, not zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PRIOR_WEIGHT = 30
# Per delivered member, by campaign channel: response, lead, opportunity, won deal. Deliberately modest:
# a plan with no history should look no better than an average one.
PRIORS: dict[str, tuple[float, float, float, float]] = {
    "email": (0.03, 0.01, 0.004, 0.001),
    "sms": (0.02, 0.008, 0.003, 0.001),
    "phone": (0.10, 0.04, 0.015, 0.005),
    "event": (0.20, 0.06, 0.02, 0.006),
}
DEFAULT_PRIOR = (0.02, 0.008, 0.003, 0.001)
STAGES = ("response", "lead", "opportunity", "won")


@dataclass(frozen=True)
class Observed:
    """A group's history: delivered members and how many reached each stage."""

    delivered: int = 0
    responses: int = 0
    leads: int = 0
    opportunities: int = 0
    won: int = 0

    def of(self, stage: str) -> int:
        return {"response": self.responses, "lead": self.leads, "opportunity": self.opportunities,
                "won": self.won}[stage]

    def plus(self, other: Observed) -> Observed:
        return Observed(self.delivered + other.delivered, self.responses + other.responses,
                        self.leads + other.leads, self.opportunities + other.opportunities, self.won + other.won)


@dataclass(frozen=True)
class Rate:
    rate: float
    successes: int
    sample_size: int
    basis: str  # history (the sample outweighs the prior), blended, or prior (no sample)


def shrunk(successes: int, sample: int, prior: float) -> float:
    return (successes + PRIOR_WEIGHT * prior) / (sample + PRIOR_WEIGHT)


def basis(sample: int) -> str:
    if sample == 0:
        return "prior"
    return "history" if sample >= PRIOR_WEIGHT else "blended"


def channel_rates(channel: str, observed: Observed) -> dict[str, Rate]:
    """The channel's rates: its whole history shrunk towards the default."""
    priors = dict(zip(STAGES, PRIORS.get(channel, DEFAULT_PRIOR), strict=True))
    return {stage: Rate(shrunk(observed.of(stage), observed.delivered, priors[stage]), observed.of(stage),
                        observed.delivered, basis(observed.delivered)) for stage in STAGES}


def tier_rates(observed: Observed, channel: dict[str, Rate]) -> dict[str, Rate]:
    """A tier's rates: its history shrunk towards the channel's."""
    return {stage: Rate(shrunk(observed.of(stage), observed.delivered, channel[stage].rate), observed.of(stage),
                        observed.delivered, basis(observed.delivered)) for stage in STAGES}


@dataclass(frozen=True)
class Expected:
    responses: float
    leads: float
    opportunities: float
    won_deals: float


def expected(reachable: int, rates: dict[str, Rate]) -> Expected:
    return Expected(reachable * rates["response"].rate, reachable * rates["lead"].rate,
                    reachable * rates["opportunity"].rate, reachable * rates["won"].rate)


def add(a: Expected, b: Expected) -> Expected:
    return Expected(a.responses + b.responses, a.leads + b.leads, a.opportunities + b.opportunities,
                    a.won_deals + b.won_deals)


def average(amounts: list[Decimal]) -> Decimal | None:
    return sum(amounts, Decimal(0)) / len(amounts) if amounts else None


def revenue(won_deals: float, average_deal: Decimal | None) -> Decimal | None:
    return Decimal(str(round(won_deals, 6))) * average_deal if average_deal is not None else None


def cost_per_lead(cost: Decimal, leads: float) -> Decimal | None:
    return cost / Decimal(str(leads)) if leads > 0 else None


def roi(expected_revenue: Decimal | None, cost: Decimal) -> float | None:
    if expected_revenue is None or cost <= 0:
        return None
    return round(float((expected_revenue - cost) / cost), 4)


def best(plans: list[tuple[str, float | None]], *, highest: bool) -> str | None:
    """The plan with the best figure (ties: the first), ignoring plans without one."""
    known = [(name, value) for name, value in plans if value is not None]
    if not known:
        return None
    pick = max if highest else min
    return pick(known, key=lambda item: item[1])[0]
