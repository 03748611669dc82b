"""The assumptions of a reverse KPI plan and their defaults, written once for the plan page,
the report page and ``python -m funnel report``.

An assumption not given is filled as the plan page fills it: the data's actual value, else
the benchmark set's, else the worked example's placeholder; ``origins`` says which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import duckdb

from funnel.measures import benchmarks as bm
from funnel.measures.cohorts import created_range
from funnel.planning import plan as pl

ASSUMPTIONS: tuple[str, ...] = ("revenue", "deal_size", "win_rate", "opp_rate", "cpa")


@dataclass(frozen=True)
class PlanInputs:
    """The assumptions of a reverse KPI plan, exact (rates as fractions 0–1, amounts in yen).

    ``origins`` says where each assumption came from (``input``, ``actual``, ``benchmark``,
    ``placeholder``); ``start`` is the first month of the monthly plan (None: no monthly plan).
    """

    revenue: Fraction
    deal_size: Fraction
    win_rate: Fraction
    opp_rate: Fraction
    cpa: Fraction | None = None
    start: dt.date | None = None
    months: int = 12
    weights: tuple[Fraction, ...] = ()
    lead_time: int = 0
    mix: tuple[pl.MixInput, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)

    def month_weights(self) -> list[Fraction]:
        return list(self.weights) if len(self.weights) == self.months else [Fraction(1)] * self.months


def default_start(con: duckdb.DuckDBPyConnection, today: dt.date | None = None) -> dt.date:
    """The plan's first month: the month after the data's last lead, else next month (a plan
    is for months to come)."""
    bounds = created_range(con)
    if bounds:
        return pl.add_months(dt.date(bounds[1].year, bounds[1].month, 1), 1)
    today = today or dt.date.today()
    return pl.add_months(dt.date(today.year, today.month, 1), 1)


#: The assumptions that have a default (the revenue target is always the user's).
DEFAULTED: tuple[str, ...] = ("deal_size", "win_rate", "opp_rate", "cpa")
#: Which benchmark metric stands in for an assumption the data cannot give.
BENCHMARK_METRIC: Mapping[str, str] = {"win_rate": "win_rate", "opp_rate": "opportunity_rate", "cpa": "cpa"}


@dataclass(frozen=True)
class PlanDefaults:
    """What a plan assumes where the user gave nothing, and why (``origins``: ``actual``,
    ``benchmark``, ``placeholder``, or ``none`` for a cost per lead nothing can give)."""

    values: Mapping[str, Fraction | None]
    origins: Mapping[str, str]
    start: dt.date
    actuals: pl.Actuals                 # what the data says, for the page to show beside the inputs
    currency: str | None = "JPY"        # the export's (None: several)

    def input_value(self, name: str) -> Fraction:
        """The number an input box starts at: the default, else the worked example's
        placeholder (a box needs a number even where no default exists). The revenue target
        starts at the data's last 12 months of won amounts. The example's cost per lead is in
        yen: with another currency the box starts empty (0: no budget until one is typed)."""
        if name == "revenue":
            year = self.actuals.year_revenue
            return pl.exact(round(year)) if year else pl.exact(pl.PLACEHOLDERS["revenue"])
        value = self.values[name]
        if value is None and name == "cpa" and self.currency != "JPY":
            return Fraction(0)
        return pl.exact(pl.PLACEHOLDERS[name]) if value is None else value


def plan_defaults(con: duckdb.DuckDBPyConnection, benchmarks: Sequence[bm.Benchmark] = (), cost: Any = None,
                  today: dt.date | None = None, currency: str | None = "JPY") -> PlanDefaults:
    """Every default of a plan, for the plan page, the report page and the CLI alike: the
    data's actual value, else the benchmark set's, else the worked example's placeholder (no
    placeholder cost per lead: without one the plan has no budget); the first month after the
    data (:func:`default_start`)."""
    act = pl.actuals(con, cost)
    actual = {"deal_size": None if act.deal_size is None else pl.exact(round(act.deal_size)),
              "win_rate": act.win_rate, "opp_rate": act.opp_rate,
              "cpa": None if act.cpa is None else pl.exact(round(act.cpa))}
    values: dict[str, Fraction | None] = {}
    origins: dict[str, str] = {}
    for name in DEFAULTED:
        bench = next((b for b in benchmarks if b.metric == BENCHMARK_METRIC.get(name)), None)
        if actual[name] is not None:
            values[name], origins[name] = actual[name], "actual"
        elif bench is not None:
            values[name], origins[name] = pl.exact(pl.benchmark_value(bench)), "benchmark"
        elif name == "cpa":
            values[name], origins[name] = None, "none"
        else:
            values[name], origins[name] = pl.exact(pl.PLACEHOLDERS[name]), "placeholder"
    return PlanDefaults(values, origins, default_start(con, today), act, currency)


def plan_inputs(con: duckdb.DuckDBPyConnection, revenue: Fraction, *, deal_size: Fraction | None = None,
                win_rate: Fraction | None = None, opp_rate: Fraction | None = None, cpa: Fraction | None = None,
                benchmarks: Sequence[bm.Benchmark] = (), cost: Any = None, months: int = 12) -> PlanInputs:
    """A plan from a revenue target, with the assumptions not given filled by
    :func:`plan_defaults`, as the plan page fills them."""
    defaults = plan_defaults(con, benchmarks, cost)
    given = {"deal_size": deal_size, "win_rate": win_rate, "opp_rate": opp_rate, "cpa": cpa}
    values = {name: defaults.values[name] if value is None else value for name, value in given.items()}
    origins = {"revenue": "input", **{name: defaults.origins[name] if value is None else "input"
                                      for name, value in given.items()}}
    return PlanInputs(revenue, values["deal_size"] or Fraction(1), values["win_rate"] or Fraction(1),
                      values["opp_rate"] or Fraction(1), values["cpa"], defaults.start, months,
                      origins=origins)
