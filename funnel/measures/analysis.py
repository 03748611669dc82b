"""One analysis of a workspace, shaped as the public JSON of ``contracts/cli.md``.

The contract's keys come first and keep their meaning; extra keys (``files``, ``mapping``,
``touch``, …) add what a script may want to check about how the files were read.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from funnel.ingest.reader import Source
from funnel.measures import metrics as m
from funnel.model.link import LinkSpec
from funnel.model.workspace import Build, Workspace


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


def measure(ws: Workspace, touch: str = "first") -> Analysis:
    """The contract's measures on a built workspace."""
    if ws.build_result is None:
        raise RuntimeError("build the workspace first")
    f = m.Filters(touch=touch)
    return Analysis(
        build=ws.build_result, touch=touch, overall=m.overall(ws.con, f), by_source=m.by_source(ws.con, f),
        outcomes=m.outcomes(ws.con), loss_reasons=m.loss_reasons(ws.con), match=m.match(ws.con),
        files={side: [lt.report.to_dict() for lt in ws.files[side]] for side in ("ma", "sfa")})


def run_analysis(ma: Sequence[Source], sfa: Sequence[Source], *, link: LinkSpec | None = None,
                 overrides: MappingABC[str, MappingABC[str, str | None]] | None = None,
                 touch: str = "first") -> dict[str, Any]:
    """Load, link and measure in a fresh workspace; returns the contract JSON as a dict."""
    with Workspace() as ws:
        for src in ma:
            ws.load("ma", src)
        for src in sfa:
            ws.load("sfa", src)
        ws.build(overrides, link)
        return to_json(measure(ws, touch))


def to_json(a: Analysis) -> dict[str, Any]:
    """The ``--json`` object: exactly the contract's keys and meanings, plus extras."""
    b = a.build
    cma, csfa = b.counts["ma"], b.counts["sfa"]
    return {
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
        "mapping": {side: [mp.columns for mp in b.mappings[side]] for side in ("ma", "sfa")},
        "date_orders": b.date_orders,
        "files": a.files,
        "notices": [{"key": k, "params": p} for k, p in b.notices],
        "currencies": [{"file": c.file, "currency": c.currency, "cells": c.counts} for c in b.currencies],
    }
