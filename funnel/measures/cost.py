"""What each paid lead source's cost bought, and the editable form of the cost data.

How cost meets the leads (one definition for the cost page, its tables and downloads):

- **Period**: the months of the cost data, ``[first month, first day after the last month)``;
  registrations and leads created in it count. When the MA export has no creation dates,
  every row counts (a note says so), as in :func:`funnel.model.cost_data.cpa`.
- **Source**: a cost row's source meets the lead source of the same name (trimmed, otherwise
  as exported). Lead sources without cost rows (organic search, referrals …) are listed
  apart; cost sources without leads get no per-lead numbers (a note says so).
- **Registrations** = MA data rows of the source in the period, and **CPA** = cost ÷
  registrations — the definition of :mod:`funnel.model.cost_data`, so the benchmark page, the plan
  page and the cost page show one CPA.
- **Leads** = people whose first-touch source (``touch="last"``: last) is the source,
  created in the period.
- **Opportunities**, **won deals**, **won amount**: the opportunities of those leads, each
  opportunity attributed to one lead only (its earliest-created linked lead), whenever the
  deal was created or closed. Leads of the last months may not have had time to close, so
  their cost per won deal is still high: read the recent months with care.
- cost per opportunity = cost ÷ opportunities; cost per won deal = cost ÷ won deals;
  **return** = won amount ÷ cost (1.0 = the won amount equals the cost).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from funnel.measures.benchmarks import parse_number
from funnel.measures.metrics import ratio
from funnel.model.cost_data import CostData
from funnel.sql import benchmarks as qb
from funnel.sql import cost as q

COLUMNS: tuple[str, ...] = ("month", "source", "cost")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})(?!\d)")


@dataclass(frozen=True)
class SourceCost:
    """One source's cost and what came of it (``source`` is ``None`` for the total)."""

    source: str | None
    cost: float
    registrations: int
    leads: int
    opportunities: int
    won: int
    won_amount: float
    won_without_amount: int = 0

    @property
    def cpa(self) -> float | None:
        return ratio(self.cost, self.registrations)

    @property
    def cost_per_opportunity(self) -> float | None:
        return ratio(self.cost, self.opportunities)

    @property
    def cost_per_won(self) -> float | None:
        return ratio(self.cost, self.won)

    @property
    def return_ratio(self) -> float | None:
        return ratio(self.won_amount, self.cost)


@dataclass(frozen=True)
class CostReport:
    rows: list[SourceCost]                       # the cost data's sources, largest cost first
    total: SourceCost
    period: tuple[dt.date, dt.date] | None       # None: the MA export has no dates
    notes: list[str] = field(default_factory=list)          # message keys
    free_sources: list[str] = field(default_factory=list)   # lead sources without cost rows


def source_costs(con: duckdb.DuckDBPyConnection, costs: CostData, touch: str = "first") -> CostReport:
    """Per source of ``costs``: cost, registrations, leads, opportunities, won deals, won
    amount (see the module docstring for how they meet), and their total."""
    notes: list[str] = []
    period = costs.period
    if period is not None and qb.dated_rows(con) == 0:
        period, notes = None, ["bench.cost.no_dates"]
    start, end = period if period else (None, None)
    sources = costs.sources
    regs = qb.registrations(con, sources, start, end)
    outs = q.source_outcomes(con, sources, start, end, touch)
    found = []
    for src, cost in sorted(costs.by_source().items(), key=lambda kv: (-kv[1], kv[0])):
        leads, opps, won, amount, no_amount = outs.get(src, (0, 0, 0, 0.0, 0))
        found.append(SourceCost(src, cost, regs.get(src, 0), leads, opps, won, amount, no_amount))
    if any(r.registrations == 0 for r in found):
        notes.append("bench.cost.unmatched_source")
    total = SourceCost(None, sum(r.cost for r in found), sum(r.registrations for r in found),
                       sum(r.leads for r in found), sum(r.opportunities for r in found),
                       sum(r.won for r in found), sum(r.won_amount for r in found),
                       sum(r.won_without_amount for r in found))
    free = [s for s in q.lead_sources(con, touch) if s not in set(sources)]
    return CostReport(found, total, period, notes, free)


@dataclass(frozen=True)
class MonthCost:
    month: dt.date
    cost: float
    registrations: int

    @property
    def cpa(self) -> float | None:
        return self.cost / self.registrations if self.registrations else None


def monthly_costs(con: duckdb.DuckDBPyConnection, costs: CostData) -> list[MonthCost]:
    """Per month of the cost data: its cost and the registrations of the cost data's sources
    created that month (a source's registrations count even in a month it had no cost)."""
    if not costs.amounts:
        return []
    by_month: dict[dt.date, float] = {}
    for (month, _), v in costs.amounts.items():
        by_month[month] = by_month.get(month, 0.0) + v
    start, end = costs.period or (None, None)
    regs = q.registrations_by_month(con, costs.sources, start, end)
    return [MonthCost(m, by_month[m], regs.get(m, 0)) for m in sorted(by_month)]


# -- the cost data as an editable table ------------------------------------------------------

def parse_month(value: Any) -> dt.date | None:
    """The first day of a month from ``2025-04``, ``2025/4``, ``2025年4月``, ``2025-04-01`` or a
    date; None when the cell holds no month."""
    if isinstance(value, dt.datetime | dt.date):
        return dt.date(value.year, value.month, 1)
    if value is None or (isinstance(value, float) and value != value):
        return None
    m = _MONTH.match(unicodedata.normalize("NFKC", str(value)).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def to_records(costs: CostData | None) -> list[dict[str, Any]]:
    """One record per month and source (``month`` as ``YYYY-MM``), oldest month first."""
    if costs is None:
        return []
    return [{"month": f"{m:%Y-%m}", "source": s, "cost": v} for (m, s), v in sorted(costs.amounts.items())]


@dataclass(frozen=True)
class RowProblem:
    row: int            # 1-based row of the table
    key: str            # message key: cost.error.month | cost.error.source | cost.error.cost
    value: Any = None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def from_records(records: Iterable[Mapping[str, Any]], name: str) -> tuple[CostData, list[RowProblem]]:
    """Cost data from table rows ``{month, source, cost}``: blank rows are skipped, rows with
    an unreadable month, no source or a cost that is not a number ≥ 0 are reported and left
    out (counted in ``skipped``); the same month and source twice are added up, as in a file."""
    amounts: dict[tuple[dt.date, str], float] = {}
    problems: list[RowProblem] = []
    skipped = 0
    for i, rec in enumerate(records, start=1):
        if all(_blank(rec.get(c)) for c in COLUMNS):
            continue
        month = parse_month(rec.get("month"))
        source = None if _blank(rec.get("source")) else str(rec["source"]).strip()
        try:
            cost = parse_number(rec.get("cost"))
        except ValueError:
            cost = None
        found = [RowProblem(i, "cost.error.month", rec.get("month"))] if month is None else []
        found += [RowProblem(i, "cost.error.source")] if source is None else []
        found += [RowProblem(i, "cost.error.cost", rec.get("cost"))] if cost is None or cost < 0 else []
        if found:
            problems.extend(found)
            skipped += 1
            continue
        assert month is not None and source is not None and cost is not None
        amounts[(month, source)] = amounts.get((month, source), 0.0) + cost
    return CostData(name, amounts, skipped), problems


def same_amounts(a: CostData | None, b: CostData | None) -> bool:
    """Whether two cost data hold the same months, sources and amounts."""
    return (a.amounts if a else {}) == (b.amounts if b else {})
