"""Reverse KPI planning: from a revenue target back to deals, opportunities, leads, budget.

Exact arithmetic (fractions) so that a plan that comes out at a whole number is not rounded
up by a floating-point hair: 100,000,000 / 5,000,000 = 20 deals, never 21.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from funnel.errors import FunnelError

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
