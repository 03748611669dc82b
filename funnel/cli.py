"""``python -m funnel``: the command-line contract of ``contracts/cli.md``.

``analyze`` links MA and SFA exports and prints a summary (Japanese by default,
``FUNNEL_LANG=en`` for English) or, with ``--json``, exactly one JSON object. ``plan`` works
backward from a revenue target. Unusable input exits 2 with one line on stderr that names the
file and the problem; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from funnel.config import ATTRIBUTION_MODELS, setting
from funnel.errors import FunnelError, MappingError
from funnel.i18n import env_lang, t
from funnel.present.format import drop_label, loss_label, num, pct, source_label, text_table, yen
from funnel.report.cli import report_arguments
from funnel.vocabulary import INPUTS

if TYPE_CHECKING:
    from funnel.model.workspace import Workspace


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m funnel", description="MA × SFA funnel diagnosis")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="link MA and SFA exports and measure the funnel")
    _input_arguments(a)
    a.add_argument("--model", choices=ATTRIBUTION_MODELS, default=None,
                   help="multi-touch attribution model (with --activity; default position)")
    a.add_argument("--half-life", dest="half_life", metavar="DAYS", default=None,
                   help="half-life in days of the time_decay model (default 7)")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where linking and measures run: in-process DuckDB (default) or Apache Spark")
    a.add_argument("--master", metavar="URL",
                   help="Spark master (default local[*]; SPARK_REMOTE selects Spark Connect instead)")
    r = sub.add_parser("report", help="write the Excel report (.xlsx) of the analysis")
    _input_arguments(r)
    report_arguments(r)
    pl = sub.add_parser("plan", help="work backward from a revenue target")
    pl.add_argument("--revenue", required=True, metavar="YEN")
    pl.add_argument("--deal-size", required=True, metavar="YEN")
    pl.add_argument("--win-rate", required=True, metavar="R")
    pl.add_argument("--opp-rate", required=True, metavar="R")
    pl.add_argument("--cpa", metavar="YEN")
    pl.add_argument("--json", action="store_true")
    return p


def _input_arguments(p: argparse.ArgumentParser) -> None:
    """The exports and how to read and link them (shared by ``analyze`` and ``report``)."""
    p.add_argument("--ma", nargs="+", required=True, metavar="FILE", help="MA exports (leads/contacts)")
    p.add_argument("--sfa", nargs="+", required=True, metavar="FILE", help="SFA exports (opportunities/deals)")
    p.add_argument("--link", metavar="MA_COLUMN=SFA_COLUMN", help="link on a pair of ID columns instead of email")
    p.add_argument("--map", nargs="+", action="extend", default=[], metavar="SIDE.FIELD=COLUMN",
                   help="override a column mapping, e.g. ma.email=\"E-mail 2\"")
    p.add_argument("--touch", choices=("first", "last"), default="first", help="which row of a lead gives its source")
    p.add_argument("--activity", nargs="+", default=[], metavar="FILE",
                   help="activity exports (行動履歴: activity logs, campaign members), stacked in order")
    p.add_argument("--sources", metavar="FILE",
                   help="lead source -> channel mapping (CSV: source,channel); by_source is grouped by it")


def parse_maps(items: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """``["ma.email=E-mail 2", …]`` → ``{"ma": {"email": "E-mail 2"}}``."""
    out: dict[str, dict[str, str | None]] = {side: {} for side in INPUTS}
    for item in items:
        left, sep, column = item.partition("=")
        side, dot, field = left.strip().partition(".")
        if not sep or not dot or side.lower() not in out or not field:
            raise MappingError(key="error.bad_map_arg", arg=item)
        out[side.lower()][field.strip()] = column.strip() or None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    lang = getattr(args, "lang", None) or env_lang()
    try:
        if args.command == "plan":
            return _plan(args, lang)
        if args.command == "report":
            return _report(args, lang)
        return _analyze(args, lang)
    except FunnelError as exc:
        print(f"{t('cli.error_prefix', lang)}: {exc.render(lang)}", file=sys.stderr)
        return 2


@contextmanager
def _built(args: argparse.Namespace, *, measures_only: bool = False) -> Iterator[Workspace]:
    """A workspace with the ``--ma``/``--sfa`` files loaded and built with ``--map``/``--link``
    (``measures_only``: for :func:`funnel.measures.analysis.measure` alone, see
    :meth:`Workspace.build`)."""
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.ingest.reader import Source
    from funnel.model.link import LinkSpec
    from funnel.model.workspace import Workspace

    link = LinkSpec.parse(args.link) if args.link else None
    overrides = parse_maps(args.map)
    with Workspace(engine=getattr(args, "engine", "duckdb"), master=getattr(args, "master", None)) as ws:
        for path in args.ma:
            ws.load("ma", Source.from_path(path))
        for path in args.sfa:
            ws.load("sfa", Source.from_path(path))
        for path in getattr(args, "activity", None) or []:
            ws.load("activity", Source.from_path(path))
        fields = None
        if measures_only:
            from funnel.measures.analysis import fields_needed

            fields = fields_needed(bool(ws.files["activity"]))
        ws.build(overrides, link, keep_raw=not measures_only, fields=fields)
        yield ws


def _source_map(args: argparse.Namespace) -> Any:
    """The ``--sources`` mapping, read before the exports so a bad file fails fast."""
    if not getattr(args, "sources", None):
        return None
    from funnel.model.sources import read_path

    return read_path(args.sources)


def _report(args: argparse.Namespace, lang: str) -> int:
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.report.cli import run_report

    with _built(args) as ws:
        out = run_report(ws, args, lang)
    print(t("report.cli.written", lang, path=str(out)))
    return 0


def _analyze(args: argparse.Namespace, lang: str) -> int:
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.measures import analysis
    from funnel.measures.analysis import to_json

    half_life = _half_life(args.half_life)
    mapping = _source_map(args)
    with _built(args, measures_only=True) as ws:
        result = analysis.measure(ws, args.touch, model=args.model, half_life=half_life)
        data = to_json(result)
    if mapping is not None:
        from funnel.measures.sources import mapped_json

        data.update(mapped_json(result.by_source, mapping, args.sources, lang))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str))
    else:
        print("\n".join(summary_lines(data, lang)))
    return 0


def _half_life(text: str | None) -> float | None:
    """``--half-life DAYS``: a positive number of days (None: the default)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise FunnelError(key="error.bad_half_life", value=text)
    return value


def summary_lines(d: dict[str, Any], lang: str) -> list[str]:
    """The human-readable summary of an analysis (contract JSON → lines)."""
    out = [t("cli.section.files", lang)]
    for side in d["files"]:
        for f in d["files"][side]:
            how = (t("cli.how.csv", lang, encoding=f["encoding"], delimiter=_delim(f["delimiter"]),
                     header_row=f["header_row"]) if f["kind"] == "csv" else
                   t("cli.how.parquet", lang) if f["kind"] == "parquet" else
                   t("cli.how.sheet", lang, kind=f["kind"].upper(), sheet=f["sheet"], header_row=f["header_row"]))
            dropped = ""
            if f["dropped"]:
                reasons = ", ".join(f"{drop_label(r, lang)} {n}" for r, n in f["dropped"].items())
                dropped = t("cli.dropped", lang, count=sum(f["dropped"].values()), reasons=reasons)
            label = t("activity.side", lang) if side == "activity" else side.upper()
            out.append(t("cli.file_line", lang, side=label, file=f["file"], how=how,
                         rows=num(f["rows_read"]), dropped=dropped))
    link = d["link"]
    out.append(t("cli.section.link", lang, kind=t(f"link.{link['kind']}", lang), ma=link["ma_column"],
                 sfa=link["sfa_column"], auto=t("cli.link_auto", lang) if link.get("auto") else ""))
    out.append(t("cli.counts", lang, leads=num(d["ma"]["leads"]), ma_rows=num(d["ma"]["rows"]),
                 ma_nokey=num(d["ma"]["rows_without_key"]), opps=num(d["sfa"]["opportunities"]),
                 sfa_rows=num(d["sfa"]["rows"]), sfa_nokey=num(d["sfa"]["rows_without_key"])))
    mt = d["match"]
    total = mt["opportunities_linked"] + mt["opportunities_unlinked"]
    out.append(t("cli.match", lang, linked=num(mt["opportunities_linked"]), unlinked=num(mt["opportunities_unlinked"]),
                 rate=pct(mt["opportunities_linked"] / total if total else None)))
    ov = d["overall"]
    touch = t(f"term.touch.{d['touch']}", lang)
    out.append("")
    out.append(t("cli.section.rate", lang, touch=touch, rate=pct(ov["opportunity_rate"]),
                 converted=num(ov["converted"]), leads=num(ov["leads"])))
    small = int(setting("small_sample_n"))
    rows = [[source_label(r["source"], lang) + (" *" if r["leads"] < small else ""), num(r["leads"]),
             num(r["converted"]), pct(r["opportunity_rate"]), f"{pct(r['ci_low'])}–{pct(r['ci_high'])}"]
            for r in d["by_source"]]
    header = [t("term.source", lang), t("term.lead", lang), t("term.converted", lang),
              t("term.opportunity_rate", lang), t("term.ci95", lang)]
    out.extend(text_table(header, rows, right={1, 2, 3, 4}))
    if any(r["leads"] < small for r in d["by_source"]):
        out.append("  " + t("cli.small_sample", lang, n=small))
    if d.get("sources", {}).get("unmapped"):
        out.append("  " + t("sources.unmapped", lang, sources=", ".join(d["sources"]["unmapped"])))
    oc = d["outcomes"]
    out.append("")
    out.append(t("cli.section.outcomes", lang, won=num(oc["won"]), lost=num(oc["lost"]), open=num(oc["open"]),
                 win_rate=pct(oc["win_rate"])))
    if d["loss_reasons"]:
        out.append(t("cli.section.loss", lang, total=num(oc["lost"])))
        out.extend(text_table([t("field.loss_reason", lang), t("term.lost", lang), "%"],
                              [[loss_label(x["category"], lang), num(x["count"]), pct(x["share"])]
                               for x in d["loss_reasons"]], right={1, 2}))
    out.extend(_account_lines(d.get("accounts"), touch, lang))
    if "activity" in d:
        out.extend(activity_lines(d, lang))
    out.append("")
    out.append(t("cli.definition", lang, touch=touch))
    return out


def _account_lines(a: dict[str, Any] | None, touch: str, lang: str) -> list[str]:
    """The accounts section of the summary (only where the JSON has the ``accounts`` key)."""
    if a is None:
        return []
    out = ["", t("cli.section.accounts", lang, touch=touch, rate=pct(a["account_rate"]), converted=num(a["converted"]),
                 accounts=num(a["accounts"]), won=num(a["won"])),
           t("cli.accounts_detail", lang, without=num(a["leads_without_account"]),
             by_company=num(a["opportunities_by_account_only"]))]
    header = [t("term.source", lang), t("term.account", lang), t("term.converted", lang),
              t("term.opportunity_rate", lang)]
    out.extend(text_table(header, [[source_label(r["source"], lang), num(r["accounts"]), num(r["converted"]),
                                    pct(r["account_rate"])] for r in a["by_source"]], right={1, 2, 3}))
    out.append("  " + t("cli.accounts_definition", lang))
    return out


def activity_lines(d: dict[str, Any], lang: str) -> list[str]:
    """The behaviour-history part of the summary: counts, behaviour, attribution."""
    a = d["activity"]
    out = ["", t("activity.cli.counts", lang, rows=num(a["rows"]), events=num(a["events"]),
                 nokey=num(a["rows_without_key"]), unlinked=num(a["events_unlinked"]),
                 leads=num(a["leads_with_events"]))]
    if d["behaviour"]:
        out.append(t("activity.cli.behaviour", lang))
        rows = [[b["activity"] or t("cli.none", lang), num(b["leads"]), num(b["converted"]),
                 pct(b["opportunity_rate"]), f"{pct(b['ci_low'])}–{pct(b['ci_high'])}", pct(b["rate_without"]),
                 "—" if b["lift"] is None else f"{b['lift']:.2f}"] for b in d["behaviour"]]
        out.extend(text_table([t("activity.term.activity", lang), t("term.lead", lang), t("term.converted", lang),
                               t("term.opportunity_rate", lang), t("term.ci95", lang),
                               t("activity.term.rate_without", lang), t("activity.term.lift", lang)],
                              rows, right={1, 2, 3, 4, 5, 6}))
    att = d["attribution"]
    model = t(f"activity.model.{att['model']}", lang, half_life=f"{att['half_life_days'] or 0:g}")
    out.append(t("activity.cli.attribution", lang, model=model))
    special = {"(no lead)": "activity.touch.no_lead", "(no touch)": "activity.touch.no_touch"}
    rows = [[t(special[x["touch"]], lang) if x["touch"] in special else (x["touch"] or t("cli.none", lang)),
             f"{x['opportunities']:.2f}", f"{x['won']:.2f}", yen(x["won_amount"])] for x in att["by_touch"]]
    out.extend(text_table([t("activity.term.touch", lang), t("activity.term.credit_opps", lang),
                           t("activity.term.credit_won", lang), t("activity.term.credit_amount", lang)],
                          rows, right={1, 2, 3}))
    return out


def _delim(d: str | None) -> str:
    return {"\t": "TAB", None: "?"}.get(d, d or "?")


def _plan(args: argparse.Namespace, lang: str) -> int:
    # Imported on use, not at the top: the CLI starts without the engine it does not run.
    from funnel.planning.plan import parse_amount, parse_rate, plan_backward

    result = plan_backward(parse_amount(args.revenue, "--revenue"), parse_amount(args.deal_size, "--deal-size"),
                           parse_rate(args.win_rate, "--win-rate"), parse_rate(args.opp_rate, "--opp-rate"),
                           parse_amount(args.cpa, "--cpa") if args.cpa is not None else None)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print(t("cli.plan.title", lang))
    print(t("cli.plan.deals", lang, deals=num(result.deals)))
    print(t("cli.plan.opps", lang, opportunities=num(result.opportunities)))
    print(t("cli.plan.leads", lang, leads=num(result.leads)))
    if result.budget is not None:
        print(t("cli.plan.budget", lang, budget=yen(result.budget)[1:]))
    return 0
