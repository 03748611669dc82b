"""What changed between two loads: last month's exports (the baseline) and this month's.

Both loads are built workspaces, each measured on its own with :mod:`funnel.measures.metrics`, so the
rates before and after are exactly the numbers every other page shows for that load. The
comparison itself pairs up records of the two loads:

- **Lead identity**: the lead key of both builds — the normalised email (or the record ID
  when the MA export has no email column). Headers may differ between months (the key is
  the normalised value, not the column); the two loads must identify leads the same way,
  and never by row position.
- **Opportunity identity**: the deal ID where both exports have one for every deal; else the
  deal name with its account (trimmed, case and spacing folded); else the link values the
  deal was linked by (its contacts' addresses or IDs). Two deals of one export with the same
  identity are paired in order of close date; a deal with no identity is counted as new
  (or removed), never paired.

Kinds of change (each a count in :class:`Summary` and a drill-down in :func:`changes`):

- new leads: in this load, not the previous one; removed leads: the other way round;
- newly converted: a lead of both loads with no linked opportunity before and at least one
  now (new leads that already have one are counted separately, as ``new_converted``);
  unconverted: the reverse (an opportunity disappeared or no longer links);
- new / removed opportunities; moved: a deal of both loads whose stage text changed
  (closing counts as a move); newly won / newly lost: won (lost) now and not before, new
  deals included; reopened: won or lost before, open now.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from funnel.errors import FunnelError
from funnel.measures.attribution import MonthsCompared, compare_months
from funnel.measures.metrics import (
    FUNNEL_STAGES,
    Filters,
    LossShare,
    Outcomes,
    Rate,
    by_source,
    loss_shares,
    outcomes,
    overall,
)
from funnel.model.workspace import Workspace
from funnel.present.paging import PAGE_SIZE, Page, fetch_page
from funnel.sql import diff as q
from funnel.sql import records, rows, scalar
from funnel.sql.attribution import forget_previous_deals

#: The kinds of change that have a drill-down, leads first.
LEAD_KINDS: tuple[str, ...] = tuple(q.LEAD_KINDS)
OPP_KINDS: tuple[str, ...] = tuple(q.OPP_KINDS)
KINDS: tuple[str, ...] = LEAD_KINDS + OPP_KINDS
#: Opportunity identities, most reliable first (see the module docstring).
OPP_METHODS: tuple[str, ...] = tuple(q.OPP_IDENTITY)


class DiffError(FunnelError):
    """The two loads cannot be compared (a side missing, leads without a stable identity)."""

    key = "diff.error.generic"


@dataclass(frozen=True)
class Summary:
    """Counts of each kind of change, and the headline rates of both loads."""

    leads_before: int
    leads_after: int
    new_leads: int
    removed_leads: int
    newly_converted: int
    new_converted: int
    unconverted: int
    opps_before: int
    opps_after: int
    new_opps: int
    removed_opps: int
    moved: int
    won: int
    lost: int
    reopened: int
    rate_before: Rate
    rate_after: Rate
    outcomes_before: Outcomes
    outcomes_after: Outcomes

    @property
    def rate_change_points(self) -> float:
        """Change of 商談化率 in percentage points."""
        return (self.rate_after.rate - self.rate_before.rate) * 100

    @property
    def win_rate_change_points(self) -> float | None:
        a, b = self.outcomes_before.win_rate, self.outcomes_after.win_rate
        return None if a is None or b is None else (b - a) * 100

    @property
    def unchanged(self) -> bool:
        return not any((self.new_leads, self.removed_leads, self.newly_converted, self.unconverted,
                        self.new_opps, self.removed_opps, self.moved, self.won, self.lost, self.reopened))


@dataclass(frozen=True)
class RateMove:
    """商談化率 of one source in both loads (None: the source has no lead in that load)."""

    group: str | None
    before: Rate | None
    after: Rate | None

    @property
    def change_points(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return (self.after.rate - self.before.rate) * 100


@dataclass(frozen=True)
class StageMove:
    """Deals of both loads that went from one stage to another."""

    from_stage: str | None
    to_stage: str | None
    from_outcome: str
    to_outcome: str
    count: int
    direction: str          # forward | backward | won | lost | reopened | changed


@dataclass(frozen=True)
class Diff:
    """Everything the comparison found (the drill-down is read later with :func:`changes`)."""

    summary: Summary
    new_leads_by_source: list[Rate]
    newly_converted: list[Rate]           # per source: leads = open before, converted = now
    rate_by_source: list[RateMove]
    stage_moves: list[StageMove]
    stage_order: list[str]
    reached_moves: list[tuple[str, str, int]]  # funnel stage before → now, leads of both loads
    lost_by_category: list[LossShare]
    opp_method: str
    touch: str
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    attribution: MonthsCompared | None = None   # credit by touch in both loads (with activity)


def _leading_number(stage: str) -> float:
    """``"3.提案"`` → 3, ``"Stage 10 - Won"`` → 10; no number: +inf (after the numbered ones)."""
    m = re.search(r"\d+(?:\.\d+)?", unicodedata.normalize("NFKC", stage))
    return float(m.group()) if m and m.start() <= 6 else math.inf


_OUTCOME_RANK = {"open": 0, "won": 1, "lost": 2}


def stage_order(stages: Iterable[tuple[str | None, str]]) -> list[str]:
    """Stage names ordered as a pipeline: open stages by their leading number (SFA stages are
    usually numbered, "1.アプローチ" … "5.交渉"), then won, then lost stages."""
    seen: dict[str, str] = {}
    for stage, outcome in stages:
        if stage is not None:
            seen.setdefault(stage, outcome or "open")
    return sorted(seen, key=lambda s: (_OUTCOME_RANK.get(seen[s], 0), _leading_number(s), s))


def _direction(a: str | None, oa: str, b: str | None, ob: str, rank: dict[str, int]) -> str:
    if ob != oa:
        if ob in ("won", "lost"):
            return ob
        return "reopened"
    ra, rb = rank.get(a or "", -1), rank.get(b or "", -1)
    if ra == rb or a is None or b is None:
        return "changed"
    return "forward" if rb > ra else "backward"


def _check(ws: Workspace, which: str) -> None:
    """Raise the reason why ``ws`` (``previous``/``current``) cannot take part, if any."""
    for side in ("ma", "sfa"):
        if not ws.files[side]:
            raise DiffError(key=f"diff.error.{which}_missing", side=side.upper())
    if ws.build_result is None:
        raise DiffError(key=f"diff.error.{which}_not_built")
    if ws.build_result.identity == "row":
        raise DiffError(key=f"diff.error.{which}_row_identity")
    if ws.build_result.counts["ma"].keys == 0:
        raise DiffError(key=f"diff.error.{which}_no_leads")


def _choose_method(caps: dict[str, dict[str, int]]) -> str:
    prev, cur = caps["prev"], caps["cur"]
    if prev["deal_id"] == prev["n"] and cur["deal_id"] == cur["n"]:
        return "deal_id"
    if prev["name"] and cur["name"]:
        return "name"
    return "link"


def _rates(found: list[tuple[Any, ...]]) -> list[Rate]:
    return [Rate(None if r[0] is None else str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in found]


def compare(previous: Workspace, current: Workspace, touch: str = "first") -> Diff:
    """Compare two built workspaces; the comparison's tables are kept in ``current``'s
    connection for :func:`changes`. Raises :class:`DiffError` when they cannot be compared."""
    _check(previous, "previous")
    _check(current, "current")
    assert previous.build_result is not None and current.build_result is not None
    if previous.build_result.identity != current.build_result.identity:
        raise DiffError(key="diff.error.identity_differs", previous=previous.build_result.identity,
                        current=current.build_result.identity)
    con = current.con
    q.import_previous(previous.con, con)
    method = _choose_method(q.capabilities(con))
    found = q.prepare(con, method)
    notices: list[tuple[str, dict[str, Any]]] = []
    if method != "deal_id":
        notices.append((f"diff.notice.method_{method}", {}))
    if found["repeated"]:
        notices.append(("diff.notice.repeated", {"count": found["repeated"]}))
    if found["unidentified"]:
        notices.append(("diff.notice.unidentified", {"count": found["unidentified"]}))
    f = Filters(touch=touch)
    c = records(con, q.counts())[0]
    summary = Summary(
        leads_before=previous.build_result.counts["ma"].keys, leads_after=current.build_result.counts["ma"].keys,
        new_leads=c["new_leads"], removed_leads=c["removed_leads"], newly_converted=c["newly_converted"],
        new_converted=c["new_converted"], unconverted=c["unconverted"], opps_before=c["opps_before"],
        opps_after=c["opps_after"], new_opps=c["new_opps"], removed_opps=c["removed_opps"], moved=c["moved"],
        won=c["won"], lost=c["lost"], reopened=c["reopened"],
        rate_before=overall(previous.con, f), rate_after=overall(con, f),
        outcomes_before=outcomes(previous.con), outcomes_after=outcomes(con))
    seen = rows(con, q.stages_seen())
    order = stage_order((s, o) for s, o in seen)
    rank = {s: i for i, s in enumerate(order)}
    moves = [StageMove(a, b, oa, ob, int(n), _direction(a, oa, b, ob, rank))
             for a, oa, b, ob, n in rows(con, q.stage_moves())]
    moves.sort(key=lambda m: (rank.get(m.from_stage or "", -1), rank.get(m.to_stage or "", -1)))
    before = {r.group: r for r in by_source(previous.con, f)}
    after = {r.group: r for r in by_source(con, f)}
    groups = list(after) + [g for g in before if g not in after]
    return Diff(
        summary=summary,
        new_leads_by_source=_rates(rows(con, q.new_leads_by_source(touch))),
        newly_converted=_rates(rows(con, q.converted_by_source(touch))),
        rate_by_source=[RateMove(g, before.get(g), after.get(g)) for g in groups],
        stage_moves=moves, stage_order=order,
        reached_moves=[(FUNNEL_STAGES[a], FUNNEL_STAGES[b], int(n)) for a, b, n in rows(con, q.reached_moves())],
        lost_by_category=loss_shares({r[0]: int(r[1]) for r in rows(con, q.loss_categories_of_new_losses())}),
        opp_method=method, touch=touch, notices=notices, attribution=compare_months(previous, current))


def changes(con: duckdb.DuckDBPyConnection, kind: str, touch: str = "first", page: int = 1,
            page_size: int | None = PAGE_SIZE) -> Page[dict[str, Any]]:
    """The leads or deals of one kind of change: one page (1-based, clamped); all of them when
    ``page_size`` is None.

    Lead rows: lead_key, email_raw, name, company, source, created_at, owner, opps_before,
    opps_after, reached_before, reached_after (funnel stage names). Deal rows: ident, deal_id,
    deal_name, company, owner, amount, close_at, stage/outcome before and after,
    loss_category, loss_reason, loss_detail, lead_source, n_leads, is_new.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    total = int(scalar(con, q.kind_count(kind)) or 0)
    builder = q.lead_page if kind in LEAD_KINDS else q.opp_page

    def fetch(limit: int, offset: int) -> list[dict[str, Any]]:
        items = records(con, *builder(kind, touch, limit, offset))
        for r in items:
            for col in ("reached_before", "reached_after"):
                if col in r:
                    r[col] = None if r[col] is None else FUNNEL_STAGES[int(r[col])]
        return items

    return fetch_page(total, page, page_size, fetch)


def reached_counts(con: duckdb.DuckDBPyConnection, side: str) -> list[int]:
    """Leads of one load (``prev``/``cur``) that reached each funnel stage or further."""
    per = {int(k): int(n) for k, n in rows(con, q.reached_counts(side))}
    return [sum(n for k, n in per.items() if k >= i) for i in range(len(FUNNEL_STAGES))]


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the comparison's tables from a workspace (its baseline went away)."""
    q.clear(con)
    forget_previous_deals(con)
