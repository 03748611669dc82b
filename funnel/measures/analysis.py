"""One analysis of a workspace, shaped as the public JSON of ``contracts/cli.md``.

The contract's keys come first and keep their meaning; extra keys (``files``, ``mapping``,
``touch``, …) add what a script may want to check about how the files were read.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from funnel.ingest.reader import Source
from funnel.measures import accounts as acc
from funnel.measures import activity as act
from funnel.measures import attribution as attr
from funnel.measures import metrics as m
from funnel.model.link import LinkSpec
from funnel.model.workspace import Build, Workspace

# The canonical fields the measures below read (keys, first-touch order, sources, outcomes,
# loss reasons, and the company / corporate number of the accounts): ``analyze`` normalises
# only these (see ``Workspace.build(fields=…)``). The activity measures read more of a lead.
FIELDS: dict[str, frozenset[str]] = {
    "ma": frozenset({"email", "lead_id", "source", "created_at", "company", "corporate_number"}),
    "sfa": frozenset({"email", "deal_id", "stage", "is_won", "is_closed", "won_date", "created_at",
                      "loss_reason", "company", "corporate_number"}),
}


def fields_needed(with_activity: bool) -> dict[str, frozenset[str]] | None:
    """What :func:`measure` reads (None: every field, when activity files are analysed)."""
    return None if with_activity else FIELDS


@dataclass
class Analysis:
    build: Build
    touch: str
    overall: m.Rate
    by_source: list[m.Rate]
    outcomes: m.Outcomes
    loss_reasons: list[m.LossShare]
    match: m.Match
    files: dict[str, list[dict[str, Any]]]
    accounts: acc.Accounts | None = None     # only where an export has a company / corporate number
    behaviour: list[act.Behaviour] = field(default_factory=list)
    attribution: attr.Attribution | None = None     # None: no activity file


def measure(ws: Workspace, touch: str = "first", *, model: str | None = None,
            half_life: float | None = None) -> Analysis:
    """The contract's measures on a built workspace (with activity files: behaviour and the
    attribution under ``model`` / ``half_life``)."""
    if ws.build_result is None:
        raise RuntimeError("build the workspace first")
    f = m.Filters(touch=touch)
    b = ws.build_result
    accounts = acc.measure(ws.con, b.mappings, touch) if acc.applies(b.mappings) else None
    with_activity = b.activity is not None
    sides = ("ma", "sfa", "activity") if with_activity else ("ma", "sfa")
    return Analysis(
        build=b, touch=touch, overall=m.overall(ws.con, f), by_source=m.by_source(ws.con, f),
        outcomes=m.outcomes(ws.con), loss_reasons=m.loss_reasons(ws.con), match=m.match(ws.con),
        files={side: [lt.report.to_dict() for lt in ws.files[side]] for side in sides},
        accounts=accounts,
        behaviour=act.behaviour(ws.con) if with_activity else [],
        attribution=attr.attribution(ws.con, model, half_life) if with_activity else None)


def run_analysis(ma: Sequence[Source], sfa: Sequence[Source], *, link: LinkSpec | None = None,
                 overrides: MappingABC[str, MappingABC[str, str | None]] | None = None,
                 touch: str = "first") -> dict[str, Any]:
    """Load, link and measure in a fresh workspace; returns the contract JSON as a dict."""
    with Workspace() as ws:
        for src in ma:
            ws.load("ma", src)
        for src in sfa:
            ws.load("sfa", src)
        ws.build(overrides, link, fields=fields_needed(False))
        return to_json(measure(ws, touch))


def to_json(a: Analysis) -> dict[str, Any]:
    """The ``--json`` object: exactly the contract's keys and meanings, plus extras."""
    b = a.build
    cma, csfa = b.counts["ma"], b.counts["sfa"]
    out: dict[str, Any] = {
        "ma": {"rows": cma.rows, "leads": cma.keys, "rows_without_key": cma.rows_without_key,
               "rows_dropped": cma.dropped},
        "sfa": {"rows": csfa.rows, "opportunities": csfa.keys, "rows_without_key": csfa.rows_without_key,
                "rows_dropped": csfa.dropped},
        "link": {"ma_column": b.link.ma_column, "sfa_column": b.link.sfa_column, "kind": b.link.kind,
                 "auto": b.link.auto},
        "overall": {"leads": a.overall.leads, "converted": a.overall.converted,
                    "opportunity_rate": a.overall.rate},
        "by_source": [{"source": r.group, "leads": r.leads, "converted": r.converted,
                       "opportunity_rate": r.rate, "ci_low": r.ci[0], "ci_high": r.ci[1]}
                      for r in a.by_source],
        "outcomes": {"won": a.outcomes.won, "lost": a.outcomes.lost, "open": a.outcomes.open,
                     "win_rate": a.outcomes.win_rate},
        "loss_reasons": [{"category": s.category, "count": s.count, "share": s.share} for s in a.loss_reasons],
        "match": {"opportunities_linked": a.match.linked, "opportunities_unlinked": a.match.unlinked},
        "touch": a.touch,
        "identity": b.identity,
        "mapping": {side: [mp.columns for mp in b.mappings[side]] for side in ("ma", "sfa")}
        | ({"activity": [mp.columns for mp in b.activity_mappings]} if b.activity is not None else {}),
        "date_orders": b.date_orders,
        "files": a.files,
        "notices": [{"key": k, "params": p} for k, p in b.notices],
        "currencies": [{"file": c.file, "currency": c.currency, "cells": c.counts} for c in b.currencies],
    } | _activity_json(a)
    if a.accounts is not None:
        out["accounts"] = a.accounts.to_json()
    return out


def _activity_json(a: Analysis) -> dict[str, Any]:
    """The keys an analysis with activity files adds (none without)."""
    c = a.build.activity
    if c is None or a.attribution is None:
        return {}
    return {
        "activity": {"rows": c.rows, "events": c.events, "rows_without_key": c.rows_without_key,
                     "events_unlinked": c.events_unlinked, "leads_with_events": c.leads_with_events},
        "behaviour": [b.to_json() for b in a.behaviour],
        "attribution": a.attribution.to_json(),
    }
