"""Reverse KPI planning: from a revenue target back to deals, opportunities, leads, budget;
the same plan per month and per lead-source mix, and the forward view (spend → revenue).

Exact arithmetic (fractions) so that a plan that comes out at a whole number is not rounded
up by a floating-point hair: 100,000,000 / 5,000,000 = 20 deals, never 21.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from funnel.errors import FunnelError
from funnel.measures import metrics as m
from funnel.model import cost_data
from funnel.sql import plan as q

if TYPE_CHECKING:
    import duckdb

    from funnel.measures.benchmarks import Benchmark
    from funnel.model.cost_data import CostData

_MULTIPLIERS = {"万": 10_000, "億": 100_000_000, "千": 1_000, "k": 1_000, "m": 1_000_000}


def parse_amount(text: str | float | int, name: str) -> Fraction:
    """A yen amount from a CLI argument or form: ``100000000``, ``¥100,000,000``, ``1億``, ``500万``."""
    if isinstance(text, int | float):
        value = Fraction(str(text))
    else:
        s = unicodedata.normalize("NFKC", str(text)).strip().lower()
        s = re.sub(r"[¥$,_\s円]|jpy", "", s)
        mult = 1
        if s and s[-1] in _MULTIPLIERS:
            mult, s = _MULTIPLIERS[s[-1]], s[:-1]
        try:
            value = Fraction(s) * mult
        except (ValueError, ZeroDivisionError) as exc:
            raise FunnelError(key="error.bad_number", name=name, value=text) from exc
    if value <= 0:
        raise FunnelError(key="error.not_positive", name=name, value=text)
    return value


def parse_rate(text: str | float, name: str) -> Fraction:
    """A rate in (0, 1]: ``0.25`` or ``25%``."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    try:
        value = Fraction(s[:-1].strip()) / 100 if s.endswith("%") else Fraction(s)
    except (ValueError, ZeroDivisionError) as exc:
        raise FunnelError(key="error.bad_rate", name=name, value=text) from exc
    if not 0 < value <= 1:
        raise FunnelError(key="error.bad_rate", name=name, value=text)
    return value


@dataclass(frozen=True)
class Plan:
    deals: int
    opportunities: int
    leads: int
    budget: int | float | None

    def to_json(self) -> dict[str, int | float | None]:
        return {"deals": self.deals, "opportunities": self.opportunities, "leads": self.leads,
                "budget": self.budget}


def plan_backward(revenue: Fraction, deal_size: Fraction, win_rate: Fraction, opp_rate: Fraction,
                  cpa: Fraction | None = None) -> Plan:
    """deals = ⌈revenue / deal size⌉, opportunities = ⌈deals / win rate⌉,
    leads = ⌈opportunities / opportunity rate⌉, budget = leads × CPA."""
    deals = math.ceil(Fraction(revenue) / Fraction(deal_size))
    opps = math.ceil(Fraction(deals) / Fraction(win_rate))
    leads = math.ceil(Fraction(opps) / Fraction(opp_rate))
    budget: int | float | None = None
    if cpa is not None:
        b = leads * Fraction(cpa)
        budget = int(b) if b.denominator == 1 else float(b)
    return Plan(deals, opps, leads, budget)


#: What a form opens with where neither the data nor the benchmark set has a value: the worked
#: example of ``contracts/cli.md`` (¥100M at ¥5M a deal, 25% win rate, 15% 商談化率, CPA ¥8,000).
PLACEHOLDERS: dict[str, float] = {"revenue": 100_000_000, "deal_size": 5_000_000, "win_rate": 0.25,
                                  "opp_rate": 0.15, "cpa": 8_000}


# -- numbers typed in a form -----------------------------------------------------------------

def exact(value: float | int | str | Fraction) -> Fraction:
    """The exact number a form value stands for: ``0.15`` is 3/20, not the binary float
    0.1499999…, so a plan computed from typed numbers matches the same plan done by hand."""
    return value if isinstance(value, Fraction) else Fraction(str(value))


def from_percent(value: float | int | str | Fraction) -> Fraction:
    """A rate typed in percent (``15`` → 3/20)."""
    return exact(value) / 100


# -- defaults from the data ------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRate:
    """Leads of one source (first/last touch) and how many of them became opportunities."""

    source: str | None
    leads: int
    converted: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.converted, self.leads) if self.leads else None


@dataclass(frozen=True)
class Actuals:
    """What the loaded data says, as the plan's defaults.

    - average deal size = won amount ÷ won deals with an amount (> 0); deals without an
      amount are left out, not counted as ¥0 (``won - won_with_amount`` of them);
    - win rate = won ÷ (won + lost) over all opportunities (open ones are undecided);
    - 商談化率 = leads with ≥1 linked opportunity ÷ leads, overall and per source;
    - CPA = cost ÷ registrations (:mod:`funnel.model.cost_data`), when cost data is given, overall and
      per source of the cost data.
    """

    won: int
    won_with_amount: int
    won_amount: float
    lost: int
    leads: int
    converted: int
    by_source: tuple[SourceRate, ...] = ()
    cost: float | None = None
    registrations: int = 0
    source_cpa: Mapping[str, float | None] = field(default_factory=dict)
    year_won: int = 0                   # won deals with an amount in the data's last 12 months
    year_revenue: float | None = None   # their sum (None: no dated won deal with an amount)

    @property
    def deal_size(self) -> float | None:
        return self.won_amount / self.won_with_amount if self.won_with_amount else None

    @property
    def win_rate(self) -> Fraction | None:
        return Fraction(self.won, self.won + self.lost) if self.won + self.lost else None

    @property
    def opp_rate(self) -> Fraction | None:
        return Fraction(self.converted, self.leads) if self.leads else None

    @property
    def cpa(self) -> float | None:
        return self.cost / self.registrations if self.cost is not None and self.registrations else None


def actuals(con: duckdb.DuckDBPyConnection, costs: CostData | None = None, touch: str = "first") -> Actuals:
    """The data's deal size, win rate, 商談化率 (overall and by source) and CPA."""
    won, with_amount, amount = q.won_amounts(con)
    oc = m.outcomes(con)
    f = m.Filters(touch=touch)
    o = m.overall(con, f)
    by = tuple(SourceRate(r.group, r.leads, r.converted) for r in m.by_source(con, f))
    cost, regs, per = None, 0, {}
    if costs is not None and costs.amounts:
        res = cost_data.cpa(con, costs)
        tot = res.total()
        cost, regs = tot.cost, tot.registrations
        per = {r.source: r.cpa for r in res.by_source}
    year = q.won_amount_last_year(con)
    return Actuals(won, with_amount, amount, oc.lost, o.leads, o.converted, by, cost, regs, per,
                   *(year or (0, None)))


def benchmark_value(b: Benchmark) -> float:
    """The value a plan takes from a benchmark: its target, else the middle of its range,
    in comparison units (a fraction for rates, yen for CPA)."""
    value = b.target if b.target is not None else (b.low + b.high) / 2
    scaled = b.scaled(value)
    assert scaled is not None
    return scaled


# -- the plan per month ----------------------------------------------------------------------

def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``month`` (negative: before)."""
    i = month.year * 12 + month.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


def apportion(total: int, weights: Sequence[Fraction | int]) -> list[int]:
    """Split a whole number by weights so that the parts are whole and add up to ``total``
    (largest remainder: each part is its exact share rounded down, and the units left over
    go to the largest fractions, earlier parts first on a tie)."""
    w = [Fraction(x) for x in weights]
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise FunnelError(key="plan.error.weights")
    quota = [total * x / sum(w) for x in w]
    parts = [math.floor(p) for p in quota]
    order = sorted(range(len(w)), key=lambda i: (-(quota[i] - parts[i]), i))
    for i in order[:total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class MonthPlan:
    month: dt.date              # the month the revenue is booked
    lead_month: dt.date         # the month its leads are needed (``lead_time`` months earlier)
    share: Fraction             # the month's weight ÷ all weights
    revenue: Fraction
    deals: int
    opportunities: int
    leads: int
    budget: Fraction | None


def plan_by_month(plan: Plan, revenue: Fraction, months: Sequence[dt.date], weights: Sequence[Fraction | int],
                  cpa: Fraction | None = None, lead_time: int = 0) -> list[MonthPlan]:
    """The period's plan split into months by weights (equal weights: equal months).

    Revenue is split exactly; deals, opportunities and leads are split with
    :func:`apportion`, so each month is a whole number and the months add up to the period's
    plan (rounding every month up would ask for more than the plan). A month's budget is its
    leads × CPA, so the budgets add up to the plan's budget.
    """
    if len(months) != len(weights):
        raise ValueError("one weight per month")
    total = sum(Fraction(w) for w in weights)
    deals = apportion(plan.deals, weights)
    opps = apportion(plan.opportunities, weights)
    leads = apportion(plan.leads, weights)
    out = []
    for i, month in enumerate(months):
        share = Fraction(weights[i]) / total
        out.append(MonthPlan(month, add_months(month, -lead_time), share, Fraction(revenue) * share, deals[i],
                             opps[i], leads[i], None if cpa is None else leads[i] * Fraction(cpa)))
    return out


# -- the plan per source mix -----------------------------------------------------------------

@dataclass(frozen=True)
class MixInput:
    source: str | None
    share: Fraction             # a weight ≥ 0 (percent or any scale; normalised)
    rate: Fraction              # the source's 商談化率, 0–1
    cpa: Fraction | None = None


@dataclass(frozen=True)
class MixRow:
    source: str | None
    share: Fraction             # normalised: the shares add up to 1
    rate: Fraction
    cpa: Fraction | None
    leads: int
    opportunities: Fraction     # expected: leads × rate
    budget: Fraction | None     # leads × CPA (None: the source has no CPA)


@dataclass(frozen=True)
class MixPlan:
    rows: list[MixRow]
    blended_rate: Fraction      # Σ share × rate
    leads: int                  # ⌈opportunities ÷ blended rate⌉ = Σ rows' leads

    @property
    def budget(self) -> Fraction | None:
        """Budget of the whole mix; None when a source given leads has no CPA (its cost is
        unknown, not zero: :attr:`priced_budget` is the part that is known)."""
        return None if self.unpriced else self.priced_budget

    @property
    def priced_budget(self) -> Fraction:
        """Budget of the sources that have a CPA."""
        return sum((r.budget for r in self.rows if r.budget is not None), Fraction(0))

    @property
    def unpriced(self) -> list[str | None]:
        """Sources given leads but no CPA (their cost is not in :attr:`budget`)."""
        return [r.source for r in self.rows if r.cpa is None and r.leads]


def plan_mix(opportunities: int, inputs: Sequence[MixInput]) -> MixPlan:
    """Leads needed per source for ``opportunities``, with the mix and rates given.

    The mix's 商談化率 is the share-weighted mean of the sources' rates; total leads =
    ⌈opportunities ÷ that rate⌉ (as in :func:`plan_backward`), split over the sources by
    share with :func:`apportion`. With the actual mix and actual rates the weighted rate is
    exactly the overall 商談化率, so the total equals the overall plan's leads.
    """
    shares = [Fraction(i.share) for i in inputs]
    if not inputs or any(s < 0 for s in shares) or sum(shares) <= 0:
        raise FunnelError(key="plan.error.no_share")
    if any(not 0 <= Fraction(i.rate) <= 1 for i in inputs):
        raise FunnelError(key="plan.error.mix_rate")
    norm = [s / sum(shares) for s in shares]
    blended = sum((n * Fraction(i.rate) for n, i in zip(norm, inputs, strict=True)), Fraction(0))
    if blended <= 0:
        raise FunnelError(key="plan.error.mix_zero")
    total = math.ceil(Fraction(opportunities) / blended)
    leads = apportion(total, shares)
    rows = [MixRow(i.source, n, Fraction(i.rate), i.cpa, k, k * Fraction(i.rate),
                   None if i.cpa is None else k * Fraction(i.cpa))
            for i, n, k in zip(inputs, norm, leads, strict=True)]
    return MixPlan(rows, blended, total)


# -- the forward view ------------------------------------------------------------------------

@dataclass(frozen=True)
class Forward:
    """What a spend buys, as expected values (not rounded: 0.4 of a deal a month is 4.8 a year)."""

    spend: Fraction
    leads: Fraction
    opportunities: Fraction
    deals: Fraction
    revenue: Fraction

    def times(self, n: int) -> Forward:
        return Forward(self.spend * n, self.leads * n, self.opportunities * n, self.deals * n, self.revenue * n)


def plan_forward(spend: Fraction, cpa: Fraction, opp_rate: Fraction, win_rate: Fraction,
                 deal_size: Fraction) -> Forward:
    """spend ÷ CPA = leads; × 商談化率 = opportunities; × win rate = deals; × deal size = revenue."""
    leads = Fraction(spend) / Fraction(cpa)
    opps = leads * Fraction(opp_rate)
    deals = opps * Fraction(win_rate)
    return Forward(Fraction(spend), leads, opps, deals, deals * Fraction(deal_size))
