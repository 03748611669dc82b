"""Marketing cost by source and month, and the cost per registration (CPA) it implies.

A cost file (``月, 流入元, 費用`` — one row per month and paid source) is read through the
engine's reader, so CP932, Excel, title rows and footers are handled as for the exports.

**CPA** of a source = its cost over the file's months ÷ the MA data rows (registrations) of
that source created in those months. A registration is a row, not a person: a form filled
twice was paid for twice; rows without a valid address count too. The overall CPA divides
the cost of every source in the file by their registrations together.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb

from funnel.config import DATA_DIR
from funnel.errors import FunnelError
from funnel.ingest.reader import Source, load_file
from funnel.sql import benchmarks as q
from funnel.sql import drop_table
from funnel.vocabulary import normalize_header


@dataclass(frozen=True)
class CostData:
    """The usable rows of a cost file: (first of month, source) → yen."""

    file: str
    amounts: Mapping[tuple[dt.date, str], float]
    skipped: int = 0            # rows without a readable month, source or cost

    @property
    def sources(self) -> list[str]:
        return sorted({s for _, s in self.amounts})

    @property
    def total(self) -> float:
        return float(sum(self.amounts.values()))

    @property
    def period(self) -> tuple[dt.date, dt.date] | None:
        """``[first month, first day after the last month)``."""
        if not self.amounts:
            return None
        months = [m for m, _ in self.amounts]
        last = max(months)
        end = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
        return min(months), end

    def by_source(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (_, s), v in self.amounts.items():
            out[s] = out.get(s, 0.0) + v
        return out


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    wanted = {normalize_header(n) for n in names}
    return next((c for c in columns if normalize_header(c) in wanted), None)


@lru_cache(maxsize=1)
def cost_columns() -> dict[str, tuple[str, ...]]:
    """Header names of a cost file's month, source and cost columns (data/cost_file.toml)."""
    with (DATA_DIR / "cost_file.toml").open("rb") as fh:
        return {k: tuple(v) for k, v in tomllib.load(fh)["cost_file"].items()}


def read_costs(con: duckdb.DuckDBPyConnection, source: Source, workdir: Path,
               headers: Mapping[str, Sequence[str]] | None = None) -> CostData:
    """Read a monthly cost file into :class:`CostData` (the raw table is dropped after).

    Raises:
        FunnelError: unreadable, or no month/source/cost column (``bench.cost.columns``).
    """
    if headers is None:
        headers = cost_columns()
    table = "raw_cost_file"
    loaded = load_file(con, source, table, workdir)
    try:
        raw = dict(zip(loaded.columns, loaded.raw_columns, strict=True))
        cols = {k: _find(loaded.columns, headers.get(k, ())) for k in ("month", "source", "cost")}
        missing = [k for k, c in cols.items() if c is None]
        if missing:
            raise FunnelError(source.name, key="bench.cost.columns", columns=", ".join(loaded.columns[:20]))
        amounts: dict[tuple[dt.date, str], float] = {}
        skipped = 0
        for month, src, cost, n in q.cost_rows(con, table, raw[cols["month"] or ""], raw[cols["source"] or ""],
                                               raw[cols["cost"] or ""]):
            if month is None or src is None or cost is None:
                skipped += int(n)
                continue
            amounts[(month, str(src))] = amounts.get((month, str(src)), 0.0) + float(cost)
        return CostData(source.name, amounts, skipped)
    finally:
        drop_table(con, table)


@dataclass(frozen=True)
class SourceCpa:
    source: str
    cost: float
    registrations: int

    @property
    def cpa(self) -> float | None:
        return self.cost / self.registrations if self.registrations else None


@dataclass(frozen=True)
class CpaResult:
    by_source: list[SourceCpa]
    period: tuple[dt.date, dt.date] | None    # None: the MA export has no dates, all rows count
    notes: list[str] = field(default_factory=list)   # message keys

    def total(self, sources: Sequence[str] | None = None) -> SourceCpa:
        """Cost and registrations summed over ``sources`` (all sources of the file by default)."""
        picked = [r for r in self.by_source if sources is None or r.source in sources]
        return SourceCpa("", sum(r.cost for r in picked), sum(r.registrations for r in picked))


def cpa(con: duckdb.DuckDBPyConnection, costs: CostData) -> CpaResult:
    """CPA per source of the cost file, over the MA rows created in the file's months."""
    notes = []
    period = costs.period
    if period is not None and q.dated_rows(con) == 0:
        period = None
        notes.append("bench.cost.no_dates")
    start, end = period if period else (None, None)
    regs = q.registrations(con, costs.sources, start, end)
    found = [SourceCpa(s, c, regs.get(s, 0)) for s, c in sorted(costs.by_source().items(), key=lambda kv: -kv[1])]
    if any(r.registrations == 0 for r in found):
        notes.append("bench.cost.unmatched_source")
    return CpaResult(found, period, notes)
