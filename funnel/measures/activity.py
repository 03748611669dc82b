"""Behaviour → 商談化率: for each activity type, the opportunity rate of the leads who did it
before their first opportunity against that of every other lead (contracts/cli.md).

``leads``: leads with at least one *counted* event of the type (all events of a lead that
never converted; only those up to and including its first opportunity's created day if it
did); ``converted``: those of them with an opportunity; ``rate_without``: the rate of all other
leads of the MA export; ``lift`` = rate / rate_without (None when rate_without is 0 or there
is no other lead).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from funnel.measures.metrics import ratio, wilson
from funnel.sql import activity as q
from funnel.sql import rows


@dataclass(frozen=True)
class Behaviour:
    """One activity type: who did it before converting, and how they converted."""

    activity: str | None
    leads: int
    converted: int
    leads_without: int
    converted_without: int

    @property
    def rate(self) -> float:
        return self.converted / self.leads if self.leads else 0.0

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.converted, self.leads)

    @property
    def rate_without(self) -> float | None:
        return ratio(self.converted_without, self.leads_without)

    @property
    def lift(self) -> float | None:
        without = self.rate_without
        return self.rate / without if without else None

    def to_json(self) -> dict[str, object]:
        lo, hi = self.ci
        return {"activity": self.activity, "leads": self.leads, "converted": self.converted,
                "opportunity_rate": self.rate, "ci_low": lo, "ci_high": hi,
                "rate_without": self.rate_without, "lift": self.lift}


def behaviour(con: duckdb.DuckDBPyConnection) -> list[Behaviour]:
    """One entry per activity type (as exported, trimmed), most leads first."""
    return [Behaviour(a, int(n), int(c), int(nw), int(cw)) for a, n, c, nw, cw in rows(con, q.behaviour())]
