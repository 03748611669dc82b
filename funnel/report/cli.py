"""``python -m funnel report``: the Excel report from the command line.

The input options (``--ma``, ``--sfa``, ``--link``, ``--map``, ``--touch``) are those of
``analyze`` (:mod:`funnel.cli` adds them to both); this module adds what only the report takes:
the output file, its language, and the optional inputs of the app's other pages — a cost file,
a benchmark set, the checklist answers saved by the app, and a revenue target for the KPI plan.
Anything unusable raises :class:`funnel.errors.FunnelError`, which the CLI prints as one line and
exits 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnel import i18n
from funnel.errors import FunnelError
from funnel.i18n import t

if TYPE_CHECKING:       # the CLI imports this module for its options; the engine loads on use
    from funnel.model.workspace import Workspace


def report_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``report`` beyond the shared input options."""
    p.add_argument("--out", required=True, metavar="FILE.xlsx", help="the workbook to write")
    p.add_argument("--lang", choices=i18n.LANGS, help="language of the workbook (default: FUNNEL_LANG, else ja)")
    p.add_argument("--cost", metavar="FILE", help="monthly cost per source (month, source, cost): adds CPA and cost")
    p.add_argument("--benchmarks", metavar="FILE", help="a benchmark set (.toml or .csv) instead of the bundled one")
    p.add_argument("--answers", metavar="FILE", help="checklist answers saved by the app (.json or .csv)")
    p.add_argument("--revenue", metavar="YEN", help="revenue target: adds the KPI plan")
    p.add_argument("--deal-size", metavar="YEN", help="plan: average deal size (default: the data's)")
    p.add_argument("--win-rate", metavar="R", help="plan: win rate (default: the data's)")
    p.add_argument("--opp-rate", metavar="R", help="plan: opportunity rate (default: the data's)")
    p.add_argument("--cpa", metavar="YEN", help="plan: cost per lead (default: from --cost)")
    p.add_argument("--mask", action="store_true", help="mask customer email addresses in the workbook")


def _benchmarks(path: str, lang: str) -> list[Any]:
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.measures import benchmarks as bm

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FunnelError(p.name, key="error.not_found" if isinstance(exc, FileNotFoundError) else "error.os",
                          detail=exc.strerror or "") from None
    items, problems = bm.parse_file(p.name, data)
    if problems:
        first = problems[0]
        raise FunnelError(p.name, key="report.error.benchmarks", row=first.row or "—",
                          problem=t(first.key, lang, **first.params))
    return items


def _plan(ws: Workspace, args: argparse.Namespace, bench: list[Any], cost: Any) -> Any:
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.planning.inputs import plan_inputs
    from funnel.planning.plan import parse_amount, parse_rate

    extra = [n for n in ("deal_size", "win_rate", "opp_rate", "cpa") if getattr(args, n) is not None]
    if args.revenue is None:
        if extra:
            raise FunnelError(key="report.error.plan_needs_revenue", option="--" + extra[0].replace("_", "-"))
        return None
    amount = {n: parse_amount(getattr(args, n), "--" + n.replace("_", "-")) if getattr(args, n) is not None else None
              for n in ("deal_size", "cpa")}
    rate = {n: parse_rate(getattr(args, n), "--" + n.replace("_", "-")) if getattr(args, n) is not None else None
            for n in ("win_rate", "opp_rate")}
    return plan_inputs(ws.con, parse_amount(args.revenue, "--revenue"), deal_size=amount["deal_size"],
                       win_rate=rate["win_rate"], opp_rate=rate["opp_rate"], cpa=amount["cpa"], benchmarks=bench,
                       cost=cost)


def run_report(ws: Workspace, args: argparse.Namespace, lang: str) -> Path:
    """Read the optional inputs, build the workbook of the built ``ws`` and write it."""
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.ingest.reader import Source
    from funnel.measures import benchmarks as bm
    from funnel.measures.answers import read_answers
    from funnel.model.cost_data import read_costs
    from funnel.report.workbook import build_report

    out = Path(args.out)
    if not out.parent.is_dir():
        raise FunnelError(str(out), key="report.error.no_folder")
    bench = _benchmarks(args.benchmarks, lang) if args.benchmarks else list(bm.defaults().benchmarks)
    cost = read_costs(ws.con, Source.from_path(args.cost), ws.workdir) if args.cost else None
    answers = None
    if args.answers:
        try:
            data = Path(args.answers).read_bytes()
        except OSError as exc:
            raise FunnelError(Path(args.answers).name, key="error.os", detail=exc.strerror or "") from None
        answers = read_answers(data, file=Path(args.answers).name)
    plan = _plan(ws, args, bench, cost)
    sources = None
    if getattr(args, "sources", None):
        from funnel.model.sources import read_path

        sources = read_path(args.sources)
    data = build_report(ws, lang=lang, touch=args.touch, benchmarks=bench, plan=plan, checklist=answers, cost=cost,
                        mask=args.mask, sources=sources)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise FunnelError(str(out), key="report.error.write", detail=exc.strerror or str(exc)) from None
    return out
