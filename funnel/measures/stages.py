"""The stage funnel (Lead → MQL → SQL → 商談 → 受注) per lead source, in one query.

Counts follow :func:`funnel.measures.metrics.funnel` exactly (same per-lead evidence, same ``reached``
/ ``recorded`` modes, same "percent of previous skips a stage that cannot be measured"). A
stage is measurable when the filtered leads as a whole hold evidence of it: a source with no
MQL while others have some shows 0, a true zero, not "cannot be measured".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from funnel.config import setting
from funnel.measures.metrics import Filters, FunnelStep, build_steps
from funnel.sql import rows
from funnel.sql import stages as q
from funnel.sql.metrics import source_column

#: No filter: every lead (Filters is frozen, so one shared default is safe).
ALL_LEADS = Filters()


@dataclass(frozen=True)
class GroupFunnel:
    """The funnel of one group of leads (a source)."""

    group: str | None
    steps: list[FunnelStep]

    @property
    def leads(self) -> int:
        return self.steps[0].count

    @property
    def small_sample(self) -> bool:
        return self.leads < int(setting("small_sample_n"))


def funnel_by_source(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS,
                     mode: str = "reached") -> list[GroupFunnel]:
    """One funnel per lead source (first or last touch as in ``f``), most leads first."""
    if mode not in ("reached", "recorded"):
        raise ValueError("mode must be 'reached' or 'recorded'")
    found = rows(con, *q.funnel_counts(f.where(), source_column(f.touch)))
    # Measurable over the whole filtered cohort (see the module docstring).
    avail_mql = sum(int(r[2]) for r in found) > 0
    avail_sql = sum(int(r[3]) for r in found) > 0
    available = [True, avail_mql, avail_sql, True, True]
    out = []
    for grp, *nums in found:
        n, rec_mql, rec_sql, rec_opp, rec_won, r1, r2, r3, r4, inf_mql, inf_sql = (int(x) for x in nums)
        if mode == "reached":
            counts, inferred = [n, r1, r2, r3, r4], [0, inf_mql, inf_sql, 0, 0]
        else:
            counts, inferred = [n, rec_mql, rec_sql, rec_opp, rec_won], [0] * 5
        out.append(GroupFunnel(None if grp is None else str(grp), build_steps(counts, inferred, available)))
    return out
