"""The measures, as typed results: opportunity rate overall and by source (with a 95% Wilson
interval), outcomes and win rate, loss-reason categories, match counts, the stage funnel, and
breakdowns by owner and by month of lead creation.

Definitions are those of ``contracts/cli.md``: a converted lead has at least one linked
opportunity; opportunity rate = converted / leads; win rate = won / (won + lost), None when
both are zero; loss shares are over lost opportunities and sum to 1.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import duckdb

from funnel.config import setting
from funnel.model.rules import LOSS_CATEGORIES
from funnel.sql import metrics as q
from funnel.sql import rows, run
from funnel.sql import stages as stages_sql


def wilson(k: int, n: int, z: float | None = None) -> tuple[float, float]:
    """95% Wilson score interval of ``k`` successes in ``n`` trials (``(0, 0)`` when n = 0)."""
    if n <= 0:
        return 0.0, 0.0
    z = float(setting("wilson_z")) if z is None else z
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 and k = n the bounds are exactly 0 and 1; say so rather than 0.9999999999999999.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def ratio(k: float, n: float | None) -> float | None:
    """``k / n``, or None where there is nothing to divide by (n is 0 or unknown)."""
    return k / n if n else None


@dataclass(frozen=True)
class Filters:
    """Which leads a measure covers: touch for the source, creation-date range, sources."""

    touch: str = "first"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sources: tuple[str | None, ...] | None = None

    def where(self) -> q.SqlParams:
        return q.lead_where(self.date_from, self.date_to, self.sources, self.touch)


class OpportunityRate:
    """The opportunity rate of ``leads`` of which ``converted`` have an opportunity, and its
    interval: written once for every result that carries the pair (a mixin for frozen
    dataclasses, which declare the two fields: ``Rate``, activity's ``Behaviour``, mql's ``Band``)."""

    leads: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.leads if self.leads else 0.0

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.converted, self.leads)


@dataclass(frozen=True)
class Rate(OpportunityRate):
    """Leads of a group, how many converted (and won), and the rate with its interval."""

    group: str | None
    leads: int
    converted: int
    won: int = 0

    @property
    def small_sample(self) -> bool:
        return self.leads < int(setting("small_sample_n"))


def _rates(con: duckdb.DuckDBPyConnection, sql_params: q.SqlParams) -> list[Rate]:
    sql, params = sql_params
    return [Rate(r[0] if r[0] is None else str(r[0]), int(r[1]), int(r[2]), int(r[3]))
            for r in rows(con, sql, params)]


def overall(con: duckdb.DuckDBPyConnection, f: Filters = Filters()) -> Rate:
    sql, params = q.overall(f.where())
    n, k, w = rows(con, sql, params)[0]
    return Rate(None, int(n), int(k), int(w))


def by_source(con: duckdb.DuckDBPyConnection, f: Filters = Filters()) -> list[Rate]:
    """Rate per lead source (first or last touch), most leads first; blank source is None."""
    return _rates(con, q.rate_by(q.source_column(f.touch), f.where()))


def by_owner(con: duckdb.DuckDBPyConnection, f: Filters = Filters()) -> list[Rate]:
    """Rate per lead owner (MA side), most leads first."""
    return _rates(con, q.rate_by("owner", f.where()))


def by_month(con: duckdb.DuckDBPyConnection, f: Filters = Filters()) -> list[Rate]:
    """Rate per month of lead creation (``YYYY-MM``), oldest first; undated leads last."""
    # Grouped on the truncated timestamp and named after: strftime on every lead costs 2.5× more.
    return _rates(con, q.rate_by("date_trunc('month', created_at)", f.where(), order="grp NULLS LAST",
                                 label="strftime(grp, '%Y-%m')"))


@dataclass(frozen=True)
class Outcomes:
    won: int
    lost: int
    open: int

    @property
    def win_rate(self) -> float | None:
        return ratio(self.won, self.won + self.lost)

    @property
    def total(self) -> int:
        return self.won + self.lost + self.open


def outcomes(con: duckdb.DuckDBPyConnection) -> Outcomes:
    """Won / lost / open over all opportunities."""
    found = {r[0]: int(r[1]) for r in rows(con, q.outcomes())}
    return Outcomes(found.get("won", 0), found.get("lost", 0), found.get("open", 0))


@dataclass(frozen=True)
class LossShare:
    category: str
    count: int
    share: float | None     # None for excluded (not a real loss: contracts/cli.md)


#: The category of lost deals that were never real sales: counted, but outside the shares.
EXCLUDED = "excluded"


def loss_shares(counts: dict[str, int]) -> list[LossShare]:
    """Categories largest first (ties in taxonomy order). Shares are over the lost deals that
    are not ``excluded`` and sum to 1; ``excluded`` keeps its count with share None
    (contracts/cli.md, "Loss reasons that are not losses")."""
    total = sum(n for c, n in counts.items() if c != EXCLUDED)
    order = {c: i for i, c in enumerate(LOSS_CATEGORIES)}
    return [LossShare(c, n, None if c == EXCLUDED else n / total) for c, n in
            sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99))) if n]


def loss_reasons(con: duckdb.DuckDBPyConnection) -> list[LossShare]:
    """Loss-reason categories over lost opportunities, largest first; shares (excluded aside) sum to 1."""
    return loss_shares({r[0]: int(r[1]) for r in rows(con, *q.loss_counts())})


def prepare_opp_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Make this build's table of each opportunity's lead source, if not made yet (see
    :data:`funnel.sql.metrics.OPP_SOURCES`); every loss query by source calls this first."""
    run(con, q.opp_sources())


def loss_reasons_by(con: duckdb.DuckDBPyConnection, by: str, touch: str = "first") -> dict[str | None, list[LossShare]]:
    """Loss categories per ``owner`` (deal owner), ``month`` (close month) or ``source``
    (first/last-touch source of the linked lead; None for a lead without a source, and
    :data:`NO_LEAD` for deals linked to no lead)."""
    if by == "source":
        prepare_opp_sources(con)
        query = q.loss_by_lead_source(touch)
    elif by == "owner":
        query = q.loss_counts("owner")
    elif by == "month":
        query = q.loss_counts("strftime(close_at, '%Y-%m')")
    else:
        raise ValueError("by must be source, owner or month")
    grouped: dict[str | None, dict[str, int]] = {}
    for grp, cat, n in rows(con, *query):
        grouped.setdefault(grp, {})[cat] = int(n)
    return {g: loss_shares(c) for g, c in grouped.items()}


@dataclass(frozen=True)
class Match:
    linked: int
    unlinked: int

    @property
    def rate(self) -> float | None:
        return ratio(self.linked, self.linked + self.unlinked)


def match(con: duckdb.DuckDBPyConnection) -> Match:
    linked, unlinked = rows(con, q.match_counts())[0]
    return Match(int(linked), int(unlinked))


NO_LEAD = q.NO_LEAD

FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "won")


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    count: int
    pct_of_first: float | None
    pct_of_previous: float | None
    available: bool = True      # False: the exports hold no evidence of this stage
    inferred: int = 0           # leads counted here only because they reached a later stage


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]
    mode: str                   # "reached" (cumulative) or "recorded" (evidence only)
    unlinked_opportunities: int = 0
    notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)


def build_steps(counts: list[int], inferred: list[int], available: list[bool]) -> list[FunnelStep]:
    """Funnel steps from per-stage counts; the previous step is the last measurable one."""
    steps, prev = [], None
    n = counts[0]
    for stage, count, inf, ok in zip(FUNNEL_STAGES, counts, inferred, available, strict=True):
        steps.append(FunnelStep(stage, count, ratio(count, n), ratio(count, prev) if prev is not None else None,
                                ok, inf))
        if ok:
            prev = count
    return steps


def funnel(con: duckdb.DuckDBPyConnection, f: Filters = Filters(), mode: str = "reached") -> Funnel:
    """Lead → MQL → SQL → opportunity → won over one cohort of leads.

    ``reached`` counts a lead at every stage up to the furthest it reached, so the funnel
    narrows by construction and a lead that became an opportunity without an MQL record is
    still an MQL (how many are inferred is reported). ``recorded`` counts only direct
    evidence; a later stage may then exceed an earlier one, and a note says why.
    """
    sql, params = stages_sql.funnel_counts(f.where())
    (n, rec_mql, rec_sql, rec_opp, rec_won, r1, r2, r3, r4, inf_mql, inf_sql) = (
        int(x) for x in rows(con, sql, params)[0])
    avail_mql, avail_sql = rec_mql > 0, rec_sql > 0
    counts = [n, r1, r2, r3, r4] if mode == "reached" else [n, rec_mql, rec_sql, rec_opp, rec_won]
    inferred = [0, inf_mql, inf_sql, 0, 0] if mode == "reached" else [0] * 5
    available = [True, avail_mql, avail_sql, True, True]
    steps = build_steps(counts, inferred, available)
    notes: list[tuple[str, dict[str, object]]] = []
    for stage, ok in zip(FUNNEL_STAGES[1:3], available[1:3], strict=True):
        if not ok:
            notes.append(("funnel.note.unavailable", {"stage": stage}))
    if mode == "reached":
        for stage, inf, ok in (("mql", inf_mql, avail_mql), ("sql", inf_sql, avail_sql)):
            if inf and ok:
                notes.append(("funnel.note.inferred", {"stage": stage, "count": inf}))
    else:
        visible = [s for s in steps if s.available]
        for a, b in zip(visible, visible[1:], strict=False):
            if b.count > a.count:
                notes.append(("funnel.note.exceeds", {"stage": b.stage, "previous": a.stage,
                                                      "count": b.count - a.count}))
    unlinked = match(con).unlinked
    if unlinked:
        notes.append(("funnel.note.unlinked", {"count": unlinked}))
    return Funnel(steps, mode, unlinked, notes)

